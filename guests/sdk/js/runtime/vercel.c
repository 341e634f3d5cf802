/* The native functions behind @vercel/functions in wfn's JavaScript
 * runtime (prelude/vercel.js): the request context (ip_address,
 * geolocation, deadline_remaining_ms, the environment), waitUntil
 * (wait_until), the Runtime Cache (cache_*) and the CDN cache (cdn_*), over
 * the wfn ABI (abi/SPEC.md sections 4 to 6).
 *
 * wfnjs_vercel_install adds them to the object `native` that the prelude
 * builds its APIs on. Each function throws a TypeError naming the ABI code
 * (EINVAL, ETOOLARGE, ...) when the host refuses the call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "wfn.h"

void wfnjs_vercel_install(JSContext *c, JSValueConst native);

WFN__IMPORT("wait_until") int32_t wfn_wait_until(int32_t task);

extern char **environ;

/* From wfnjs.c: wfnjs_check throws a TypeError for a negative ABI result,
 * else gives undefined; wfnjs_alloc_string makes a string of the buffer an
 * _alloc helper returned (n bytes, freed), undefined on WFN_ENOTFOUND. */
JSValue wfnjs_check(JSContext *c, int32_t r, const char *what);
JSValue wfnjs_alloc_string(JSContext *c, int32_t n, char *s, const char *what);

/* ipAddress(): the client address the host trusts, or undefined. */
static JSValue v_ip_address(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    char *s;
    int32_t n = wfn_ip_alloc(&s);
    return wfnjs_alloc_string(c, n, s, "ip_address");
}

/* geolocation(): the JSON object of the geolocation import, a string. */
static JSValue v_geolocation(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    char *s;
    int32_t n = wfn_geo_alloc(&s);
    return wfnjs_alloc_string(c, n, s, "geolocation");
}

/* deadlineMs(): milliseconds left before maxDuration; -1 outside an
 * invocation. */
static JSValue v_deadline_ms(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int64_t ms = wfn_deadline_remaining_ms();
    return JS_NewFloat64(c, ms < 0 ? -1 : (double)ms);
}

/* environ(): the function's environment as an object of strings, without
 * the variable that carries the bundle (jsruntime.BundleEnv). */
static JSValue v_environ(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    JSValue out = JS_NewObject(c);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        size_t n = (size_t)(eq - *e);
        if (n == 13 && memcmp(*e, "WFN_JS_BUNDLE", 13) == 0) continue;
        JSAtom name = JS_NewAtomLen(c, *e, n);
        JS_DefinePropertyValue(c, out, name, JS_NewString(c, eq + 1), JS_PROP_C_W_E);
        JS_FreeAtom(c, name);
    }
    return out;
}

/* waitUntil(): registers task 0 for wfn_run_task after the response; the
 * prelude calls it once per invocation, at the first waitUntil. */
static JSValue v_wait_until(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return wfnjs_check(c, wfn_wait_until(0), "wait_until");
}

/* A string argument as UTF-8 bytes; the caller frees *s. */
static int arg(JSContext *c, JSValueConst v, const char **s, size_t *n) {
    *s = JS_ToCStringLen(c, n, v);
    return *s ? 0 : -1;
}

/* cacheGet(key): the stored value as a string, undefined on a miss. */
static JSValue v_cache_get(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    const char *key;
    size_t klen;
    if (arg(c, argv[0], &key, &klen)) return JS_EXCEPTION;
    char *s;
    int32_t n = wfn_cache_get_alloc(key, &s);
    JS_FreeCString(c, key);
    return wfnjs_alloc_string(c, n, s, "cache_get");
}

/* cacheSet(key, value, ttlSeconds, tags, name): tags joined with commas,
 * "" for none; name "" for none; ttlSeconds 0 for no expiry. */
