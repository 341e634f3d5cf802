// request.url of a dynamic route: the route param is in the query, as
// Vercel sets it (abi/SPEC.md, request_url).
export function GET(request: Request) {
  const url = new URL(request.url);
  return new Response(`${url.pathname}${url.search} id=${url.searchParams.get('id')}`);
}
