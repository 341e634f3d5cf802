/* Request and Response (Fetch Standard, sections 5.4 and 5.5) as classes
 * in C for wfn's JavaScript runtime: a warm invocation makes one of each,
 * and as JavaScript classes their constructors (their fields, their
 * checks, a Response's string body and Headers) cost half of the
 * invocation in QuickJS.
 *
 * A Response holds its status, Headers, status text and URL; a Request
 * its method, URL, Headers (made from the host's on first use for the
 * request served), signal (for the request served, the number of its
 * invocation until first asked for) and redirect mode. The body of
 * either is in the two symbol-keyed properties that the prelude's Body
 * methods read and write (kBody, kUsed), defined here on each new object.
 * The prelude adds the rest in JavaScript: the Body methods, clone, a
 * Response's type, redirected, Response.json and Response.redirect, the
 * extraction of bodies other than strings, and the constructor of a
 * Request made by the function (requestInit).
 *
 * wfnjs_response_install adds to the object `native`: Response and
 * Request (the classes); responseSetup(extract, kBody, kUsed) and
 * requestSetup(init, signal, readBody) (the prelude's pieces: extract(body)
 * gives [what the body holds, its default Content-Type or null];
 * init(req, input, init) runs new Request(input, init); signal(n) is the
 * signal of invocation n's request; readBody, the body of the request
 * served); responseSet(res, status, url) (a fetch's response and
 * clones); requestSet(req, method, url, headers, signal, redirect) (each
 * one left as it is when undefined); incoming(method, url, n) (the
 * request of invocation n, served); and respond(res, body) (the status,
 * the headers and a string or bytes body, or none, to the host).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "wfn.h"

void wfnjs_response_install(JSContext *c, JSValueConst native);
JSValue wfnjs_headers_new(JSContext *c, JSValueConst init);
int wfnjs_headers_set_default(JSContext *c, JSValueConst h, JSValueConst name, JSValueConst value);
JSValue *wfnjs_headers_list(JSValueConst h, uint32_t *len);
JSValue wfnjs_check(JSContext *c, int32_t r, const char *what);
int wfnjs_bytes(JSContext *c, JSValueConst v, const uint8_t **p, size_t *len, const char **str);
void wfnjs_class(JSContext *c, JSValueConst native, JSClassID *id, const JSClassDef *def, const JSCFunctionListEntry *funcs,
                 int n, JSCFunction *ctor, JSValue *proto, JSValue *ctor_value);
JSValue wfnjs_new_object(JSContext *c, JSValueConst new_target, JSValueConst ctor_value, JSValueConst proto, JSClassID id);
JSValue wfnjs_request_headers(JSContext *c);

typedef struct {
    int32_t status;
    JSValue headers;     /* a Headers */
    JSValue status_text; /* a string */
    JSValue url;         /* a string */
} response;

static JSClassID response_class;
static JSValue response_proto, response_ctor_value;
static JSValue extract_fn; /* the prelude's extract, for bodies not strings */
static JSAtom body_atom, used_atom;
static JSAtom status_atom, status_text_atom, headers_atom; /* init's members */
static JSValue empty_str, content_type_str, text_plain_str;

static void response_finalizer(JSRuntime *rt, JSValue obj) {
    response *r = JS_GetOpaque(obj, response_class);
    if (!r) return;
    JS_FreeValueRT(rt, r->headers);
    JS_FreeValueRT(rt, r->status_text);
    JS_FreeValueRT(rt, r->url);
    js_free_rt(rt, r);
}

static void response_mark(JSRuntime *rt, JSValueConst obj, JS_MarkFunc *mark) {
    response *r = JS_GetOpaque(obj, response_class);
    if (r) JS_MarkValue(rt, r->headers, mark);
}

static const JSClassDef response_def = {"Response", .finalizer = response_finalizer, .gc_mark = response_mark};

/* new Response(body, init): init's status (200 to 599, default 200),
 * statusText and headers; a string body gets the default Content-Type
 * text/plain;charset=UTF-8, another body goes through the prelude's
 * extract. */
