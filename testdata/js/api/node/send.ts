// res.send by type: a string is text/html with a charset, bytes are
// application/octet-stream, null is empty, a number is JSON; 204 drops the body.
export default function handler(req: any, res: any) {
  switch (req.query.kind) {
    case 'bytes':
      return res.send(new Uint8Array([104, 105]));
    case 'typed':
      res.setHeader('Content-Type', 'text/plain');
      return res.send('typed');
    case 'number':
      return res.send(42);
    case 'none':
      return res.status(204).send('dropped');
    default:
      return res.send('<p>hi</p>');
  }
}
