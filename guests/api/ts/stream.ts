// A streamed response: "chunk 1" to "chunk 5", one line every 200 ms, each
// sent to the client as it is enqueued, as the Go stream example does.
export function GET() {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 200));
      i++;
      controller.enqueue(encoder.encode(`chunk ${i}\n`));
      if (i === 5) controller.close();
    },
  });
  return new Response(body, {
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' },
  });
}
