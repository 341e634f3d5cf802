/* wfnjs: the JavaScript runtime of wfn, a WASI reactor over the wfn ABI
 * (abi/SPEC.md) running QuickJS.
 *
 * wfn_init creates the engine, evaluates the prelude (prelude.js, the Web
 * APIs, embedded by build.sh as QuickJS bytecode in prelude.h, with the
 * bundles it loads on first use: native.load) and then
 * the function's bundle, an ES module that the host passes in the
 * environment variable WFN_JS_BUNDLE. The host snapshots the instance
 * after wfn_init, so a cold start neither parses nor evaluates them again.
 *
 * wfn_handle serves the request (fetch.c's wfnjs_serve: it builds the
 * Request, calls the handler and writes its Response, or hands over to
 * the prelude's dispatch), then runs the job queue until the promise of
 * the invocation's end, if any, settles. An exception that escapes the
 * handler is logged with its stack, and the instance traps: the host
 * answers 500 FUNCTION_INVOCATION_FAILED and discards the instance.
 *
 * The functions of the object `native` below are what the prelude builds
 * the Web APIs on; the prelude takes it off the global object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quickjs.h"
#include "wfn.h"
#include "prelude.h"

/* vercel.c: the native functions behind @vercel/functions. */
void wfnjs_vercel_install(JSContext *c, JSValueConst native);
/* headers.c, fetch.c: the Headers, Request and Response classes; the list of a
 * Headers (NULL for another value). */
void wfnjs_headers_install(JSContext *c, JSValueConst native);
void wfnjs_response_install(JSContext *c, JSValueConst native);
/* fetch.c: serves the invocation that starts (the handler, the Response). */
JSValue wfnjs_serve(JSContext *c);
void wfnjs_serve_end(JSContext *c);
JSValue *wfnjs_headers_list(JSValueConst h, uint32_t *len);
int wfnjs_bytes(JSContext *c, JSValueConst v, const uint8_t **p, size_t *len, const char **str);

/* The linker gives the stack WFNJS_STACK bytes (build.sh sets both)
 * below the data (--stack-first), so an overflow traps instead of writing
 * over the heap. QuickJS checks its own recursion against a bound 128 KiB
 * smaller, room for the C frames between two checks, and throws a
 * catchable InternalError. The stack is part of every instance's memory:
 * 512 KiB gives about 1,200 nested JavaScript calls, as many as the
 * host's own stack limit (engine.MaxStack) lets through under wazero. */
#ifndef WFNJS_STACK
#error "build.sh defines WFNJS_STACK, the stack size it links with"
#endif
#define JS_STACK_SIZE (WFNJS_STACK - 128 * 1024)

static JSRuntime *rt;
static JSContext *ctx;
static JSValue native;   /* the object of native functions */

/* write_all writes the whole buffer to fd (1: stdout, 2: stderr: the
 * invocation's log lines). */
static void write_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void write_str(int fd, const char *s) { write_all(fd, s, strlen(s)); }

/* write_stack logs a stack trace, its first and last frames only when it
 * is long (runaway recursion makes thousands). */
#define STACK_HEAD 20
#define STACK_TAIL 5
static void write_stack(const char *s) {
    size_t lines = 0;
    for (const char *p = s; *p; p++) lines += *p == '\n';
    size_t line = 0;
    int skipped = 0;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
        if (line < STACK_HEAD || line + STACK_TAIL >= lines) {
            write_all(2, s, n);
        } else if (!skipped) {
            char msg[64];
            snprintf(msg, sizeof msg, "    ... %zu more frames\n", lines - STACK_HEAD - STACK_TAIL);
            write_str(2, msg);
            skipped = 1;
        }
        s += n;
        line++;
    }
}

/* report logs an exception (with its stack when it is an Error) on stderr. */
static void report(const char *what, JSValueConst exc) {
    write_str(2, what);
    const char *msg = JS_ToCString(ctx, exc);
    write_str(2, msg ? msg : "(an exception that cannot be shown)");
    JS_FreeCString(ctx, msg);
    write_str(2, "\n");
    if (JS_IsError(ctx, exc)) {
        JSValue stack = JS_GetPropertyStr(ctx, exc, "stack");
        if (JS_IsString(stack)) {
            const char *s = JS_ToCString(ctx, stack);
            if (s) write_stack(s);
            JS_FreeCString(ctx, s);
        }
        JS_FreeValue(ctx, stack);
    }
}

