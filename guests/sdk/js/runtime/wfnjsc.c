/* wfnjsc: compiles the runtime's prelude to QuickJS bytecode at build time,
 * so that wfn_init reads it (JS_ReadObject) instead of parsing 170 KB of
 * source: no parser peak in the instance's memory and no source text kept.
 *
 * A WASI command built by build.sh from the same QuickJS objects as the
 * runtime (bytecode holds the engine's own atom numbers, so compiler and
 * reader must be one build), and run by mkprelude under wazero:
 *
 *     wfnjsc [NAME] < prelude.js > prelude.bin
 *
 * It compiles stdin as a strict global script named NAME ("wfn:prelude"
 * by default; mkprelude names each lazily loaded bundle its own), with
 * each function's source text stripped (Function.prototype.toString then
 * shows "[native code]") and its line and column numbers kept for stack
 * traces, and writes the bytecode (JS_WriteObject) to stdout. A syntax
 * error is printed on stderr with exit status 1. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "quickjs.h"

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "wfn:prelude";
    size_t cap = 1 << 18, n = 0;
    char *src = malloc(cap);
    for (;;) {
        if (!src) return 2;
        ssize_t r = read(0, src + n, cap - n - 1);
        if (r < 0) return 2;
        if (r == 0) break;
        n += (size_t)r;
        if (n + 1 == cap) src = realloc(src, cap *= 2);
    }
    src[n] = 0;

    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
    if (!ctx) return 2;
    JS_SetMaxStackSize(rt, 768 * 1024); /* build.sh links a 1 MiB stack */
    JS_SetStripInfo(rt, JS_STRIP_SOURCE);
    JSValue f = JS_Eval(ctx, src, n, name, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_STRICT | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(f)) {
        JSValue exc = JS_GetException(ctx);
        JSValue stack = JS_GetPropertyStr(ctx, exc, "stack");
        const char *msg = JS_ToCString(ctx, exc), *where = JS_ToCString(ctx, stack);
        fprintf(stderr, "wfnjsc: %s\n%s", msg ? msg : "the prelude does not compile", where ? where : "");
        return 1;
    }
    size_t len;
    uint8_t *bc = JS_WriteObject(ctx, &len, f, JS_WRITE_OBJ_BYTECODE);
    if (!bc) return 2;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(1, bc + off, len - off);
        if (w <= 0) return 2;
        off += (size_t)w;
    }
    return 0;
}
