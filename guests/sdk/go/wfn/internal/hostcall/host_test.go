//go:build !wasip1

package hostcall

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// goName is the Go name of an import: request_url gives RequestURL.
func goName(name string) string {
	initialisms := map[string]string{"url": "URL", "http": "HTTP", "cdn": "CDN", "ip": "IP", "tcp": "TCP"}
	var b strings.Builder
	for w := range strings.SplitSeq(name, "_") {
		if s, ok := initialisms[w]; ok {
			b.WriteString(s)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// Host, which wfntest implements in plain Go, declares the imports of
// abi.Funcs and nothing else (but WASI's proc_exit), each with the types
// of its declaration: a string or []byte stands for a (ptr, len) pair of
// i32s, an int32 for an i32, an int64 for an i64.
func TestHostMatchesABI(t *testing.T) {
	host := reflect.TypeFor[Host]()
	types := map[reflect.Type][]abi.Type{
		reflect.TypeFor[string](): {abi.I32, abi.I32},
		reflect.TypeFor[[]byte](): {abi.I32, abi.I32},
		reflect.TypeFor[int32]():  {abi.I32},
		reflect.TypeFor[int64]():  {abi.I64},
	}
	byGoName := map[string]abi.Func{}
	for _, f := range abi.Funcs {
		byGoName[goName(f.Name)] = f
	}
	for i := range host.NumMethod() {
		m := host.Method(i)
		if m.Name == "ProcExit" {
			continue // WASI's, not module wfn's
		}
		want, ok := byGoName[m.Name]
		if !ok {
			t.Errorf("Host.%s is no import of abi.Funcs", m.Name)
			continue
		}
		var params []abi.Type
		for j := range m.Type.NumIn() {
			ts, ok := types[m.Type.In(j)]
			if !ok {
				t.Errorf("Host.%s: parameter of type %s", m.Name, m.Type.In(j))
			}
			params = append(params, ts...)
		}
		if !slices.Equal(params, want.ParamTypes()) {
			t.Errorf("Host.%s takes %v, want %s: %v", m.Name, params, want.Signature(), want.ParamTypes())
		}
		if m.Type.NumOut() != 1 || !slices.Equal(types[m.Type.Out(0)], []abi.Type{want.Result.Type}) {
			t.Errorf("Host.%s does not return the one %v of %s", m.Name, want.Result.Type, want.Signature())
		}
		delete(byGoName, m.Name)
	}
	for name, f := range byGoName {
		t.Logf("Host has no method %s for %s", name, f.Name)
	}
}
