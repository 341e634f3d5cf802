// CompressionStream and DecompressionStream (WHATWG Compression Streams)
// for "deflate" (zlib, RFC 1950), "deflate-raw" (RFC 1951) and "gzip"
// (RFC 1952): TransformStreams over pako's port of zlib, driven through
// its low-level API, so that the output is zlib's (level 6, gzip's OS byte
// 3, no time), checksums are checked and the end of the compressed data is
// seen where zlib sees it. Loaded on first use (lazy in prelude.js).
import { ZStream, zlibDeflate, zlibDeflateEnd, zlibDeflateInit2, zlibInflate, zlibInflateEnd, zlibInflateInit2, zlibInflateReset } from "pako";
import { TransformStream } from "./shared.js";

const Z_OK = 0, Z_STREAM_END = 1, Z_NEED_DICT = 2, Z_BUF_ERROR = -5, Z_NO_FLUSH = 0, Z_FINISH = 4;
const outSize = 16384;

// windowBits per format, as zlib takes them: 15 with the zlib wrapper,
// -15 raw, 15 + 16 gzip only.
const windowBits = { deflate: 15, "deflate-raw": -15, gzip: 31 };

function formatOf(what, format) {
  const f = String(format);
  if (!Object.hasOwn(windowBits, f)) throw new TypeError(`${what}: the format must be "deflate", "deflate-raw" or "gzip", not ${JSON.stringify(f)}`);
  return f;
}

// bytesOf is a chunk's bytes: a BufferSource, else a TypeError
// (Compression Streams, "compress and enqueue a chunk").
function bytesOf(what, chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError(`${what}: a chunk must be an ArrayBuffer or a view of one, not ${chunk === null ? "null" : typeof chunk}`);
}

// run feeds input (or nothing) through step (zlib's deflate or inflate)
// with flush, enqueueing the output in chunks as it comes; it returns
// zlib's last status.
function run(strm, step, input, flush, controller) {
  strm.input = input;
  strm.next_in = 0;
  strm.avail_in = input.length;
  for (;;) {
    strm.output = new Uint8Array(outSize);
    strm.next_out = 0;
    strm.avail_out = outSize;
    const before = strm.avail_in;
    const status = step(strm, flush);
    const n = strm.next_out;
    if (n > 0) controller.enqueue(n === outSize ? strm.output : strm.output.slice(0, n));
    if (status !== Z_OK && status !== Z_BUF_ERROR) return status;
    // More output may be waiting while the buffer came back full; a step
    // that neither read nor wrote has nothing more to do.
    if ((strm.avail_out > 0 && strm.avail_in === 0) || (n === 0 && strm.avail_in === before)) return status;
  }
}

export class CompressionStream {
  #stream;
  constructor(format) {
    const f = formatOf("CompressionStream", format);
    const strm = new ZStream();
    // Level 6 (zlib's default), memLevel 8, the default strategy.
    if (zlibDeflateInit2(strm, 6, 8, windowBits[f], 8, 0) !== Z_OK) throw new TypeError(`CompressionStream: ${strm.msg}`);
    this.#stream = new TransformStream({
      transform(chunk, controller) {
        const bytes = bytesOf("CompressionStream", chunk);
        if (bytes.length > 0) run(strm, zlibDeflate, bytes, Z_NO_FLUSH, controller);
      },
      flush(controller) {
        run(strm, zlibDeflate, new Uint8Array(0), Z_FINISH, controller);
        zlibDeflateEnd(strm);
      },
    });
  }
  get readable() {
    return this.#stream.readable;
  }
  get writable() {
    return this.#stream.writable;
  }
  get [Symbol.toStringTag]() {
    return "CompressionStream";
  }
}

export class DecompressionStream {
  #stream;
  constructor(format) {
    const f = formatOf("DecompressionStream", format);
    const strm = new ZStream();
    if (zlibInflateInit2(strm, windowBits[f]) !== Z_OK) throw new TypeError(`DecompressionStream: ${strm.msg}`);
    let ended = false; // the compressed data ended (Z_STREAM_END)
    const fail = (why) => {
      zlibInflateEnd(strm);
      return new TypeError(`DecompressionStream: ${why}`);
    };
    // decompress inflates bytes; data after the end of the compressed
    // data is a TypeError (Compression Streams, "decompress and enqueue a
    // chunk"), but for gzip another member, which zlib and Node.js go on
    // to read.
    const decompress = (bytes, flush, controller) => {
      if (ended && bytes.length > 0) throw fail("there is data after the end of the compressed data");
      let status = run(strm, zlibInflate, bytes, flush, controller);
      while (status === Z_STREAM_END && strm.avail_in > 0 && f === "gzip" && strm.input[strm.next_in] === 0x1f) {
        zlibInflateReset(strm);
        status = run(strm, zlibInflate, strm.input.subarray(strm.next_in), flush, controller);
      }
      if (status === Z_STREAM_END) {
        ended = true;
        if (strm.avail_in > 0) throw fail("there is data after the end of the compressed data");
        return;
      }
      if (status === Z_NEED_DICT) throw fail("the compressed data needs a preset dictionary");
      if (status !== Z_OK && status !== Z_BUF_ERROR) throw fail(strm.msg || `zlib error ${status}`);
    };
    this.#stream = new TransformStream({
      transform(chunk, controller) {
        decompress(bytesOf("DecompressionStream", chunk), Z_NO_FLUSH, controller);
      },
      flush(controller) {
        if (!ended) decompress(new Uint8Array(0), Z_FINISH, controller);
        // The input ended before the compressed data did.
        if (!ended) throw fail("unexpected end of the compressed data");
        zlibInflateEnd(strm);
      },
    });
  }
  get readable() {
    return this.#stream.readable;
  }
  get writable() {
    return this.#stream.writable;
  }
  get [Symbol.toStringTag]() {
    return "DecompressionStream";
  }
}
