// GET /api/ts/hello: a TypeScript function, as Vercel's first example.
export function GET(request: Request): Response {
  return new Response('Hello from Vercel!');
}
