// The Node.js handler shape of Vercel Functions in wfn's JavaScript
// runtime: `export default function handler(req, res)` (or
// `module.exports = handler`), with the helpers of Vercel's Node.js runtime
// (VERCEL.md section 4, from @vercel/node's helpers): req.query,
// req.cookies and req.body parsed on first use, and res.status, send, json
// and redirect beside Node's setHeader, getHeader, writeHead, write and end.
//
// req and res are not Node.js streams: req is read whole (up to the host's
// 4.5 MB), through req.body or `for await (const chunk of req)`, or in
// pieces with req.read(size); res.write streams each chunk to the client
// as it comes, res.end completes the response.
import { aborted } from "./loop.js";

// nodeError is an error as Node.js makes them: its code (ERR_...) in
// `code` and in the message.
function nodeError(code, message, Type = Error) {
  const err = new Type(`${message}`);
  err.code = code;
  return err;
}

// A header value Node.js accepts: no control character but HTAB
// (checkInvalidHeaderChar in Node's lib/_http_common.js), which is also
// what the host accepts (abi/SPEC.md section 2, EINVAL).
const invalidHeaderChar = /[^\t\x20-\x7e\x80-\uffff]/;
// A header name: a token (RFC 9110, section 5.6.2).
const httpToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// ApiError is a request the helpers refuse (a body that is not valid JSON):
// the client gets its status, as from Vercel's helpers.
class ApiError extends Error {
  constructor(statusCode, message) {
    super(message);
    this.statusCode = statusCode;
  }
}

const kEnded = Symbol("ended");

// parseCookies reads a Cookie header as the `cookie` package does: pairs
// split on ";", names and values trimmed, a quoted value unquoted, values
// percent-decoded when they can be, the first of a repeated name kept.
function parseCookies(header) {
  const out = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value[0] === '"' && value.at(-1) === '"') value = value.slice(1, -1);
    if (value.includes("%")) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // kept as sent, as the cookie package does
      }
    }
    out[name] = value;
  }
  return out;
}

// parseQuery reads a query string as Node's querystring.parse does: "+"
// is a space, a repeated name gives an array of its values.
function parseQuery(search, URLSearchParams) {
  const out = {};
  for (const [name, value] of new URLSearchParams(search)) {
    if (!(name in out)) out[name] = value;
    else if (Array.isArray(out[name])) out[name].push(value);
    else out[name] = [out[name], value];
  }
  return out;
}

// mediaType is the lower-case type/subtype of a Content-Type value.
function mediaType(value) {
  return String(value).split(";")[0].trim().toLowerCase();
}

// withCharset sets the charset parameter of a Content-Type value.
function withCharset(value, charset) {
  const params = String(value)
    .split(";")
    .slice(1)
    .map((p) => p.trim())
    .filter((p) => p && !/^charset=/i.test(p));
  return [mediaType(value), ...params, `charset=${charset}`].join("; ");
}

