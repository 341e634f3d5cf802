/* A guest of the host's outbound TCP tests (host/tcp_test.go): the query's
 * "op" says what to do with the server at "addr". */
#include <stdio.h>
#include "wfn.h"

static char *query(const char *key) {
    char *url = NULL;
    if (wfn_url_alloc(&url) < 0) return strdup("");
    char pat[32];
    snprintf(pat, sizeof pat, "%s=", key);
    char *q = strchr(url, '?');
    char *val = NULL;
    for (char *p = q ? q + 1 : NULL; p != NULL && *p != 0 && val == NULL;) {
        size_t n = strcspn(p, "&");
        if (strncmp(p, pat, strlen(pat)) == 0) val = strndup(p + strlen(pat), n - strlen(pat));
        p += n + (p[n] == '&');
    }
    free(url);
    return val ? val : strdup("");
}

static void answer(int32_t r) { wfn_write_str(r >= 0 ? "ok" : wfn_strerror(r)); }

/* The instance's pooled connection (flag WFN_TCP_INSTANCE), or 0. */
static int32_t pooled;
static int suspends;
/* Set by op=pool with hold=1: wfn_on_suspend then waits for the server's
 * answer to its goodbye, within the call's 500 ms. */
static int hold_suspend;

/* The connection wfn_init opens to $TCP_INIT_ADDR, if set: outside an
 * invocation, so it belongs to the instance. */
static int32_t init_conn;

WFN_INIT() {
    const char *a = getenv("TCP_INIT_ADDR");
    if (a != NULL && *a != 0) init_conn = wfn_tcp_dial(a, 0, 5000);
}

/* wfn_on_suspend says goodbye on the pooled connection and closes it. */
WFN_ON_SUSPEND() {
    suspends++;
    if (pooled > 0) {
        wfn_tcp_write_all(pooled, "bye\n", 4, 500);
        if (hold_suspend) {
            char b[16];
            wfn_tcp_read(pooled, b, sizeof b, -1);
        }
        wfn_tcp_close(pooled);
        pooled = 0;
    }
}

WFN_HANDLER(wfn_handle) {
    char *op = query("op"), *addr = query("addr");
    char b[256];
    if (strcmp(op, "echo") == 0) {
        /* Sends "hello", half-closes, answers what the server sent back. */
        int32_t h = wfn_tcp_dial(addr, 0, 5000);
        if (h < 0) {
            answer(h);
        } else {
            wfn_tcp_write_all(h, "hello", 5, 5000);
            wfn_tcp_close_write(h);
            int32_t n;
            while ((n = wfn_tcp_read(h, b, sizeof b, 5000)) > 0) wfn_write(b, (size_t)n);
            if (n < 0) answer(n);
            wfn_tcp_close(h);
        }
    } else if (strcmp(op, "connect") == 0) {
        /* Connects and reports the code. */
        int32_t h = wfn_tcp_dial(addr, 0, 5000);
        answer(h);
        if (h > 0) wfn_tcp_close(h);
    } else if (strcmp(op, "silent") == 0) {
        /* Reads with a timeout of 100 ms from a server that never answers. */
        int32_t h = wfn_tcp_dial(addr, 0, 5000);
        answer(h < 0 ? h : wfn_tcp_read(h, b, sizeof b, 100));
    } else if (strcmp(op, "hold") == 0) {
        /* Says hello on a connection of the invocation, then waits on it
         * without a bound of its own: an abort or the deadline ends it. */
        int32_t h = wfn_tcp_dial(addr, 0, 5000);
        if (h > 0) {
            wfn_tcp_write_all(h, "held\n", 5, 5000);
            h = wfn_tcp_read(h, b, sizeof b, -1);
        }
        answer(h);
    } else if (strcmp(op, "pool") == 0) {
        /* Asks the server on the instance's connection, dialed once. */
        char *hold = query("hold");
        hold_suspend = strcmp(hold, "1") == 0;
        free(hold);
        if (pooled <= 0) pooled = wfn_tcp_dial(addr, WFN_TCP_INSTANCE, 5000);
        int32_t r = pooled;
        if (r > 0) r = wfn_tcp_write_all(pooled, "ping\n", 5, 5000);
        if (r > 0) r = wfn_tcp_read(pooled, b, sizeof b, 5000);
        if (r > 0) {
            wfn_write(b, (size_t)r);
        } else {
            answer(r < 0 ? r : WFN_EIO);
            if (pooled > 0) wfn_tcp_close(pooled);
            pooled = 0;
        }
    } else if (strcmp(op, "poolwait") == 0) {
        /* Waits on the instance's connection without a bound of its own,
         * then reports how the wait ended on it. */
        if (pooled <= 0) pooled = wfn_tcp_dial(addr, WFN_TCP_INSTANCE, 5000);
        int32_t r = pooled;
        if (r > 0) r = wfn_tcp_write_all(pooled, "waiting\n", 8, 5000);
        if (r > 0) r = wfn_tcp_read(pooled, b, sizeof b, -1);
        char line[64];
        snprintf(line, sizeof line, "ended %s\n", r > 0 ? "ok" : wfn_strerror(r));
        /* Timeout 0: after an abort, only the calls that do not wait run. */
        if (pooled > 0) wfn_tcp_write(pooled, line, strlen(line), 0);
        answer(r);
    } else if (strcmp(op, "init") == 0) {
        /* Asks the server on wfn_init's connection. */
        int32_t r = init_conn;
        if (r > 0) r = wfn_tcp_write_all(init_conn, "ping\n", 5, 5000);
        if (r > 0) r = wfn_tcp_read(init_conn, b, sizeof b, 5000);
        if (r > 0) {
            wfn_write(b, (size_t)r);
        } else {
            answer(r < 0 ? r : WFN_EIO);
        }
    } else if (strcmp(op, "many") == 0) {
        /* Opens connections until one fails: "<count> <code>". */
        int32_t hs[80];
        int n = 0, r = 0;
        while (n < 80 && (r = wfn_tcp_dial(addr, 0, 5000)) > 0) hs[n++] = r;
        char out[64];
        snprintf(out, sizeof out, "%d %s", n, r > 0 ? "ok" : wfn_strerror(r));
        wfn_write_str(out);
        for (int i = 0; i < n; i++) wfn_tcp_close(hs[i]);
    } else if (strcmp(op, "rtt") == 0) {
        /* n round trips of "ping\n" and a 5-byte answer on one connection
         * (BenchmarkTCPRoundTrip): "ok" or the first error. */
        char *ns = query("n");
        int n = atoi(ns);
        free(ns);
        int32_t h = wfn_tcp_dial(addr, 0, 5000), r = h;
        for (int i = 0; r > 0 && i < n; i++) {
            r = wfn_tcp_write_all(h, "ping\n", 5, 5000);
            for (int got = 0; r > 0 && got < 5; got += r) r = wfn_tcp_read(h, b + got, 5 - (size_t)got, 5000);
        }
        answer(r == 0 ? WFN_EIO : r);
        if (h > 0) wfn_tcp_close(h);
    } else if (strcmp(op, "suspends") == 0) {
        char out[32];
        snprintf(out, sizeof out, "%d", suspends);
        wfn_write_str(out);
    } else {
        wfn_set_status(400);
        wfn_write_str("unknown op");
    }
    free(op);
    free(addr);
}