/* fail logs the pending exception and traps: the instance is discarded. */
static _Noreturn void fail(const char *what) {
    JSValue exc = JS_GetException(ctx);
    report(what, exc);
    JS_FreeValue(ctx, exc);
    abort();
}

/* run_jobs runs the job queue (promise reactions) until it is empty. */
static void run_jobs(void) {
    for (;;) {
        JSContext *c;
        int r = JS_ExecutePendingJob(rt, &c);
        if (r == 0) return;
        if (r < 0) fail("Uncaught exception in a job: ");
    }
}

static int tick(void);

/* settle runs the event loop until promise p settles, and returns its
 * state: the job queue (promise reactions), then one step of the
 * prelude's loop (tick: the abort signal, due timers, a fetch waiting for
 * its response head), sleeping until the next timer when there is nothing
 * else to do. A promise left pending with no job, timer or host wait
 * can never settle: the guest waits for the host to stop it at its
 * deadline (504); in wfn_init (a top-level await), the function cannot
 * load. */
static JSPromiseStateEnum settle(JSValueConst p) {
    JSPromiseStateEnum st;
    for (;;) {
        run_jobs();
        st = JS_PromiseState(ctx, (JSValue)p);
        if (st != JS_PROMISE_PENDING) return st;
        if (tick() < 0) break;
    }
    if (wfn_deadline_remaining_ms() < 0) {
        /* Outside an invocation: wfn_init, evaluating the bundle. */
        write_str(2, "Cannot load the function: its top-level await never settles: nothing is left to run\n");
        abort();
    }
    write_str(2, "The handler's promise never settles: nothing is left to run.\n");
    for (;;) {
        int64_t ms = wfn_deadline_remaining_ms();
        if (ms < 0) abort();
        struct timespec ts = {(time_t)(ms / 1000 + 1), 0};
        nanosleep(&ts, NULL);
    }
}

/* check turns a negative ABI result into a thrown Error named after the
 * code (ECLOSED, ...); else it returns undefined. */
JSValue wfnjs_check(JSContext *c, int32_t r, const char *what) {
    if (r >= 0) return JS_UNDEFINED;
    return JS_ThrowTypeError(c, "%s: %s", what, wfn_strerror(r));
}

/* A string value from an _alloc getter: undefined when not found. */
JSValue wfnjs_alloc_string(JSContext *c, int32_t n, char *s, const char *what) {
    if (n == WFN_ENOTFOUND) return JS_UNDEFINED;
    if (n < 0) return wfnjs_check(c, n, what);
    JSValue v = JS_NewStringLen(c, s, (size_t)n);
    free(s);
    return v;
}

static JSValue n_method(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    char *s;
    int32_t n = wfn_method_alloc(&s);
    return wfnjs_alloc_string(c, n, s, "request_method");
}

static JSValue n_url(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    char *s;
    int32_t n = wfn_url_alloc(&s);
    return wfnjs_alloc_string(c, n, s, "request_url");
}

/* param(name): a dynamic route segment, or undefined. */
static JSValue n_param(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    const char *name = JS_ToCString(c, argv[0]);
    if (!name) return JS_EXCEPTION;
    char *s;
    int32_t n = wfn_param_alloc(name, &s);
    JS_FreeCString(c, name);
    return wfnjs_alloc_string(c, n, s, "request_param");
}

/* push_header_pairs sets out[i], out[i+1], ... to name, value pairs, a
 * pair for each value of each of the n bytes of NUL-separated names (of
 * the request when h < 0, else of outbound response h), and frees names. */
static void push_header_pairs(JSContext *c, JSValue out, uint32_t i, char *names, int32_t n, int32_t h) {
    for (const char *name = names; name < names + n; name += strlen(name) + 1) {
        char *values;
        int32_t m = h < 0 ? wfn_header_values_alloc(name, &values) : wfn_http_header_values_alloc(h, name, &values);
        if (m < 0) continue;
        for (const char *v = values; v < values + m; v += strlen(v) + 1) {
            JS_SetPropertyUint32(c, out, i++, JS_NewString(c, name));
            JS_SetPropertyUint32(c, out, i++, JS_NewString(c, v));
        }
        free(values);
    }
    free(names);
}

/* headers(): the request headers as [name, value, name, value, ...], a
 * pair for each value, names lower-case. */
static JSValue n_headers(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    char *names;
    int32_t n = wfn_header_names_alloc(&names);
    if (n < 0) return wfnjs_check(c, n, "request_header_names");
    JSValue out = JS_NewArray(c);
    push_header_pairs(c, out, 0, names, n, -1);
    return out;
}

