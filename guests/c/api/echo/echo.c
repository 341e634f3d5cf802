// api/echo in C: streams the request body back with the request's
// Content-Type. It flushes first, so the response streams (no 4.5 MB limit)
// while the body is still being read.
#include "wfn.h"

static char chunk[32 * 1024];

WFN_HANDLER(wfn_handle) {
    char ctype[256];
    int32_t n = wfn_header("content-type", ctype, sizeof ctype);
    if (n >= 0 && (size_t)n < sizeof ctype) wfn_set_header("content-type", ctype);
    if (wfn_flush() < 0) return;
    while ((n = wfn_body_read(chunk, sizeof chunk)) > 0) {
        if (wfn_write(chunk, (size_t)n) < 0) return;
    }
}
