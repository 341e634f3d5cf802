/*
 * conformance.c - the C SDK's conformance guest: it implements every case of
 * the wfn ABI conformance suite (package
 * github.com/wfn-dev/wfn/abi/conformance, whose documentation is the
 * protocol) with the SDK's public API, wfn.h.
 *
 *     clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 \
 *         -I ../../../guests/sdk/c -o conformance.wasm *.c
 *     wfn conformance conformance.wasm
 *
 * It exports wfn_handle and the method exports GET and POST; every export
 * runs the same dispatcher. It is a port of the Go SDK's guest
 * (testdata/conformance/go).
 */
#define WFN_TASKS
#include "wfn.h"

#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

extern char **environ;

/* ---- Small tools ---- */

/* buf is a growing byte string; on allocation failure it traps, as a Go
 * guest would: the suite then sees a 500. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) cap *= 2;
        char *q = realloc(b->p, cap);
        if (q == NULL) abort();
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* buf_join appends the items of a NUL-separated list of n bytes (a NUL
 * after each item), sep between them. */
static void buf_join(buf *b, const char *list, int32_t n, const char *sep) {
    for (const char *p = list; p < list + n; p += strlen(p) + 1) {
        if (p != list) buf_str(b, sep);
        buf_str(b, p);
    }
}

static void buf_free(buf *b) {
    free(b->p);
    *b = (buf){0};
}

