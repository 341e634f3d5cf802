/* Headers (Fetch Standard, section 5.2) as a class in C for wfn's
 * JavaScript runtime: a warm invocation makes one for its Response, and
 * as a JavaScript class each one cost as much as the rest of the Response
 * (its object, a private field, an array, the calls to check each name
 * and value). Here it is one object whose header list is a C array.
 *
 * The list is flat, [name, value, name, value, ...] in the order
 * appended, names lower-cased: a response has few headers, so a lookup
 * is a scan. The prelude adds the iteration methods (entries, keys,
 * values, forEach, the iterator, toString) in JavaScript over
 * headerList, and a constructor's iterable of pairs goes through the
 * function it hands to headersFill; everything on the path of a warm
 * invocation is here.
 *
 * wfnjs_headers_install adds to the object `native`: Headers (the class),
 * headerList(h) (a copy of the list, an array), headerSetDefault(h, name,
 * value) (set unless present, name already lower-case), headerName and headerValue (the
 * checks of a name and a value, also used by the Node.js shape), and
 * for the other C files wfnjs_headers_list (the list of a Headers),
 * wfnjs_headers_new, wfnjs_headers_set_default and wfnjs_request_headers
 * (the request's headers as a Headers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "wfn.h"

void wfnjs_headers_install(JSContext *c, JSValueConst native);
JSValue *wfnjs_headers_list(JSValueConst h, uint32_t *len);
JSValue wfnjs_request_headers(JSContext *c);
JSValue wfnjs_headers_new(JSContext *c, JSValueConst init);
int wfnjs_headers_set_default(JSContext *c, JSValueConst h, JSValueConst name, JSValueConst value);
JSValue wfnjs_check(JSContext *c, int32_t r, const char *what);

typedef struct {
    uint32_t len, cap; /* values in v: a name, then its value, ... */
    JSValue *v;
} headers;

static JSClassID headers_class;
static JSValue headers_proto;      /* Headers.prototype */
static JSValue headers_ctor_value; /* Headers */
static JSAtom iterator_atom;       /* Symbol.iterator */
static JSValue fill_fn;            /* the prelude's headersFill(h, iterable) */

static void headers_finalizer(JSRuntime *rt, JSValue obj) {
    headers *h = JS_GetOpaque(obj, headers_class);
    if (!h) return;
    for (uint32_t i = 0; i < h->len; i++) JS_FreeValueRT(rt, h->v[i]);
    js_free_rt(rt, h->v);
    js_free_rt(rt, h);
}

static const JSClassDef headers_def = {"Headers", .finalizer = headers_finalizer};

/* wfnjs_headers_list points at the list of h (len values), or returns
 * NULL when h is not a Headers. */
JSValue *wfnjs_headers_list(JSValueConst h, uint32_t *len) {
    headers *p = JS_GetOpaque(h, headers_class);
    if (!p) return NULL;
    *len = p->len;
    return p->v;
}

/* push appends a name and a value, taking both. */
static int push(JSContext *c, headers *h, JSValue name, JSValue value) {
    if (h->len + 2 > h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 8;
        JSValue *v = js_realloc(c, h->v, cap * sizeof *v);
        if (!v) {
            JS_FreeValue(c, name);
            JS_FreeValue(c, value);
            return -1;
        }
        h->v = v;
        h->cap = cap;
    }
    h->v[h->len++] = name;
    h->v[h->len++] = value;
    return 0;
}

/* is_tchar: a token character of RFC 9110, section 5.6.2. */
static int is_tchar(unsigned char ch) {
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) return 1;
    return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* header_name: v lower-cased; a TypeError unless it is a token (Fetch,
 * "header name"). */
static JSValue header_name(JSContext *c, JSValueConst v) {
    size_t len;
    const char *s = JS_ToCStringLen(c, &len, v);
    if (!s) return JS_EXCEPTION;
    int upper = 0, ok = len > 0;
    for (size_t i = 0; i < len && ok; i++) {
        ok = is_tchar((unsigned char)s[i]);
        upper |= s[i] >= 'A' && s[i] <= 'Z';
    }
    JSValue out;
    if (!ok) {
        out = JS_ThrowTypeError(c, "Headers: invalid header name \"%s\"", s);
    } else if (!upper && JS_IsString(v)) {
        out = JS_DupValue(c, v);
    } else {
        char *lower = js_malloc(c, len ? len : 1);
        if (!lower) {
            JS_FreeCString(c, s);
            return JS_EXCEPTION;
        }
        for (size_t i = 0; i < len; i++) lower[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i];
        out = JS_NewStringLen(c, lower, len);
        js_free(c, lower);
    }
    JS_FreeCString(c, s);
    return out;
}

