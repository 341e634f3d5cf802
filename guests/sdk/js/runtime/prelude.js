// The prelude of wfn's JavaScript runtime: the Web APIs a Vercel function
// uses (Request, Response, Headers, TextEncoder, TextDecoder, URL,
// URLSearchParams, URLPattern, console, crypto), built on the native
// functions of wfnjs.c, and the dispatch of a request to the function's
// handler.
//
// mkprelude bundles it with the npm polyfills it imports into one script,
// which wfnjs.c evaluates before the function's bundle. The polyfills few
// functions use (URLPattern, CompressionStream and DecompressionStream,
// crypto.subtle and CryptoKey) are bundles of their own, loaded on first
// use (lazy, below).
import URLPolyfill from "core-js-pure/web/url";
import URLSearchParamsPolyfill from "core-js-pure/web/url-search-params";
import { serveNode } from "./prelude/node.js";
import { install as installVercel } from "./prelude/vercel.js";
import { AbortController, AbortSignal, DOMException, Event, EventTarget, requestController } from "./prelude/events.js";
import { concat, encodeInto, incompleteTail, makeStreams, viewOf } from "./prelude/encoding.js";
import { Blob, blobBytes, boundaryOf, encodeMultipart, File, FormData, makeBlob, mimeEssence, parseMultipart } from "./prelude/blob.js";
import { makeFetch } from "./prelude/fetch.js";
import { atob, btoa, process, structuredClone } from "./prelude/globals.js";
import { aborted, checkAbort, end, onAbort, tick, timerGlobals } from "./prelude/loop.js";
import * as streams from "./prelude/streams.js";
import { bytesStream, collect, pump, ReadableStream, requestBody } from "./prelude/streams.js";

const native = globalThis.__wfn;
delete globalThis.__wfn;
const URL = globalThis.URL ?? URLPolyfill;
const URLSearchParams = globalThis.URLSearchParams ?? URLSearchParamsPolyfill;

// ---- Polyfills loaded on first use ----

// lazy returns the exports of the bundle prelude/NAME.js, which
// mkprelude compiled on its own (native.load gives its function), loading
// it on the first call: an instance that never uses it holds none of its
// objects. Its function takes what it shares with the prelude
// (prelude/shared.js) rather than a second copy of it.
const loaders = new Set(); // what lazy returned, told apart from values among the globals
function lazy(name) {
  let exports = null;
  const load = () => (exports ??= native.load(name)({ native, DOMException, TransformStream: streams.TransformStream, atob, btoa }));
  loaders.add(load);
  return load;
}

// defineLazy defines target[name] as an accessor that loads exports()
// and its member name on first use, then turns into the plain data
// property it stands for (writable and configurable, enumerable as
// given); a value assigned first replaces it as one would.
function defineLazy(target, name, exports, enumerable) {
  const define = (on, value) => Object.defineProperty(on, name, { value, writable: true, configurable: true, enumerable });
  function get() {
    const value = exports()[name];
    if (Object.getOwnPropertyDescriptor(target, name)?.get === get) define(target, value);
    return value;
  }
  function set(value) {
    define(this, value);
  }
  Object.defineProperty(target, name, { get, set, configurable: true, enumerable });
}
const urlpattern = lazy("urlpattern");
const compression = lazy("compression");
const subtle = lazy("subtle");

// ---- console: each call is a log line of the invocation ----