static void hex(char *out, const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* code is how a result is reported: "ok" for a success (>= 0), else the
 * error's name. */
static const char *code(int32_t r) {
    if (r >= 0) return "ok";
    const char *name = wfn_strerror(r);
    return strcmp(name, "unknown") == 0 ? "fail: unknown error code" : name;
}

/* check reports a check in a response header, before the first write. */
static void check(const char *name, int32_t r) {
    char key[64];
    snprintf(key, sizeof key, "x-wfn-check-%s", name);
    wfn_set_header(key, code(r));
}

/* check_line reports a check made after the head was fixed, as a body line. */
static void check_line(const char *name, int32_t r) {
    wfn_writef("x-wfn-check-%s: %s\n", name, code(r));
}

/* logline writes one line to fd 1 (stdout) or 2 (stderr) at once: stdio's
 * stdout is fully buffered here, and the instance outlives the request. */
__attribute__((format(printf, 2, 3))) static void logline(int fd, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = write(fd, line + off, (size_t)n - off);
        if (w <= 0) return;
        off += (size_t)w;
    }
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int64_t now_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unhex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* unescape decodes n bytes of a query component (%XX and +) into out,
 * which has room for n + 1 bytes. */
static void unescape(char *out, const char *s, size_t n) {
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
            out[j++] = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = 0;
}

/* query returns the first value of the request URL's query parameter key,
 * decoded, in a malloc'ed string ("" when absent). */
static char *query(const char *key) {
    char *url = NULL;
    char *val = NULL;
    if (wfn_url_alloc(&url) < 0) return strdup("");
    char *q = strchr(url, '?');
    if (q != NULL) {
        char *end = strchr(q, '#');
        if (end != NULL) *end = 0;
        for (char *p = q + 1; *p != 0 && val == NULL;) {
            size_t n = strcspn(p, "&;");
            char *eq = memchr(p, '=', n);
            size_t klen = eq ? (size_t)(eq - p) : n;
            char *k = malloc(klen + 1);
            if (k == NULL) abort();
            unescape(k, p, klen);
            if (strcmp(k, key) == 0) {
                size_t vlen = eq ? n - klen - 1 : 0;
                val = malloc(vlen + 1);
                if (val == NULL) abort();
                unescape(val, eq ? eq + 1 : p + n, vlen);
            }
            free(k);
            p += n;
            if (*p != 0) p++;
        }
    }
    free(url);
    return val ? val : strdup("");
}

/* ---- The cases ---- */

static void case_nothing(void) {}

static void case_method(void) {
    char *m;
    if (wfn_method_alloc(&m) < 0) return;
    wfn_set_header("x-wfn-method", m);
    free(m);
}

static void case_url(void) {
    char *u;
    int32_t n = wfn_url_alloc(&u);
    if (n < 0) return;
    wfn_write(u, (size_t)n);
    free(u);
}

static void case_headers(void) {
    buf b = {0};
    char *list;
    int32_t n = wfn_header_values_alloc("X-MULTI", &list);
    if (n >= 0) {
        buf_join(&b, list, n, ",");
        free(list);
    }
    wfn_set_header("x-wfn-lookup", b.p ? b.p : "");
    buf_free(&b);

    char small[64];
    check("absent", wfn_header("x-absent", small, sizeof small));

    char *names;
    n = wfn_header_names_alloc(&names);
    if (n < 0) {
        check("names", n);
        return;
    }
    for (const char *name = names; name < names + n; name += strlen(name) + 1) {
        char *values;
        int32_t m = wfn_header_values_alloc(name, &values);
        if (m < 0) continue;
        for (const char *v = values; v < values + m; v += strlen(v) + 1) {
            buf_str(&b, name);
            buf_str(&b, ": ");
            buf_str(&b, v);
            buf_str(&b, "\n");
        }
        free(values);
    }
    free(names);
    wfn_write(b.p, b.len);
    buf_free(&b);
}

static void case_buffer(void) {
    char *u, *v;
    int32_t n = wfn_url_alloc(&u);
    if (n < 0) return;
    int32_t m = wfn_header_alloc("x-long", &v);
    buf b = {0};
    buf_add(&b, u, (size_t)n);
    buf_str(&b, "\n");
    if (m >= 0) buf_add(&b, v, (size_t)m);
    wfn_write(b.p, b.len);
    buf_free(&b);
    free(u);
    free(v);
}

static void case_body(void) {
    static char chunk[1000];
    sha256 h;
    sha256_init(&h);
    long total = 0, reads = 0;
    int32_t n;
    while ((n = wfn_body_read(chunk, sizeof chunk)) > 0) {
        reads++;
        total += n;
        sha256_write(&h, chunk, (size_t)n);
    }
    check("read", n); /* 0 at the end: ok */
    uint8_t sum[32];
    char digest[65], num[32];
    sha256_sum(&h, sum);
    hex(digest, sum, sizeof sum);
    snprintf(num, sizeof num, "%ld", total);
    wfn_set_header("x-wfn-body-length", num);
    snprintf(num, sizeof num, "%ld", reads);
    wfn_set_header("x-wfn-body-reads", num);
    wfn_set_header("x-wfn-body-sha256", digest);
}

static void case_status(void) {
    check("status-99", wfn_set_status(99));
    check("status-1000", wfn_set_status(1000));
    check("status-201", wfn_set_status(201));
    wfn_write_str("created\n");
    check_line("status-after-write", wfn_set_status(202));
}

static void case_status_1xx(void) { wfn_set_status(103); }

static void case_headers_out(void) {
    wfn_set_header("X-Set", "one");
    check("set", wfn_set_header("x-set", "two"));
    wfn_add_header("x-add", "a");
    check("add", wfn_add_header("X-Add", "b"));
    wfn_set_header("x-del", "gone");
    check("delete", wfn_del_header("X-Del"));
    check("tab", wfn_set_header("x-tab", "a\tb"));
    check("bad-name-space", wfn_set_header("bad name", "v"));
    check("bad-name-colon", wfn_add_header("bad:name", "v"));
    check("bad-name-empty", wfn_set_header("", "v"));
    check("bad-value-crlf", wfn_set_header("x-bad", "a\r\nx-injected: 1"));
    /* A NUL inside the value: the raw import, as wfn_set_header takes a C
     * string and would stop at it. */
    check("bad-value-nul", wfn_response_header_set("x-bad", 5, "a\0b", 3));
    check("bad-value-ctl", wfn_add_header("x-bad", "a\x01" "b"));
    check("bad-delete", wfn_del_header("bad name"));
    wfn_write_str("headers\n");
    check_line("set-after-write", wfn_set_header("x-late", "1"));
    check_line("add-after-write", wfn_add_header("x-late", "1"));
    check_line("delete-after-write", wfn_del_header("x-set"));
}

static void case_buffered(void) {
    wfn_set_header("content-type", "text/plain; charset=utf-8");
    wfn_write_str("hello, ");
    wfn_write_str("buffered world");
}

static void case_stream(void) {
    wfn_set_header("content-type", "text/plain; charset=utf-8");
    wfn_write_str("first\n");
    if (wfn_flush() < 0) return;
    sleep_ms(1500);
    wfn_write_str("second\n");
}

static void case_close(void) {
    char *token = query("token");
    wfn_set_header("content-type", "text/plain; charset=utf-8");
    wfn_write_str("closed");
    if (wfn_close() < 0) {
        free(token);
        return;
    }
    int32_t w = wfn_write_str("more");
    int32_t c = wfn_close();
    sleep_ms(2000);
    logline(1, "wfn-conformance close %s write=%s close=%s\n", token, code(w), code(c));
    free(token);
}

static void case_abort(void) { wfn_set_header("x-wfn-abort-signaled", wfn_aborted() ? "1" : "0"); }

static void case_deadline(void) {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)wfn_deadline_ms());
    wfn_set_header("x-wfn-deadline-ms", num);
}

