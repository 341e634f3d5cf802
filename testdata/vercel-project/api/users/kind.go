package handler

// kind is shared by the functions of this directory: a file that exports
// no handler goes into each of them.
const kind = "user"
