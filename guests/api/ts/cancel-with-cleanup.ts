// The seed's cancel-with-cleanup: the backend's body is piped through a
// TransformStream to the client; when the client goes away, the abort
// listener tells the backend (POST /cancel) under waitUntil, so that the
// cleanup finishes after the cancellation.
import { waitUntil } from '@vercel/functions';
import { backend, noBackend } from './_backend';

export async function GET(request: Request) {
  const unset = noBackend();
  if (unset) return unset;

  const cleanup = Promise.withResolvers<void>();
  waitUntil(cleanup.promise);

  request.signal.addEventListener('abort', () => {
    console.log('request aborted, cancelling pending task');
    abortPendingTask().finally(cleanup.resolve);
  });

  const response = await fetch(backend(), {
    headers: { Authorization: `Bearer ${process.env.AUTH_TOKEN}` },
    signal: request.signal,
  });

  const { readable, writable } = new TransformStream();
  response.body!.pipeTo(writable).finally(() => {
    if (!request.signal.aborted) cleanup.resolve();
  });

  return new Response(readable, {
    status: response.status,
    headers: response.headers,
  });
}

async function abortPendingTask() {
  await fetch(backend('/cancel'), {
    method: 'POST',
  });
}