static int is_http_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

/* header_value: v without leading and trailing HTTP whitespace; a
 * TypeError if it holds NUL, CR or LF (Fetch, "header value"). */
static JSValue header_value(JSContext *c, JSValueConst v) {
    size_t len;
    const char *s = JS_ToCStringLen(c, &len, v);
    if (!s) return JS_EXCEPTION;
    size_t start = 0, end = len;
    while (start < end && is_http_space(s[start])) start++;
    while (end > start && is_http_space(s[end - 1])) end--;
    JSValue out = JS_UNDEFINED;
    for (size_t i = start; i < end; i++) {
        if (s[i] == 0 || s[i] == '\r' || s[i] == '\n') {
            out = JS_ThrowTypeError(c, "Headers: a header value cannot hold NUL, CR or LF");
            break;
        }
    }
    if (JS_IsUndefined(out)) {
        out = start == 0 && end == len && JS_IsString(v) ? JS_DupValue(c, v) : JS_NewStringLen(c, s + start, end - start);
    }
    JS_FreeCString(c, s);
    return out;
}

/* append_checked appends name and value after checking them. */
static int append_checked(JSContext *c, headers *h, JSValueConst name, JSValueConst value) {
    JSValue n = header_name(c, name);
    if (JS_IsException(n)) return -1;
    JSValue v = header_value(c, value);
    if (JS_IsException(v)) {
        JS_FreeValue(c, n);
        return -1;
    }
    return push(c, h, n, v);
}

/* find: the index of the first name equal to name at or after from, or
 * h->len. */
static uint32_t find(JSContext *c, headers *h, JSValueConst name, uint32_t from) {
    uint32_t i = from;
    while (i < h->len && !JS_StrictEq(c, h->v[i], name)) i += 2;
    return i;
}

/* drop removes every value of name from index at on. */
static void drop(JSContext *c, headers *h, JSValueConst name, uint32_t at) {
    uint32_t w = at;
    for (uint32_t r = at; r < h->len; r += 2) {
        if (JS_StrictEq(c, h->v[r], name)) {
            JS_FreeValue(c, h->v[r]);
            JS_FreeValue(c, h->v[r + 1]);
        } else {
            h->v[w] = h->v[r];
            h->v[w + 1] = h->v[r + 1];
            w += 2;
        }
    }
    h->len = w;
}

/* fill_object appends each own enumerable string-keyed property of init,
 * in order (a record<ByteString, ByteString>, as Object.keys). */
static int fill_object(JSContext *c, headers *h, JSValueConst init) {
    JSPropertyEnum *tab;
    uint32_t n;
    if (JS_GetOwnPropertyNames(c, &tab, &n, init, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY)) return -1;
    int r = 0;
    for (uint32_t i = 0; i < n && r == 0; i++) {
        JSValue name = JS_AtomToString(c, tab[i].atom);
        JSValue value = JS_IsException(name) ? JS_EXCEPTION : JS_GetProperty(c, init, tab[i].atom);
        r = JS_IsException(value) ? -1 : append_checked(c, h, name, value);
        JS_FreeValue(c, name);
        JS_FreeValue(c, value);
    }
    for (uint32_t i = 0; i < n; i++) JS_FreeAtom(c, tab[i].atom);
    js_free(c, tab);
    return r;
}

JSValue wfnjs_new_object(JSContext *c, JSValueConst new_target, JSValueConst ctor_value, JSValueConst proto, JSClassID id);

/* new_headers makes an empty Headers for new_target (see
 * wfnjs_new_object). */
static JSValue new_headers(JSContext *c, JSValueConst new_target, headers **out) {
    JSValue obj = wfnjs_new_object(c, new_target, headers_ctor_value, headers_proto, headers_class);
    if (JS_IsException(obj)) return obj;
    headers *h = js_mallocz(c, sizeof *h);
    if (!h) {
        JS_FreeValue(c, obj);
        return JS_EXCEPTION;
    }
    JS_SetOpaque(obj, h);
    *out = h;
    return obj;
}

