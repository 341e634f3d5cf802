// A (req, res) handler that never ends the response: 504 at maxDuration.
export default function handler(req: any, res: any) {
  res.setHeader('X-Never', 'ended');
}
