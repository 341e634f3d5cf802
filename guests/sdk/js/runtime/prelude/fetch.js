// fetch (Fetch Standard, section 5.6) over the host's outbound imports:
// http_send starts the request and returns at once, so several fetches
// are in flight together; the response head is waited for by the event
// loop (a host wait), and the body streams from the host as it is read.
// The host applies the function's outbound policy, follows redirects and
// ends every request with the invocation.
import { DOMException } from "./events.js";
import { hostWait } from "./loop.js";
import { native } from "./native.js";
import { collect, hostStream, ReadableStream } from "./streams.js";

const nullBodyStatus = [101, 103, 204, 205, 304];

// makeFetch builds fetch on the prelude's Request and Response; take
// consumes a body, headerList flattens Headers for the host, and
// makeResponse(status, headers list, body stream) builds a Response.
export function makeFetch({ Request, take, headerList, makeResponse }) {
  return async function fetch(input, init = undefined) {
    const request = new Request(input, init);
    // ABI v1's http_send follows redirects in the host: a redirect cannot
    // be handed back (manual) or refused (error).
    if (request.redirect !== "follow") {
      throw new TypeError(`fetch: redirect: "${request.redirect}" is not supported yet: the host follows redirects itself (only "follow" is supported)`);
    }
    const signal = request.signal;
    signal.throwIfAborted();
    let body = take(request);
    // ABI v1 has no streamed request body: a stream is read whole first.
    if (body instanceof ReadableStream) body = await collect(body);
    else if (typeof body === "string") body = body.toWellFormed();
    signal.throwIfAborted();
    const handle = native.httpSend(request.method, request.url, headerList(request.headers), body ?? null);
    let open = true;
    const close = () => {
      if (open) {
        open = false;
        native.httpClose(handle);
      }
    };
    const head = hostWait(() => native.httpHead(handle), (ms) => native.httpWait(handle, ms));
    let onAbort;
    const aborted = new Promise((_, reject) => {
      onAbort = () => {
        head.cancel();
        close();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    let list;
    try {
      list = await Promise.race([head, aborted]);
    } catch (e) {
      close();
      if (signal.aborted) throw signal.reason;
      throw new TypeError(`fetch ${request.url} failed: ${e.message}`, { cause: e });
    }
    const status = list[0];
    let stream = null;
    if (request.method === "HEAD" || nullBodyStatus.includes(status)) {
      close();
      signal.removeEventListener("abort", onAbort);
    } else {
      stream = hostStream(
        () => {
          if (signal.aborted) throw signal.reason;
          return native.httpRead(handle);
        },
        () => {
          close();
          signal.removeEventListener("abort", onAbort);
        },
        () => (signal.aborted ? signal.reason : undefined),
        (ms) => native.httpWait(handle, ms),
      );
      // An abort while the body is read errors the stream.
      signal.removeEventListener("abort", onAbort);
      signal.addEventListener("abort", () => {
        close();
        stream.cancel(signal.reason).catch(() => {});
      }, { once: true });
    }
    aborted.catch(() => {});
    return makeResponse(status, list.slice(1), stream, request.url);
  };
}

export { DOMException };
