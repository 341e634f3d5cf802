/* Request and Response (Fetch Standard, sections 5.4 and 5.5) as classes
 * in C for wfn's JavaScript runtime: a warm invocation makes one of each,
 * and as JavaScript classes their constructors (their fields, their
 * checks, a Response's string body and Headers) cost half of the
 * invocation in QuickJS.
 *
 * A Response holds its status, Headers, status text and URL; a Request
 * its method, URL, Headers (made from the host's on first use for the
 * request served), signal (for the request served, the number of its
 * invocation until first asked for) and redirect mode. Each holds its
 * body too, which the prelude's Body methods read and write as the
 * symbol-keyed properties kBody and kUsed: accessors on both prototypes.
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
 * request of invocation n, served); respond(res, body) (the status,
 * the headers and a string or bytes body, or none, to the host); and
 * what serves each invocation with wfnjs_serve (serveSetup, serveWith,
 * served, invocation, end: see there).
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

/* The body of a Request or a Response: what the prelude's Body methods
 * read and write as this[kBody] and this[kUsed], accessors on both
 * prototypes (an own property on each object would cost each two
 * property definitions and a longer shape). */
typedef struct {
    JSValue value; /* null, a string, bytes, a ReadableStream or a function (read on demand) */
    int used;
} body;

typedef struct {
    int32_t status;
    JSValue headers;     /* a Headers */
    JSValue status_text; /* a string */
    JSValue url;         /* a string */
    body body;
} response;

static JSClassID response_class;
static JSValue response_proto, response_ctor_value;
static JSValue extract_fn; /* the prelude's extract, for bodies not strings */
static JSAtom status_atom, status_text_atom, headers_atom; /* init's members */
static JSValue empty_str, content_type_str, text_plain_str;

static void response_finalizer(JSRuntime *rt, JSValue obj) {
    response *r = JS_GetOpaque(obj, response_class);
    if (!r) return;
    JS_FreeValueRT(rt, r->headers);
    JS_FreeValueRT(rt, r->status_text);
    JS_FreeValueRT(rt, r->url);
    JS_FreeValueRT(rt, r->body.value);
    js_free_rt(rt, r);
}

static void response_mark(JSRuntime *rt, JSValueConst obj, JS_MarkFunc *mark) {
    response *r = JS_GetOpaque(obj, response_class);
    if (!r) return;
    JS_MarkValue(rt, r->headers, mark);
    JS_MarkValue(rt, r->body.value, mark);
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
    r->body.value = b;
    r->body.used = 0;
    JS_SetOpaque(obj, r);
    JS_FreeValue(c, hinit);
    JS_FreeValue(c, type);
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

/* send_head sends the status and the headers of r to the host. */
static JSValue send_head(JSContext *c, response *r) {
    /* Status 0 is Response.error()'s, a network error, which has no HTTP
     * form: the invocation fails (a 500) saying so, not with EINVAL. */
    if (r->status == 0) return JS_ThrowTypeError(c, "the handler's response is Response.error(), a network error, which cannot be sent");
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
    return JS_UNDEFINED;
}

/* respond(res, body): the status and headers of res, then body (a
 * string, as UTF-8, or bytes), unless it is null. */
static JSValue n_respond(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    response *r = JS_GetOpaque2(c, argv[0], response_class);
    if (!r) return JS_EXCEPTION;
    JSValue e = send_head(c, r);
    if (JS_IsException(e) || JS_IsNull(argv[1])) return e;
    const uint8_t *p;
    size_t len;
    const char *str;
    if (wfnjs_bytes(c, argv[1], &p, &len, &str) < 0) return JS_EXCEPTION;
    int32_t w = len ? wfn_response_body_write(p, len) : 0;
    JS_FreeCString(c, str);
    return wfnjs_check(c, w, "response_body_write");
}

/* write_string writes the string s to the response body as UTF-8, each
 * lone surrogate as U+FFFD (as String.prototype.toWellFormed): QuickJS
 * encodes one as the 3 bytes ED A0..BF xx, which UTF-8 never holds, and
 * U+FFFD is 3 bytes too (EF BF BD). */
static JSValue write_string(JSContext *c, JSValueConst s) {
    size_t len;
    const char *p = JS_ToCStringLen(c, &len, s);
    if (!p) return JS_EXCEPTION;
    char *fixed = NULL;
    for (const char *q = memchr(p, 0xed, len); q; q = memchr(q, 0xed, len - (size_t)(q - p))) {
        size_t i = (size_t)(q - p);
        q++;
        if (i + 2 >= len || (unsigned char)p[i + 1] < 0xa0) continue;
        if (!fixed) {
            if (!(fixed = js_malloc(c, len))) {
                JS_FreeCString(c, p);
                return JS_EXCEPTION;
            }
            memcpy(fixed, p, len);
        }
        fixed[i] = (char)0xef, fixed[i + 1] = (char)0xbf, fixed[i + 2] = (char)0xbd;
    }
    int32_t e = len ? wfn_response_body_write(fixed ? fixed : p, len) : 0;
    js_free(c, fixed);
    JS_FreeCString(c, p);
    return wfnjs_check(c, e, "response_body_write");
}

typedef struct {
    JSValue method, url; /* strings; url undefined until read for the request served */
    JSValue headers;     /* a Headers, or null until first asked for (the request served) */
    JSValue signal;      /* an AbortSignal, or the number of the invocation served */
    JSValue redirect;    /* a string */
    body body;
} request;

/* The invocations: served counts them (the request served by the nth
 * holds n as its signal until asked for one), serving is set from the
 * start of one to its end (the response sent), signal_made once its
 * request's signal was asked for. */
static int64_t served;
static int serving, signal_made;

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
    JS_FreeValueRT(rt, r->body.value);
    js_free_rt(rt, r);
}

