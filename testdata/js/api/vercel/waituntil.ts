// waitUntil: the work starts at once and runs alongside the handler (ran is
// set by a task before the response is made), each rejection is logged on
// its own, the other tasks finish, and a task may hand over more work.
import { waitUntil, getDeadline } from '@vercel/functions';

let calls = 0;

export default {
  async fetch(request: Request) {
    const n = ++calls;
    let ran = false;
    waitUntil(Promise.resolve().then(() => {
      ran = true;
    }));
    waitUntil(Promise.reject(new Error(`first rejects ${n}`)));
    waitUntil((async () => {
      await null;
      waitUntil(Promise.resolve().then(() => console.log(`nested task done ${n}`)));
      throw new Error(`second rejects ${n}`);
    })());
    waitUntil(Promise.resolve().then(() => console.log(`third task done ${n}`)));
    await null;
    await null;
    const deadline = getDeadline();
    return Response.json({ n, ran, deadlineInFuture: deadline !== undefined && deadline.getTime() > Date.now() });
  },
};
