// URLPattern (URL Pattern Standard) is urlpattern-polyfill's, as on the
// Edge Runtime, with the class string WebIDL gives it ([object
// URLPattern]), which the polyfill lacks. Loaded on first use (lazy in
// prelude.js).
import { URLPattern } from "urlpattern-polyfill/urlpattern";

Object.defineProperty(URLPattern.prototype, Symbol.toStringTag, { value: "URLPattern", configurable: true });

export { URLPattern };