/* new Headers(init): init is undefined, null, a Headers, an iterable of
 * [name, value] pairs (through the prelude's headersFill) or an object
 * of names to values. */
static JSValue headers_ctor(JSContext *c, JSValueConst new_target, int argc, JSValueConst *argv) {
    headers *h;
    JSValue obj = new_headers(c, new_target, &h);
    if (JS_IsException(obj)) return obj;
    JSValueConst init = argc > 0 ? argv[0] : JS_UNDEFINED;
    if (JS_IsUndefined(init) || JS_IsNull(init)) return obj;
    headers *from = JS_GetOpaque(init, headers_class);
    if (from) {
        for (uint32_t i = 0; i < from->len; i += 2) {
            if (push(c, h, JS_DupValue(c, from->v[i]), JS_DupValue(c, from->v[i + 1]))) goto fail;
        }
        return obj;
    }
    if (JS_IsObject(init) || JS_IsString(init)) {
        JSValue it = JS_GetProperty(c, init, iterator_atom);
        if (JS_IsException(it)) goto fail;
        int iterable = JS_IsFunction(c, it);
        JS_FreeValue(c, it);
        if (iterable) {
            JSValueConst args[2] = {obj, init};
            JSValue r = JS_Call(c, fill_fn, JS_UNDEFINED, 2, args);
            if (JS_IsException(r)) goto fail;
            JS_FreeValue(c, r);
            return obj;
        }
        if (JS_IsObject(init)) {
            if (fill_object(c, h, init)) goto fail;
            return obj;
        }
    }
    JS_ThrowTypeError(c, "Headers: init must be an object, an iterable of pairs or a Headers");
fail:
    JS_FreeValue(c, obj);
    return JS_EXCEPTION;
}

/* wfnjs_headers_new is new Headers(init). */
JSValue wfnjs_headers_new(JSContext *c, JSValueConst init) {
    return headers_ctor(c, headers_ctor_value, 1, &init);
}

#define THIS_HEADERS(h)                                          \
    headers *h = JS_GetOpaque2(c, this, headers_class);          \
    if (!h) return JS_EXCEPTION;

static JSValue h_append(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    THIS_HEADERS(h);
    return append_checked(c, h, argv[0], argv[1]) ? JS_EXCEPTION : JS_UNDEFINED;
}

/* set replaces the first value of name and drops the others (Fetch,
 * "set" of a header list). */
static JSValue h_set(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    THIS_HEADERS(h);
    JSValue name = header_name(c, argv[0]);
    if (JS_IsException(name)) return name;
    JSValue value = header_value(c, argv[1]);
    if (JS_IsException(value)) {
        JS_FreeValue(c, name);
        return value;
    }
    uint32_t i = find(c, h, name, 0);
    if (i == h->len) return push(c, h, name, value) ? JS_EXCEPTION : JS_UNDEFINED;
    JS_FreeValue(c, h->v[i + 1]);
    h->v[i + 1] = value;
    drop(c, h, name, i + 2);
    JS_FreeValue(c, name);
    return JS_UNDEFINED;
}

static JSValue h_delete(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    THIS_HEADERS(h);
    JSValue name = header_name(c, argv[0]);
    if (JS_IsException(name)) return name;
    drop(c, h, name, 0);
    JS_FreeValue(c, name);
    return JS_UNDEFINED;
}

static JSValue h_has(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    THIS_HEADERS(h);
    JSValue name = header_name(c, argv[0]);
    if (JS_IsException(name)) return name;
    int found = find(c, h, name, 0) < h->len;
    JS_FreeValue(c, name);
    return JS_NewBool(c, found);
}

