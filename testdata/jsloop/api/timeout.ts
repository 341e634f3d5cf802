// A fetch with AbortSignal.timeout to a backend slower than the timeout:
// the timer fires while the runtime waits for the response head, the
// fetch rejects with the signal's TimeoutError and its connection closes.
export async function GET(request: Request) {
  const up = new URL(request.url).searchParams.get('up')!;
  try {
    const r = await fetch(up, { signal: AbortSignal.timeout(100) });
    return new Response(`answered ${r.status}`);
  } catch (e: any) {
    return new Response(`${e.name}`);
  }
}