static JSValue response_ctor(JSContext *c, JSValueConst new_target, int argc, JSValueConst *argv) {
    JSValueConst body = argc > 0 ? argv[0] : JS_UNDEFINED;
    JSValueConst init = argc > 1 ? argv[1] : JS_UNDEFINED;
    int32_t status = 200;
    JSValue text = JS_DupValue(c, empty_str), hinit = JS_UNDEFINED, b = JS_NULL, type = JS_NULL, obj = JS_UNDEFINED;
    if (!JS_IsUndefined(init)) {
        JSValue sv = JS_GetProperty(c, init, status_atom);
        if (JS_IsException(sv)) goto fail;
        if (!JS_IsUndefined(sv)) {
            double d;
            if (JS_ToFloat64(c, &d, sv)) {
                JS_FreeValue(c, sv);
                goto fail;
            }
            if (!(d >= 200 && d <= 599) || d != (double)(int32_t)d) {
                const char *s = JS_ToCString(c, sv);
                JS_ThrowRangeError(c, "Response: status %s is outside 200 to 599", s ? s : "?");
                JS_FreeCString(c, s);
                JS_FreeValue(c, sv);
                goto fail;
            }
            status = (int32_t)d;
        }
        JS_FreeValue(c, sv);
    }
    if (JS_IsString(body)) {
        b = JS_DupValue(c, body);
        type = JS_DupValue(c, text_plain_str);
    } else if (!JS_IsUndefined(body) && !JS_IsNull(body)) {
        JSValue pair = JS_Call(c, extract_fn, JS_UNDEFINED, 1, &body);
        if (JS_IsException(pair)) goto fail;
        b = JS_GetPropertyUint32(c, pair, 0);
        type = JS_GetPropertyUint32(c, pair, 1);
        JS_FreeValue(c, pair);
        if (JS_IsException(b) || JS_IsException(type)) goto fail;
    }
    if (!JS_IsNull(b) && (status == 204 || status == 205 || status == 304)) {
        JS_ThrowTypeError(c, "Response: a %d response cannot have a body", status);
        goto fail;
    }
    if (!JS_IsUndefined(init)) {
        JSValue tv = JS_GetProperty(c, init, status_text_atom);
        if (JS_IsException(tv)) goto fail;
        if (!JS_IsUndefined(tv)) {
            JS_FreeValue(c, text);
            text = JS_ToString(c, tv);
            JS_FreeValue(c, tv);
            if (JS_IsException(text)) goto fail;
        }
        hinit = JS_GetProperty(c, init, headers_atom);
        if (JS_IsException(hinit)) goto fail;
    }
    JSValue headers = wfnjs_headers_new(c, hinit);
    if (JS_IsException(headers)) goto fail;
    if (JS_IsString(type) && wfnjs_headers_set_default(c, headers, content_type_str, type)) {
        JS_FreeValue(c, headers);
        goto fail;
    }
    obj = wfnjs_new_object(c, new_target, response_ctor_value, response_proto, response_class);
    response *r = JS_IsException(obj) ? NULL : js_malloc(c, sizeof *r);
    if (!r) {
        JS_FreeValue(c, headers);
        goto fail;
    }
    r->status = status;
    r->headers = headers;
    r->status_text = text;
    r->url = JS_DupValue(c, empty_str);
    JS_SetOpaque(obj, r);
    JS_FreeValue(c, hinit);
    JS_FreeValue(c, type);
    if (JS_DefinePropertyValue(c, obj, body_atom, b, JS_PROP_C_W_E) < 0 ||
        JS_DefinePropertyValue(c, obj, used_atom, JS_FALSE, JS_PROP_C_W_E) < 0) {
        JS_FreeValue(c, obj);
        return JS_EXCEPTION;
    }
    return obj;
fail:
    JS_FreeValue(c, obj);
    JS_FreeValue(c, text);
    JS_FreeValue(c, hinit);
    JS_FreeValue(c, b);
    JS_FreeValue(c, type);
    return JS_EXCEPTION;
}

#define THIS_RESPONSE(r)                                   \
    response *r = JS_GetOpaque2(c, this, response_class); \
    if (!r) return JS_EXCEPTION;