/* readBody(): the whole request body, an ArrayBuffer. */
static JSValue n_read_body(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    char *body;
    int32_t n = wfn_body_alloc(&body);
    if (n < 0) return wfnjs_check(c, n, "request_body_read");
    JSValue v = JS_NewArrayBufferCopy(c, (const uint8_t *)body, (size_t)n);
    free(body);
    return v;
}

/* add_header adds a response header from two JS values. */
static JSValue add_header(JSContext *c, JSValueConst nv, JSValueConst vv) {
    size_t nlen, vlen;
    const char *name = JS_ToCStringLen(c, &nlen, nv);
    const char *value = name ? JS_ToCStringLen(c, &vlen, vv) : NULL;
    if (!value) {
        JS_FreeCString(c, name);
        return JS_EXCEPTION;
    }
    int32_t r = wfn_response_header_add(name, nlen, value, vlen);
    JS_FreeCString(c, name);
    JS_FreeCString(c, value);
    return wfnjs_check(c, r, "response_header_add");
}

/* head(status, headers): the response's status and headers, a Headers
 * or [name, value, name, value, ...]. */
static JSValue n_head(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int32_t code;
    uint32_t n;
    if (JS_ToInt32(c, &code, argv[0])) return JS_EXCEPTION;
    int32_t r = wfn_response_set_status(code);
    if (r < 0) return wfnjs_check(c, r, "response_set_status");
    JSValue *list = wfnjs_headers_list(argv[1], &n);
    if (list) {
        /* The list cannot change meanwhile: adding runs no JavaScript. */
        for (uint32_t i = 0; i + 1 < n; i += 2) {
            if (JS_IsException(add_header(c, list[i], list[i + 1]))) return JS_EXCEPTION;
        }
        return JS_UNDEFINED;
    }
    JSValue len = JS_GetPropertyStr(c, argv[1], "length");
    if (JS_ToUint32(c, &n, len)) {
        JS_FreeValue(c, len);
        return JS_EXCEPTION;
    }
    JS_FreeValue(c, len);
    for (uint32_t i = 0; i + 1 < n; i += 2) {
        JSValue nv = JS_GetPropertyUint32(c, argv[1], i);
        JSValue vv = JS_GetPropertyUint32(c, argv[1], i + 1);
        JSValue res = add_header(c, nv, vv);
        JS_FreeValue(c, nv);
        JS_FreeValue(c, vv);
        if (JS_IsException(res)) return res;
    }
    return JS_UNDEFINED;
}

/* wfnjs_bytes points *p and *len at the bytes of v: a string (as UTF-8; *str
 * is then the C string to free), an ArrayBuffer or a view of one. It
 * returns -1 with a TypeError thrown for anything else. */
int wfnjs_bytes(JSContext *c, JSValueConst v, const uint8_t **p, size_t *len, const char **str) {
    *str = NULL;
    *p = NULL;
    *len = 0;
    if (JS_IsString(v)) {
        *str = JS_ToCStringLen(c, len, v);
        *p = (const uint8_t *)*str;
        return *str ? 0 : -1;
    }
    size_t off, n, per, size;
    JSValue buf = JS_GetTypedArrayBuffer(c, v, &off, &n, &per);
    if (!JS_IsException(buf)) {
        uint8_t *data = JS_GetArrayBuffer(c, &size, buf);
        JS_FreeValue(c, buf);
        if (JS_HasException(c)) return -1;
        *p = data ? data + off : NULL;
        *len = data ? n : 0;
        return 0;
    }
    JS_FreeValue(c, JS_GetException(c));
    uint8_t *data = JS_GetArrayBuffer(c, &size, v);
    if (JS_HasException(c)) {
        JS_FreeValue(c, JS_GetException(c));
        JS_ThrowTypeError(c, "expected a string, an ArrayBuffer or a typed array");
        return -1;
    }
    *p = data;
    *len = data ? size : 0;
    return 0;
}

/* write(data): writes a string (as UTF-8), an ArrayBuffer or a view to
 * the response body. */
static JSValue n_write(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    size_t len;
    const uint8_t *p;
    const char *str;
    if (wfnjs_bytes(c, argv[0], &p, &len, &str) < 0) return JS_EXCEPTION;
    int32_t r = len ? wfn_response_body_write(p, len) : 0;
    JS_FreeCString(c, str);
    return wfnjs_check(c, r, "response_body_write");
}

