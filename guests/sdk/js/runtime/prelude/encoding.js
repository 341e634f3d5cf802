// The Encoding Standard's helpers beyond TextEncoder.encode and
// TextDecoder.decode (which are in prelude.js, over native UTF-8 code):
// streaming decode, encodeInto, TextEncoderStream and TextDecoderStream.
import { TransformStream } from "./streams.js";

// viewOf returns the bytes of an AllowSharedBufferSource as a Uint8Array.
export function viewOf(input) {
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new TypeError("TextDecoder.decode: the input must be an ArrayBuffer or a view of one");
}

export function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// incompleteTail returns where a UTF-8 sequence that the end of bytes cuts
// short begins, or bytes.length when none is: a lead byte among the last
// three whose sequence needs more bytes than follow it.
export function incompleteTail(bytes) {
  for (let i = bytes.length - 1; i >= 0 && i >= bytes.length - 3; i--) {
    const b = bytes[i];
    if (b >= 0x80 && b < 0xc0) continue; // a continuation byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + need > bytes.length && b < 0xf5 ? i : bytes.length;
  }
  return bytes.length;
}

// encodeInto (Encoding, "encodeInto"): UTF-8 of source into destination,
// whole code points only; { read: UTF-16 code units, written: bytes }.
export function encodeInto(source, destination) {
  if (!(destination instanceof Uint8Array)) throw new TypeError("TextEncoder.encodeInto: the destination must be a Uint8Array");
  let read = 0;
  let written = 0;
  for (const ch of source) {
    let cp = ch.codePointAt(0);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (written + n > destination.length) break;
    if (n === 1) destination[written] = cp;
    else {
      destination[written] = (n === 2 ? 0xc0 : n === 3 ? 0xe0 : 0xf0) | (cp >> (6 * (n - 1)));
      for (let k = 1; k < n; k++) destination[written + k] = 0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f);
    }
    written += n;
    read += ch.length;
  }
  return { read, written };
}

// makeStreams builds TextEncoderStream and TextDecoderStream (Encoding,
// section 7) on the prelude's TextEncoder and TextDecoder.
export function makeStreams(TextEncoder, TextDecoder) {
  class TextEncoderStream {
    #stream;
    constructor() {
      const encoder = new TextEncoder();
      let high = ""; // a high surrogate that ended the last chunk
      this.#stream = new TransformStream({
        transform(chunk, controller) {
          let s = high + String(chunk);
          high = "";
          const last = s.charCodeAt(s.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            high = s.slice(-1);
            s = s.slice(0, -1);
          }
          if (s.length > 0) controller.enqueue(encoder.encode(s));
        },
        flush(controller) {
          if (high) controller.enqueue(encoder.encode(high)); // U+FFFD
        },
      });
    }
    get encoding() {
      return "utf-8";
    }
    get readable() {
      return this.#stream.readable;
    }
    get writable() {
      return this.#stream.writable;
    }
    get [Symbol.toStringTag]() {
      return "TextEncoderStream";
    }
  }

  class TextDecoderStream {
    #decoder;
    #stream;
    constructor(label = "utf-8", options = {}) {
      const decoder = (this.#decoder = new TextDecoder(label, options));
      this.#stream = new TransformStream({
        transform(chunk, controller) {
          const s = decoder.decode(chunk, { stream: true });
          if (s) controller.enqueue(s);
        },
        flush(controller) {
          const s = decoder.decode();
          if (s) controller.enqueue(s);
        },
      });
    }
    get encoding() {
      return this.#decoder.encoding;
    }
    get fatal() {
      return this.#decoder.fatal;
    }
    get ignoreBOM() {
      return this.#decoder.ignoreBOM;
    }
    get readable() {
      return this.#stream.readable;
    }
    get writable() {
      return this.#stream.writable;
    }
    get [Symbol.toStringTag]() {
      return "TextDecoderStream";
    }
  }
  return { TextEncoderStream, TextDecoderStream };
}