static JSValue v_cache_set(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    const char *key = NULL, *value = NULL, *tags = NULL, *name = NULL;
    size_t klen, vlen, tlen, nlen;
    int64_t ttl;
    JSValue r = JS_EXCEPTION;
    if (arg(c, argv[0], &key, &klen) || arg(c, argv[1], &value, &vlen) || JS_ToInt64(c, &ttl, argv[2]) ||
        arg(c, argv[3], &tags, &tlen) || arg(c, argv[4], &name, &nlen))
        goto out;
    r = wfnjs_check(c, wfn_cache_set(key, klen, value, vlen, ttl, tags, tlen, name, nlen), "cache_set");
out:
    JS_FreeCString(c, key);
    JS_FreeCString(c, value);
    JS_FreeCString(c, tags);
    JS_FreeCString(c, name);
    return r;
}

/* A function of one string argument over an import (s, len). */
#define STRING_CALL(fn, import, what)                                                 \
    static JSValue fn(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) { \
        const char *s;                                                                \
        size_t n;                                                                     \
        if (arg(c, argv[0], &s, &n)) return JS_EXCEPTION;                             \
        int32_t r = import(s, n);                                                     \
        JS_FreeCString(c, s);                                                         \
        return wfnjs_check(c, r, what);                                                    \
    }

/* A function of a string and a number of seconds over an import. */
#define STRING_SECONDS_CALL(fn, import, what)                                         \
    static JSValue fn(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) { \
        const char *s;                                                                \
        size_t n;                                                                     \
        int64_t secs;                                                                 \
        if (JS_ToInt64(c, &secs, argv[1]) || arg(c, argv[0], &s, &n)) return JS_EXCEPTION; \
        int32_t r = import(s, n, secs);                                               \
        JS_FreeCString(c, s);                                                         \
        return wfnjs_check(c, r, what);                                                    \
    }

STRING_CALL(v_cache_delete, wfn_cache_delete, "cache_delete")
STRING_CALL(v_cache_expire_tag, wfn_cache_expire_tag, "cache_expire_tag")
STRING_CALL(v_cdn_add_cache_tag, wfn_cdn_add_cache_tag, "cdn_add_cache_tag")
STRING_CALL(v_cdn_invalidate_by_tag, wfn_cdn_invalidate_by_tag, "cdn_invalidate_by_tag")
STRING_CALL(v_cdn_invalidate_by_src_image, wfn_cdn_invalidate_by_src_image, "cdn_invalidate_by_src_image")
STRING_SECONDS_CALL(v_cdn_delete_by_tag, wfn_cdn_delete_by_tag, "cdn_delete_by_tag")
STRING_SECONDS_CALL(v_cdn_delete_by_src_image, wfn_cdn_delete_by_src_image, "cdn_delete_by_src_image")

static const JSCFunctionListEntry vercel_funcs[] = {
    JS_CFUNC_DEF("ipAddress", 0, v_ip_address),
    JS_CFUNC_DEF("geolocation", 0, v_geolocation),
    JS_CFUNC_DEF("deadlineMs", 0, v_deadline_ms),
    JS_CFUNC_DEF("environ", 0, v_environ),
    JS_CFUNC_DEF("waitUntil", 0, v_wait_until),
    JS_CFUNC_DEF("cacheGet", 1, v_cache_get),
    JS_CFUNC_DEF("cacheSet", 5, v_cache_set),
    JS_CFUNC_DEF("cacheDelete", 1, v_cache_delete),
    JS_CFUNC_DEF("cacheExpireTag", 1, v_cache_expire_tag),
    JS_CFUNC_DEF("cdnAddCacheTag", 1, v_cdn_add_cache_tag),
    JS_CFUNC_DEF("cdnInvalidateByTag", 1, v_cdn_invalidate_by_tag),
    JS_CFUNC_DEF("cdnDeleteByTag", 2, v_cdn_delete_by_tag),
    JS_CFUNC_DEF("cdnInvalidateBySrcImage", 1, v_cdn_invalidate_by_src_image),
    JS_CFUNC_DEF("cdnDeleteBySrcImage", 2, v_cdn_delete_by_src_image),
};

void wfnjs_vercel_install(JSContext *c, JSValueConst native) {
    JS_SetPropertyFunctionList(c, native, vercel_funcs, sizeof vercel_funcs / sizeof vercel_funcs[0]);
}
