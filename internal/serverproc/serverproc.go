// Package serverproc runs a server program (redis-server, postgres) as a
// child process of the tests, on a loopback port: started with its output
// in a log file, killed if the test process dies first (on Linux), and
// waited for until it answers. Packages redisserver and pgserver build on
// it.
package serverproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Proc is a running server program.
type Proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// FreePort returns a loopback TCP port that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start runs cmd with its output appended to the file log, and returns
// once ready reports nil, asking every poll. It fails, killing the
// program, when the program exits first, when ctx is done, or when
// within passes; the error holds the log.
func Start(ctx context.Context, cmd *exec.Cmd, log string, within, poll time.Duration, ready func() error) (*Proc, error) {
	name := filepath.Base(cmd.Path)
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	p := &Proc{cmd: cmd, log: log, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(within)
	for {
		err := ready()
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Kill()
			return nil, fmt.Errorf("%s did not answer: %w\n%s", name, err, p.Log())
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited:\n%s", name, p.Log())
		case <-time.After(poll):
		}
	}
}

// Log returns what the program wrote so far.
func (p *Proc) Log() string {
	out, _ := os.ReadFile(p.log)
	return string(out)
}

// Signal sends sig to the program.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill sends SIGKILL and waits for the program to end.
func (p *Proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// Stop sends sig and waits for the program to end, killing it after
// grace.
func (p *Proc) Stop(sig os.Signal, grace time.Duration) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Require ends t when err is not nil: a skip when err is missing (the
// program is not installed), except under CI=true, where it fails; a
// failure for any other error.
func Require(t testing.TB, err, missing error) {
	t.Helper()
	switch {
	case err == nil:
	case errors.Is(err, missing) && os.Getenv("CI") != "true":
		t.Skip("skipping: " + err.Error())
	default:
		t.Fatal(err)
	}
}
