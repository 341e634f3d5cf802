// Math.random and crypto: each instance has its own randomness, even when
// instances start from one snapshot.
const atLoad = Math.random(); // in wfn_init: part of the snapshot

export function GET() {
  return Response.json({
    atLoad,
    random: Math.random(),
    uuid: crypto.randomUUID(),
    values: Array.from(crypto.getRandomValues(new Uint32Array(4))),
  });
}
