package wasmbin

import (
	"errors"
	"fmt"
)

var (
	// ErrNotSnapshottable is returned (wrapped in an [*Error]) by Inspect,
	// ExportGlobals and Restore for a module that cannot be snapshotted,
	// including a malformed one.
	ErrNotSnapshottable = errors.New("wfn: module cannot be snapshotted")
	// ErrMalformed is returned (wrapped in an [*Error], together with
	// ErrNotSnapshottable) by Inspect, ExportGlobals and Restore for input
	// that is not a well-formed WebAssembly binary module.
	ErrMalformed = errors.New("wfn: malformed wasm module")
)

// Error says why a module cannot be snapshotted. errors.Is(err,
// ErrNotSnapshottable) is true for every Error, and errors.Is(err,
// ErrMalformed) is true when Malformed is.
type Error struct {
	Reason    string // such as "table.set in function 12"
	Offset    int    // byte offset in the module the reason refers to, -1 if none
	Malformed bool
}

func (e *Error) Error() string {
	sentinel := ErrNotSnapshottable
	if e.Malformed {
		sentinel = ErrMalformed
	}
	if e.Offset < 0 {
		return sentinel.Error() + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %s (at byte offset %d)", sentinel, e.Reason, e.Offset)
}

// Unwrap returns ErrNotSnapshottable, and ErrMalformed when the module is
// malformed.
func (e *Error) Unwrap() []error {
	if e.Malformed {
		return []error{ErrNotSnapshottable, ErrMalformed}
	}
	return []error{ErrNotSnapshottable}
}

func malformed(off int, format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...), Offset: off, Malformed: true}
}

func unsupported(off int, format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...), Offset: off}
}
