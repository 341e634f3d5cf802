/*
 * wfn.h - the C guest SDK for wfn, ABI version 1 (see abi/SPEC.md).
 *
 * Header only. Include it in every .c file of a function; it defines the
 * required marker export `wfn_abi_v1` itself (as a weak symbol, so a
 * function made of several .c files still exports it exactly once).
 *
 * Build as a WASI reactor (the wfn host does this for a directory under
 * api/ holding .c files):
 *
 *     clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 \
 *         -o fn.wasm fn.c
 *
 * A minimal function:
 *
 *     #include "wfn.h"
 *
 *     WFN_HANDLER(wfn_handle) {
 *         wfn_set_header("content-type", "text/plain; charset=utf-8");
 *         wfn_write_str("Hello from C!");
 *     }
 *
 * Exports
 *   WFN_HANDLER(wfn_handle) { ... }  the catch-all handler, `wfn_handle`.
 *   WFN_METHOD(GET) { ... }          a method handler: GET HEAD POST PUT
 *                                    PATCH DELETE OPTIONS. A module with method
 *                                    handlers and no wfn_handle gets 405 (with
 *                                    Allow) for the other methods.
 *   WFN_INIT() { ... }               `wfn_init`: once per instance, after the
 *                                    C constructors (`_initialize`). No request.
 *   WFN_ON_SIGTERM() { ... }         `wfn_on_sigterm`: host shutdown, 500 ms.
 *   WFN_ON_SUSPEND() { ... }         `wfn_on_suspend`: the instance is idle
 *                                    (10 s) or about to close, 500 ms: close
 *                                    the idle connections of your pools.
 *   WFN_EXPORT("name") void f(void)  any other export.
 *
 * Errors
 *   Every function returning int32_t returns a value >= 0 on success and a
 *   negative WFN_E* code on failure. wfn_strerror() names a code.
 *
 * Raw imports
 *   Every import of module "wfn" is declared as wfn_<import name>, e.g.
 *   wfn_request_method(buf, cap). The (buf, cap) imports follow the buffer
 *   protocol: they return the value's full length and write nothing when it
 *   is longer than cap. An import is linked into the module only when the
 *   program uses it (directly or through a helper).
 *
 * Helpers (all static inline; only those used are compiled in)
 *   Into a caller buffer, snprintf style: the result n is the value's length;
 *   the value (NUL-terminated) is in buf only when 0 <= n < cap; when n >= cap
 *   the buffer was too small (buf holds ""), call again with at least n + 1
 *   bytes:
 *     wfn_method(buf, cap)  wfn_url(buf, cap)  wfn_param(name, buf, cap)
 *     wfn_header(name, buf, cap) (the first value)  wfn_ip(buf, cap)
 *     wfn_http_header(h, name, buf, cap)
 *   Into a malloc'ed, NUL-terminated buffer that the caller frees (*out is
 *   NULL on error; the result is the length, or a negative code):
 *     wfn_method_alloc(&s)  wfn_url_alloc(&s)  wfn_param_alloc(name, &s)
 *     wfn_header_alloc(name, &s)  wfn_header_values_alloc(name, &list)
 *     wfn_http_header_values_alloc(h, name, &list)
 *     wfn_header_names_alloc(&list)  wfn_ip_alloc(&s)  wfn_geo_alloc(&json)
 *     wfn_body_alloc(&body)  wfn_http_body_alloc(h, &body)
 *     wfn_http_header_names_alloc(h, &list)
 *   A list is items each followed by a NUL; the result counts every byte:
 *     for (const char *p = list; p < list + n; p += strlen(p) + 1) ...
 *   Response:
 *     wfn_set_status(code)  wfn_set_header(name, value)  wfn_add_header(..)
 *     wfn_del_header(name)  wfn_write(p, n)  wfn_write_str(s)
 *     wfn_writef(fmt, ...)  wfn_flush()  wfn_close()
 *   Lifetime: wfn_aborted()  wfn_deadline_ms()
 *   Outbound: wfn_fetch(method, url, headers, hlen, body, blen) -> handle;
 *     then wfn_http_response_status(h), helpers above, wfn_http_close(h).
 *   Outbound TCP (abi/SPEC.md section 5c): wfn_tcp_dial("host:port", flags,
 *     timeout_ms) -> handle; wfn_tcp_read(h, buf, cap, timeout_ms) (0: the
 *     peer closed its side), wfn_tcp_write_all(h, p, n, timeout_ms),
 *     wfn_tcp_close_write(h), wfn_tcp_close(h). timeout_ms < 0: no bound of
 *     the call's own. Flag WFN_TCP_INSTANCE keeps the connection with the
 *     instance (a pool's) past the invocation; the others close when it ends.
 *   Runtime Cache (keys are stored as given: hash them as getCache does with
 *   wfn_cache_key(namespace or NULL, key, buf, cap) to share entries with
 *   other SDKs; values are JSON by convention):
 *     wfn_cache_get_alloc(key, &value) (WFN_ENOTFOUND on a miss)
 *     wfn_cache_put(key, value, vlen, ttl_s, tags, name)  wfn_cache_del(key)
 *     wfn_cache_expire(tags)
 *   CDN: wfn_add_cache_tags(tags)  wfn_invalidate_by_tag(tags)
 *     wfn_delete_by_tag(tags, deadline_s)  wfn_invalidate_by_src_image(src)
 *     wfn_delete_by_src_image(src, deadline_s)
 *   Tags are one string, the tags joined with commas: "a,b" (NULL or "" for
 *   none, which the tag operations refuse with WFN_EINVAL). A tag is not
 *   empty and has no comma (WFN_EINVAL); the host allows 128 tags of up to
 *   256 bytes (WFN_ETOOLARGE) and values of up to 2 MB.
 *
 * Work after the response (opt-in)
 *   #define WFN_TASKS before including wfn.h (in every .c file that uses it)
 *   to get wfn_after(fn, arg): fn(arg) runs after the response is complete,
 *   in registration order, under the same deadline. It also exports
 *   wfn_run_task and makes the raw wfn_wait_until import available. Without
 *   WFN_TASKS neither is in the module (the host refuses a module that
 *   imports wait_until without exporting wfn_run_task).
 *
 * Memory: one instance serves one request at a time and is reused; free what
 * you malloc. A trap (abort(), out-of-bounds) or exit() ends the instance and
 * the client gets a 500. Output on stdout/stderr becomes log lines of the
 * invocation; wasi-libc's stdio buffers a non-terminal stdout, so fflush(stdout)
 * before the handler returns, or write(1, ...) directly. Header values set with
 * the string helpers end at their first NUL; use the raw imports for others.
 */
