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
		{abi.ECONNREFUSED, "ECONNREFUSED"},
		{abi.ETIMEDOUT, "ETIMEDOUT"},
		{abi.EAGAIN, "EAGAIN"},
		{-12, "Errno(-12)"},
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

func TestValidHeader(t *testing.T) {
	names := []struct {
		name string
		want bool
	}{
		{"Content-Type", true}, {"x-a.b_c~d", true}, {"", false}, {"a b", false},
		{"a:b", false}, {"a\x00", false}, {"é", false}, {"a\r\nb", false},
	}
	for _, tt := range names {
		if got := abi.ValidHeaderName(tt.name); got != tt.want {
			t.Errorf("ValidHeaderName(%q) = %v", tt.name, got)
		}
		if got := abi.ValidHeaderName([]byte(tt.name)); got != tt.want {
			t.Errorf("ValidHeaderName([]byte(%q)) = %v", tt.name, got)
		}
	}
	values := []struct {
		value string
		want  bool
	}{
		{"text/plain; charset=utf-8", true}, {"", true}, {"a\tb", true}, {"é", true},
		{"a\rb", false}, {"a\nb", false}, {"a\x00b", false}, {"a\x7fb", false},
	}
	for _, tt := range values {
		if got := abi.ValidHeaderValue(tt.value); got != tt.want {
			t.Errorf("ValidHeaderValue(%q) = %v", tt.value, got)
		}
	}
}
