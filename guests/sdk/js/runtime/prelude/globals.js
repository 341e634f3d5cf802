// Web APIs without a host side: atob and btoa (core-js), structuredClone,
// and Node.js's process (env and the SIGTERM event). crypto.subtle is
// subtle.js.
import atob from "core-js-pure/stable/atob";
import btoa from "core-js-pure/stable/btoa";
import { Blob, File } from "./blob.js";
import { DOMException } from "./events.js";
import { native } from "./native.js";

export { atob, btoa };

// structuredClone (HTML, section 2.7.3) over QuickJS's own built-ins:
// core-js-pure's clones a Map into its own Map class, not the global one.
// Primitives, plain objects, arrays, Date, RegExp, Map, Set, ArrayBuffer,
// views, Error, Blob, File and wrapper objects are cloned, cycles kept; functions,
// symbols and other platform objects throw a DataCloneError. The
// ArrayBuffers listed in transfer are moved, not copied: the originals are
// detached.
export function structuredClone(value, options = undefined) {
  const seen = new Map();
  const transfer = [...(options?.transfer ?? [])];
  for (const b of transfer) {
    if (Object.prototype.toString.call(b) !== "[object ArrayBuffer]") throw new DOMException("structuredClone: only ArrayBuffers can be transferred", "DataCloneError");
    if (seen.has(b)) throw new DOMException("structuredClone: an ArrayBuffer is listed twice in transfer", "DataCloneError");
    seen.set(b, null);
  }
  for (const b of transfer) seen.set(b, native.transfer(b));
  const clone = (v) => {
    if (typeof v === "function" || typeof v === "symbol") throw new DOMException(`structuredClone: ${String(v)} could not be cloned`, "DataCloneError");
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return seen.get(v);
    const keep = (c) => (seen.set(v, c), c);
    const tag = Object.prototype.toString.call(v);
    switch (tag) {
      case "[object Date]":
        return keep(new Date(v.getTime()));
      case "[object RegExp]":
        return keep(new RegExp(v.source, v.flags));
      case "[object Boolean]":
      case "[object Number]":
      case "[object String]":
      case "[object BigInt]":
        return keep(Object(v.valueOf()));
      case "[object ArrayBuffer]":
        return keep(v.slice(0));
      case "[object DataView]":
        return keep(new DataView(clone(v.buffer), v.byteOffset, v.byteLength));
      case "[object Map]": {
        const m = keep(new Map());
        for (const [k, x] of v) m.set(clone(k), clone(x));
        return m;
      }
      case "[object Set]": {
        const s = keep(new Set());
        for (const x of v) s.add(clone(x));
        return s;
      }
      case "[object Error]": {
        const E = { EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError }[v.name] ?? Error;
        const e = keep(new E(v.message));
        if ("cause" in v) e.cause = clone(v.cause);
        if (typeof v.stack === "string") e.stack = v.stack;
        return e;
      }
      case "[object Array]": {
        const a = keep(new Array(v.length));
        for (const k of Object.keys(v)) a[k] = clone(v[k]);
        return a;
      }
      case "[object Object]": {
        if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null && v.constructor !== Object) break;
        const o = keep({});
        for (const k of Object.keys(v)) o[k] = clone(v[k]);
        return o;
      }
    }
    if (ArrayBuffer.isView(v)) return keep(new v.constructor(clone(v.buffer), v.byteOffset, v.length));
    if (v instanceof File) return keep(new File([v], v.name, { type: v.type, lastModified: v.lastModified }));
    if (v instanceof Blob) return keep(new Blob([v], { type: v.type }));
    throw new DOMException(`structuredClone: ${v.constructor?.name ?? tag} could not be cloned`, "DataCloneError");
  };
  return clone(value);
}

// process: what Node.js's process offers that a function on Vercel uses.
// env is read once per instance, at its first use, from the function's
// environment (WASI environ: Vercel's system variables, .env, the
// function's env).
class Process {
  #env = null;
  #listeners = new Map(); // event -> [fn]
  get env() {
    return (this.#env ??= native.env());
  }
  set env(v) {
    this.#env = v;
  }
  get platform() {
    return "linux";
  }
  get version() {
    return "";
  }
  get versions() {
    return {};
  }
  nextTick(fn, ...args) {
    queueMicrotask(() => fn(...args));
  }
  // on, once and off for 'SIGTERM' (host shutdown, 500 ms to finish): the
  // ABI's wfn_on_sigterm. No other event is ever emitted.
  on(event, fn) {
    const list = this.#listeners.get(event) ?? [];
    list.push(fn);
    this.#listeners.set(event, list);
    return this;
  }
  once(event, fn) {
    const once = (...args) => {
      this.off(event, once);
      fn(...args);
    };
    return this.on(event, once);
  }
  off(event, fn) {
    const list = this.#listeners.get(event) ?? [];
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  }
  removeListener(event, fn) {
    return this.off(event, fn);
  }
  addListener(event, fn) {
    return this.on(event, fn);
  }
  listeners(event) {
    return [...(this.#listeners.get(event) ?? [])];
  }
  emit(event, ...args) {
    const list = [...(this.#listeners.get(event) ?? [])];
    for (const fn of list) {
      try {
        fn(...args);
      } catch (e) {
        console.error(`Uncaught exception in a ${event} listener:`, e);
      }
    }
    return list.length > 0;
  }
  get [Symbol.toStringTag]() {
    return "process";
  }
}

export const process = new Process();
native.sigterm = () => process.emit("SIGTERM", "SIGTERM");
