package abi_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wfn-dev/wfn/abi"
)

func TestErrnoNames(t *testing.T) {
	tests := []struct {
		code abi.Errno
		want string
	}{
		{abi.ENOTFOUND, "ENOTFOUND"},
		{abi.EINVAL, "EINVAL"},
		{abi.ETOOLARGE, "ETOOLARGE"},
		{abi.ECLOSED, "ECLOSED"},
		{abi.ECANCELED, "ECANCELED"},
		{abi.EDENIED, "EDENIED"},
		{abi.EBADHANDLE, "EBADHANDLE"},
		{abi.EIO, "EIO"},
		{-9, "Errno(-9)"},
		{3, "Errno(3)"},
	}
	for _, tt := range tests {
		if got := tt.code.String(); got != tt.want {
			t.Errorf("Errno(%d).String() = %q, want %q", int32(tt.code), got, tt.want)
		}
	}
}

func TestErrnoIsError(t *testing.T) {
	err := fmt.Errorf("write body: %w", abi.ECLOSED)
	if !errors.Is(err, abi.ECLOSED) {
		t.Fatalf("errors.Is(%v, ECLOSED) = false", err)
	}
}

func ExampleErrno() {
	fmt.Println(abi.Errno(-4).String(), abi.ECLOSED)
	// Output: ECLOSED wfn: ECLOSED
}