static void nested_task(void *arg) {
    char *token = arg;
    logline(1, "wfn-conformance wait-until-nested %s\n", token);
    free(token);
}

static void task(void *arg) {
    char *token = arg;
    sleep_ms(500);
    logline(1, "wfn-conformance wait-until %s\n", token);
    if (wfn_after(nested_task, token) < 0) free(token);
}

static void case_wait_until(void) {
    char *token = query("token");
    int32_t r = wfn_after(task, token);
    if (r < 0) free(token);
    check("wait-until", r);
}

static void case_log(void) {
    char *token = query("token");
    logline(1, "wfn-conformance stdout %s\n", token);
    logline(2, "wfn-conformance stderr %s\n", token);
    free(token);
    check("log", 0);
}

static void case_env(void) {
    buf b = {0};
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (e != environ) buf_str(&b, "\n");
        buf_str(&b, *e);
    }
    wfn_write(b.p, b.len);
    buf_free(&b);
}

static void case_ip_address(void) {
    char *ip;
    int32_t n = wfn_ip_alloc(&ip);
    wfn_set_header("x-wfn-ip", n < 0 ? wfn_strerror(n) : ip);
    free(ip);
}

static void case_geolocation(void) {
    char *json;
    int32_t n = wfn_geo_alloc(&json);
    if (n < 0) {
        check("geolocation", n);
        return;
    }
    wfn_set_header("content-type", "application/json");
    wfn_write(json, (size_t)n);
    free(json);
}

static void case_fetch(void) {
    static const char hdrs[] = "X-Conformance\0yes";
    static char chunk[1000];
    char *url = query("url");
    int32_t h = wfn_fetch("POST", url, hdrs, sizeof hdrs, "ping", 4);
    free(url);
    if (h < 0) {
        check("fetch", h);
        return;
    }
    int32_t status = wfn_http_response_status(h);
    if (status < 0) {
        check("fetch", status);
        wfn_http_close(h);
        return;
    }
    buf body = {0};
    int32_t n;
    while ((n = wfn_http_response_body_read(h, chunk, sizeof chunk)) > 0) buf_add(&body, chunk, (size_t)n);
    if (n < 0) {
        check("fetch", n);
        buf_free(&body);
        wfn_http_close(h);
        return;
    }
    check("fetch", 0);
    char num[16];
    snprintf(num, sizeof num, "%d", (int)status);
    wfn_set_header("x-wfn-fetch-status", num);

    buf b = {0};
    char *list;
    if ((n = wfn_http_header_names_alloc(h, &list)) >= 0) {
        buf_join(&b, list, n, ",");
        free(list);
    }
    wfn_set_header("x-wfn-fetch-names", b.p ? b.p : "");
    buf_free(&b);
    if ((n = wfn_http_header_values_alloc(h, "X-Backend", &list)) >= 0) {
        buf_join(&b, list, n, ",");
        free(list);
    }
    wfn_set_header("x-wfn-fetch-header", b.p ? b.p : "");
    buf_free(&b);

    wfn_write(body.p, body.len);
    buf_free(&body);
    wfn_http_close(h);
}

/* get sends a GET and waits for its status: the first error of the two. */
static int32_t get(const char *url) {
    int32_t h = wfn_fetch("GET", url, NULL, 0, NULL, 0);
    if (h < 0) return h;
    int32_t status = wfn_http_response_status(h);
    wfn_http_close(h);
    return status;
}

static void case_fetch_denied(void) {
    char *url = query("url");
    check("denied", get(url));
    free(url);
    check("denied-metadata", get("http://169.254.169.254/latest/meta-data/"));
}

