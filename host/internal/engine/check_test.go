package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

// wfn_on_suspend is optional, and checked as every lifecycle export:
// () -> (), or the guest does not load.
func TestCheckOnSuspend(t *testing.T) {
	none := func(string, string) (Sig, bool) { return Sig{}, false }
	guest := func(suspend Sig) Guest {
		return Guest{Memory: true, Funcs: []Export{
			{Name: abi.ExportMarker}, {Name: abi.ExportHandle}, {Name: abi.ExportOnSuspend, Sig: suspend},
		}}
	}
	e, err := Check("api/ok.wasm", guest(Sig{}), none)
	if err != nil || !e.OnSuspend {
		t.Errorf("a () -> () wfn_on_suspend: OnSuspend %v, err %v; want true, nil", e.OnSuspend, err)
	}
	e, err = Check("api/none.wasm", Guest{Memory: true, Funcs: []Export{{Name: abi.ExportMarker}, {Name: abi.ExportHandle}}}, none)
	if err != nil || e.OnSuspend {
		t.Errorf("no wfn_on_suspend: OnSuspend %v, err %v; want false, nil", e.OnSuspend, err)
	}
	_, err = Check("api/bad.wasm", guest(Sig{Params: []string{"i32"}}), none)
	if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "export wfn_on_suspend has signature (i32) -> (), want () -> ()") {
		t.Errorf("a wfn_on_suspend taking an i32: %v, want a load error naming its signature", err)
	}
}
