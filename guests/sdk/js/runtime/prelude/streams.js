// WHATWG Streams (web-streams-polyfill), and the bodies wfn streams
// through them: the request body read from the host in chunks, a response
// body read from an outbound request, and a ReadableStream written to the
// client chunk by chunk.
import { ReadableStream } from "web-streams-polyfill";
import { aborted, checkAbort, hostWait } from "./loop.js";
import { native } from "./native.js";

export * from "web-streams-polyfill";

// hostStream is a byte stream read by read(), a host import that waits
// and returns an ArrayBuffer or null at the end; each read is a host wait
// of the event loop, made only when the consumer asks (high-water mark 0).
// close runs once, at the end, on an error or on cancel; reason() may
// name the error to give instead of the import's (an abort's reason).
export function hostStream(read, close = () => {}, reason = () => undefined, ready = null) {
  let closed = false;
  const done = () => {
    if (!closed) {
      closed = true;
      close();
    }
  };
  // A readable byte stream, as the body of a Request or Response is
  // (Fetch, "body"): BYOB readers read it into their own buffers.
  return new ReadableStream(
    {
      type: "bytes",
      async pull(controller) {
        let buf;
        try {
          buf = await hostWait(read, ready);
        } catch (e) {
          done();
          throw reason() ?? e;
        }
        if (buf === null) {
          done();
          controller.close();
          // A BYOB read waiting for bytes ends with done (Streams,
          // "ReadableByteStreamController close": the source responds 0).
          controller.byobRequest?.respond(0);
        } else {
          controller.enqueue(new Uint8Array(buf));
        }
      },
      cancel: done,
    },
    { highWaterMark: 0 },
  );
}

// requestBody is the body of the request being served.
export const requestBody = () => hostStream(native.readChunk);

// bytesStream is a stream of one chunk.
export function bytesStream(bytes) {
  return new ReadableStream({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

// collect reads a stream to its end: its chunks joined, a Uint8Array.
export async function collect(stream) {
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const c = chunkBytes(value);
    chunks.push(c);
    size += c.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function chunkBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`a body stream's chunk must be a Uint8Array, not ${value === null ? "null" : typeof value}`);
}

// pump writes a stream to the response, flushing after each chunk, so
// that the client gets each chunk as it comes. When the client has left
// (the write fails), the stream is cancelled and pump returns; an error
// of the stream itself is thrown (the host then cuts the response, so the
// client sees it incomplete).
export async function pump(stream) {
  const reader = stream.getReader();
  for (;;) {
    let done, value;
    try {
      ({ done, value } = await reader.read());
    } catch (e) {
      // The stream failed because the client left (a fetch given
      // request.signal, say): nobody is there to see it.
      if (aborted() || checkAbort()) return;
      throw e;
    }
    if (done) return;
    try {
      native.write(chunkBytes(value));
      native.flush();
    } catch (e) {
      checkAbort();
      reader.cancel(e).catch(() => {});
      if (e instanceof TypeError && /ECANCELED|EIO|ECLOSED/.test(e.message)) return;
      throw e;
    }
  }
}
