// api/ts/greet/[name]: a dynamic route in the Node.js shape; the segment
// is req.query.name, as on Vercel. GET /api/ts/greet/Ada gives "Hello Ada!".
// (A type-only import is erased by the bundler: @vercel/node need not be
// installed.)
import type { VercelRequest, VercelResponse } from '@vercel/node';

export default function handler(req: VercelRequest, res: VercelResponse) {
  const { name = 'World' } = req.query;
  res.send(`Hello ${name}!`);
}
