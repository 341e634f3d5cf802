// The seed's cancel-with-cleanup, without waitUntil: the upstream is
// fetched with request.signal and piped through a TransformStream to the
// client; when the client leaves, the signal aborts (the upstream's
// connection closes) and the listener logs.
export async function GET(request: Request) {
  const up = new URL(request.url).searchParams.get("up")!;
  request.signal.addEventListener("abort", () => {
    console.log("request aborted, cancelling pending task");
  });
  const response = await fetch(up, { signal: request.signal });
  const { readable, writable } = new TransformStream();
  response.body!.pipeTo(writable).then(
    () => console.log("piped to the end"),
    (e) => console.log(`pipe ended: ${e.name}`),
  );
  return new Response(readable, { status: response.status, headers: response.headers });
}
