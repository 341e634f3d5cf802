// Event, EventTarget, AbortController and AbortSignal, as the DOM
// Standard defines them (sections 2.2, 2.7, 3.1 to 3.3), for what a
// function uses them for: a request's signal, fetch's signal and the
// signals they are combined into. DOMException is core-js's.
import DOMException from "core-js-pure/stable/dom-exception";
import { addTimer, listenAbort } from "./loop.js";

export { DOMException };

export class Event {
  #type;
  #cancelable;
  #defaultPrevented = false;
  #stop = false;
  #timeStamp = Date.now();
  target = null;
  constructor(type, init = {}) {
    if (arguments.length === 0) throw new TypeError("Event: the type is required");
    this.#type = String(type);
    this.#cancelable = Boolean(init.cancelable);
  }
  get type() {
    return this.#type;
  }
  get currentTarget() {
    return this.target;
  }
  get cancelable() {
    return this.#cancelable;
  }
  get defaultPrevented() {
    return this.#defaultPrevented;
  }
  get timeStamp() {
    return this.#timeStamp;
  }
  preventDefault() {
    if (this.#cancelable) this.#defaultPrevented = true;
  }
  stopImmediatePropagation() {
    this.#stop = true;
  }
  stopPropagation() {}
  static stopped(e) {
    return e.#stop;
  }
  get [Symbol.toStringTag]() {
    return "Event";
  }
}

const stopped = Event.stopped;
delete Event.stopped;

export class EventTarget {
  #listeners = new Map(); // type -> [{ callback, once, signal }]

  addEventListener(type, callback, options = {}) {
    if (callback == null) return;
    if (typeof options === "boolean") options = {};
    const { once = false, signal } = options;
    if (signal?.aborted) return;
    type = String(type);
    const list = this.#listeners.get(type) ?? [];
    if (list.some((l) => l.callback === callback)) return;
    const entry = { callback, once: Boolean(once) };
    list.push(entry);
    this.#listeners.set(type, list);
    if (signal) signal.addEventListener("abort", () => this.removeEventListener(type, callback));
    this.listened?.(type);
  }
  removeEventListener(type, callback) {
    const list = this.#listeners.get(String(type));
    const i = list ? list.findIndex((l) => l.callback === callback) : -1;
    if (i >= 0) list.splice(i, 1);
  }
  // dispatchEvent calls the listeners in order; one that throws is
  // reported on the log (as a browser reports it) and the rest still run.
  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError("dispatchEvent: the argument is not an Event");
    event.target = this;
    const handler = this[`on${event.type}`];
    const list = [...(this.#listeners.get(event.type) ?? [])];
    if (typeof handler === "function") list.unshift({ callback: handler, once: false, attr: true });
    for (const l of list) {
      if (l.once) this.removeEventListener(event.type, l.callback);
      try {
        if (typeof l.callback === "function") l.callback.call(this, event);
        else l.callback.handleEvent(event);
      } catch (e) {
        console.error("Uncaught exception in an event listener:", e);
      }
      if (stopped(event)) break;
    }
    return !event.defaultPrevented;
  }
  get [Symbol.toStringTag]() {
    return "EventTarget";
  }
}

const kAbort = Symbol("abort");
const kCreate = Symbol("create");

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  onabort = null;
  constructor(key) {
    if (key !== kCreate) throw new TypeError("AbortSignal: use new AbortController().signal or AbortSignal.abort()");
    super();
  }
  get aborted() {
    return this.#aborted;
  }
  get reason() {
    return this.#reason;
  }
  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }
  [kAbort](reason) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
    this.dispatchEvent(new Event("abort"));
  }
  static abort(reason) {
    const s = new AbortSignal(kCreate);
    s[kAbort](reason);
    return s;
  }
  // timeout: aborted with a TimeoutError after ms; its timer does not
  // keep the invocation alive on its own (as in Node.js).
  static timeout(ms) {
    ms = Number(ms);
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`AbortSignal.timeout: ${ms} is not a number of milliseconds`);
    const s = new AbortSignal(kCreate);
    addTimer(() => s[kAbort](new DOMException("The operation timed out.", "TimeoutError")), ms, false, [], false);
    return s;
  }
  // any: aborted as soon as one of the signals is, with its reason.
  static any(signals) {
    const s = new AbortSignal(kCreate);
    for (const x of signals) {
      if (!(x instanceof AbortSignal)) throw new TypeError("AbortSignal.any: every item must be an AbortSignal");
      if (x.aborted) {
        s[kAbort](x.reason);
        return s;
      }
    }
    for (const x of signals) x.addEventListener("abort", () => s[kAbort](x.reason), { once: true });
    return s;
  }
  get [Symbol.toStringTag]() {
    return "AbortSignal";
  }
}

export class AbortController {
  #signal = new AbortSignal(kCreate);
  get signal() {
    return this.#signal;
  }
  abort(reason) {
    this.#signal[kAbort](reason);
  }
  get [Symbol.toStringTag]() {
    return "AbortController";
  }
}

// requestController makes the controller of the request being served:
// listening to its signal keeps the loop waiting for the client to leave.
export function requestController() {
  const c = new AbortController();
  c.signal.listened = (type) => type === "abort" && listenAbort();
  return c;
}
