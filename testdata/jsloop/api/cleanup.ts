// The seed's cancel-with-cleanup (VERCEL.md section 3.5): the upstream is
// relayed with request.signal; when the client leaves, the abort listener
// calls the backend's /cancel, and waitUntil keeps the invocation alive
// until that cleanup has its answer.
import { waitUntil } from '@vercel/functions';

export async function GET(request: Request) {
  const up = new URL(request.url).searchParams.get('up')!;
  const cleanup = Promise.withResolvers<void>();
  waitUntil(cleanup.promise);

  request.signal.addEventListener('abort', () => {
    console.log('request aborted, cancelling pending task');
    abortPendingTask(up).finally(cleanup.resolve);
  });

  const response = await fetch(up, { signal: request.signal });

  const { readable, writable } = new TransformStream();
  response
    .body!.pipeTo(writable)
    .finally(() => {
      if (!request.signal.aborted) cleanup.resolve();
    })
    .catch(() => {});

  return new Response(readable, { status: response.status, headers: response.headers });
}

async function abortPendingTask(up: string) {
  try {
    const r = await fetch(`${up}/cancel`, { method: 'POST' });
    console.log(`cleanup answered ${r.status}: ${await r.text()}`);
  } catch (e: any) {
    console.log(`cleanup failed: ${e.message}`);
  }
}
