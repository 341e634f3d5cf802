// Blob and File (File API, sections 3 and 4), FormData (XMLHttpRequest
// Standard, section 5), and the two forms a FormData takes as a body: the
// multipart/form-data encoding (HTML, section 4.10.21.8) and its parser
// (Fetch, "multipart/form-data parser"), used by Request and Response.
//
// Written here rather than bundled: the npm polyfills (fetch-blob,
// formdata-polyfill) load Node.js's streams with a top-level await, which
// a script (the prelude is one) cannot hold, and none parses multipart.
// A Blob holds its bytes in one Uint8Array, never changed once made.
import { native } from "./native.js";
import { bytesStream } from "./streams.js";

const empty = new Uint8Array(0);
const encode = (s) => new Uint8Array(native.encode(s.toWellFormed()));
// decode is UTF-8 decode (Encoding): a leading BOM dropped, malformed
// bytes as U+FFFD.
function decode(bytes) {
  const s = native.decode(bytes);
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

// blobType is a type as Blob keeps it: lower-cased, or "" when it holds a
// character outside U+0020 to U+007E (File API, Blob constructor, step 3).
function blobType(type) {
  const s = String(type);
  return /^[\x20-\x7e]*$/.test(s) ? s.toLowerCase() : "";
}

// relative is slice's start or end (a long long, clamped) made an index
// into size bytes (File API, "slice blob", steps 2 and 3).
function relative(at, size) {
  const n = Math.trunc(Number(at)) || 0;
  return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
}

let blobBytes; // (blob) => its bytes (not to be changed)
let makeBlob; // (bytes, type) => a Blob holding bytes, not copied

export class Blob {
  #bytes = empty;
  #type = "";

  // new Blob(parts, { type, endings }): parts an iterable of strings
  // (UTF-8), ArrayBuffers, views and Blobs.
  constructor(parts = undefined, options = undefined) {
    const endings = options?.endings ?? "transparent";
    if (endings !== "transparent" && endings !== "native") {
      throw new TypeError(`Blob: endings must be "transparent" or "native", not ${JSON.stringify(String(endings))}`);
    }
    if (options?.type !== undefined) this.#type = blobType(options.type);
    if (parts === undefined) return;
    if (parts === null || (typeof parts !== "object" && typeof parts !== "function") || typeof parts[Symbol.iterator] !== "function") {
      throw new TypeError("Blob: the parts must be an iterable of strings, ArrayBuffers, views or Blobs");
    }
    const chunks = [];
    let size = 0;
    for (const part of parts) {
      let c;
      if (part instanceof Blob) c = part.#bytes;
      else if (part instanceof ArrayBuffer) c = new Uint8Array(part);
      else if (ArrayBuffer.isView(part)) c = new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
      else c = encode(endings === "native" ? String(part).replace(/\r\n?/g, "\n") : String(part));
      chunks.push(c);
      size += c.length;
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    this.#bytes = bytes;
  }
  get size() {
    return this.#bytes.length;
  }
  get type() {
    return this.#type;
  }
  slice(start = 0, end = undefined, contentType = undefined) {
    const size = this.#bytes.length;
    const from = relative(start, size);
    const to = end === undefined ? size : relative(end, size);
    return makeBlob(this.#bytes.subarray(from, Math.max(from, to)), contentType === undefined ? "" : blobType(contentType));
  }
  stream() {
    return bytesStream(this.#bytes.slice());
  }
  async text() {
    return decode(this.#bytes);
  }
  async arrayBuffer() {
    return this.#bytes.slice().buffer;
  }
  async bytes() {
    return this.#bytes.slice();
  }
  get [Symbol.toStringTag]() {
    return "Blob";
  }
  static {
    blobBytes = (b) => b.#bytes;
    makeBlob = (bytes, type) => {
      const b = new Blob();
      b.#bytes = bytes;
      b.#type = type;
      return b;
    };
  }
}

export { blobBytes, makeBlob };

export class File extends Blob {
  #name;
  #lastModified;
  // new File(parts, name, { type, endings, lastModified }): lastModified
  // in milliseconds since the epoch, now when not given.
  constructor(parts, name, options = undefined) {
    if (arguments.length < 2) throw new TypeError(`File: 2 arguments required (the parts and the name), ${arguments.length} given`);
    super(parts, options);
    this.#name = String(name).toWellFormed();
    this.#lastModified = options?.lastModified === undefined ? Date.now() : Math.trunc(Number(options.lastModified)) || 0;
  }
  get name() {
    return this.#name;
  }
  get lastModified() {
    return this.#lastModified;
  }
  get webkitRelativePath() {
    return "";
  }
  get [Symbol.toStringTag]() {
    return "File";
  }
}

// entry is an entry of a FormData (XHR, "create an entry"): a Blob
// becomes a File named "blob", or filename when given.
function entry(what, args) {
  if (args.length < 2) throw new TypeError(`FormData.${what}: 2 arguments required, ${args.length} given`);
  const name = String(args[0]).toWellFormed();
  let value = args[1];
  if (!(value instanceof Blob)) {
    if (args.length > 2) throw new TypeError(`FormData.${what}: a filename is given, so the value must be a Blob`);
    return [name, String(value).toWellFormed()];
  }
  if (!(value instanceof File) || args[2] !== undefined) {
    const options = { type: value.type };
    if (value instanceof File) options.lastModified = value.lastModified;
    value = new File([value], args[2] === undefined ? "blob" : args[2], options);
  }
  return [name, value];
}

function need(what, args, n) {
  if (args.length < n) throw new TypeError(`FormData.${what}: ${n} argument${n > 1 ? "s" : ""} required, ${args.length} given`);
}

export class FormData {
  #list = []; // [name, value] in the order appended; value a string or a File

  constructor(form = undefined) {
    if (form !== undefined) throw new TypeError("FormData: there is no HTML form here; make an empty FormData and append to it");
  }
  append(name, value, filename) {
    this.#list.push(entry("append", arguments));
  }
  // set replaces the first entry of name and drops the others.
  set(name, value, filename) {
    const e = entry("set", arguments);
    const i = this.#list.findIndex((x) => x[0] === e[0]);
    if (i < 0) this.#list.push(e);
    else this.#list = [...this.#list.slice(0, i), e, ...this.#list.slice(i + 1).filter((x) => x[0] !== e[0])];
  }
  delete(name) {
    need("delete", arguments, 1);
    name = String(name).toWellFormed();
    this.#list = this.#list.filter((x) => x[0] !== name);
  }
  get(name) {
    need("get", arguments, 1);
    name = String(name).toWellFormed();
    return this.#list.find((x) => x[0] === name)?.[1] ?? null;
  }
  getAll(name) {
    need("getAll", arguments, 1);
    name = String(name).toWellFormed();
    return this.#list.filter((x) => x[0] === name).map((x) => x[1]);
  }
  has(name) {
    need("has", arguments, 1);
    name = String(name).toWellFormed();
    return this.#list.some((x) => x[0] === name);
  }
  // Iteration follows the list as it changes (WebIDL, pair iterators).
  *entries() {
    for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]];
  }
  *keys() {
    for (const [name] of this.entries()) yield name;
  }
  *values() {
    for (const [, value] of this.entries()) yield value;
  }
  forEach(callback, thisArg = undefined) {
    if (typeof callback !== "function") throw new TypeError("FormData.forEach: the callback is not a function");
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return "FormData";
  }
}

// ---- multipart/form-data ----

const crlf = (s) => s.replace(/\r\n|\r|\n/g, "\r\n");
const escapeField = (s) => s.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");

// encodeMultipart serialises a FormData as a multipart/form-data body
// (HTML, "multipart/form-data encoding algorithm", RFC 7578): the body's
// bytes and its Content-Type, with a random boundary.
export function encodeMultipart(form) {
  const random = new Uint8Array(12);
  native.fillRandom(random);
  const boundary = "----wfnFormBoundary" + Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  const parts = [];
  for (const [name, value] of form) {
    const disposition = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeField(crlf(name))}"`;
    if (typeof value === "string") {
      parts.push(`${disposition}\r\n\r\n${crlf(value)}\r\n`);
    } else {
      parts.push(`${disposition}; filename="${escapeField(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`, value, "\r\n");
    }
  }
  parts.push(`--${boundary}--\r\n`);
  return [blobBytes(new Blob(parts)), `multipart/form-data; boundary=${boundary}`];
}

// find returns where pattern first occurs in bytes at or after from, or -1.
function find(bytes, pattern, from) {
  const first = pattern[0];
  for (let i = bytes.indexOf(first, from); i >= 0 && i + pattern.length <= bytes.length; i = bytes.indexOf(first, i + 1)) {
    let k = 1;
    while (k < pattern.length && bytes[i + k] === pattern[k]) k++;
    if (k === pattern.length) return i;
  }
  return -1;
}

// fieldName undoes the escaping of a name or filename in a
// Content-Disposition header (Fetch, "parse a multipart/form-data name").
const fieldName = (s) => s.replace(/%0A/gi, "\n").replace(/%0D/gi, "\r").replace(/%22/g, '"');

// parseMultipart reads a multipart/form-data body (Fetch,
// "multipart/form-data parser"): a part with a filename is a File (of type
// its Content-Type, "text/plain" without one), the others are text.
// Malformed input throws a TypeError.
export function parseMultipart(bytes, boundary) {
  const fail = (why) => new TypeError(`formData: the multipart/form-data body is malformed: ${why}`);
  const delimiter = encode(`--${boundary}`);
  const next = encode(`\r\n--${boundary}`);
  const form = new FormData();
  if (find(bytes, delimiter, 0) !== 0) throw fail(`it does not start with the boundary "--${boundary}"`);
  let at = delimiter.length;
  for (;;) {
    if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) return form; // the closing delimiter
    if (bytes[at] !== 0x0d || bytes[at + 1] !== 0x0a) throw fail("a boundary is not followed by CRLF");
    at += 2;
    const headEnd = find(bytes, encode("\r\n\r\n"), at);
    if (headEnd < 0) throw fail("a part's headers do not end");
    let name = null;
    let filename = null;
    let type = null;
    for (const line of decode(bytes.subarray(at, headEnd)).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw fail(`a part's header line has no name: ${JSON.stringify(line)}`);
      const value = line.slice(colon + 1).trim();
      switch (line.slice(0, colon).trim().toLowerCase()) {
        case "content-disposition": {
          if (!/^form-data\s*(;|$)/i.test(value)) throw fail(`a part's Content-Disposition is not form-data: ${JSON.stringify(value)}`);
          for (const m of value.matchAll(/;\s*(name|filename)\s*=\s*"([^"]*)"/gi)) {
            if (m[1].toLowerCase() === "name") name = fieldName(m[2]);
            else filename = fieldName(m[2]);
          }
          break;
        }
        case "content-type":
          type = value;
          break;
      }
    }
    if (name === null) throw fail("a part has no Content-Disposition name");
    const bodyStart = headEnd + 4;
    const bodyEnd = find(bytes, next, bodyStart);
    if (bodyEnd < 0) throw fail("a part does not end with the boundary");
    const body = bytes.subarray(bodyStart, bodyEnd);
    if (filename !== null) {
      type ??= "text/plain";
      form.append(name, new File([body], filename, { type: /^[\x00-\x7f]*$/.test(type) ? type : "" }));
    } else {
      form.append(name, decode(body));
    }
    at = bodyEnd + next.length;
  }
}

// mimeEssence is a Content-Type's type/subtype, lower-case.
export const mimeEssence = (type) => (type ?? "").split(";")[0].trim().toLowerCase();

// boundaryOf is the boundary parameter of a Content-Type, or null.
export function boundaryOf(type) {
  const m = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(type);
  const b = m && (m[1] ?? m[2]);
  return b ? b : null;
}