static JSValue n_flush(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return wfnjs_check(c, wfn_response_flush(), "response_flush");
}

/* log(fd, text): one log line on stdout (1) or stderr (2). */
static JSValue n_log(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int32_t fd;
    if (JS_ToInt32(c, &fd, argv[0])) return JS_EXCEPTION;
    size_t len;
    const char *s = JS_ToCStringLen(c, &len, argv[1]);
    if (!s) return JS_EXCEPTION;
    /* One write for the line and its newline, so lines never interleave. */
    char *line = malloc(len + 1);
    if (line) {
        memcpy(line, s, len);
        line[len] = '\n';
        write_all(fd == 2 ? 2 : 1, line, len + 1);
        free(line);
    }
    JS_FreeCString(c, s);
    return JS_UNDEFINED;
}

/* encode(string): the UTF-8 bytes of a well-formed string (the prelude
 * calls toWellFormed first), an ArrayBuffer. */
static JSValue n_encode(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    size_t len;
    const char *p = JS_ToCStringLen(c, &len, argv[0]);
    if (!p) return JS_EXCEPTION;
    JSValue buf = JS_NewArrayBufferCopy(c, (const uint8_t *)p, len);
    JS_FreeCString(c, p);
    return buf;
}

/* decode(bytes): a string from UTF-8 bytes (an ArrayBuffer or a view);
 * malformed sequences become U+FFFD. */
static JSValue n_decode(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    size_t len;
    const uint8_t *p;
    const char *str;
    if (wfnjs_bytes(c, argv[0], &p, &len, &str) < 0) return JS_EXCEPTION;
    JSValue v = JS_NewStringLen(c, p ? (const char *)p : "", len);
    JS_FreeCString(c, str);
    return v;
}

/* The random state of Math.random, xorshift128+ as QuickJS's own: seeded
 * from WASI random_get on first use, and marked unseeded again at the end
 * of wfn_init, so that each instance started from the snapshot seeds its
 * own on its first use after initialisation. */
static uint64_t rand_state[2];
static int rand_seeded;

static void rand_seed(void) {
    while (!rand_seeded) {
        if (getentropy(rand_state, sizeof rand_state) == 0 && (rand_state[0] | rand_state[1]) != 0) rand_seeded = 1;
    }
}

static JSValue n_random(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    rand_seed();
    uint64_t s1 = rand_state[0];
    const uint64_t s0 = rand_state[1];
    rand_state[0] = s0;
    s1 ^= s1 << 23;
    rand_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    uint64_t r = rand_state[1] + s0;
    return JS_NewFloat64(c, (double)(r >> 11) * 0x1.0p-53); /* [0, 1) */
}

/* fillRandom(view): fills a typed array with cryptographically strong
 * random bytes (WASI random_get), as crypto.getRandomValues does. */
static JSValue n_fill_random(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    size_t off, n, per, size;
    JSValue buf = JS_GetTypedArrayBuffer(c, argv[0], &off, &n, &per);
    if (JS_IsException(buf)) return buf;
    uint8_t *data = JS_GetArrayBuffer(c, &size, buf);
    JS_FreeValue(c, buf);
    if (!data && n) return JS_EXCEPTION;
    for (size_t done = 0; done < n;) {
        size_t chunk = n - done > 256 ? 256 : n - done; /* getentropy's limit */
        if (getentropy(data + off + done, chunk) != 0) return JS_ThrowInternalError(c, "random_get failed");
        done += chunk;
    }
    return JS_UNDEFINED;
}


/* ---- The event loop, streamed bodies, fetch, the environment ---- */

/* tick runs one step of the prelude's event loop (native.tick): it
 * returns 0 after progress, sleeps until the next timer when the prelude
 * asks for it (a positive number of ms: a WASI sleep, which the host ends
 * early when the invocation is aborted), and returns -1 when nothing is
 * left that could ever run. */
static int tick(void) {
    JSValue f = JS_GetPropertyStr(ctx, native, "tick");
    JSValue r = JS_Call(ctx, f, JS_UNDEFINED, 0, NULL);
    JS_FreeValue(ctx, f);
    if (JS_IsException(r)) fail("Uncaught exception: ");
    double ms;
    int bad = JS_ToFloat64(ctx, &ms, r);
    JS_FreeValue(ctx, r);
    if (bad) fail("Uncaught exception: ");
    if (ms < 0) return -1;
    if (ms > 0) {
        struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(int64_t)(ms / 1000) * 1000) * 1e6)};
        nanosleep(&ts, NULL);
    }
    return 0;
}

