// A (req, res) handler that returns a Response instead of ending res.
export default function handler(req: any, res: any) {
  return new Response('not like this');
}
