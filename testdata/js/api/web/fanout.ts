// Several fetches in flight at once: ?up= is fetched ?n= times with
// Promise.all, and the bodies are joined.
export async function GET(request: Request) {
  const params = new URL(request.url).searchParams;
  const up = params.get("up")!;
  const n = Number(params.get("n"));
  const bodies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      fetch(`${up}?i=${i}`, { method: "POST", body: `request ${i}` }).then((r) => r.text()),
    ),
  );
  return new Response(bodies.join(","));
}

// A fetch aborted by its signal (from a timer, which runs before the loop
// waits on the host) while its body is read and the backend holds the
// rest back, and a fetch the outbound policy refuses.
export async function POST(request: Request) {
  const up = new URL(request.url).searchParams.get("up")!;
  const out: string[] = [];
  const controller = new AbortController();
  try {
    const res = await fetch(up, { signal: controller.signal });
    setTimeout(() => controller.abort(), 0);
    await res.text();
    out.push("no abort");
  } catch (e) {
    out.push((e as Error).name);
  }
  try {
    await fetch("http://10.0.0.1/");
    out.push("no refusal");
  } catch (e) {
    out.push(`${(e as Error).name}: ${(e as Error).message}`);
  }
  return new Response(out.join("\n"));
}
