// Work after res.end() is run on; its exception is logged, the response
// stands.
export default async function handler(req: any, res: any) {
  res.end('ended');
  await Promise.resolve();
  throw new Error('thrown after the end');
}