function inspect(v, seen) {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "bigint":
      return `${v}n`;
    case "function":
      return `[Function: ${v.name || "(anonymous)"}]`;
    case "symbol":
      return v.toString();
    case "object":
      break;
    default:
      return String(v);
  }
  if (v === null) return "null";
  if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}`.trimEnd() : `${v.name}: ${v.message}`;
  if (seen.has(v)) return "[Circular]";
  seen.add(v);
  try {
    if (Array.isArray(v)) return `[ ${v.map((x) => inspect(x, seen)).join(", ")} ]`;
    if (v instanceof Map) return `Map(${v.size}) { ${[...v].map(([k, x]) => `${inspect(k, seen)} => ${inspect(x, seen)}`).join(", ")} }`;
    if (v instanceof Set) return `Set(${v.size}) { ${[...v].map((x) => inspect(x, seen)).join(", ")} }`;
    if (v instanceof Date) return isNaN(v) ? "Invalid Date" : v.toISOString();
    if (typeof v.toString === "function" && v.toString !== Object.prototype.toString && !Array.isArray(v)) {
      const s = v.toString();
      if (typeof s === "string") return s;
    }
    const keys = Object.keys(v);
    const name = v.constructor && v.constructor !== Object && v.constructor.name ? `${v.constructor.name} ` : "";
    if (keys.length === 0) return `${name}{}`;
    const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
    return `${name}{ ${keys.map((k) => `${key(k)}: ${inspect(v[k], seen)}`).join(", ")} }`;
  } finally {
    seen.delete(v);
  }
}

function format(args) {
  return args.map((a) => (typeof a === "string" ? a : inspect(a, new Set()))).join(" ");
}

const out = (...args) => native.log(1, format(args));
const err = (...args) => native.log(2, format(args));
globalThis.console = {
  log: out,
  info: out,
  debug: out,
  warn: err,
  error: err,
  trace: (...args) => err(format(args) + "\n" + new Error().stack.split("\n").slice(1).join("\n")),
};

// ---- TextEncoder, TextDecoder (UTF-8 only, as in the Encoding Standard) ----

class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    return new Uint8Array(native.encode(String(input).toWellFormed()));
  }
  encodeInto(source, destination) {
    return encodeInto(String(source), destination);
  }
}

const utf8Labels = new Set(["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"]);

class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = null; // stream: the bytes of a sequence cut by the chunk's end
  #started = false; // stream: some text was decoded (the BOM is behind)
  constructor(label = "utf-8", options = {}) {
    if (!utf8Labels.has(String(label).trim().toLowerCase())) {
      throw new RangeError(`TextDecoder: the encoding "${label}" is not supported (only utf-8 is)`);
    }
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input, options = {}) {
    // Streaming (Encoding, "decode"): a sequence cut by the end of the
    // chunk waits for the next one; the BOM is looked for at the start.
    let bytes = input === undefined ? new Uint8Array(0) : viewOf(input);
    if (this.#pending) bytes = concat(this.#pending, bytes);
    this.#pending = null;
    if (options.stream) {
      const cut = incompleteTail(bytes);
      if (cut < bytes.length) {
        this.#pending = bytes.slice(cut);
        bytes = bytes.subarray(0, cut);
      }
    }
    const start = !this.#started;
    this.#started = Boolean(options.stream) && (this.#started || bytes.length > 0);
    if (bytes.length === 0) return "";
    input = bytes;
    let s = native.decode(input);
    if (this.#fatal && s.includes("\uFFFD")) {
      // Valid UTF-8 survives a round trip; malformed input does not.
      const again = new Uint8Array(native.encode(s));
      const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
      if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) {
        throw new TypeError("TextDecoder: the input is not valid UTF-8");
      }
    }
    if (start && !this.#ignoreBOM && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    return s;
  }
}

// ---- Headers (Fetch Standard, section 5.2) ----

const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Headers is a class in C (headers.c): its list, its constructor and the
// methods a warm invocation uses. The iteration methods are added here,
// over headerList, a copy of its flat [name, value, ...] list.
const Headers = native.Headers;
const headerList = native.headerList; // (headers) => a copy of its [name, value, ...] list
const setDefault = native.headerSetDefault; // (headers, lower-case name, value): set unless present

// A constructor's iterable of [name, value] pairs.
native.headersFill((h, init) => {
  for (const pair of init) {
    const p = [...pair];
    if (p.length !== 2) throw new TypeError("Headers: each header must be a [name, value] pair");
    h.append(p[0], p[1]);
  }
});

class HeadersIteration {
  // Sorted by name; set-cookie values one by one (Fetch, "sort and combine").
  *entries() {
    const list = headerList(this);
    const values = new Map();
    for (let i = 0; i < list.length; i += 2) {
      const v = values.get(list[i]);
      if (v) v.push(list[i + 1]);
      else values.set(list[i], [list[i + 1]]);
    }
    for (const name of [...values.keys()].sort()) {
      if (name === "set-cookie") for (const v of values.get(name)) yield [name, v];
      else yield [name, values.get(name).join(", ")];
    }
  }
  *keys() {
    for (const [name] of this.entries()) yield name;
  }
  *values() {
    for (const [, value] of this.entries()) yield value;
  }
  forEach(callback, thisArg) {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return "Headers";
  }
  toString() {
    return `Headers { ${[...this.entries()].map(([n, v]) => `${JSON.stringify(n)}: ${JSON.stringify(v)}`).join(", ")} }`;
  }
}
mixin(Headers, HeadersIteration);

// ---- Bodies of Request and Response ----

const kBody = Symbol("body"); // null | string | Uint8Array | ReadableStream | () => Uint8Array (read on demand)
const kUsed = Symbol("bodyUsed");
const kConsume = Symbol("consume");

// extract turns a BodyInit into what a body holds, and leaves its default
// Content-Type in extractedType (Fetch, "extract a body"): no array per
// call.
let extractedType = null;
function extract(init) {
  extractedType = null;
  if (init == null) return null;
  if (typeof init === "string") {
    extractedType = "text/plain;charset=UTF-8";
    return init;
  }
  if (init instanceof ArrayBuffer) return new Uint8Array(init.slice(0));
  if (ArrayBuffer.isView(init)) return new Uint8Array(init.buffer.slice(init.byteOffset, init.byteOffset + init.byteLength));
  if (init instanceof URLSearchParams) {
    extractedType = "application/x-www-form-urlencoded;charset=UTF-8";
    return init.toString();
  }
  if (init instanceof ReadableStream) {
    if (init.locked) throw new TypeError("the body stream is locked (already being read)");
    return init;
  }
  if (init instanceof Blob) {
    extractedType = init.type || null;
    return blobBytes(init).slice();
  }
  if (init instanceof FormData) {
    const ex = encodeMultipart(init);
    extractedType = ex[1];
    return ex[0];
  }
  if (typeof init === "object" && init?.constructor?.name === "ReadableStream") {
    throw new TypeError("a ReadableStream body must be the runtime's own ReadableStream (globalThis.ReadableStream)");
  }
  extractedType = "text/plain;charset=UTF-8";
  return String(init);
}

// Body's members are copied onto Request.prototype and Response.prototype
// (mixin, below), as the Fetch Standard's Body mixin: a base class would
// cost each object a second constructor call. Each class declares the
// fields [kBody] and [kUsed].
class Body {
  // bodyUsed (Fetch): the body's stream is disturbed, read from or
  // cancelled, even once its reader let go of it (a for await loop that
  // ended). web-streams-polyfill (pinned) keeps that in _disturbed;
  // TestJSWebGlobals ("streamed") fails if it stops doing so.
  get bodyUsed() {
    const body = this[kBody];
    return this[kUsed] || (typeof body === "object" && body instanceof ReadableStream && (body.locked || body._disturbed === true));
  }
  // body: the body as a ReadableStream of Uint8Array chunks, or null. The
  // body of the request being served streams from the host in chunks.
  get body() {
    let body = this[kBody];
    if (body === null || body instanceof ReadableStream) return body;
    if (body === native.readBody) body = requestBody();
    else if (typeof body === "function") body = bytesStream(new Uint8Array(body()));
    else body = bytesStream(typeof body === "string" ? new Uint8Array(native.encode(body.toWellFormed())) : body);
    return (this[kBody] = body);
  }
  // consume is take, with a stream read to its end.
  async [kConsume]() {
    const body = take(this);
    return body instanceof ReadableStream ? collect(body) : body;
  }
  async arrayBuffer() {
    return (await this.bytes()).buffer;
  }
  async bytes() {
    const body = await this[kConsume]();
    if (body === null) return new Uint8Array(0);
    return typeof body === "string" ? new Uint8Array(native.encode(body.toWellFormed())) : body.slice();
  }
  async text() {
    const body = await this[kConsume]();
    if (body === null) return "";
    if (typeof body === "string") return body;
    const s = native.decode(body);
    return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  }
  async json() {
    return JSON.parse(await this.text());
  }
  // blob: the body as a Blob of the Content-Type's type.
  async blob() {
    const bytes = await this.bytes();
    const type = this.headers.get("content-type") ?? "";
    return makeBlob(bytes, /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : "");
  }
  // formData (Fetch, "body mixin"): a multipart/form-data or an
  // application/x-www-form-urlencoded body as a FormData; another
  // Content-Type, a missing boundary or a malformed body throws a
  // TypeError (once the body is consumed).
  async formData() {
    const bytes = await this.bytes();
    const type = this.headers.get("content-type");
    switch (mimeEssence(type)) {
      case "multipart/form-data": {
        const boundary = boundaryOf(type);
        if (boundary === null) throw new TypeError(`formData: the Content-Type "${type}" has no boundary`);
        return parseMultipart(bytes, boundary);
      }
      case "application/x-www-form-urlencoded": {
        const form = new FormData();
        for (const [name, value] of new URLSearchParams(native.decode(bytes))) form.append(name, value);
        return form;
      }
    }
    throw new TypeError(`formData: the Content-Type ${type === null ? "is missing" : `"${type}" is`}: it must be multipart/form-data or application/x-www-form-urlencoded`);
  }
}
// take consumes the body of b: a string, a Uint8Array, a ReadableStream
// (or null).
function take(b) {
  if (b.bodyUsed) throw new TypeError("the body has already been read");
  let body = b[kBody];
  b[kUsed] = body !== null;
  if (typeof body === "function") body = new Uint8Array(body());
  return body;
}

// mixin defines the members of source.prototype but its constructor on
// target.prototype, as class members are (not enumerable).
function mixin(target, source) {
  for (const key of Reflect.ownKeys(source.prototype)) {
    if (key !== "constructor") Object.defineProperty(target.prototype, key, Object.getOwnPropertyDescriptor(source.prototype, key));
  }
}

// cloneBody gives a copy of b's body for a clone, teeing a stream.
function cloneBody(b) {
  let body = b[kBody];
  if (body === native.readBody) body = b.body;
  if (typeof body === "function") body = b[kBody] = new Uint8Array(body());
  if (body instanceof ReadableStream) {
    const [one, two] = body.tee();
    b[kBody] = one;
    return two;
  }
  return body instanceof Uint8Array ? body.slice() : body;
}

// ---- Request ----

const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

function normalizeMethod(m) {
  m = String(m);
  if (!tokenRe.test(m)) throw new TypeError(`Request: invalid method "${m}"`);
  const upper = m.toUpperCase();
  if (["CONNECT", "TRACE", "TRACK"].includes(upper)) throw new TypeError(`Request: forbidden method ${upper}`);
  return ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].includes(upper) ? upper : m;
}

const redirectModes = ["follow", "error", "manual"];

// The other fields of a Request (Fetch, "Request class"), which wfn has
// no use for but gives as the standard says: in [kOptions], those of
// them set to other than their default (most requests have none), the
// others read as the defaults.
const kOptions = Symbol("options");
const requestDefaults = { cache: "default", credentials: "same-origin", destination: "", integrity: "", keepalive: false, mode: "cors", referrer: "about:client", referrerPolicy: "", duplex: "half" };
const requestEnums = {
  mode: ["same-origin", "no-cors", "cors", "navigate"],
  credentials: ["omit", "same-origin", "include"],
  cache: ["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"],
  referrerPolicy: ["", "no-referrer", "no-referrer-when-downgrade", "same-origin", "origin", "strict-origin", "origin-when-cross-origin", "strict-origin-when-cross-origin", "unsafe-url"],
  duplex: ["half"],
};
const requestInitMembers = ["method", "headers", "body", "referrer", "referrerPolicy", "mode", "credentials", "cache", "redirect", "integrity", "keepalive", "signal", "duplex", "priority", "window"];

// requestOptions gives the [kOptions] of a request made from init and, if
// it is one, the Request input, following the steps of new Request.
function requestOptions(init, from, body) {
  const opts = { ...from?.[kOptions] };
  // A non-empty init drops the referrer and referrer policy of the input
  // request (its mode "navigate" would become "same-origin", but no
  // Request here has it).
  if (requestInitMembers.some((k) => init[k] !== undefined)) {
    delete opts.referrer;
    delete opts.referrerPolicy;
  }
  for (const k in requestEnums) {
    if (init[k] === undefined) continue;
    const v = String(init[k]);
    if (!requestEnums[k].includes(v)) throw new TypeError(`Request: ${k} must be ${requestEnums[k].map((x) => JSON.stringify(x)).join(", ")}, not ${JSON.stringify(v)}`);
    opts[k] = v;
  }
  if (init.referrer !== undefined) {
    const r = String(init.referrer);
    if (r === "") opts.referrer = "";
    else {
      // No base URL: a function's global has no document (Edge Runtime alike).
      let u;
      try {
        u = new URL(r);
      } catch {
        throw new TypeError(`Request: the referrer ${JSON.stringify(r)} is not a valid URL`);
      }
      opts.referrer = u.href;
    }
  }
  if (init.integrity !== undefined) opts.integrity = String(init.integrity);
  if (init.keepalive !== undefined) opts.keepalive = Boolean(init.keepalive);
  if (opts.mode === "navigate") throw new TypeError('Request: mode "navigate" cannot be set');
  if (opts.cache === "only-if-cached" && opts.mode !== "same-origin") throw new TypeError('Request: cache "only-if-cached" needs mode "same-origin"');
  if (opts.keepalive && body instanceof ReadableStream) throw new TypeError("Request: a keepalive request cannot have a ReadableStream body");
  for (const k in opts) if (opts[k] === requestDefaults[k]) delete opts[k];
  for (const k in opts) return opts;
  return undefined;
}

// Request is a class in C (fetch.c): its method, url, headers, signal and
// redirect mode, and native.incoming, which makes the request served
// (its headers read from the host on first use, its signal made on first
// use by requestSignal). new Request(input, init) runs requestInit.
const Request = native.Request;
native.requestSetup(requestInit, requestSignal, native.readBody);

function requestInit(req, input, init) {
  init ??= {};
  if (init.signal != null && !(init.signal instanceof AbortSignal)) throw new TypeError("Request: signal must be an AbortSignal");
  let body = null;
  let type = null;
  if (init.body != null) {
    body = extract(init.body);
    type = extractedType;
  }
  let method = "GET";
  let url;
  let headers;
  let signal = null;
  let redirect = "follow";
  if (input instanceof Request) {
    if (init.body == null && input[kBody] !== null) body = take(input);
    method = input.method;
    url = input.url;
    headers = new Headers(input.headers);
    signal = input.signal;
    redirect = input.redirect;
  } else {
    url = new URL(String(input)).href;
    headers = new Headers();
  }
  if (init.signal != null) signal = init.signal;
  signal ??= new AbortController().signal;
  if (init.method !== undefined) method = normalizeMethod(init.method);
  if (init.redirect !== undefined) {
    if (!redirectModes.includes(init.redirect)) throw new TypeError(`Request: redirect must be "follow", "error" or "manual", not ${JSON.stringify(String(init.redirect))}`);
    redirect = init.redirect;
  }
  const options = requestOptions(init, input instanceof Request ? input : null, init.body);
  if (options?.mode === "no-cors" && method !== "GET" && method !== "HEAD" && method !== "POST") {
    throw new TypeError(`Request: a ${method} request cannot have mode "no-cors" (only GET, HEAD and POST can)`);
  }
  if (init.headers !== undefined) headers = new Headers(init.headers);
  if (body !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`Request: a ${method} request cannot have a body`);
  }
  if (type) setDefault(headers, "content-type", type);
  native.requestSet(req, method, url, headers, signal, redirect);
  req[kBody] = body;
  if (options) req[kOptions] = options;
}

class RequestMembers {
  clone() {
    if (this.bodyUsed) throw new TypeError("Request.clone: the body has already been read");
    const copy = native.incoming(this.method, this.url, this.signal);
    native.requestSet(copy, undefined, undefined, new Headers(this.headers), undefined, this.redirect);
    copy[kBody] = cloneBody(this);
    if (this[kOptions]) copy[kOptions] = { ...this[kOptions] };
    return copy;
  }
  get cache() {
    return this[kOptions]?.cache ?? "default";
  }
  get credentials() {
    return this[kOptions]?.credentials ?? "same-origin";
  }
  get destination() {
    return "";
  }
  get integrity() {
    return this[kOptions]?.integrity ?? "";
  }
  get keepalive() {
    return this[kOptions]?.keepalive ?? false;
  }
  get mode() {
    return this[kOptions]?.mode ?? "cors";
  }
  get referrer() {
    return this[kOptions]?.referrer ?? "about:client";
  }
  get referrerPolicy() {
    return this[kOptions]?.referrerPolicy ?? "";
  }
  get duplex() {
    return "half";
  }
  get [Symbol.toStringTag]() {
    return "Request";
  }
}
mixin(Request, RequestMembers);
mixin(Request, Body);

// ---- Response ----

// Response is a class in C (fetch.c): its constructor, status, ok,
// statusText, headers and url; the body of a Response or a Request in
// [kBody] and [kUsed], accessors on both prototypes. The rest is added
// here.
const Response = native.Response;
native.responseSetup((body) => [extract(body), extractedType], kBody, kUsed);
const redirectStatus = [301, 302, 303, 307, 308];
const kType = Symbol("type"); // "error" for Response.error(), else absent ("default")

class ResponseMembers {
  static json(data, init = {}) {
    const body = JSON.stringify(data);
    if (body === undefined) throw new TypeError("Response.json: the data cannot be serialised to JSON");
    const res = new Response(body, init);
    if (init.headers === undefined || !new Headers(init.headers).has("content-type")) {
      res.headers.set("content-type", "application/json");
    }
    return res;
  }
  static redirect(url, status = 302) {
    if (!redirectStatus.includes(status)) throw new RangeError(`Response.redirect: ${status} is not a redirect status`);
    return new Response(null, { status, headers: { location: new URL(String(url)).href } });
  }
  // Response.error() (Fetch): a network error, type "error", status 0.
  static error() {
    const res = new Response(null);
    native.responseSet(res, 0, "");
    res[kType] = "error";
    return res;
  }
  get type() {
    return this[kType] ?? "default";
  }
  get redirected() {
    return false;
  }
  clone() {
    if (this.bodyUsed) throw new TypeError("Response.clone: the body has already been read");
    // A status outside 200 to 599 (a fetch's, Response.error()'s 0) is
    // set after the constructor, which refuses it.
    const copy = new Response(null, { status: Math.max(200, Math.min(599, this.status)), statusText: this.statusText, headers: this.headers });
    copy[kBody] = cloneBody(this);
    native.responseSet(copy, this.status, this.url);
    if (this[kType]) copy[kType] = this[kType];
    return copy;
  }
  get [Symbol.toStringTag]() {
    return "Response";
  }
}
mixin(Response, ResponseMembers);
mixin(Response, Body);
for (const key of ["json", "redirect", "error"]) Object.defineProperty(Response, key, Object.getOwnPropertyDescriptor(ResponseMembers, key));

// makeResponse makes a response of fetch: status, [name, value, ...], a
// body stream, the URL.
function makeResponse(status, list, body, url) {
  const res = new Response(null, { status: Math.max(200, Math.min(599, status)) });
  native.responseSet(res, status, url);
  const headers = res.headers;
  for (let i = 0; i < list.length; i += 2) headers.append(list[i], list[i + 1]);
  res[kBody] = body;
  return res;
}

// ---- Randomness: Math.random and crypto, seeded per instance ----

const integerArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

const crypto = {
  // WebCrypto, getRandomValues: at most 65536 bytes, integer arrays only.
  getRandomValues(array) {
    if (!integerArrays.some((T) => array instanceof T)) {
      throw new TypeError("crypto.getRandomValues: the argument must be an integer typed array");
    }
    if (array.byteLength > 65536) {
      throw new RangeError(`crypto.getRandomValues: ${array.byteLength} bytes asked for, at most 65536`);
    }
    native.fillRandom(array);
    return array;
  },
  // A version 4 UUID (RFC 9562, section 5.4).
  randomUUID() {
    const bytes = new Uint8Array(16);
    native.fillRandom(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  },
};
Object.defineProperty(Math, "random", { value: native.random, writable: true, configurable: true, enumerable: false });

// ---- performance (High Resolution Time): now and timeOrigin ----

class Performance {
  // Milliseconds since the time origin on the monotonic clock.
  now() {
    return native.now();
  }
  get timeOrigin() {
    return native.timeOrigin();
  }
  toJSON() {
    return { timeOrigin: this.timeOrigin };
  }
  get [Symbol.toStringTag]() {
    return "Performance";
  }
}

// ---- Globals ----

const fetch = makeFetch({ Request, take, headerList, makeResponse });
const { TextEncoderStream, TextDecoderStream } = makeStreams(TextEncoder, TextDecoder);
defineLazy(crypto, "subtle", subtle, true);

for (const [name, value] of Object.entries({
  Blob,
  File,
  FormData,
  Headers,
  Request,
  Response,
  TextDecoder,
  TextEncoder,
  TextDecoderStream,
  TextEncoderStream,
  URL,
  URLSearchParams,
  URLPattern: urlpattern,
  crypto,
  CryptoKey: subtle,
  fetch,
  AbortController,
  AbortSignal,
  DOMException,
  Event,
  EventTarget,
  ReadableStream,
  WritableStream: streams.WritableStream,
  TransformStream: streams.TransformStream,
  ReadableStreamDefaultReader: streams.ReadableStreamDefaultReader,
  ReadableStreamBYOBReader: streams.ReadableStreamBYOBReader,
  WritableStreamDefaultWriter: streams.WritableStreamDefaultWriter,
  ByteLengthQueuingStrategy: streams.ByteLengthQueuingStrategy,
  CountQueuingStrategy: streams.CountQueuingStrategy,
  CompressionStream: compression,
  DecompressionStream: compression,
  ...timerGlobals,
  atob,
  btoa,
  structuredClone,
  process,
  performance: new Performance(),
  queueMicrotask: (callback) => {
    if (typeof callback !== "function") throw new TypeError("queueMicrotask: the callback is not a function");
    Promise.resolve().then(() => callback());
  },
})) {
  if (loaders.has(value)) defineLazy(globalThis, name, value, false);
  else Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}

// ---- Dispatch ----

let byMethod = null; // method -> handler, for `export function GET(request)`
let fetchHandler = null; // for `export default { fetch(request) }`
let nodeHandler = null; // for `export default function handler(req, res)`
native.runTasks = installVercel(native); // the request context of @vercel/functions; wfn_run_task: the promises of waitUntil
let allow = "";
// The config.runtime values of Vercel's Edge runtime (@vercel/build-utils).
const edgeRuntimes = ["edge", "experimental-edge"];

// setup takes the bundle's exports (its module namespace) at load time.
native.setup = (exports) => {
  const found = methods.filter((m) => typeof exports[m] === "function");
  if (found.length > 0) {
    byMethod = Object.fromEntries(found.map((m) => [m, exports[m]]));
    if (byMethod.GET && !byMethod.HEAD) found.splice(1, 0, "HEAD"); // HEAD is answered from GET
    allow = methods.filter((m) => found.includes(m)).join(", ");
    native.serveWith(methods.map((m) => byMethod[m] ?? (m === "HEAD" ? byMethod.GET : undefined)));
    return;
  }
  // As Vercel's Node.js runtime, .default is unwrapped up to 5 levels
  // (module.exports = { default: handler } and such).
  let def = exports.default;
  for (let i = 0; i < 5 && def && typeof def === "object" && typeof def.fetch !== "function" && "default" in def; i++) def = def.default;
  if (def && typeof def === "object" && typeof def.fetch === "function") {
    fetchHandler = (request) => def.fetch(request);
    native.serveWith(methods.map(() => fetchHandler));
    return;
  }
  if (typeof def === "function" && edgeRuntimes.includes(exports.config?.runtime)) {
    // An Edge Function: with `export const config = { runtime: "edge" }`,
    // Vercel calls the default export with the request and a context whose
    // waitUntil is @vercel/functions' (VERCEL.md section 4.1).
    const functions = globalThis[Symbol.for("wfn:@vercel/functions")];
    const context = { waitUntil: (promise) => functions.waitUntil(promise) };
    fetchHandler = (request) => def(request, context);
    native.serveWith(methods.map(() => fetchHandler));
    return;
  }
  if (typeof def === "function") {
    nodeHandler = def;
    return;
  }
  throw new TypeError("the module exports no handler: export function GET(request) (or POST, ...), export default { fetch(request) }, export default function handler(req, res), or export default function handler(request) with export const config = { runtime: 'edge' }");
};

function describe(v) {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object") return `an object (${v.constructor?.name ?? "null prototype"})`;
  return `a ${typeof v}`;
}


// The request's signal is made on its first use (most handlers never look
// at it); made after an abort, it is born aborted. Module-level functions,
// not closures made per request: the prelude keeps names (esbuild's
// keepNames), which costs a named closure an Object.defineProperty each
// time it is made. native.served() is the number of the invocation
// served (fetch.c counts them).
let controller = null; // the AbortController of invocation controllerOf's request
let controllerOf = 0;

function abortRequest() {
  if (controllerOf === native.served()) controller?.abort(new DOMException("The client went away", "AbortError"));
}
onAbort(abortRequest);

// requestSignal is the signal of the request of invocation n: a request
// kept and first asked for its signal after its invocation ended gets
// one that never aborts, as it did when the signal was a closure.
function requestSignal(n) {
  if (n !== native.served()) return new AbortController().signal;
  if (controllerOf !== n) {
    controller = requestController();
    controllerOf = n;
    if (aborted()) abortRequest();
  }
  return controller.signal;
}

// fetch.c serves each invocation (wfnjs_serve): it calls the handler of
// the method and sends a Response with a string body or none itself,
// without JavaScript around the handler. The prelude serves the rest:
// dispatch the methods fetch.c has no handler for (every one for the
// Node.js shape; 405 for a method not exported), answer any other
// result of a handler. Each returns the promise of the invocation's end,
// or undefined once it has ended. A handler that returns a Response (not
// a promise of one) is answered without a promise: an async function and
// its await cost a warm hello about a quarter of its time in QuickJS.
// An exception escaping from here discards the instance: no finally.
native.serveSetup(
  function dispatch(method) {
    if (nodeHandler) {
      const done = serveNode(nodeHandler, native, method, native.url(), { URLSearchParams, TextDecoder });
      if (done === undefined) return end(); // ended before the handler returned
      return done.then(end);
    }
    let handler = fetchHandler;
    if (byMethod) {
      handler = byMethod[method] ?? (method === "HEAD" ? byMethod.GET : undefined);
      if (!handler) {
        send(new Response(null, { status: 405, headers: { allow } }), true);
        end();
        return;
      }
    }
    return answer(handler(native.incoming(method, native.url(), native.served())), method);
  },
  answer,
  finish,
);

function answer(res, method) {
  if (res instanceof Response) return respond(res, method);
  return Promise.resolve(res).then((r) => respond(r, method));
}

// send writes the response; a stream body goes to the client chunk by
// chunk (a HEAD's is cancelled), and send returns the promise of its end.
// A HEAD's whole body (a string or bytes) goes to the host as a GET's does:
// the host sends its Content-Length and drops it, so HEAD has the header
// fields GET would have (RFC 9110 section 9.3.2).
function send(res, head) {
  const body = take(res);
  if (typeof body === "object" && body instanceof ReadableStream) {
    native.respond(res, null);
    return head ? body.cancel() : pump(body);
  }
  native.respond(res, body === null ? null : typeof body === "string" && !body.isWellFormed() ? body.toWellFormed() : body);
}

// respond sends the handler's response and ends the invocation, once a
// streamed body is sent (it returns the promise of that).
function respond(res, method) {
  if (!(res instanceof Response)) {
    throw new TypeError(`the ${method} handler returned ${describe(res)}, not a Response`);
  }
  const streaming = send(res, method === "HEAD");
  if (streaming) return streaming.then(finish);
  finish();
}

function finish() {
  checkAbort(); // a write that failed as the client left: the signal still fires
  end();
}
native.tick = tick;