static void case_tcp(void) {
    static const char msg[] = "ping from a wfn guest";
    char *addr = query("addr");
    int32_t h = wfn_tcp_dial(addr, 0, 5000);
    check("connect", h);
    if (h > 0) {
        char remote[64];
        int32_t n = wfn_tcp_remote_address(h, remote, sizeof remote - 1);
        if (n >= 0 && n < (int32_t)sizeof remote) {
            remote[n] = 0;
            wfn_set_header("x-wfn-tcp-remote", remote);
        }
        check("write", wfn_tcp_write_all(h, msg, sizeof msg - 1, 5000));
        check("close-write", wfn_tcp_close_write(h));
        check("close-write-again", wfn_tcp_close_write(h));
        check("write-closed", wfn_tcp_write(h, msg, sizeof msg - 1, 5000));
        buf got = {0};
        char chunk[8]; /* small reads: several calls */
        int32_t r;
        while ((r = wfn_tcp_read(h, chunk, sizeof chunk, 5000)) > 0) buf_add(&got, chunk, (size_t)r);
        check("read-end", r);
        wfn_set_header("x-wfn-tcp-read", got.p ? got.p : "");
        buf_free(&got);
        check("close", wfn_tcp_close(h));
        check("close-again", wfn_tcp_close(h));
        check("read-closed", wfn_tcp_read(h, chunk, sizeof chunk, 0));
    }
    check("bad-flag", wfn_tcp_dial(addr, 2, 1000));
    check("bad-addr", wfn_tcp_dial("127.0.0.1", 0, 1000));
    free(addr);
    char *refused = query("refused");
    int32_t rh = wfn_tcp_dial(refused, 0, 5000);
    check("refused", rh);
    if (rh > 0) wfn_tcp_close(rh);
    free(refused);
}

static void case_tcp_denied(void) {
    char *addr = query("addr");
    int32_t h = wfn_tcp_dial(addr, 0, 5000);
    check("denied", h);
    if (h > 0) wfn_tcp_close(h);
    free(addr);
    h = wfn_tcp_dial("169.254.169.254:80", 0, 5000);
    check("denied-metadata", h);
    if (h > 0) wfn_tcp_close(h);
}

static void case_tcp_timeout(void) {
    static const char msg[] = "still here";
    char *addr = query("addr");
    int32_t h = wfn_tcp_dial(addr, 0, 5000);
    free(addr);
    check("connect", h);
    if (h <= 0) return;
    char b[64];
    int64_t start = now_ms(CLOCK_MONOTONIC);
    check("read-timeout", wfn_tcp_read(h, b, sizeof b, 100));
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)(now_ms(CLOCK_MONOTONIC) - start));
    wfn_set_header("x-wfn-tcp-waited-ms", num);
    check("read-now", wfn_tcp_read(h, b, sizeof b, 0));
    check("write-after-timeout", wfn_tcp_write_all(h, msg, sizeof msg - 1, 5000));
    check("close", wfn_tcp_close(h));
}

static void case_clock(void) {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)now_ms(CLOCK_REALTIME));
    wfn_set_header("x-wfn-wall-ms", num);
    int64_t start = now_ms(CLOCK_MONOTONIC);
    sleep_ms(50);
    snprintf(num, sizeof num, "%lld", (long long)(now_ms(CLOCK_MONOTONIC) - start));
    wfn_set_header("x-wfn-sleep-ms", num);
}

static void case_random(void) {
    uint8_t b[32];
    char out[65];
    if (getentropy(b, sizeof b) != 0) {
        wfn_set_header("x-wfn-check-random", "fail: getentropy");
        return;
    }
    hex(out, b, sizeof b);
    wfn_set_header("x-wfn-random", out);
}

/* cache_value reports a cache_get: the value into the header, or the error's
 * name; the result is the get's. */
static int32_t cache_value(const char *key, const char *header) {
    char *v = NULL;
    int32_t n = wfn_cache_get_alloc(key, &v);
    if (header != NULL) wfn_set_header(header, n >= 0 ? v : code(n));
    free(v);
    return n < 0 ? n : 0;
}

