// The seed's proxy (Vercel, Functions API reference, "Cancel requests"):
// request.signal handed to fetch, so that the backend request is closed
// when the client goes away (supportsCancellation in guests/vercel.json).
import { backend, noBackend } from './_backend';

export async function GET(request: Request) {
  const unset = noBackend();
  if (unset) return unset;

  const response = await fetch(backend(), {
    headers: { Authorization: `Bearer ${process.env.AUTH_TOKEN}` },
    signal: request.signal,
  });

  return new Response(response.body, {
    status: response.status,
    headers: response.headers,
  });
}
