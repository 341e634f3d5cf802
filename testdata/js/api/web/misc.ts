// Timers, AbortSignal, crypto.subtle.digest, atob/btoa, structuredClone,
// process.env and Promise.withResolvers, reported as JSON.
process.on("SIGTERM", () => console.log("SIGTERM received"));

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

export async function GET() {
  const order: string[] = [];
  const cleared = setTimeout(() => order.push("cleared"), 1);
  clearTimeout(cleared);
  setTimeout((x: string) => order.push(x), 5, "second");
  setTimeout(() => order.push("first"), 0);
  const ticks = await new Promise<number>((resolve) => {
    let n = 0;
    const id = setInterval(() => {
      if (++n === 3) {
        clearInterval(id);
        resolve(n);
      }
    }, 2);
  });
  const { promise, resolve } = Promise.withResolvers<string>();
  setTimeout(() => resolve("resolved"), 1);

  const timeout = AbortSignal.timeout(1);
  await new Promise((r) => timeout.addEventListener("abort", r));
  const controller = new AbortController();
  const any = AbortSignal.any([controller.signal, AbortSignal.timeout(60_000)]);
  controller.abort("why");
  let thrown = "";
  try {
    any.throwIfAborted();
  } catch (e) {
    thrown = String(e);
  }

  const data = new TextEncoder().encode("abc");
  const digests: Record<string, string> = {};
  for (const alg of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) digests[alg] = hex(await crypto.subtle.digest(alg, data));
  const source: any = { m: new Map([["k", [1, 2]]]), d: new Date(0) };
  source.self = source;
  const clone = structuredClone(source);
  let cloneError = "";
  try {
    structuredClone({ f() {} });
  } catch (e) {
    cloneError = (e as Error).name;
  }

  return Response.json({
    order,
    ticks,
    withResolvers: await promise,
    timeout: [timeout.aborted, (timeout.reason as DOMException).name],
    any: [any.aborted, any.reason, thrown],
    digests,
    b64: btoa("hello\u00ff"),
    unb64: atob("aGVsbG8="),
    clone: [clone.m instanceof Map, clone.m.get("k"), clone.d instanceof Date && clone.d.getTime(), clone.self === clone && clone !== source, cloneError],
    env: process.env.GREETING ?? null,
    bundleHidden: !("WFN_JS_BUNDLE" in process.env),
  });
}