function isBytes(v) {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

const unset = Symbol("unset");

// IncomingMessage is req, for the request being served: headers, query,
// cookies and body are read from the host and parsed on first use, and may
// be assigned, as Vercel's helpers define them.
class IncomingMessage {
  httpVersion = "1.1";
  #native;
  #deps;
  #search;
  #raw; // the body's bytes, read once
  #rawHeaders = unset;
  #pending = null; // req.read: the rest of the last chunk read from the host
  #reading = false; // req.read was called: the body streams from the host
  #headers = unset;
  #query = unset;
  #cookies = unset;
  #body = unset;
  constructor(native, method, url, deps) {
    this.#native = native;
    this.#deps = deps;
    this.method = method;
    // Node's req.url is the request target: the path and the query.
    const start = url.indexOf("/", url.indexOf("//") + 2);
    this.url = start < 0 ? "/" : url.slice(start);
    const q = this.url.indexOf("?");
    this.#search = q < 0 ? "" : this.url.slice(q + 1).split("#")[0];
  }
  #bytes() {
    if (this.#raw === undefined) {
      const none = this.method === "GET" || this.method === "HEAD";
      if (none) this.#raw = new Uint8Array(0);
      else if (!this.#reading) this.#raw = new Uint8Array(this.#native.readBody());
      else {
        // What req.read has not taken yet.
        const parts = [];
        for (let c; (c = this.read()) !== null; ) parts.push(c);
        this.#raw = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
        parts.reduce((at, c) => (this.#raw.set(c, at), at + c.length), 0);
      }
    }
    return this.#raw;
  }
  // read(size): the next bytes of the body, at most size (all the host has
  // at hand when size is not given), a Uint8Array; null at the end. As
  // Node's readable.read(size) in paused mode, except that it waits for
  // the client instead of returning null before the end.
  read(size) {
    if (this.#raw !== undefined && !this.#reading) return null;
    this.#reading = true;
    if (this.#pending === null || this.#pending.length === 0) {
      if (this.#pending === undefined) return null;
      const c = this.method === "GET" || this.method === "HEAD" ? null : this.#native.readChunk();
      if (c === null) {
        this.#pending = undefined; // the end
        return null;
      }
      this.#pending = new Uint8Array(c);
    }
    const n = size === undefined ? this.#pending.length : Math.max(1, Math.min(Number(size) || 0, this.#pending.length));
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }
  // Whether the client went away (with supportsCancellation): Node's
  // message.aborted.
  get aborted() {
    return aborted();
  }
  // The request's headers as Node's message.rawHeaders, [name, value,
  // name, value, ...], a pair for each value in the order received; the
  // names lower-case, as the host gives them.
  get rawHeaders() {
    if (this.#rawHeaders === unset) this.#rawHeaders = this.#native.headers();
    return this.#rawHeaders;
  }
  async *[Symbol.asyncIterator]() {
    const b = this.#bytes();
    if (b.length > 0) yield b;
  }
  get headers() {
    if (this.#headers === unset) {
      const headers = {};
      const list = this.rawHeaders;
      for (let i = 0; i < list.length; i += 2) {
        const [name, value] = [list[i], list[i + 1]];
        if (name === "set-cookie") (headers[name] ??= []).push(value);
        else if (name in headers) headers[name] += (name === "cookie" ? "; " : ", ") + value;
        else headers[name] = value;
      }
      this.#headers = headers;
    }
    return this.#headers;
  }
  set headers(v) {
    this.#headers = v;
  }
  // As on Vercel, the dynamic segments of the function's path ([name]) are
  // query parameters too: the host sets them in the request's URL
  // (abi/SPEC.md, request_url).
  get query() {
    if (this.#query === unset) this.#query = parseQuery(this.#search, this.#deps.URLSearchParams);
    return this.#query;
  }
  set query(v) {
    this.#query = v;
  }
  get cookies() {
    if (this.#cookies === unset) this.#cookies = parseCookies(this.headers.cookie);
    return this.#cookies;
  }
  set cookies(v) {
    this.#cookies = v;
  }
  get body() {
    if (this.#body === unset) this.#body = this.#parseBody();
    return this.#body;
  }
  set body(v) {
    this.#body = v;
  }
  // As Vercel's getBodyParser: by the type of Content-Type, undefined
  // without one or for another type.
  #parseBody() {
    const contentType = this.headers["content-type"];
    if (!contentType) return undefined;
    const text = () => new this.#deps.TextDecoder().decode(this.#bytes());
    switch (mediaType(contentType)) {
      case "application/json": {
        const s = text();
        if (!s) return {};
        try {
          return JSON.parse(s);
        } catch {
          throw new ApiError(400, "Invalid JSON");
        }
      }
      case "application/octet-stream":
        return this.#bytes();
      case "application/x-www-form-urlencoded":
        return parseQuery(text(), this.#deps.URLSearchParams);
      case "text/plain":
        return text();
      default:
        return undefined;
    }
  }
}

// ServerResponse is res: Node's header and body methods over the wfn ABI,
// with Vercel's helpers.
class ServerResponse {
  statusCode = 200;
  statusMessage = "";
  headersSent = false;
  writableEnded = false;
  #native;
  #req;
  #headers = new Map(); // lower-case name -> [name as set, value]
  #ended = null; // made when someone waits for the end
  constructor(native, req) {
    this.#native = native;
    this.#req = req;
  }
  // A promise that resolves once the response has ended.
  get [kEnded]() {
    if (this.#ended === null) {
      this.#ended = Promise.withResolvers();
      if (this.writableEnded) this.#ended.resolve();
    }
    return this.#ended.promise;
  }

  #check(action, name, value) {
    if (this.headersSent) throw nodeError("ERR_HTTP_HEADERS_SENT", `Cannot ${action} headers after they are sent to the client`);
    if (typeof name !== "string" || !httpToken.test(name)) throw nodeError("ERR_INVALID_HTTP_TOKEN", `Header name must be a valid HTTP token ["${name}"]`, TypeError);
    const key = this.#native.headerName(name);
    for (const v of value === undefined ? [] : Array.isArray(value) ? value : [value]) {
      if (invalidHeaderChar.test(String(v))) throw nodeError("ERR_INVALID_CHAR", `Invalid character in header content ["${name}"]`, TypeError);
      this.#native.headerValue(String(v));
    }
    return key;
  }
  setHeader(name, value) {
    const key = this.#check("set", name, value);
    this.#headers.set(key, [String(name), Array.isArray(value) ? value.map(String) : value]);
    return this;
  }
  // appendHeader adds a value (or values) after those set: Node's
  // outgoingMessage.appendHeader.
  appendHeader(name, value) {
    const key = this.#check("set", name, value);
    const values = [value].flat().map(String);
    const had = this.#headers.get(key);
    this.#headers.set(key, had ? [had[0], [had[1]].flat().map(String).concat(values)] : [String(name), values]);
    return this;
  }
  getHeader(name) {
    return this.#headers.get(String(name).toLowerCase())?.[1];
  }
  getHeaders() {
    const out = {};
    for (const [key, [, value]] of this.#headers) out[key] = value;
    return out;
  }
  getHeaderNames() {
    return [...this.#headers.keys()];
  }
  hasHeader(name) {
    return this.#headers.has(String(name).toLowerCase());
  }
  removeHeader(name) {
    this.#headers.delete(this.#check("remove", name));
  }
  // writeHead(status[, statusMessage][, headers]): headers an object or a
  // flat [name, value, ...] list.
  writeHead(status, message, headers) {
    if (this.headersSent) throw nodeError("ERR_HTTP_HEADERS_SENT", "Cannot write headers after they are sent to the client");
    if (typeof message !== "string") [message, headers] = [undefined, message];
    this.statusCode = status;
    if (message !== undefined) this.statusMessage = message;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(headers[i], headers[i + 1]);
    } else if (headers) {
      for (const name of Object.keys(headers)) this.setHeader(name, headers[name]);
    }
    this.#head();
    return this;
  }
  #head() {
    if (this.headersSent) return;
    const status = Number(this.statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 999) throw nodeError("ERR_HTTP_INVALID_STATUS_CODE", `Invalid status code: ${this.statusCode}`, RangeError);
    const list = [];
    for (const [key, [, value]] of this.#headers) {
      for (const v of Array.isArray(value) ? value : [value]) list.push(key, String(v));
    }
    this.#native.head(status, list);
    this.headersSent = true;
  }
  #body(chunk, encoding) {
    if (chunk === undefined || chunk === null) return;
    if (typeof chunk === "string") {
      if (encoding && !/^utf-?8$/i.test(encoding)) throw new TypeError(`res.write: the encoding "${encoding}" is not supported (only utf-8 is)`);
      if (chunk.length > 0) this.#native.write(chunk.toWellFormed());
    } else if (isBytes(chunk)) {
      this.#native.write(chunk);
    } else {
      throw new TypeError(`The "chunk" argument must be a string or a Uint8Array, not ${typeof chunk}`);
    }
  }
  // write sends the head, then the chunk at once: the response streams.
  write(chunk, encoding, callback) {
    if (this.writableEnded) throw nodeError("ERR_STREAM_WRITE_AFTER_END", "write after end");
    if (typeof encoding === "function") [callback, encoding] = [encoding, undefined];
    this.#head();
    if (this.#req.method !== "HEAD") this.#body(chunk, encoding);
    this.#native.flush();
    if (callback) queueMicrotask(callback);
    return true;
  }
  end(chunk, encoding, callback) {
    if (typeof chunk === "function") [callback, chunk] = [chunk, undefined];
    if (typeof encoding === "function") [callback, encoding] = [encoding, undefined];
    if (this.writableEnded) {
      // Node reports the second end to its callback only.
      if (callback) queueMicrotask(() => callback(nodeError("ERR_STREAM_ALREADY_FINISHED", "Cannot call end after a stream was finished")));
      return this;
    }
    this.#head();
    if (this.#req.method !== "HEAD") this.#body(chunk, encoding);
    this.writableEnded = true;
    this.#ended?.resolve();
    if (callback) queueMicrotask(callback);
    return this;
  }
  get finished() {
    return this.writableEnded;
  }

  // Vercel's helpers.
  status(code) {
    this.statusCode = code;
    return this;
  }
  send(body) {
    let chunk = body;
    switch (typeof chunk) {
      case "string":
        if (!this.hasHeader("content-type")) this.setHeader("Content-Type", "text/html");
        break;
      case "boolean":
      case "number":
      case "object":
        if (chunk === null) chunk = "";
        else if (isBytes(chunk)) {
          if (!this.hasHeader("content-type")) this.setHeader("Content-Type", "application/octet-stream");
        } else return this.json(chunk);
        break;
    }
    if (typeof chunk === "string") {
      const type = this.getHeader("content-type");
      if (typeof type === "string") this.setHeader("Content-Type", withCharset(type, "utf-8"));
    }
    if (this.statusCode === 204 || this.statusCode === 304) {
      this.removeHeader("content-type");
      this.removeHeader("content-length");
      this.removeHeader("transfer-encoding");
      chunk = "";
    }
    return this.end(chunk);
  }
  json(body) {
    if (!this.hasHeader("content-type")) this.setHeader("Content-Type", "application/json; charset=utf-8");
    return this.send(JSON.stringify(body));
  }
  // redirect(url) with 307, or redirect(status, url).
  redirect(statusOrUrl, url) {
    if (typeof statusOrUrl === "string") [statusOrUrl, url] = [307, statusOrUrl];
    if (typeof statusOrUrl !== "number" || typeof url !== "string") {
      throw new TypeError("res.redirect: use res.redirect('/destination') or res.redirect(307, '/destination')");
    }
    return this.writeHead(statusOrUrl, { Location: url }).end();
  }
}

function describe(v) {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object") return `an object (${v[Symbol.toStringTag] ?? v.constructor?.name ?? "null prototype"})`;
  return `a ${typeof v}`;
}

// serveNode serves the current request with a (req, res) handler. The
// response is done once it has ended: at once for a handler that ends it
// before returning (no promise is made then), else when the promise this
// returns settles. A handler that returns a value without ending it fails
// (500); one that returns nothing is waited for (504 at maxDuration if
// nothing ends it). A body that is not valid JSON answers 400 "Invalid
// JSON" when the handler lets the error through.
export function serveNode(handler, native, method, url, deps) {
  const req = new IncomingMessage(native, method, url, deps);
  const res = new ServerResponse(native, req);
  let returned;
  try {
    returned = handler(req, res);
  } catch (err) {
    return refuse(res, err);
  }
  if (typeof returned?.then !== "function") {
    if (res.writableEnded) return;
    return waitForEnd(res, returned);
  }
  returned.then(undefined, (err) => {
    if (res.writableEnded) console.error("Uncaught exception after the response ended:", err);
  });
  return Promise.race([returned.then((value) => ({ value })), res[kEnded].then(() => null)]).then(
    (r) => (r === null || res.writableEnded ? undefined : waitForEnd(res, r.value)),
    (err) => refuse(res, err),
  );
}

// waitForEnd waits for a handler that returned without ending the response.
async function waitForEnd(res, returned) {
  if (returned !== undefined) {
    throw new TypeError(
      `the default export is a Node.js (req, res) handler and it returned ${describe(returned)} without ending the response: ` +
        "end it with res.end(), res.send() or res.json(), or export function GET(request) to return a Response",
    );
  }
  await res[kEnded];
}

// refuse answers an ApiError (400 Invalid JSON) that left the handler
// before the head was sent; it rethrows anything else.
function refuse(res, err) {
  if (!(err instanceof ApiError) || res.headersSent) throw err;
  res.statusCode = err.statusCode;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(err.message);
}
