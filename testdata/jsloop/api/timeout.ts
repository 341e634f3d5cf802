// A fetch with AbortSignal.timeout to a backend slower than the timeout:
// the timer fires while the runtime waits for the response head (?at=head)
// or for the body's next bytes after a first part (?at=body); the fetch
// (or the body's read) rejects with the signal's TimeoutError and the
// connection closes.
export async function GET(request: Request) {
  const params = new URL(request.url).searchParams;
  let read = '';
  try {
    const r = await fetch(params.get('up')!, { signal: AbortSignal.timeout(100) });
    const decoder = new TextDecoder();
    for await (const chunk of r.body!) read += decoder.decode(chunk, { stream: true });
    return new Response(`answered ${r.status}: ${read}`);
  } catch (e: any) {
    return new Response(read ? `${e.name} after ${read}` : e.name);
  }
}
