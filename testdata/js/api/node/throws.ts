// A (req, res) handler that throws before ending the response.
export default async function handler(req: any, res: any) {
  await Promise.resolve();
  throw new Error('boom from a Node.js handler');
}
