// api/hello in C: answers "Hello from C!".
#include "wfn.h"

WFN_HANDLER(wfn_handle) {
    wfn_set_header("content-type", "text/plain; charset=utf-8");
    wfn_write_str("Hello from C!");
}
