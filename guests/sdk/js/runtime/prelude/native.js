// The object of native functions wfnjs.c puts on the global object.
// Imported modules run before prelude.js's body, which removes it from the
// global object once every module has taken it.
export const native = globalThis.__wfn;
