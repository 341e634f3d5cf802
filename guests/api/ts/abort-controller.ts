// The seed's abort-controller variant: an AbortController of the
// function's own, aborted from request.signal's listener.
import { backend, noBackend } from './_backend';

export async function GET(request: Request) {
  const unset = noBackend();
  if (unset) return unset;

  const abortController = new AbortController();

  request.signal.addEventListener('abort', () => {
    console.log('request aborted');
    abortController.abort();
  });

  const response = await fetch(backend(), {
    headers: {
      Authorization: `Bearer ${process.env.AUTH_TOKEN}`,
    },
    signal: abortController.signal,
  });

  return new Response(response.body, {
    status: response.status,
    headers: response.headers,
  });
}