#define CHUNK (64 * 1024)

/* read_chunk reads at most CHUNK bytes with fill (an import that fills
 * buf) and returns them as an ArrayBuffer, null at the end (0 bytes), or
 * throws for an error code. The buffer is the heap's for the call only,
 * not a static one: an instance that never reads a body does not carry
 * its 64 KiB. */
static JSValue read_chunk(JSContext *c, int32_t h, int32_t (*fill)(int32_t h, void *buf, size_t cap), const char *what) {
    uint8_t *buf = malloc(CHUNK);
    if (!buf) return JS_ThrowOutOfMemory(c);
    int32_t n = fill(h, buf, CHUNK);
    JSValue v = n < 0 ? wfnjs_check(c, n, what) : n == 0 ? JS_NULL : JS_NewArrayBufferCopy(c, buf, (size_t)n);
    free(buf);
    return v;
}

static int32_t request_body_read(int32_t h, void *buf, size_t cap) { return wfn_request_body_read(buf, cap); }

/* readChunk(): the next bytes of the request body (at most 64 KiB, an
 * ArrayBuffer), null at its end. Waits for the client. */
static JSValue n_read_chunk(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return read_chunk(c, -1, request_body_read, "request_body_read");
}

/* aborted(): whether the invocation is aborted (abort_signaled). */
static JSValue n_aborted(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return JS_NewBool(c, wfn_abort_signaled() == 1);
}

/* join flattens an array of strings into "s NUL s NUL ...", the ABI's
 * header list, in *out (to free). */
static int join(JSContext *c, JSValueConst list, char **out, size_t *outlen) {
    uint32_t n;
    JSValue len = JS_GetPropertyStr(c, list, "length");
    int bad = JS_ToUint32(c, &n, len);
    JS_FreeValue(c, len);
    if (bad) return -1;
    size_t cap = 256, used = 0;
    char *b = malloc(cap);
    for (uint32_t i = 0; b && i < n; i++) {
        JSValue v = JS_GetPropertyUint32(c, list, i);
        size_t l;
        const char *s = JS_ToCStringLen(c, &l, v);
        JS_FreeValue(c, v);
        if (!s) {
            free(b);
            return -1;
        }
        while (used + l + 1 > cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
        }
        if (b) {
            memcpy(b + used, s, l);
            used += l;
            b[used++] = 0;
        }
        JS_FreeCString(c, s);
    }
    if (!b) {
        JS_ThrowOutOfMemory(c);
        return -1;
    }
    *out = b;
    *outlen = used;
    return 0;
}

/* httpSend(method, url, [name, value, ...], body): starts an outbound
 * request (http_send) and returns its handle at once; body is a string,
 * bytes or null. */
static JSValue n_http_send(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    size_t mlen, ulen, hlen, blen = 0;
    const uint8_t *body = NULL;
    const char *bstr = NULL;
    char *headers;
    const char *method = JS_ToCStringLen(c, &mlen, argv[0]);
    if (!method) return JS_EXCEPTION;
    const char *url = JS_ToCStringLen(c, &ulen, argv[1]);
    if (!url || join(c, argv[2], &headers, &hlen) < 0) {
        JS_FreeCString(c, method);
        JS_FreeCString(c, url);
        return JS_EXCEPTION;
    }
    JSValue r = JS_EXCEPTION;
    if (JS_IsNull(argv[3]) || wfnjs_bytes(c, argv[3], &body, &blen, &bstr) == 0) {
        int32_t h = wfn_http_send(method, mlen, url, ulen, headers, hlen, (const char *)body, blen);
        r = h < 0 ? wfnjs_check(c, h, "http_send") : JS_NewInt32(c, h);
    }
    JS_FreeCString(c, bstr);
    free(headers);
    JS_FreeCString(c, method);
    JS_FreeCString(c, url);
    return r;
}

static int32_t handle_arg(JSContext *c, JSValueConst v, int32_t *h) { return JS_ToInt32(c, h, v); }

/* httpHead(h): waits for the response head; [status, name, value, ...]. */
static JSValue n_http_head(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int32_t h;
    if (handle_arg(c, argv[0], &h)) return JS_EXCEPTION;
    int32_t status = wfn_http_response_status(h);
    if (status < 0) return wfnjs_check(c, status, "http_response_status");
    char *names;
    int32_t n = wfn_http_header_names_alloc(h, &names);
    if (n < 0) return wfnjs_check(c, n, "http_response_header_names");
    JSValue out = JS_NewArray(c);
    JS_SetPropertyUint32(c, out, 0, JS_NewInt32(c, status));
    push_header_pairs(c, out, 1, names, n, h);
    return out;
}

