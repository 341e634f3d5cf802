// A waitUntil promise that never settles: the response is sent at once,
// the invocation ends at maxDuration (1 s in vercel.json).
import { waitUntil } from '@vercel/functions';

export default {
  fetch() {
    waitUntil(new Promise(() => {}));
    return new Response('sent');
  },
};
