// An Edge Function as Vercel documents it (and as Hono's `export default
// handle(app)` is): `runtime: 'edge'` in the file's config makes the
// default export a Web handler, called with the request and a context
// whose waitUntil takes a promise, rather than a Node.js (req, res) one.
export const config = { runtime: "edge" };

let runs = 0;

export default async function handler(request: Request, context: { waitUntil(p: Promise<unknown>): void }) {
  const url = new URL(request.url);
  const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
  context.waitUntil(Promise.resolve().then(() => runs++));
  return new Response(`${request.method} ${url.pathname}${url.search} ${body}`, {
    status: 200,
    headers: { "x-runtime": "edge", "content-type": "text/plain" },
  });
}
