// A request kept past its invocation: the next invocation reads its URL
// and its x-n header (the runtime reads a request's URL and headers from
// the host on first use, and those of a request that outlives its
// invocation as the invocation ends), never the request served then.
let last: Request | null = null;

export function GET(request: Request) {
  const previous = last;
  last = request;
  return new Response(previous === null ? "none" : `${previous.url} ${previous.headers.get("x-n")}`);
}