static void request_mark(JSRuntime *rt, JSValueConst obj, JS_MarkFunc *mark) {
    request *r = JS_GetOpaque(obj, request_class);
    if (!r) return;
    JS_MarkValue(rt, r->headers, mark);
    JS_MarkValue(rt, r->signal, mark);
    JS_MarkValue(rt, r->body.value, mark);
}

static const JSClassDef request_def = {"Request", .finalizer = request_finalizer, .gc_mark = request_mark};

/* body_of is the body of this, a Request or a Response, or NULL with a
 * TypeError thrown. */
static body *body_of(JSContext *c, JSValueConst this) {
    response *res = JS_GetOpaque(this, response_class);
    if (res) return &res->body;
    request *req = JS_GetOpaque(this, request_class);
    if (req) return &req->body;
    JS_ThrowTypeError(c, "not a Request or a Response");
    return NULL;
}

/* this[kBody] (magic 0) and this[kUsed] (magic 1). */
static JSValue body_get(JSContext *c, JSValueConst this, int magic) {
    body *b = body_of(c, this);
    if (!b) return JS_EXCEPTION;
    return magic ? JS_NewBool(c, b->used) : JS_DupValue(c, b->value);
}

static JSValue body_set(JSContext *c, JSValueConst this, JSValueConst v, int magic) {
    body *b = body_of(c, this);
    if (!b) return JS_EXCEPTION;
    if (magic) {
        int used = JS_ToBool(c, v);
        if (used < 0) return JS_EXCEPTION;
        b->used = used;
    } else {
        JS_FreeValue(c, b->value);
        b->value = JS_DupValue(c, v);
    }
    return JS_UNDEFINED;
}

/* define_body defines this[key] on proto, the accessor of magic. */
static int define_body(JSContext *c, JSValueConst proto, JSValueConst key, int magic) {
    JSAtom atom = JS_ValueToAtom(c, key);
    if (atom == JS_ATOM_NULL) return -1;
    JSValue get = JS_NewCFunction2(c, (JSCFunction *)body_get, "get", 0, JS_CFUNC_getter_magic, magic);
    JSValue set = JS_NewCFunction2(c, (JSCFunction *)body_set, "set", 1, JS_CFUNC_setter_magic, magic);
    int r = JS_DefinePropertyGetSet(c, proto, atom, get, set, JS_PROP_CONFIGURABLE);
    JS_FreeAtom(c, atom);
    return r;
}

/* responseSetup(extract, kBody, kUsed). */
static JSValue n_response_setup(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    extract_fn = JS_DupValue(c, argv[0]);
    if (define_body(c, response_proto, argv[1], 0) < 0 || define_body(c, response_proto, argv[2], 1) < 0 ||
        define_body(c, request_proto, argv[1], 0) < 0 || define_body(c, request_proto, argv[2], 1) < 0)
        return JS_EXCEPTION;
    return JS_UNDEFINED;
}

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
    r->body.value = body;
    r->body.used = 0;
    JS_SetOpaque(obj, r);
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

static JSValue served_url(JSContext *c);

/* url: for the request wfnjs_serve made, read from the host on first
 * use (or as the handler returns, if the request outlives its call). */