static JSValue r_status(JSContext *c, JSValueConst this) {
    THIS_RESPONSE(r);
    return JS_NewInt32(c, r->status);
}

static JSValue r_ok(JSContext *c, JSValueConst this) {
    THIS_RESPONSE(r);
    return JS_NewBool(c, r->status >= 200 && r->status <= 299);
}

static JSValue r_status_text(JSContext *c, JSValueConst this) {
    THIS_RESPONSE(r);
    return JS_DupValue(c, r->status_text);
}

static JSValue r_headers(JSContext *c, JSValueConst this) {
    THIS_RESPONSE(r);
    return JS_DupValue(c, r->headers);
}

static JSValue r_url(JSContext *c, JSValueConst this) {
    THIS_RESPONSE(r);
    return JS_DupValue(c, r->url);
}

static const JSCFunctionListEntry response_proto_funcs[] = {
    JS_CGETSET_DEF("status", r_status, NULL),
    JS_CGETSET_DEF("ok", r_ok, NULL),
    JS_CGETSET_DEF("statusText", r_status_text, NULL),
    JS_CGETSET_DEF("headers", r_headers, NULL),
    JS_CGETSET_DEF("url", r_url, NULL),
};

/* responseSetup(extract, kBody, kUsed). */
static JSValue n_response_setup(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    extract_fn = JS_DupValue(c, argv[0]);
    body_atom = JS_ValueToAtom(c, argv[1]);
    used_atom = JS_ValueToAtom(c, argv[2]);
    return JS_UNDEFINED;
}

/* responseSet(res, status, url): a status outside 200 to 599 (a fetch's
 * response) and a URL. */
static JSValue n_response_set(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    response *r = JS_GetOpaque2(c, argv[0], response_class);
    if (!r || JS_ToInt32(c, &r->status, argv[1])) return JS_EXCEPTION;
    JSValue url = JS_ToString(c, argv[2]);
    if (JS_IsException(url)) return url;
    JS_FreeValue(c, r->url);
    r->url = url;
    return JS_UNDEFINED;
}

/* respond(res, body): the status and headers of res, then body (a
 * string, as UTF-8, or bytes), unless it is null. */
static JSValue n_respond(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    response *r = JS_GetOpaque2(c, argv[0], response_class);
    if (!r) return JS_EXCEPTION;
    int32_t e = wfn_response_set_status(r->status);
    if (e < 0) return wfnjs_check(c, e, "response_set_status");
    uint32_t n;
    JSValue *list = wfnjs_headers_list(r->headers, &n);
    /* The list cannot change meanwhile: nothing here runs JavaScript
     * (the names and values are strings). */
    for (uint32_t i = 0; list && i + 1 < n; i += 2) {
        size_t nlen, vlen;
        const char *name = JS_ToCStringLen(c, &nlen, list[i]);
        const char *value = name ? JS_ToCStringLen(c, &vlen, list[i + 1]) : NULL;
        e = value ? wfn_response_header_add(name, nlen, value, vlen) : 0;
        JS_FreeCString(c, name);
        JS_FreeCString(c, value);
        if (!value) return JS_EXCEPTION;
        if (e < 0) return wfnjs_check(c, e, "response_header_add");
    }
    if (JS_IsNull(argv[1])) return JS_UNDEFINED;
    const uint8_t *p;
    size_t len;
    const char *str;
    if (wfnjs_bytes(c, argv[1], &p, &len, &str) < 0) return JS_EXCEPTION;
    e = len ? wfn_response_body_write(p, len) : 0;
    JS_FreeCString(c, str);
    return wfnjs_check(c, e, "response_body_write");
}

typedef struct {
    JSValue method, url; /* strings */
    JSValue headers;     /* a Headers, or null until first asked for (the request served) */
    JSValue signal;      /* an AbortSignal, or the number of the invocation served */
    JSValue redirect;    /* a string */
} request;

static JSClassID request_class;
static JSValue request_proto, request_ctor_value;
static JSValue request_init_fn, request_signal_fn, read_body_fn;
static JSValue get_str, head_str, follow_str;

