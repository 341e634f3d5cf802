// What the lazily loaded bundles (urlpattern.js, compression.js,
// subtle.js: mkprelude compiles each on its own) take from the prelude,
// instead of bundling its modules a second time: the argument that the
// prelude passes to each bundle's function when it loads it (lazy in
// prelude.js). mkprelude wraps each bundle in a function whose parameter
// is wfnShared.
/* global wfnShared */
export const { native, DOMException, TransformStream, atob, btoa } = wfnShared;
