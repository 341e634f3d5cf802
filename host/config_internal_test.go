package host

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/host/internal/project"
)

// One convention for unset: a zero Config field is unset, so the
// per-function settings are project.Defaults; DefaultConfig's values are
// those same defaults; DisableIdleTimeout says "never" (0 in
// project.Settings), and negatives are errors.
func TestConfigUnsetAndDefaults(t *testing.T) {
	if got := (Config{}).functionSettings(); !reflect.DeepEqual(got, project.Settings{}) {
		t.Errorf("zero Config sets %+v, want nothing", got)
	}
	want := project.Defaults()
	got := project.Merge(project.Defaults(), DefaultConfig().functionSettings())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultConfig's settings %+v, want project.Defaults %+v", got, want)
	}
	never := Config{IdleTimeout: time.Minute, DisableIdleTimeout: true}.functionSettings()
	if never.IdleTimeout == nil || *never.IdleTimeout != 0 {
		t.Errorf("DisableIdleTimeout: idle timeout %v, want 0 (never)", never.IdleTimeout)
	}
	for _, c := range []Config{{IdleTimeout: -1}, {UnloadAfter: -1}, {TmpSizeMB: -1}, {MaxInstances: -1}, {MaxQueue: -1}} {
		if err := c.validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: validate = %v, want ErrConfig", c, err)
		}
	}
	if err := DefaultConfig().validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
}
