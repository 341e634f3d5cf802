// The event loop of wfn's JavaScript runtime. wfnjs.c runs the job queue
// (promise reactions) and, whenever it is empty while the invocation's
// promise is still pending, calls tick for one more step: the abort signal
// of the request, then the first due timer, then the oldest host wait (a
// fetch waiting for its response head, a body read). tick returns 0 after
// progress, a number of ms to sleep until the next timer, or -1 when
// nothing is left that could run.
//
// A host wait blocks the whole instance until the host answers: the
// requests themselves run on the host side in parallel (http_send returns
// at once). A wait that can be bounded (a fetch's response head or body,
// with http_wait) waits only until the next timer is due, which then fires
// (AbortSignal.timeout's among them); the others (the request body's next
// chunk) block, and a timer due meanwhile fires once they end.
import { native } from "./native.js";

const timers = new Map(); // id -> { at, every, fn, args, ref }
let nextId = 1;
let refs = 0; // timers that keep the loop alive outside an invocation (not AbortSignal.timeout's)
const waits = []; // host waits, oldest first: { run, ready }; run blocks, then settles a promise
// The invocation being served is native.invocation(): its number (fetch.c
// counts them), from its start to its end (its response sent), else 0.
let abortedIn = 0; // the invocation aborted, once the host said so
let listeningIn = 0; // the invocation whose request's signal is listened to
let abortRequest = null; // runs once when the host says the invocation is aborted

function timerArgs(name, fn, ms) {
  if (typeof fn !== "function") throw new TypeError(`${name}: the callback is not a function (a string of code is not supported)`);
  ms = Number(ms);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

// now is the timers' clock: the monotonic one of performance.now, in
// fractional ms. HTML's timers wait on monotonic time; Date.now's whole
// milliseconds let a timer fire up to 1 ms before its delay had passed.
const now = () => performance.now();

// addTimer schedules fn after ms (every ms if every): HTML's timer
// initialisation steps, without the nesting clamp.
export function addTimer(fn, ms, every, args, ref = true) {
  const id = nextId++;
  timers.set(id, { at: now() + ms, every: every ? ms : -1, fn, args, ref });
  if (ref) refs++;
  return id;
}

function clearTimer(id) {
  const t = timers.get(Number(id));
  if (!t) return;
  timers.delete(Number(id));
  if (t.ref) refs--;
}

export const timerGlobals = {
  setTimeout: (fn, ms = 0, ...args) => addTimer(fn, timerArgs("setTimeout", fn, ms), false, args),
  setInterval: (fn, ms = 0, ...args) => addTimer(fn, timerArgs("setInterval", fn, ms), true, args),
  clearTimeout: clearTimer,
  clearInterval: clearTimer,
};

// hostWait queues fn, which calls a host import that waits, to run when
// the job queue is empty; it returns a promise of fn's result. ready(ms),
// if given, waits at most ms for what fn waits for and says whether it
// came: the loop then runs fn only once it would not block. cancel(p)
// drops a wait not yet run.
export function hostWait(fn, ready = null) {
  let entry;
  const p = new Promise((resolve, reject) => {
    const run = () => {
      try {
        resolve(fn());
      } catch (e) {
        // An import that waits fails with ECANCELED once the invocation
        // is aborted: the request's signal aborts before anyone sees it.
        checkAbort();
        reject(e);
      }
    };
    entry = { run, ready };
  });
  waits.push(entry);
  p.cancel = () => {
    const i = waits.indexOf(entry);
    if (i >= 0) waits.splice(i, 1);
  };
  return p;
}

// onAbort sets what runs once when the host says the invocation is
// aborted (the client left, with supportsCancellation): it aborts the
// request's signal.
export function onAbort(f) {
  abortRequest = f;
}

// end ends the invocation: its response is sent.
export function end() {
  native.end();
}

// listenAbort marks the request's signal as listened to: with nothing
// else to run, the loop then sleeps waiting for an abort (the host ends a
// sleep early when the invocation is aborted) instead of giving up.
export function listenAbort() {
  const n = native.invocation();
  if (n !== 0) listeningIn = n;
}

// checkAbort aborts the request's signal once the host says the
// invocation is aborted; it returns whether it did.
export function checkAbort() {
  const n = native.invocation();
  if (n === 0 || abortedIn === n || !native.aborted()) return false;
  abortedIn = n;
  abortRequest();
  return true;
}

// aborted says whether the invocation being served was aborted.
export function aborted() {
  const n = native.invocation();
  return n !== 0 && abortedIn === n;
}

export function tick() {
  if (checkAbort()) return 0;
  let first = null;
  let firstId = 0;
  for (const [id, t] of timers) {
    if (first === null || t.at < first.at) [first, firstId] = [t, id];
  }
  const t = now();
  if (first && first.at <= t) {
    if (first.every >= 0) first.at = t + first.every;
    else clearTimer(firstId);
    first.fn(...first.args);
    return 0;
  }
  // The host waits in whole milliseconds: rounded up, so that a timer is
  // due when the wait ends.
  const until = first ? Math.ceil(first.at - t) : 0;
  if (waits.length > 0) {
    // Wait on the host only until the next timer is due.
    if (first && waits[0].ready && !waits[0].ready(Math.max(0, until))) return 0;
    waits.shift().run();
    return 0;
  }
  const n = native.invocation();
  // In an invocation every timer counts (AbortSignal.timeout's too): the
  // promise being settled may wait on it, as a Node.js handler's does
  // while its open request keeps the loop alive. Outside one (a
  // top-level await) only those that keep the loop alive.
  if (refs > 0 || (first && n !== 0)) return Math.max(1, until);
  if (n !== 0 && listeningIn === n && abortedIn !== n) return first ? Math.min(1000, Math.max(1, until)) : 1000;
  return -1;
}
