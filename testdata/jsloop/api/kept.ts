// A request kept past its invocation: the next invocation reads its URL
// (the runtime reads a request's URL from the host on first use, or as
// the handler returns when the request outlives the call).
let last: Request | null = null;

export function GET(request: Request) {
  const previous = last;
  last = request;
  return new Response(previous === null ? "none" : previous.url);
}
