// waitUntil: the work starts at once (started is set before the response
// is written), each rejection is logged on its own, the others finish.
import { waitUntil, getDeadline } from '@vercel/functions';

let started = 0;

export default {
  fetch(request: Request) {
    const n = ++started;
    waitUntil(Promise.reject(new Error(`first rejects ${n}`)));
    waitUntil((async () => {
      await null;
      // A task may hand over more work.
      waitUntil(Promise.resolve().then(() => console.log(`nested task done ${n}`)));
      throw new Error(`second rejects ${n}`);
    })());
    waitUntil(Promise.resolve().then(() => console.log(`third task done ${n}`)));
    const deadline = getDeadline();
    return Response.json({ n, started, deadlineInFuture: deadline !== undefined && deadline.getTime() > Date.now() });
  },
};