#ifndef WFN_H
#define WFN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WFN_ABI_VERSION 1

/* Error codes (abi/SPEC.md section 2). */
#define WFN_ENOTFOUND (-1)  /* no such header, key, param or value */
#define WFN_EINVAL (-2)     /* malformed argument */
#define WFN_ETOOLARGE (-3)  /* over a limit */
#define WFN_ECLOSED (-4)    /* head already sent, or response closed */
#define WFN_ECANCELED (-5)  /* the invocation was aborted */
#define WFN_EDENIED (-6)    /* outbound destination not allowed */
#define WFN_EBADHANDLE (-7) /* unknown handle; request import outside a handler */
#define WFN_EIO (-8)        /* failed on the host side */
#define WFN_ECONNREFUSED (-9) /* the destination refused the connection */
#define WFN_ETIMEDOUT (-10) /* the time given to the call passed first */
/* Not from the host: the SDK could not allocate memory. */
#define WFN_ENOMEM (-100)

#ifdef __wasm__
#define WFN__IMPORT(name) __attribute__((import_module("wfn"), import_name(name)))
#define WFN_EXPORT(name) __attribute__((export_name(name)))
#else
/* Elsewhere (editors, native unit tests with mock imports) plain symbols. */
#define WFN__IMPORT(name)
#define WFN_EXPORT(name) __attribute__((used))
#endif

