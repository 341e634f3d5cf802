package wfn_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
)

// Anything but a pool of pgxpool, database/sql or go-redis is refused, as
// attachDatabasePool throws; the drivers' pools are attached in the
// tests of guests/api/db and guests/api/counter, against real servers.
func TestAttachUnsupportedPool(t *testing.T) {
	type notAPool struct{ Addr string }
	for _, v := range []any{nil, 42, "postgres://x", &notAPool{}, (*notAPool)(nil), &strings.Builder{}} {
		err := wfn.AttachDatabasePool(v)
		if !errors.Is(err, wfn.ErrUnsupportedPool) || !strings.Contains(err.Error(), "unsupported database pool type") {
			t.Errorf("AttachDatabasePool(%#v) = %v, want ErrUnsupportedPool", v, err)
		}
	}
}