static JSValue q_url(JSContext *c, JSValueConst this) {
    THIS_REQUEST(r);
    if (JS_IsUndefined(r->url)) {
        JSValue u = served_url(c);
        if (JS_IsException(u)) return u;
        r->url = u;
    }
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
        signal_made = 1;
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

/* The methods the handlers of the fast path are for, in the order of
 * the prelude's list (serveWith's array). */
static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
#define METHODS (sizeof method_names / sizeof method_names[0])
enum { M_GET, M_HEAD };
static JSValue method_strs[METHODS];
static JSValue handlers[METHODS]; /* undefined: the prelude's dispatch serves the method */
static JSValue dispatch_fn, answer_fn, finish_fn;

/* serveSetup(dispatch, answer, finish): the prelude's dispatch(method)
 * (every request the handlers below do not take), answer(res, method)
 * (any handler's result but a Response sent here) and finish() (the end
 * of an invocation whose signal was asked for). */
static JSValue n_serve_setup(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    dispatch_fn = JS_DupValue(c, argv[0]);
    answer_fn = JS_DupValue(c, argv[1]);
    finish_fn = JS_DupValue(c, argv[2]);
    return JS_UNDEFINED;
}

/* serveWith(handlers): the handler of each method of the list (undefined
 * for none). */
static JSValue n_serve_with(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    for (uint32_t i = 0; i < METHODS; i++) {
        JSValue h = JS_GetPropertyUint32(c, argv[0], i);
        if (JS_IsException(h)) return h;
        JS_FreeValue(c, handlers[i]);
        handlers[i] = JS_IsFunction(c, h) ? h : JS_UNDEFINED;
        if (JS_IsUndefined(handlers[i])) JS_FreeValue(c, h);
    }
    return JS_UNDEFINED;
}

/* served(): the number of the invocation served or last served (0
 * before the first); invocation(): the same while it is being served,
 * until its response is sent, else 0; end(): its response is sent. */
static JSValue n_served(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) { return JS_NewInt64(c, served); }
static JSValue n_invocation(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return JS_NewInt64(c, serving ? served : 0);
}
static JSValue n_end(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    serving = 0;
    return JS_UNDEFINED;
}

/* host_string is a string value of the host's (request_method,
 * request_url): read into a buffer on the stack when it fits. */
static JSValue host_string(JSContext *c, int32_t (*get)(char *, size_t), int32_t (*alloc)(char **), const char *what) {
    char buf[256];
    int32_t n = get(buf, sizeof buf);
    if (n < 0) return wfnjs_check(c, n, what);
    if ((size_t)n <= sizeof buf) return JS_NewStringLen(c, buf, (size_t)n);
    char *s;
    n = alloc(&s);
    if (n < 0) return wfnjs_check(c, n, what);
    JSValue v = JS_NewStringLen(c, s, (size_t)n);
    free(s);
    return v;
}

static int32_t url_alloc(char **s) { return wfn_url_alloc(s); }
static int32_t method_alloc(char **s) { return wfn_method_alloc(s); }

/* served_url is the URL of the request served. */
static JSValue served_url(JSContext *c) { return host_string(c, wfn_request_url, url_alloc, "request_url"); }

/* answer sends res, the Response a handler returned, when that needs no
 * JavaScript: a Response whose body is a string or null, not read. It
 * returns 1 when sent, 0 when the prelude's answer must send it, -1 on
 * an exception. As the prelude's take and send: the body is marked read,
 * a string's lone surrogates are sent as U+FFFD, and a HEAD's body goes to
 * the host too, which sends its Content-Length and drops it (RFC 9110
 * section 9.3.2: HEAD has GET's header fields). */
static int answer(JSContext *c, JSValueConst res) {
    response *r = JS_GetOpaque(res, response_class);
    if (!r || r->body.used || !(JS_IsNull(r->body.value) || JS_IsString(r->body.value))) return 0;
    r->body.used = JS_IsString(r->body.value);
    JSValue e = send_head(c, r);
    if (!JS_IsException(e) && r->body.used) e = write_string(c, r->body.value);
    return JS_IsException(e) ? -1 : 1;
}

/* kept_req is the request wfnjs_serve made, while something besides the
 * handler's call holds it (a global, a closure, the handler's pending
 * promise), until wfnjs_serve_end. */
static JSValue kept_req = JS_UNDEFINED;

/* wfnjs_serve_end is called as the handler's promise settles: a request
 * still held then (kept by the function past its invocation) reads its
 * headers from the host now, while the host still serves its
 * invocation, so that a later invocation reading them sees its own
 * request's, never the one the host serves then. */
void wfnjs_serve_end(JSContext *c) {
    if (JS_IsUndefined(kept_req)) return;
    JSValue req = kept_req;
    kept_req = JS_UNDEFINED;
    request *r = JS_GetOpaque(req, request_class);
    if (r && ((JSRefCountHeader *)JS_VALUE_GET_PTR(req))->ref_count > 1 && JS_IsNull(r->headers)) {
        JSValue h = wfnjs_request_headers(c);
        if (JS_IsException(h)) {
            /* The invocation is gone (the client left): no headers. */
            JS_FreeValue(c, JS_GetException(c));
            h = wfnjs_headers_new(c, JS_UNDEFINED);
        }
        if (!JS_IsException(h)) r->headers = h;
    }
    JS_FreeValue(c, req);
}

/* wfnjs_serve serves the invocation that starts: it calls the handler of
 * its method with the request and, when the handler returns a Response
 * with a string body or none, sends it from here, with no JavaScript
 * around the handler (each JavaScript call costs a warm invocation as
 * much as a small handler). Anything else goes to the prelude: dispatch
 * for the methods no handler here takes (the Node.js shape, 405),
 * answer for another result. It returns undefined once answered, or
 * what the prelude returned: a promise of the invocation's end, or
 * undefined. */
JSValue wfnjs_serve(JSContext *c) {
    served++;
    serving = 1;
    signal_made = 0;
    char buf[16];
    int32_t n = wfn_request_method(buf, sizeof buf);
    if (n < 0) return wfnjs_check(c, n, "request_method");
    int m = 0;
    while (m < (int)METHODS && !((size_t)n == strlen(method_names[m]) && memcmp(buf, method_names[m], (size_t)n) == 0)) m++;
    JSValue method = m < (int)METHODS ? JS_DupValue(c, method_strs[m])
                     : (size_t)n <= sizeof buf ? JS_NewStringLen(c, buf, (size_t)n)
                     : host_string(c, wfn_request_method, method_alloc, "request_method");
    if (JS_IsException(method)) return method;
    if (m == (int)METHODS || JS_IsUndefined(handlers[m])) {
        JSValue p = JS_Call(c, dispatch_fn, JS_UNDEFINED, 1, (JSValueConst *)&method);
        JS_FreeValue(c, method);
        return p;
    }
    JSValue body = m == M_GET || m == M_HEAD ? JS_NULL : JS_DupValue(c, read_body_fn);
    JSValue req = new_request(c, request_ctor_value, body, JS_DupValue(c, method), JS_UNDEFINED, JS_NewInt64(c, served));
    if (JS_IsException(req)) {
        JS_FreeValue(c, method);
        return req;
    }
    JSValue res = JS_Call(c, handlers[m], JS_UNDEFINED, 1, (JSValueConst *)&req);
    /* A request that outlives the call (kept by the function, or by the
     * promise it returned) reads its URL now, while the host still
     * serves its invocation; most die here without reading it. */
    request *r = JS_GetOpaque(req, request_class);
    if (!JS_IsException(res) && ((JSRefCountHeader *)JS_VALUE_GET_PTR(req))->ref_count > 1 && JS_IsUndefined(r->url)) {
        r->url = served_url(c);
        if (JS_IsException(r->url)) {
            r->url = JS_UNDEFINED;
            JS_FreeValue(c, res);
            res = JS_EXCEPTION;
        }
    }
    if (!JS_IsException(res) && ((JSRefCountHeader *)JS_VALUE_GET_PTR(req))->ref_count > 1) {
        JS_FreeValue(c, kept_req);
        kept_req = JS_DupValue(c, req);
    }
    JS_FreeValue(c, req);
    int sent = JS_IsException(res) ? -1 : answer(c, res);
    JSValue out = JS_UNDEFINED;
    if (sent < 0) {
        out = JS_EXCEPTION;
    } else if (sent == 0) {
        JSValueConst args[2] = {res, method};
        out = JS_Call(c, answer_fn, JS_UNDEFINED, 2, args);
    } else if (signal_made) {
        /* A write that failed as the client left: the signal still fires. */
        out = JS_Call(c, finish_fn, JS_UNDEFINED, 0, NULL);
    } else {
        serving = 0;
    }
    JS_FreeValue(c, res);
    JS_FreeValue(c, method);
    return out;
}

static const JSCFunctionListEntry native_funcs[] = {
    JS_CFUNC_DEF("requestSetup", 3, n_request_setup),
    JS_CFUNC_DEF("requestSet", 6, n_request_set),
    JS_CFUNC_DEF("incoming", 3, n_incoming),
    JS_CFUNC_DEF("responseSetup", 3, n_response_setup),
    JS_CFUNC_DEF("responseSet", 3, n_response_set),
    JS_CFUNC_DEF("respond", 2, n_respond),
    JS_CFUNC_DEF("serveSetup", 3, n_serve_setup),
    JS_CFUNC_DEF("serveWith", 1, n_serve_with),
    JS_CFUNC_DEF("served", 0, n_served),
    JS_CFUNC_DEF("invocation", 0, n_invocation),
    JS_CFUNC_DEF("end", 0, n_end),
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
    follow_str = JS_NewString(c, "follow");
    for (size_t i = 0; i < METHODS; i++) {
        method_strs[i] = JS_NewString(c, method_names[i]);
        handlers[i] = JS_UNDEFINED;
    }
    get_str = JS_DupValue(c, method_strs[M_GET]);
    head_str = JS_DupValue(c, method_strs[M_HEAD]);
}