/* get: the values of name joined with ", " (Fetch, "get"), or null. */
static JSValue h_get(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    THIS_HEADERS(h);
    JSValue name = header_name(c, argv[0]);
    if (JS_IsException(name)) return name;
    uint32_t i = find(c, h, name, 0);
    if (i == h->len) {
        JS_FreeValue(c, name);
        return JS_NULL;
    }
    uint32_t next = find(c, h, name, i + 2);
    if (next == h->len) {
        JS_FreeValue(c, name);
        return JS_DupValue(c, h->v[i + 1]);
    }
    /* Several values: join their UTF-8 bytes. */
    char *buf = NULL;
    size_t used = 0;
    JSValue out = JS_EXCEPTION;
    for (; i < h->len; i = find(c, h, name, i + 2)) {
        size_t n;
        const char *s = JS_ToCStringLen(c, &n, h->v[i + 1]);
        if (!s) goto done;
        char *nb = js_realloc(c, buf, used + n + 2);
        if (!nb) {
            JS_FreeCString(c, s);
            goto done;
        }
        buf = nb;
        if (used) buf[used++] = ',', buf[used++] = ' ';
        memcpy(buf + used, s, n);
        used += n;
        JS_FreeCString(c, s);
    }
    out = JS_NewStringLen(c, buf, used);
done:
    js_free(c, buf);
    JS_FreeValue(c, name);
    return out;
}

/* values_of: an array of the values of name, a lower-case string. */
static JSValue values_of(JSContext *c, headers *h, JSValueConst name) {
    JSValue out = JS_NewArray(c);
    uint32_t k = 0;
    for (uint32_t i = find(c, h, name, 0); i < h->len && !JS_IsException(out); i = find(c, h, name, i + 2)) {
        if (JS_SetPropertyUint32(c, out, k++, JS_DupValue(c, h->v[i + 1])) < 0) {
            JS_FreeValue(c, out);
            out = JS_EXCEPTION;
        }
    }
    return out;
}

static JSValue h_get_set_cookie(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    THIS_HEADERS(h);
    JSValue name = JS_NewString(c, "set-cookie");
    JSValue out = values_of(c, h, name);
    JS_FreeValue(c, name);
    return out;
}

static const JSCFunctionListEntry headers_proto_funcs[] = {
    JS_CFUNC_DEF("append", 2, h_append),
    JS_CFUNC_DEF("set", 2, h_set),
    JS_CFUNC_DEF("delete", 1, h_delete),
    JS_CFUNC_DEF("get", 1, h_get),
    JS_CFUNC_DEF("has", 1, h_has),
    JS_CFUNC_DEF("getSetCookie", 0, h_get_set_cookie),
};

/* headerList(h): a copy of the list of h, [name, value, ...]. */
static JSValue n_header_list(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    headers *h = JS_GetOpaque2(c, argv[0], headers_class);
    if (!h) return JS_EXCEPTION;
    JSValue out = JS_NewArray(c);
    for (uint32_t i = 0; i < h->len && !JS_IsException(out); i++) {
        if (JS_SetPropertyUint32(c, out, i, JS_DupValue(c, h->v[i])) < 0) {
            JS_FreeValue(c, out);
            out = JS_EXCEPTION;
        }
    }
    return out;
}

/* wfnjs_headers_set_default appends name (a lower-case string) and value
 * to the Headers h unless name is there (a body's default Content-Type);
 * -1 with an exception thrown when it cannot. */
int wfnjs_headers_set_default(JSContext *c, JSValueConst hv, JSValueConst name, JSValueConst value) {
    headers *h = JS_GetOpaque2(c, hv, headers_class);
    if (!h) return -1;
    if (find(c, h, name, 0) < h->len) return 0;
    return push(c, h, JS_DupValue(c, name), JS_DupValue(c, value));
}

/* headerSetDefault(h, name, value): wfnjs_headers_set_default. */
static JSValue n_header_set_default(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return wfnjs_headers_set_default(c, argv[0], argv[1], argv[2]) ? JS_EXCEPTION : JS_UNDEFINED;
}

/* wfnjs_request_headers: the request's headers as a Headers, a pair for
 * each value, names lower-case. */
JSValue wfnjs_request_headers(JSContext *c) {
    char *names;
    int32_t n = wfn_header_names_alloc(&names);
    if (n < 0) return wfnjs_check(c, n, "request_header_names");
    headers *h;
    JSValue obj = new_headers(c, headers_ctor_value, &h);
    for (const char *name = names; name < names + n && !JS_IsException(obj); name += strlen(name) + 1) {
        char *values;
        int32_t m = wfn_header_values_alloc(name, &values);
        if (m < 0) continue;
        for (const char *v = values; v < values + m; v += strlen(v) + 1) {
            if (push(c, h, JS_NewString(c, name), JS_NewString(c, v))) {
                JS_FreeValue(c, obj);
                obj = JS_EXCEPTION;
                break;
            }
        }
        free(values);
    }
    free(names);
    return obj;
}