static void case_cache(void) {
    char *key = query("key"), *tag = query("tag"), *value = query("value"), *read = query("read");
    if (read[0] != 0) {
        cache_value(key, "x-wfn-cache-get");
    } else {
        size_t vlen = strlen(value);
        check("miss", cache_value(key, NULL));
        check("set", wfn_cache_put(key, value, vlen, 0, tag, "conformance"));
        cache_value(key, "x-wfn-cache-get");
        check("delete", wfn_cache_del(key));
        check("deleted", cache_value(key, NULL));
        check("set-tagged", wfn_cache_put(key, value, vlen, 0, tag, "conformance"));
        check("expire-tag", wfn_cache_expire(tag));
        check("expired", cache_value(key, NULL));
        check("bad-ttl", wfn_cache_put(key, value, vlen, -1, NULL, NULL));
        check("bad-tag", wfn_cache_put(key, value, vlen, 0, "a,", NULL));
        size_t klen = strlen(key);
        char *kept = malloc(klen + sizeof "-kept");
        if (kept == NULL) abort();
        memcpy(kept, key, klen);
        memcpy(kept + klen, "-kept", sizeof "-kept");
        check("keep", wfn_cache_put(kept, value, vlen, 60, NULL, NULL));
        free(kept);
    }
    free(key);
    free(tag);
    free(value);
    free(read);
}

static void case_cdn(void) {
    char *tag = query("tag"), *src = query("src");
    check("add-tag", wfn_add_cache_tags(tag));
    check("add-tag-empty", wfn_add_cache_tags("a,"));
    check("invalidate-tag", wfn_invalidate_by_tag(tag));
    check("delete-tag", wfn_delete_by_tag(tag, 0));
    check("delete-tag-negative", wfn_delete_by_tag(tag, -1));
    check("invalidate-src", wfn_invalidate_by_src_image(src));
    check("invalidate-src-empty", wfn_invalidate_by_src_image(""));
    check("delete-src", wfn_delete_by_src_image(src, 60));
    free(tag);
    free(src);
}

/* set_num sets a header to a decimal number, or to an error's name. */
static void set_num(const char *header, int32_t r) {
    char num[16];
    snprintf(num, sizeof num, "%d", (int)r);
    wfn_set_header(header, r < 0 ? code(r) : num);
}

static void case_fetch_wait(void) {
    char *url = query("url");
    int32_t h = wfn_fetch("GET", url, NULL, 0, NULL, 0);
    free(url);
    if (h < 0) {
        check("fetch", h);
        return;
    }
    set_num("x-wfn-wait-now", wfn_http_wait(h, 0));
    set_num("x-wfn-wait", wfn_http_wait(h, 10000));
    set_num("x-wfn-fetch-status", wfn_http_response_status(h));
    wfn_http_close(h);
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"dispatch", case_nothing},
    {"empty", case_nothing},
    {"method", case_method},
    {"url", case_url},
    {"headers", case_headers},
    {"buffer", case_buffer},
    {"body", case_body},
    {"status", case_status},
    {"status-1xx", case_status_1xx},
    {"headers-out", case_headers_out},
    {"buffered", case_buffered},
    {"stream", case_stream},
    {"close", case_close},
    {"abort", case_abort},
    {"deadline", case_deadline},
    {"wait-until", case_wait_until},
    {"log", case_log},
    {"env", case_env},
    {"ip-address", case_ip_address},
    {"geolocation", case_geolocation},
    {"fetch", case_fetch},
    {"fetch-denied", case_fetch_denied},
    {"clock", case_clock},
    {"random", case_random},
    {"cache", case_cache},
    {"cdn", case_cdn},
    {"fetch-wait", case_fetch_wait},
    {"tcp", case_tcp},
    {"tcp-denied", case_tcp_denied},
    {"tcp-timeout", case_tcp_timeout},
};

/* dispatch serves the case named by the route param "case"; export is the
 * name of the export that was called. */
static void dispatch(const char *export) {
    char *name;
    int32_t n = wfn_param_alloc("case", &name);
    wfn_set_header("x-wfn-export", export);
    if (n < 0) {
        name = NULL;
        n = 0;
    }
    for (size_t i = 0; name != NULL && i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, name) == 0) {
            free(name);
            cases[i].run();
            return;
        }
    }
    /* An unknown case: 404 with the param as the body. */
    wfn_set_status(404);
    wfn_set_header("content-type", "text/plain; charset=utf-8");
    wfn_write(name ? name : "", (size_t)n);
    free(name);
}

WFN_HANDLER(wfn_handle) { dispatch("wfn_handle"); }

WFN_METHOD(GET) { dispatch("GET"); }

WFN_METHOD(POST) { dispatch("POST"); }