static void request_finalizer(JSRuntime *rt, JSValue obj) {
    request *r = JS_GetOpaque(obj, request_class);
    if (!r) return;
    JS_FreeValueRT(rt, r->method);
    JS_FreeValueRT(rt, r->url);
    JS_FreeValueRT(rt, r->headers);
    JS_FreeValueRT(rt, r->signal);
    JS_FreeValueRT(rt, r->redirect);
    js_free_rt(rt, r);
}

static void request_mark(JSRuntime *rt, JSValueConst obj, JS_MarkFunc *mark) {
    request *r = JS_GetOpaque(obj, request_class);
    if (!r) return;
    JS_MarkValue(rt, r->headers, mark);
    JS_MarkValue(rt, r->signal, mark);
}

static const JSClassDef request_def = {"Request", .finalizer = request_finalizer, .gc_mark = request_mark};

/* new_request makes a Request for new_target with body (taken) and the
 * given parts (taken). */
static JSValue new_request(JSContext *c, JSValueConst new_target, JSValue body, JSValue method, JSValue url, JSValue signal) {
    JSValue obj = wfnjs_new_object(c, new_target, request_ctor_value, request_proto, request_class);
    request *r = JS_IsException(obj) ? NULL : js_malloc(c, sizeof *r);
    if (!r) {
        JS_FreeValue(c, obj);
        JS_FreeValue(c, body);
        JS_FreeValue(c, method);
        JS_FreeValue(c, url);
        JS_FreeValue(c, signal);
        return JS_EXCEPTION;
    }
    r->method = method;
    r->url = url;
    r->headers = JS_NULL;
    r->signal = signal;
    r->redirect = JS_DupValue(c, follow_str);
    JS_SetOpaque(obj, r);
    if (JS_DefinePropertyValue(c, obj, body_atom, body, JS_PROP_C_W_E) < 0 ||
        JS_DefinePropertyValue(c, obj, used_atom, JS_FALSE, JS_PROP_C_W_E) < 0) {
        JS_FreeValue(c, obj);
        return JS_EXCEPTION;
    }
    return obj;
}

/* new Request(input, init): the prelude's requestInit does the work. */
static JSValue request_ctor(JSContext *c, JSValueConst new_target, int argc, JSValueConst *argv) {
    JSValue obj = new_request(c, new_target, JS_NULL, JS_DupValue(c, get_str), JS_DupValue(c, empty_str), JS_UNDEFINED);
    if (JS_IsException(obj)) return obj;
    JSValueConst args[3] = {obj, argc > 0 ? argv[0] : JS_UNDEFINED, argc > 1 ? argv[1] : JS_UNDEFINED};
    JSValue r = JS_Call(c, request_init_fn, JS_UNDEFINED, 3, args);
    if (JS_IsException(r)) {
        JS_FreeValue(c, obj);
        return r;
    }
    JS_FreeValue(c, r);
    return obj;
}

/* incoming(method, url, n): the request of invocation n, served: its
 * body is read from the host on demand (none for GET and HEAD). */
static JSValue n_incoming(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    int bodiless = JS_StrictEq(c, argv[0], get_str) || JS_StrictEq(c, argv[0], head_str);
    JSValue body = bodiless ? JS_NULL : JS_DupValue(c, read_body_fn);
    return new_request(c, request_ctor_value, body, JS_DupValue(c, argv[0]), JS_DupValue(c, argv[1]), JS_DupValue(c, argv[2]));
}

#define THIS_REQUEST(r)                                  \
    request *r = JS_GetOpaque2(c, this, request_class); \
    if (!r) return JS_EXCEPTION;

static JSValue q_method(JSContext *c, JSValueConst this) {
    THIS_REQUEST(r);
    return JS_DupValue(c, r->method);
}

static JSValue q_url(JSContext *c, JSValueConst this) {
    THIS_REQUEST(r);
    return JS_DupValue(c, r->url);
}

static JSValue q_redirect(JSContext *c, JSValueConst this) {
    THIS_REQUEST(r);
    return JS_DupValue(c, r->redirect);
}