/* httpWait(h, ms): whether what the next import on h waits for (the
 * response head, then the body's next bytes) is in, waiting at most ms
 * for it (http_wait); an error (ECANCELED) counts as in: the next import
 * reports it. */
static JSValue n_http_wait(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int32_t h;
    int64_t ms;
    if (handle_arg(c, argv[0], &h) || JS_ToInt64(c, &ms, argv[1])) return JS_EXCEPTION;
    return JS_NewBool(c, wfn_http_wait(h, ms) != 0);
}

/* httpRead(h): the next bytes of a response body (an ArrayBuffer), null
 * at its end. */
static JSValue n_http_read(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int32_t h;
    if (handle_arg(c, argv[0], &h)) return JS_EXCEPTION;
    return read_chunk(c, h, wfn_http_response_body_read, "http_response_body_read");
}

/* httpClose(h): releases the handle (http_close), closing the connection
 * if the body is unread. */
static JSValue n_http_close(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int32_t h;
    if (handle_arg(c, argv[0], &h)) return JS_EXCEPTION;
    wfn_http_close(h);
    return JS_UNDEFINED;
}

/* The time origin of performance.now (High Resolution Time, section 4):
 * taken on the first use after initialisation, so that each instance
 * started from the snapshot has its own (a snapshot's monotonic clock
 * reading means nothing in another process). */
static int64_t origin_mono_ns, origin_wall_ns;
static int origin_set;

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void origin(void) {
    if (origin_set) return;
    origin_mono_ns = clock_ns(CLOCK_MONOTONIC);
    origin_wall_ns = clock_ns(CLOCK_REALTIME);
    origin_set = 1;
}

/* now(): milliseconds on the monotonic clock since the time origin. */
static JSValue n_now(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    origin();
    return JS_NewFloat64(c, (double)(clock_ns(CLOCK_MONOTONIC) - origin_mono_ns) / 1e6);
}

/* timeOrigin(): the wall clock time of the time origin, in Unix ms. */
static JSValue n_time_origin(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    origin();
    return JS_NewFloat64(c, (double)origin_wall_ns / 1e6);
}

/* SHA-256 (FIPS 180-4, section 6.2), for crypto.subtle.digest: the
 * JavaScript one (@noble/hashes) hashes about 20 KB/s under wazero. */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++) w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[t] + w[t];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* sha256(bytes): the SHA-256 digest of an ArrayBuffer or a view, an
 * ArrayBuffer of 32 bytes. */
static JSValue n_sha256(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    size_t len;
    const uint8_t *p;
    const char *str;
    if (wfnjs_bytes(c, argv[0], &p, &len, &str) < 0) return JS_EXCEPTION;
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= len; i += 64) sha256_block(h, p + i);
    /* The padding: 0x80, zeros, the length in bits (big-endian). */
    uint8_t last[128] = {0};
    size_t rest = len - i, n = rest + 9 <= 64 ? 64 : 128;
    if (rest) memcpy(last, p + i, rest);
    last[rest] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++) last[n - 1 - k] = (uint8_t)(bits >> (8 * k));
    for (size_t k = 0; k < n; k += 64) sha256_block(h, last + k);
    JS_FreeCString(c, str);
    uint8_t out[32];
    for (int k = 0; k < 8; k++) out[4 * k] = h[k] >> 24, out[4 * k + 1] = h[k] >> 16, out[4 * k + 2] = h[k] >> 8, out[4 * k + 3] = h[k];
    return JS_NewArrayBufferCopy(c, out, sizeof out);
}

/* transfer(buffer): a new ArrayBuffer with the bytes of buffer, which is
 * detached (its length becomes 0), as structuredClone's transfer and
 * ArrayBuffer.prototype.transfer do. */
static JSValue n_transfer(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    size_t size;
    uint8_t *data = JS_GetArrayBuffer(c, &size, argv[0]);
    if (!data && JS_HasException(c)) return JS_EXCEPTION;
    JSValue out = JS_NewArrayBufferCopy(c, data, data ? size : 0);
    if (JS_IsException(out)) return out;
    JS_DetachArrayBuffer(c, argv[0]);
    return out;
}

extern char **environ;

/* env(): the function's environment (WASI environ) as an object, without
 * the bundle (jsruntime.BundleEnv), which is the host's and not the
 * function's. */