/* headersFill(fn): fn(h, iterable) appends the pairs of an iterable to
 * h, for the constructor (QuickJS has no iteration API in C). */
static JSValue n_headers_fill(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    JS_FreeValue(c, fill_fn);
    fill_fn = JS_DupValue(c, argv[0]);
    return JS_UNDEFINED;
}

static JSValue n_header_name(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return header_name(c, argv[0]);
}

static JSValue n_header_value(JSContext *c, JSValueConst this, int argc, JSValueConst *argv) {
    return header_value(c, argv[0]);
}

static const JSCFunctionListEntry native_funcs[] = {
    JS_CFUNC_DEF("headerList", 1, n_header_list),
    JS_CFUNC_DEF("headerSetDefault", 3, n_header_set_default),
    JS_CFUNC_DEF("headersFill", 1, n_headers_fill),
    JS_CFUNC_DEF("headerName", 1, n_header_name),
    JS_CFUNC_DEF("headerValue", 1, n_header_value),
};

/* An empty object of each class's prototype, kept for the instance's
 * life: QuickJS frees a shape with the last object that has it, so
 * without one each warm invocation would make (and free) the shapes of
 * its Request, Response and Headers anew. */
static JSValue shape_keepers[4];
static int shape_keepers_len;

/* wfnjs_class defines a class in C: a new class id (*id) for def, its
 * prototype (*proto) with the n members funcs, and its constructor
 * (*ctor_value), ctor, as native[def->class_name]; the prototype and the
 * constructor are kept for the instance's life. */
void wfnjs_class(JSContext *c, JSValueConst native, JSClassID *id, const JSClassDef *def, const JSCFunctionListEntry *funcs,
                 int n, JSCFunction *ctor, JSValue *proto, JSValue *ctor_value) {
    JS_NewClassID(id);
    JS_NewClass(JS_GetRuntime(c), *id, def);
    *proto = JS_NewObject(c);
    JS_SetPropertyFunctionList(c, *proto, funcs, n);
    JS_SetClassProto(c, *id, JS_DupValue(c, *proto));
    *ctor_value = JS_NewCFunction2(c, ctor, def->class_name, 0, JS_CFUNC_constructor, 0);
    JS_SetConstructor(c, *ctor_value, *proto);
    JS_SetPropertyStr(c, native, def->class_name, JS_DupValue(c, *ctor_value));
    if (shape_keepers_len < (int)(sizeof shape_keepers / sizeof shape_keepers[0])) {
        shape_keepers[shape_keepers_len++] = JS_NewObjectProto(c, *proto);
    }
}

/* wfnjs_new_object makes an object of class id for a constructor called
 * with new_target: its prototype is proto when new_target is ctor_value
 * itself (no lookup), else new_target.prototype (a subclass's). */
JSValue wfnjs_new_object(JSContext *c, JSValueConst new_target, JSValueConst ctor_value, JSValueConst proto, JSClassID id) {
    if (JS_VALUE_GET_PTR(new_target) == JS_VALUE_GET_PTR(ctor_value)) return JS_NewObjectProtoClass(c, proto, id);
    JSValue p = JS_GetPropertyStr(c, new_target, "prototype");
    if (JS_IsException(p)) return p;
    JSValue obj = JS_NewObjectProtoClass(c, JS_IsObject(p) ? p : proto, id);
    JS_FreeValue(c, p);
    return obj;
}

void wfnjs_headers_install(JSContext *c, JSValueConst native) {
    wfnjs_class(c, native, &headers_class, &headers_def, headers_proto_funcs, sizeof headers_proto_funcs / sizeof headers_proto_funcs[0],
                (JSCFunction *)headers_ctor, &headers_proto, &headers_ctor_value);
    JS_SetPropertyFunctionList(c, native, native_funcs, sizeof native_funcs / sizeof native_funcs[0]);
    JSValue global = JS_GetGlobalObject(c);
    JSValue symbol = JS_GetPropertyStr(c, global, "Symbol");
    JSValue iterator = JS_GetPropertyStr(c, symbol, "iterator");
    iterator_atom = JS_ValueToAtom(c, iterator);
    JS_FreeValue(c, iterator);
    JS_FreeValue(c, symbol);
    JS_FreeValue(c, global);
}