/* headers: for the request served, read from the host on first use. */
static JSValue q_headers(JSContext *c, JSValueConst this) {
    THIS_REQUEST(r);
    if (JS_IsNull(r->headers)) {
        JSValue h = wfnjs_request_headers(c);
        if (JS_IsException(h)) return h;
        r->headers = h;
    }
    return JS_DupValue(c, r->headers);
}

/* signal: for the request served, made on first use (the prelude's
 * requestSignal). */
static JSValue q_signal(JSContext *c, JSValueConst this) {
    THIS_REQUEST(r);
    if (JS_IsNumber(r->signal)) {
        JSValue s = JS_Call(c, request_signal_fn, JS_UNDEFINED, 1, (JSValueConst *)&r->signal);
        if (JS_IsException(s)) return s;
        JS_FreeValue(c, r->signal);
        r->signal = s;
    }
    return JS_DupValue(c, r->signal);
}

static const JSCFunctionListEntry request_proto_funcs[] = {
    JS_CGETSET_DEF("method", q_method, NULL),
    JS_CGETSET_DEF("url", q_url, NULL),
    JS_CGETSET_DEF("headers", q_headers, NULL),
    JS_CGETSET_DEF("signal", q_signal, NULL),
    JS_CGETSET_DEF("redirect", q_redirect, NULL),
};

/* set replaces *slot with v unless v is undefined. */
static void set(JSContext *c, JSValue *slot, JSValueConst v) {
    if (JS_IsUndefined(v)) return;
    JS_FreeValue(c, *slot);
    *slot = JS_DupValue(c, v);
}

/* requestSet(req, method, url, headers, signal, redirect). */
static JSValue n_request_set(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    request *r = JS_GetOpaque2(c, argv[0], request_class);
    if (!r) return JS_EXCEPTION;
    set(c, &r->method, argv[1]);
    set(c, &r->url, argv[2]);
    set(c, &r->headers, argv[3]);
    set(c, &r->signal, argv[4]);
    set(c, &r->redirect, argv[5]);
    return JS_UNDEFINED;
}

/* requestSetup(init, signal, readBody). */
static JSValue n_request_setup(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    request_init_fn = JS_DupValue(c, argv[0]);
    request_signal_fn = JS_DupValue(c, argv[1]);
    read_body_fn = JS_DupValue(c, argv[2]);
    return JS_UNDEFINED;
}

static const JSCFunctionListEntry native_funcs[] = {
    JS_CFUNC_DEF("requestSetup", 3, n_request_setup),
    JS_CFUNC_DEF("requestSet", 6, n_request_set),
    JS_CFUNC_DEF("incoming", 3, n_incoming),
    JS_CFUNC_DEF("responseSetup", 3, n_response_setup),
    JS_CFUNC_DEF("responseSet", 3, n_response_set),
    JS_CFUNC_DEF("respond", 2, n_respond),
};

void wfnjs_response_install(JSContext *c, JSValueConst native) {
    wfnjs_class(c, native, &response_class, &response_def, response_proto_funcs, sizeof response_proto_funcs / sizeof response_proto_funcs[0],
                (JSCFunction *)response_ctor, &response_proto, &response_ctor_value);
    wfnjs_class(c, native, &request_class, &request_def, request_proto_funcs, sizeof request_proto_funcs / sizeof request_proto_funcs[0],
                (JSCFunction *)request_ctor, &request_proto, &request_ctor_value);
    JS_SetPropertyFunctionList(c, native, native_funcs, sizeof native_funcs / sizeof native_funcs[0]);
    status_atom = JS_NewAtom(c, "status");
    status_text_atom = JS_NewAtom(c, "statusText");
    headers_atom = JS_NewAtom(c, "headers");
    empty_str = JS_NewString(c, "");
    content_type_str = JS_NewString(c, "content-type");
    text_plain_str = JS_NewString(c, "text/plain;charset=UTF-8");
    get_str = JS_NewString(c, "GET");
    head_str = JS_NewString(c, "HEAD");
    follow_str = JS_NewString(c, "follow");
}