static JSValue n_env(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    JSValue out = JS_NewObject(c);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || ((size_t)(eq - *e) == strlen("WFN_JS_BUNDLE") && strncmp(*e, "WFN_JS_BUNDLE", eq - *e) == 0)) continue;
        JSAtom name = JS_NewAtomLen(c, *e, (size_t)(eq - *e));
        JS_DefinePropertyValue(c, out, name, JS_NewString(c, eq + 1), JS_PROP_C_W_E);
        JS_FreeAtom(c, name);
    }
    return out;
}

/* load(name): the value of the lazily loaded bundle name (prelude.h's
 * wfn_lazy, compiled by mkprelude from prelude/NAME.js): a function of
 * what it takes from the prelude, returning its exports. The prelude
 * calls it on the first use of what the bundle defines, once per
 * instance, so that an instance that never uses it holds none of its
 * objects (BENCHMARKS.md, 2026-12-03). */
static JSValue n_load(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    const char *name = JS_ToCString(c, argv[0]);
    if (!name) return JS_EXCEPTION;
    const struct wfn_lazy *l = wfn_lazy;
    while (l->name && strcmp(l->name, name) != 0) l++;
    JS_FreeCString(c, name);
    if (!l->name) return JS_ThrowReferenceError(c, "load: no such bundle");
    JSValue f = JS_ReadObject(c, l->bytecode, l->len, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(f)) return f;
    return JS_EvalFunction(c, f);
}

static const JSCFunctionListEntry loop_funcs[] = {
    JS_CFUNC_DEF("readChunk", 0, n_read_chunk),
    JS_CFUNC_DEF("aborted", 0, n_aborted),
    JS_CFUNC_DEF("httpSend", 4, n_http_send),
    JS_CFUNC_DEF("httpHead", 1, n_http_head),
    JS_CFUNC_DEF("httpRead", 1, n_http_read),
    JS_CFUNC_DEF("httpWait", 2, n_http_wait),
    JS_CFUNC_DEF("httpClose", 1, n_http_close),
    JS_CFUNC_DEF("env", 0, n_env),
    JS_CFUNC_DEF("now", 0, n_now),
    JS_CFUNC_DEF("sha256", 1, n_sha256),
    JS_CFUNC_DEF("transfer", 1, n_transfer),
    JS_CFUNC_DEF("timeOrigin", 0, n_time_origin),
    JS_CFUNC_DEF("load", 1, n_load),
};

static const JSCFunctionListEntry native_funcs[] = {
    JS_CFUNC_DEF("method", 0, n_method),
    JS_CFUNC_DEF("url", 0, n_url),
    JS_CFUNC_DEF("param", 1, n_param),
    JS_CFUNC_DEF("headers", 0, n_headers),
    JS_CFUNC_DEF("readBody", 0, n_read_body),
    JS_CFUNC_DEF("head", 2, n_head),
    JS_CFUNC_DEF("write", 1, n_write),
    JS_CFUNC_DEF("flush", 0, n_flush),
    JS_CFUNC_DEF("log", 2, n_log),
    JS_CFUNC_DEF("encode", 1, n_encode),
    JS_CFUNC_DEF("decode", 1, n_decode),
    JS_CFUNC_DEF("random", 0, n_random),
    JS_CFUNC_DEF("fillRandom", 1, n_fill_random),
};

/* The bundle may import nothing: esbuild has resolved every import. */
static JSModuleDef *no_loader(JSContext *c, const char *name, void *opaque) {
    JS_ThrowReferenceError(c, "cannot import '%s': the bundle must hold every module", name);
    return NULL;
}

/* eval_bundle evaluates the function's bundle, an ES module, and returns
 * its namespace (its exports). */
static JSValue eval_bundle(const char *src) {
    JSValue m = JS_Eval(ctx, src, strlen(src), "bundle.js", JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(m)) fail("Cannot load the function: ");
    JSModuleDef *def = JS_VALUE_GET_PTR(m);
    JSValue p = JS_EvalFunction(ctx, m);
    if (JS_IsException(p)) fail("Cannot load the function: ");
    if (settle(p) == JS_PROMISE_REJECTED) {
        JSValue exc = JS_PromiseResult(ctx, p);
        report("Cannot load the function: ", exc);
        abort();
    }
    JS_FreeValue(ctx, p);
    return JS_GetModuleNamespace(ctx, def);
}

