package cli

import (
	"flag"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wfn-dev/wfn/host"
)

// hostConfigOf is the host.Config that hostConfig makes of the flags.
func hostConfigOf(t *testing.T, args ...string) host.Config {
	t.Helper()
	set := flag.NewFlagSet("serve", flag.ContinueOnError)
	for _, f := range hostFlags() {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	cfg, err := hostConfig(cli.NewContext(cli.NewApp(), set, nil), io.Discard)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return cfg
}

// Without flags, the command passes host.DefaultConfig's values (only the
// reserve is serve's own); --idle-timeout 0 is "never", said as
// DisableIdleTimeout and not with a negative.
func TestFlagDefaultsAreTheHosts(t *testing.T) {
	d := host.DefaultConfig()
	got := hostConfigOf(t)
	want := d
	want.Dir, want.MinInstances = ".", serveMinInstances
	got.Logger, got.Env = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flags' defaults:\n got %+v\nwant %+v", got, want)
	}
	if got.DisableIdleTimeout || got.IdleTimeout != d.IdleTimeout {
		t.Errorf("default idle timeout: %v, disabled %v; want %v", got.IdleTimeout, got.DisableIdleTimeout, d.IdleTimeout)
	}

	got = hostConfigOf(t, "--idle-timeout", "0", "--tmp-size", "8", "--queue-timeout", "2s")
	if !got.DisableIdleTimeout || got.IdleTimeout < 0 {
		t.Errorf("--idle-timeout 0: IdleTimeout %v, DisableIdleTimeout %v; want it disabled, no negative", got.IdleTimeout, got.DisableIdleTimeout)
	}
	if got.DisableUnload || got.UnloadAfter != d.UnloadAfter {
		t.Errorf("without --unload-after: UnloadAfter %v, DisableUnload %v; want %v", got.UnloadAfter, got.DisableUnload, d.UnloadAfter)
	}
	if got := hostConfigOf(t, "--unload-after", "0"); !got.DisableUnload {
		t.Errorf("--unload-after 0: DisableUnload false, want the functions never unloaded")
	}
	if got.TmpSizeMB != 8 || got.QueueTimeout != 2*time.Second {
		t.Errorf("--tmp-size 8 --queue-timeout 2s: TmpSizeMB %d, QueueTimeout %v", got.TmpSizeMB, got.QueueTimeout)
	}
}
