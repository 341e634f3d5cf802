// Streams end to end: the upstream's body (a fetch, streamed) piped
// through a TransformStream that upper-cases it, back to the client chunk
// by chunk. ?up= names the upstream.
export async function GET(request: Request) {
  const up = new URL(request.url).searchParams.get("up")!;
  const upstream = await fetch(up, { headers: { "x-from": "relay" } });
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const upper = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      controller.enqueue(encoder.encode(decoder.decode(chunk).toUpperCase()));
    },
  });
  return new Response(upstream.body!.pipeThrough(upper), {
    status: upstream.status,
    headers: { "content-type": "text/plain", "x-upstream": upstream.headers.get("x-upstream") ?? "" },
  });
}

// The request body, read in chunks as it comes, echoed chunk by chunk
// with each chunk's size: full duplex.
export async function POST(request: Request) {
  let chunks = 0;
  const sizes = new TransformStream<Uint8Array, string>({
    transform(chunk, controller) {
      chunks++;
      controller.enqueue(`${chunks}:${new TextDecoder().decode(chunk)}\n`);
    },
  });
  const text = request.body!.pipeThrough(sizes).pipeThrough(
    new TransformStream<string, Uint8Array>({
      transform(s, c) {
        c.enqueue(new TextEncoder().encode(s));
      },
    }),
  );
  return new Response(text);
}