WFN_INIT() {
    rt = JS_NewRuntime();
    if (!rt) abort();
    JS_SetMaxStackSize(rt, JS_STACK_SIZE);
    JS_SetModuleLoaderFunc(rt, NULL, no_loader, NULL);
    ctx = JS_NewContext(rt);
    if (!ctx) abort();

    native = JS_NewObject(ctx);
    JS_SetPropertyFunctionList(ctx, native, native_funcs, sizeof native_funcs / sizeof native_funcs[0]);
    wfnjs_vercel_install(ctx, native);
    wfnjs_headers_install(ctx, native);
    wfnjs_response_install(ctx, native);
    JS_SetPropertyFunctionList(ctx, native, loop_funcs, sizeof loop_funcs / sizeof loop_funcs[0]);
    JSValue global = JS_GetGlobalObject(ctx);
    JS_SetPropertyStr(ctx, global, "__wfn", JS_DupValue(ctx, native));
    JS_FreeValue(ctx, global);
    /* The prelude comes compiled (build.sh, wfnjsc.c): reading bytecode
     * needs no parser, so the heap does not grow to the parser's peak. */
    JSValue r = JS_ReadObject(ctx, wfn_prelude, sizeof wfn_prelude, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(r)) fail("The prelude failed: ");
    r = JS_EvalFunction(ctx, r);
    if (JS_IsException(r)) fail("The prelude failed: ");
    JS_FreeValue(ctx, r);

    const char *src = getenv("WFN_JS_BUNDLE");
    if (!src) {
        write_str(2, "WFN_JS_BUNDLE is not set: the host passes the function's bundle there\n");
        abort();
    }
    JSValue exports = eval_bundle(src);
    if (JS_IsException(exports)) fail("Cannot load the function: ");
    JSValue setup = JS_GetPropertyStr(ctx, native, "setup");
    r = JS_Call(ctx, setup, JS_UNDEFINED, 1, &exports);
    JS_FreeValue(ctx, setup);
    JS_FreeValue(ctx, exports);
    if (JS_IsException(r)) fail("Cannot load the function: ");
    JS_FreeValue(ctx, r);
    /* Collect what loading left behind, so that the snapshot is small. */
    JS_RunGC(rt);
    rand_seeded = 0; /* what follows runs in one instance only */
    origin_set = 0;
}

WFN_HANDLER(wfn_handle) {
    JS_UpdateStackTop(rt);
    JSValue p = wfnjs_serve(ctx);
    if (JS_IsException(p)) fail("Uncaught exception: ");
    JSPromiseStateEnum st = settle(p);
    wfnjs_serve_end(ctx);
    if (st == JS_PROMISE_REJECTED) {
        JSValue exc = JS_PromiseResult(ctx, p);
        report("Uncaught exception: ", exc);
        abort();
    }
    JS_FreeValue(ctx, p);
}

/* wfn_run_task runs after the response when waitUntil was called during
 * the invocation (vercel.c registers task 0 with wait_until): it runs the
 * jobs until every promise handed to waitUntil has settled. The prelude
 * logs each rejection on its own, so the promise of runTasks does not
 * reject. */
WFN_EXPORT("wfn_run_task") void wfn_run_task(int32_t task);
void wfn_run_task(int32_t task) {
    JS_UpdateStackTop(rt);
    JSValue run = JS_GetPropertyStr(ctx, native, "runTasks");
    JSValue p = JS_Call(ctx, run, JS_UNDEFINED, 0, NULL);
    JS_FreeValue(ctx, run);
    if (JS_IsException(p)) fail("Uncaught exception in waitUntil: ");
    if (settle(p) == JS_PROMISE_REJECTED) {
        JSValue exc = JS_PromiseResult(ctx, p);
        report("Uncaught exception in waitUntil: ", exc);
        abort();
    }
    JS_FreeValue(ctx, p);
}

/* wfn_on_sigterm: the host shuts down (500 ms to finish). The prelude
 * emits process's SIGTERM event; the loop then runs what the listeners
 * started (jobs, timers, fetches) until nothing is left or the host stops
 * the instance. */
WFN_ON_SIGTERM() {
    JS_UpdateStackTop(rt);
    JSValue f = JS_GetPropertyStr(ctx, native, "sigterm");
    JSValue r = JS_Call(ctx, f, JS_UNDEFINED, 0, NULL);
    JS_FreeValue(ctx, f);
    if (JS_IsException(r)) fail("Uncaught exception in a SIGTERM listener: ");
    JS_FreeValue(ctx, r);
    do run_jobs();
    while (tick() == 0);
}