/* Handler and lifecycle exports: each macro starts a function definition. */
#define WFN_HANDLER(name) \
    void name(void);      \
    WFN_EXPORT(#name) void name(void)
#define WFN_METHOD(method)                \
    void wfn_method_##method(void);       \
    WFN_EXPORT(#method) void wfn_method_##method(void)
#define WFN_INIT()      \
    void wfn_init(void); \
    WFN_EXPORT("wfn_init") void wfn_init(void)
#define WFN_ON_SIGTERM()      \
    void wfn_on_sigterm(void); \
    WFN_EXPORT("wfn_on_sigterm") void wfn_on_sigterm(void)
#define WFN_ON_SUSPEND()      \
    void wfn_on_suspend(void); \
    WFN_EXPORT("wfn_on_suspend") void wfn_on_suspend(void)

/* The ABI v1 marker. Weak: one definition per module whatever the number of
 * .c files including this header. Never called. */
void wfn_abi_v1(void);
WFN_EXPORT("wfn_abi_v1") __attribute__((weak)) void wfn_abi_v1(void) {}

/* ---- Raw imports, module "wfn" (abi/SPEC.md sections 4 to 5b) ---- */

/* Request. */
WFN__IMPORT("request_method") int32_t wfn_request_method(char *buf, size_t cap);
WFN__IMPORT("request_url") int32_t wfn_request_url(char *buf, size_t cap);
WFN__IMPORT("request_header_names") int32_t wfn_request_header_names(char *buf, size_t cap);
WFN__IMPORT("request_header")
int32_t wfn_request_header(const char *name, size_t name_len, char *buf, size_t cap);
WFN__IMPORT("request_param")
int32_t wfn_request_param(const char *name, size_t name_len, char *buf, size_t cap);
WFN__IMPORT("request_body_read") int32_t wfn_request_body_read(void *buf, size_t cap);

/* Response. */
WFN__IMPORT("response_set_status") int32_t wfn_response_set_status(int32_t code);
WFN__IMPORT("response_header_set")
int32_t wfn_response_header_set(const char *name, size_t name_len, const char *value, size_t value_len);
WFN__IMPORT("response_header_add")
int32_t wfn_response_header_add(const char *name, size_t name_len, const char *value, size_t value_len);
WFN__IMPORT("response_header_delete") int32_t wfn_response_header_delete(const char *name, size_t name_len);
WFN__IMPORT("response_body_write") int32_t wfn_response_body_write(const void *buf, size_t len);
WFN__IMPORT("response_flush") int32_t wfn_response_flush(void);
WFN__IMPORT("response_close") int32_t wfn_response_close(void);

/* Lifetime. wait_until is declared only with WFN_TASKS (below). */
WFN__IMPORT("abort_signaled") int32_t wfn_abort_signaled(void);
WFN__IMPORT("deadline_remaining_ms") int64_t wfn_deadline_remaining_ms(void);

/* Request context. */
WFN__IMPORT("ip_address") int32_t wfn_ip_address(char *buf, size_t cap);
WFN__IMPORT("geolocation") int32_t wfn_geolocation(char *buf, size_t cap);

/* Outbound HTTP. headers: "name\0value\0" pairs; the body is given whole. */
WFN__IMPORT("http_send")
int32_t wfn_http_send(const char *method, size_t method_len, const char *url, size_t url_len,
                      const char *headers, size_t headers_len, const void *body, size_t body_len);
WFN__IMPORT("http_response_status") int32_t wfn_http_response_status(int32_t h);
WFN__IMPORT("http_response_header_names")
int32_t wfn_http_response_header_names(int32_t h, char *buf, size_t cap);
WFN__IMPORT("http_response_header")
int32_t wfn_http_response_header(int32_t h, const char *name, size_t name_len, char *buf, size_t cap);
WFN__IMPORT("http_response_body_read") int32_t wfn_http_response_body_read(int32_t h, void *buf, size_t cap);
WFN__IMPORT("http_close") int32_t wfn_http_close(int32_t h);
/* Waits at most timeout_ms for what the next call on h waits for (the
 * response head, then the body's next bytes): 1 once it is in (or failed),
 * 0 when the time passed first. */
WFN__IMPORT("http_wait") int32_t wfn_http_wait(int32_t h, int64_t timeout_ms);

/* Outbound TCP (abi/SPEC.md section 5c). addr is "host:port" (an IPv6
 * address in brackets); timeout_ms < 0: no bound of the call's own (the
 * invocation's deadline and abort still end it), 0: do not wait. */
#define WFN_TCP_INSTANCE 1 /* tcp_connect flag: the connection belongs to the instance */
#define WFN_MAX_TCP_CONNS 64 /* connections of one instance, WFN_ETOOLARGE past it */
WFN__IMPORT("tcp_connect") int32_t wfn_tcp_connect(const char *addr, size_t addr_len, int32_t flags, int64_t timeout_ms);
WFN__IMPORT("tcp_read") int32_t wfn_tcp_read(int32_t h, void *buf, size_t cap, int64_t timeout_ms);
WFN__IMPORT("tcp_write") int32_t wfn_tcp_write(int32_t h, const void *buf, size_t len, int64_t timeout_ms);
WFN__IMPORT("tcp_close_write") int32_t wfn_tcp_close_write(int32_t h);
WFN__IMPORT("tcp_close") int32_t wfn_tcp_close(int32_t h);
WFN__IMPORT("tcp_remote_address") int32_t wfn_tcp_remote_address(int32_t h, char *buf, size_t cap);

/* Runtime Cache. tags: the tags joined with commas, "a,b", tags_len bytes
 * (NULL, 0 for none). cache_get follows the buffer protocol; WFN_ENOTFOUND on
 * a miss. ttl_s 0: no expiry. */
WFN__IMPORT("cache_get") int32_t wfn_cache_get(const char *key, size_t key_len, void *buf, size_t cap);
WFN__IMPORT("cache_set")
int32_t wfn_cache_set(const char *key, size_t key_len, const void *value, size_t value_len, int64_t ttl_s,
                      const char *tags, size_t tags_len, const char *name, size_t name_len);
WFN__IMPORT("cache_delete") int32_t wfn_cache_delete(const char *key, size_t key_len);
WFN__IMPORT("cache_expire_tag") int32_t wfn_cache_expire_tag(const char *tags, size_t tags_len);

/* CDN (the response cache in front of functions); tags as above. */
WFN__IMPORT("cdn_add_cache_tag") int32_t wfn_cdn_add_cache_tag(const char *tags, size_t tags_len);
WFN__IMPORT("cdn_invalidate_by_tag") int32_t wfn_cdn_invalidate_by_tag(const char *tags, size_t tags_len);
WFN__IMPORT("cdn_delete_by_tag")
int32_t wfn_cdn_delete_by_tag(const char *tags, size_t tags_len, int64_t revalidation_deadline_s);
WFN__IMPORT("cdn_invalidate_by_src_image") int32_t wfn_cdn_invalidate_by_src_image(const char *src, size_t src_len);
WFN__IMPORT("cdn_delete_by_src_image")
int32_t wfn_cdn_delete_by_src_image(const char *src, size_t src_len, int64_t revalidation_deadline_s);

/* ---- Helpers ---- */

/* wfn_strerror names an error code ("ENOTFOUND"), or "unknown". */
static inline const char *wfn_strerror(int32_t code) {
    static const char *const names[] = {"", "ENOTFOUND", "EINVAL", "ETOOLARGE", "ECLOSED",
                                        "ECANCELED", "EDENIED", "EBADHANDLE", "EIO", "ECONNREFUSED",
                                        "ETIMEDOUT"};
    if (code < 0 && code >= -10) return names[-code];
    if (code == WFN_ENOMEM) return "ENOMEM";
    return "unknown";
}

/* Internal: one (buf, cap) getter with its arguments, so that one copy of the
 * buffer protocol serves every import and only the imports used are linked. */
typedef struct wfn__args {
    const char *name;
    size_t name_len;
    int32_t h;
} wfn__args;
typedef int32_t (*wfn__getter)(const wfn__args *a, char *buf, size_t cap);

static inline int32_t wfn__get_method(const wfn__args *a, char *buf, size_t cap) {
    (void)a;
    return wfn_request_method(buf, cap);
}
static inline int32_t wfn__get_url(const wfn__args *a, char *buf, size_t cap) {
    (void)a;
    return wfn_request_url(buf, cap);
}
static inline int32_t wfn__get_header_names(const wfn__args *a, char *buf, size_t cap) {
    (void)a;
    return wfn_request_header_names(buf, cap);
}
static inline int32_t wfn__get_header(const wfn__args *a, char *buf, size_t cap) {
    return wfn_request_header(a->name, a->name_len, buf, cap);
}
static inline int32_t wfn__get_param(const wfn__args *a, char *buf, size_t cap) {
    return wfn_request_param(a->name, a->name_len, buf, cap);
}
static inline int32_t wfn__get_ip(const wfn__args *a, char *buf, size_t cap) {
    (void)a;
    return wfn_ip_address(buf, cap);
}
static inline int32_t wfn__get_geo(const wfn__args *a, char *buf, size_t cap) {
    (void)a;
    return wfn_geolocation(buf, cap);
}
static inline int32_t wfn__get_http_header_names(const wfn__args *a, char *buf, size_t cap) {
    return wfn_http_response_header_names(a->h, buf, cap);
}
static inline int32_t wfn__get_http_header(const wfn__args *a, char *buf, size_t cap) {
    return wfn_http_response_header(a->h, a->name, a->name_len, buf, cap);
}
static inline int32_t wfn__get_cache(const wfn__args *a, char *buf, size_t cap) {
    return wfn_cache_get(a->name, a->name_len, buf, cap);
}

/* Internal: a value into (buf, cap), NUL-terminated, snprintf style. */
static inline int32_t wfn__str(wfn__getter get, const wfn__args *a, char *buf, size_t cap) {
    int32_t n = get(a, cap ? buf : NULL, cap ? cap - 1 : 0);
    if (n < 0) return n;
    if ((size_t)n < cap) buf[n] = 0;
    else if (cap) buf[0] = 0;
    return n;
}

/* Internal: the first item of a NUL-separated list into (buf, cap). When the
 * list does not fit, returns its length (> cap): a buffer of that size plus
 * one holds the first item. */
static inline int32_t wfn__first(wfn__getter get, const wfn__args *a, char *buf, size_t cap) {
    int32_t n = get(a, cap ? buf : NULL, cap);
    if (n < 0) return n;
    if (n == 0 || (size_t)n > cap) {
        if (cap) buf[0] = 0;
        return n;
    }
    const char *nul = (const char *)memchr(buf, 0, (size_t)n);
    return nul ? (int32_t)(nul - buf) : n;
}

/* Internal: the whole value into a malloc'ed buffer with a NUL after it. */
static inline int32_t wfn__alloc(wfn__getter get, const wfn__args *a, char **out) {
    char scratch[256];
    *out = NULL;
    int32_t n = get(a, scratch, sizeof scratch);
    if (n < 0) return n;
    if ((size_t)n <= sizeof scratch) {
        char *buf = (char *)malloc((size_t)n + 1);
        if (buf == NULL) return WFN_ENOMEM;
        memcpy(buf, scratch, (size_t)n);
        buf[n] = 0;
        *out = buf;
        return n;
    }
    for (;;) {
        size_t need = (size_t)n;
        char *buf = (char *)malloc(need + 1);
        if (buf == NULL) return WFN_ENOMEM;
        n = get(a, buf, need);
        if (n < 0) {
            free(buf);
            return n;
        }
        if ((size_t)n <= need) {
            buf[n] = 0;
            *out = buf;
            return n;
        }
        free(buf); /* the value grew between the calls: again with its size */
    }
}

/* Request: method, URL, params, headers. */
static inline int32_t wfn_method(char *buf, size_t cap) {
    return wfn__str(wfn__get_method, NULL, buf, cap);
}
static inline int32_t wfn_method_alloc(char **out) { return wfn__alloc(wfn__get_method, NULL, out); }
static inline int32_t wfn_url(char *buf, size_t cap) { return wfn__str(wfn__get_url, NULL, buf, cap); }
static inline int32_t wfn_url_alloc(char **out) { return wfn__alloc(wfn__get_url, NULL, out); }

/* A dynamic route segment, unescaped (route api/[name]); WFN_ENOTFOUND. */
static inline int32_t wfn_param(const char *name, char *buf, size_t cap) {
    wfn__args a = {name, strlen(name), 0};
    return wfn__str(wfn__get_param, &a, buf, cap);
}
static inline int32_t wfn_param_alloc(const char *name, char **out) {
    wfn__args a = {name, strlen(name), 0};
    return wfn__alloc(wfn__get_param, &a, out);
}

/* The first value of a request header (name in any case); WFN_ENOTFOUND. */
static inline int32_t wfn_header(const char *name, char *buf, size_t cap) {
    wfn__args a = {name, strlen(name), 0};
    return wfn__first(wfn__get_header, &a, buf, cap);
}
static inline int32_t wfn_header_alloc(const char *name, char **out) {
    wfn__args a = {name, strlen(name), 0};
    int32_t n = wfn__alloc(wfn__get_header, &a, out);
    return n < 0 ? n : (int32_t)strlen(*out);
}
/* Every value of a request header, a NUL after each; the result counts all. */
static inline int32_t wfn_header_values_alloc(const char *name, char **list) {
    wfn__args a = {name, strlen(name), 0};
    return wfn__alloc(wfn__get_header, &a, list);
}
/* The request's header names, lower-case, a NUL after each. */
static inline int32_t wfn_header_names_alloc(char **list) {
    return wfn__alloc(wfn__get_header_names, NULL, list);
}

/* The next body bytes into (buf, cap): > 0, 0 at the end, or a code. */
static inline int32_t wfn_body_read(void *buf, size_t cap) { return wfn_request_body_read(buf, cap); }

/* The whole request body into a malloc'ed buffer (with a NUL after it, for
 * text); returns its length. WFN_ETOOLARGE past 4.5 MB. */
static inline int32_t wfn_body_alloc(char **out) {
    size_t len = 0, cap = 4096;
    char *buf = (char *)malloc(cap + 1);
    *out = NULL;
    if (buf == NULL) return WFN_ENOMEM;
    for (;;) {
        if (len == cap) {
            char *bigger = (char *)realloc(buf, cap * 2 + 1);
            if (bigger == NULL) {
                free(buf);
                return WFN_ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        int32_t n = wfn_request_body_read(buf + len, cap - len);
        if (n < 0) {
            free(buf);
            return n;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    *out = buf;
    return (int32_t)len;
}

/* Request context. */
static inline int32_t wfn_ip(char *buf, size_t cap) { return wfn__str(wfn__get_ip, NULL, buf, cap); }
static inline int32_t wfn_ip_alloc(char **out) { return wfn__alloc(wfn__get_ip, NULL, out); }
/* The client's location as a JSON object of strings (abi/SPEC.md 5b). */
static inline int32_t wfn_geo_alloc(char **json) { return wfn__alloc(wfn__get_geo, NULL, json); }

/* Response. Status and headers are fixed by the first write, flush or close;
 * after that they return WFN_ECLOSED. */
static inline int32_t wfn_set_status(int32_t code) { return wfn_response_set_status(code); }
static inline int32_t wfn_set_header(const char *name, const char *value) {
    return wfn_response_header_set(name, strlen(name), value, strlen(value));
}
static inline int32_t wfn_add_header(const char *name, const char *value) {
    return wfn_response_header_add(name, strlen(name), value, strlen(value));
}
static inline int32_t wfn_del_header(const char *name) {
    return wfn_response_header_delete(name, strlen(name));
}
static inline int32_t wfn_write(const void *p, size_t n) { return wfn_response_body_write(p, n); }
static inline int32_t wfn_write_str(const char *s) { return wfn_response_body_write(s, strlen(s)); }
/* printf into the response (links vsnprintf). */
__attribute__((format(printf, 1, 2))) static inline int32_t wfn_writef(const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return WFN_EINVAL;
    if ((size_t)n < sizeof small) return wfn_response_body_write(small, (size_t)n);
    char *big = (char *)malloc((size_t)n + 1);
    if (big == NULL) return WFN_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int32_t r = wfn_response_body_write(big, (size_t)n);
    free(big);
    return r;
}
/* Send the head and what is buffered; from then on the response streams.
 * WFN_EINVAL when the status cannot end a response (outside 200..599): the
 * client then gets 502. */
static inline int32_t wfn_flush(void) { return wfn_response_flush(); }
/* Complete the response now; the handler may go on working. WFN_EINVAL as
 * for wfn_flush (the response stays open). */
static inline int32_t wfn_close(void) { return wfn_response_close(); }

/* Lifetime. */
static inline int wfn_aborted(void) { return wfn_abort_signaled() == 1; }
static inline int64_t wfn_deadline_ms(void) { return wfn_deadline_remaining_ms(); }

/* Outbound HTTP: starts a request, returns a handle > 0 or a code. headers are
 * "name\0value\0" pairs of hlen bytes (NULL, 0 for none). Close the handle. */
static inline int32_t wfn_fetch(const char *method, const char *url, const char *headers, size_t hlen,
                                const void *body, size_t blen) {
    return wfn_http_send(method, strlen(method), url, strlen(url), headers, hlen, body, blen);
}
/* Outbound TCP: opens a connection to addr, "host:port", and returns a handle
 * > 0 or a code (WFN_EDENIED, WFN_ENOTFOUND, WFN_ECONNREFUSED, WFN_ETIMEDOUT,
 * WFN_ETOOLARGE past WFN_MAX_TCP_CONNS, ...). Close the handle. */
static inline int32_t wfn_tcp_dial(const char *addr, int32_t flags, int64_t timeout_ms) {
    return wfn_tcp_connect(addr, strlen(addr), flags, timeout_ms);
}
/* Sends all n bytes of p: n, or a code (what was sent before it is lost to
 * the caller; close the connection). timeout_ms bounds each write. */
static inline int32_t wfn_tcp_write_all(int32_t h, const void *p, size_t n, int64_t timeout_ms) {
    size_t done = 0;
    while (done < n) {
        int32_t k = wfn_tcp_write(h, (const char *)p + done, n - done, timeout_ms);
        if (k < 0) return k;
        done += (size_t)k;
    }
    return (int32_t)n;
}
static inline int32_t wfn_http_header(int32_t h, const char *name, char *buf, size_t cap) {
    wfn__args a = {name, strlen(name), h};
    return wfn__first(wfn__get_http_header, &a, buf, cap);
}
/* Every value of response header name of h, a NUL after each. */
static inline int32_t wfn_http_header_values_alloc(int32_t h, const char *name, char **list) {
    wfn__args a = {name, strlen(name), h};
    return wfn__alloc(wfn__get_http_header, &a, list);
}
static inline int32_t wfn_http_header_names_alloc(int32_t h, char **list) {
    wfn__args a = {NULL, 0, h};
    return wfn__alloc(wfn__get_http_header_names, &a, list);
}
/* The whole response body of h into a malloc'ed buffer (NUL after it). */
static inline int32_t wfn_http_body_alloc(int32_t h, char **out) {
    size_t len = 0, cap = 4096;
    char *buf = (char *)malloc(cap + 1);
    *out = NULL;
    if (buf == NULL) return WFN_ENOMEM;
    for (;;) {
        if (len == cap) {
            char *bigger = (char *)realloc(buf, cap * 2 + 1);
            if (bigger == NULL) {
                free(buf);
                return WFN_ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        int32_t n = wfn_http_response_body_read(h, buf + len, cap - len);
        if (n < 0) {
            free(buf);
            return n;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    *out = buf;
    return (int32_t)len;
}

/* Runtime Cache and CDN. */

/* Internal: the length of a tag list, 0 for NULL. */
static inline size_t wfn__tags_len(const char *tags) { return tags ? strlen(tags) : 0; }

/* Internal: the next code point of UTF-8 s[0..n), its width in *w; an
 * invalid byte is U+FFFD of width 1, as in Go and as it reaches JavaScript. */
static inline uint32_t wfn__utf8(const unsigned char *s, size_t n, size_t *w) {
    uint32_t c = s[0], min;
    size_t len;
    *w = 1;
    if (c < 0x80) return c;
    if (c >= 0xC2 && c <= 0xDF) len = 2, c &= 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, c &= 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, c &= 0x07, min = 0x10000;
    else return 0xFFFD;
    if (n < len) return 0xFFFD;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0xFFFD;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0xFFFD;
    *w = len;
    return c;
}

/* The Runtime Cache key for key, as getCache() in @vercel/functions makes
 * it: the djb2-xor hash of the key's UTF-16 code units in lower-case hex,
 * after namespace and "$" when namespace is not NULL or "". snprintf style
 * (see Helpers): 9 bytes hold a key without namespace. */
static inline int32_t wfn_cache_key(const char *namespace_, const char *key, char *buf, size_t cap) {
    const unsigned char *s = (const unsigned char *)key;
    size_t n = strlen(key), w;
    uint32_t h = 5381;
    while (n > 0) {
        uint32_t c = wfn__utf8(s, n, &w);
        if (c >= 0x10000) {
            c -= 0x10000;
            h = (h * 33) ^ (0xD800 + (c >> 10));
            h = (h * 33) ^ (0xDC00 + (c & 0x3FF));
        } else {
            h = (h * 33) ^ c;
        }
        s += w;
        n -= w;
    }
    int r;
    if (namespace_ != NULL && namespace_[0] != 0) r = snprintf(buf, cap, "%s$%x", namespace_, (unsigned)h);
    else r = snprintf(buf, cap, "%x", (unsigned)h);
    return r < 0 ? WFN_EINVAL : (int32_t)r;
}

/* The value stored under key (as given) into a malloc'ed buffer with a NUL
 * after it; WFN_ENOTFOUND on a miss or an expired entry. */
static inline int32_t wfn_cache_get_alloc(const char *key, char **out) {
    wfn__args a = {key, strlen(key), 0};
    return wfn__alloc(wfn__get_cache, &a, out);
}
/* Store vlen bytes of value under key (as given) for ttl_s seconds (0: no
 * expiry) with tags ("a,b", or NULL) and the name name (shown in logs; NULL
 * for none). */
static inline int32_t wfn_cache_put(const char *key, const void *value, size_t vlen, int64_t ttl_s,
                                    const char *tags, const char *name) {
    return wfn_cache_set(key, strlen(key), value, vlen, ttl_s, tags, wfn__tags_len(tags), name,
                         name ? strlen(name) : 0);
}
static inline int32_t wfn_cache_del(const char *key) { return wfn_cache_delete(key, strlen(key)); }
/* Turn every Runtime Cache entry carrying one of tags into a miss. */
static inline int32_t wfn_cache_expire(const char *tags) {
    return wfn_cache_expire_tag(tags, wfn__tags_len(tags));
}
/* Tag this response's entry in the CDN cache (addCacheTag). */
static inline int32_t wfn_add_cache_tags(const char *tags) {
    return wfn_cdn_add_cache_tag(tags, wfn__tags_len(tags));
}
/* Mark the CDN entries carrying one of tags stale (invalidateByTag). */
static inline int32_t wfn_invalidate_by_tag(const char *tags) {
    return wfn_cdn_invalidate_by_tag(tags, wfn__tags_len(tags));
}
/* Delete them, serving stale copies for deadline_s seconds first
 * (dangerouslyDeleteByTag; 0: at once). */
static inline int32_t wfn_delete_by_tag(const char *tags, int64_t deadline_s) {
    return wfn_cdn_delete_by_tag(tags, wfn__tags_len(tags), deadline_s);
}
static inline int32_t wfn_invalidate_by_src_image(const char *src) {
    return wfn_cdn_invalidate_by_src_image(src, strlen(src));
}
static inline int32_t wfn_delete_by_src_image(const char *src, int64_t deadline_s) {
    return wfn_cdn_delete_by_src_image(src, strlen(src), deadline_s);
}

/* ---- Work after the response: #define WFN_TASKS ---- */
#ifdef WFN_TASKS

#ifndef WFN_MAX_TASKS
#define WFN_MAX_TASKS 1024 /* the host's limit per invocation */
#endif

/* Raw: registers a task id for wfn_run_task; WFN_ETOOLARGE past 1024. */
WFN__IMPORT("wait_until") int32_t wfn_wait_until(int32_t task);

typedef void (*wfn_task_fn)(void *arg);
typedef struct wfn__task {
    wfn_task_fn fn;
    void *arg;
} wfn__task;

/* Shared by every .c file of the module (weak, defined once). A slot is
 * taken at registration and freed when its task starts; a failed task ends
 * the instance, so slots never leak. */
extern wfn__task wfn__tasks[WFN_MAX_TASKS];
extern int32_t wfn__task_next;
__attribute__((weak)) wfn__task wfn__tasks[WFN_MAX_TASKS];
__attribute__((weak)) int32_t wfn__task_next;

/* wfn_after registers fn(arg) to run after the response is complete, after
 * the tasks registered before it, on this instance and under the same
 * deadline. A task may register more tasks. */
static inline int32_t wfn_after(wfn_task_fn fn, void *arg) {
    for (int32_t i = 0; i < WFN_MAX_TASKS; i++) {
        int32_t slot = (wfn__task_next + i) % WFN_MAX_TASKS;
        if (wfn__tasks[slot].fn != NULL) continue;
        int32_t err = wfn_wait_until(slot);
        if (err < 0) return err;
        wfn__tasks[slot].fn = fn;
        wfn__tasks[slot].arg = arg;
        wfn__task_next = (slot + 1) % WFN_MAX_TASKS;
        return 0;
    }
    return WFN_ETOOLARGE;
}

/* The export the host calls for each registered task. */
void wfn_run_task(int32_t task);
WFN_EXPORT("wfn_run_task") __attribute__((weak)) void wfn_run_task(int32_t task) {
    if (task < 0 || task >= WFN_MAX_TASKS || wfn__tasks[task].fn == NULL) return;
    wfn__task t = wfn__tasks[task];
    wfn__tasks[task].fn = NULL;
    wfn__tasks[task].arg = NULL;
    t.fn(t.arg);
}

#endif /* WFN_TASKS */

#ifdef __cplusplus
}
#endif

#endif /* WFN_H */
