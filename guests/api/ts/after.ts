// api/ts/after: waitUntil from @vercel/functions. The response is sent at
// once; the work handed to waitUntil runs alongside it and after it, and
// logs "after-task done" with the request id.
import { waitUntil } from '@vercel/functions';

async function task(url: string) {
  const id = crypto.randomUUID();
  console.log(`after-task done for ${new URL(url).pathname} (${id.length} chars of id)`);
}

export default {
  fetch(request: Request) {
    waitUntil(task(request.url));
    return new Response('scheduled');
  },
};
