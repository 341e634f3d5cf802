// api/ts/echo: the Node.js shape. It answers with what Vercel's helpers
// parsed: the body (by Content-Type: JSON, urlencoded, text or bytes), the
// query and the cookies, as JSON.
import type { VercelRequest, VercelResponse } from '@vercel/node';

export default async function handler(req: VercelRequest, res: VercelResponse) {
  const body = req.body instanceof Uint8Array ? { bytes: req.body.length } : req.body;
  res.setHeader('X-Method', req.method ?? '');
  res.status(200).json({ body, query: req.query, cookies: req.cookies });
}
