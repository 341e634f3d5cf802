// Test fixture, served as api/[name]: answers "param name=<name>" and sets
// x-c: yes.
#include "wfn.h"

WFN_HANDLER(wfn_handle) {
    char *name = NULL;
    int32_t n = wfn_param_alloc("name", &name);
    wfn_set_header("x-c", "yes");
    wfn_set_header("content-type", "text/plain; charset=utf-8");
    wfn_write_str("param name=");
    if (n >= 0) wfn_write(name, (size_t)n);
    free(name);
}
