// res.write streams each chunk; headers set before the first write are
// sent with it.
export default function handler(req: any, res: any) {
  res.setHeader('X-Multi', ['a', 'b']);
  res.setHeader('Content-Type', 'text/plain');
  res.write('one\n');
  res.write(new TextEncoder().encode('two\n'));
  res.end('three\n');
}
