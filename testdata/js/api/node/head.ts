// writeHead with a header object; getHeader and hasHeader.
export default async function handler(req: any, res: any) {
  res.setHeader('X-Before', 'set');
  const seen = `${res.getHeader('x-before')} ${res.hasHeader('X-BEFORE')} ${res.getHeaderNames().join(',')}`;
  await Promise.resolve();
  res.writeHead(202, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Seen': seen });
  res.end(`${req.method} ${req.url} ${req.headers['x-test'] ?? ''}`);
}
