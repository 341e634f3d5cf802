// Package pgserver runs a real PostgreSQL server for tests: Debian's
// postgresql binaries, a cluster made with initdb in a temporary
// directory, a child process on a loopback port with trust
// authentication. As root, the server runs as the postgres user (the
// server refuses root).
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/serverproc"
)

// ErrNotInstalled is returned by Start when initdb and postgres are
// neither on PATH nor under /usr/lib/postgresql/*/bin.
var ErrNotInstalled = errors.New("PostgreSQL's initdb and postgres not found on PATH or under /usr/lib/postgresql/*/bin; install the postgresql package")

// EnvURL names the variable that gives tests a running server instead
// (.ci/run sets it).
const EnvURL = "WFN_TEST_DATABASE_URL"

// Server is a running PostgreSQL server.
type Server struct {
	Port int
	Dir  string
	proc *serverproc.Proc
}

// bin finds a PostgreSQL program.
func bin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Reverse(dirs) // the newest version first
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Start makes a cluster under dir and runs its server on 127.0.0.1:port.
// It returns once the server accepts connections (or fails after 30 s).
func Start(ctx context.Context, dir string, port int) (*Server, error) {
	initdb, err := bin("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := bin("postgres")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	var cred *credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("cannot run PostgreSQL as root, and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &credential{uid: uint32(uid), gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	initCmd := exec.CommandContext(ctx, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	setCredential(initCmd, cred)
	if out, err := initCmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	cmd := exec.Command(postgres, "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir, "-F",
		"-c", "max_connections=100", "-c", "shared_buffers=16MB")
	setCredential(cmd, cred)
	isready, _ := bin("pg_isready")
	proc, err := serverproc.Start(ctx, cmd, filepath.Join(dir, "postgres.log"), 30*time.Second, 50*time.Millisecond,
		func() error { return ready(isready, port) })
	if err != nil {
		return nil, err
	}
	return &Server{Port: port, Dir: dir, proc: proc}, nil
}

// ready asks pg_isready, or, without it, whether the port accepts.
func ready(isready string, port int) error {
	if isready == "" {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	out, err := exec.Command(isready, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_isready: %w: %s", err, out)
	}
	return nil
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is the connection string of database postgres, user postgres.
func (s *Server) URL() string { return "postgres://postgres@" + s.Addr() + "/postgres?sslmode=disable" }

// Stop shuts the server down at once (SIGQUIT, immediate shutdown) and
// waits for it: its connections end.
func (s *Server) Stop() { s.proc.Stop(sigQuit, 10*time.Second) }

// FreePort returns a loopback TCP port that nothing listens on now.
func FreePort() (int, error) { return serverproc.FreePort() }

// StartForTest starts a server of the test's own, stopped at its end. It
// skips the test when PostgreSQL is not installed, except under CI=true,
// where it fails.
func StartForTest(t testing.TB) *Server {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "wfn-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s, err := Start(t.Context(), dir, port)
	serverproc.Require(t, err, ErrNotInstalled)
	t.Cleanup(s.Stop)
	return s
}

var shared struct {
	once   sync.Once
	url    string
	err    error
	server *Server
}

// StopShared stops the server that URL started, if any, and removes its
// directory: call it from TestMain after m.Run.
func StopShared() {
	if s := shared.server; s != nil {
		s.Stop()
		os.RemoveAll(s.Dir)
	}
}

// URL returns the connection string of a server the test may share with
// others: $WFN_TEST_DATABASE_URL when set, else one started for the
// whole test process (stopped by [StopShared], or when the process
// ends). It skips the test
// when there is neither, except under CI=true, where it fails.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	shared.once.Do(func() {
		port, err := FreePort()
		if err != nil {
			shared.err = err
			return
		}
		dir, err := os.MkdirTemp("", "wfn-pg-shared")
		if err != nil {
			shared.err = err
			return
		}
		s, err := Start(context.Background(), dir, port)
		if err != nil {
			os.RemoveAll(dir)
			shared.err = err
			return
		}
		shared.url, shared.server = s.URL(), s
	})
	if shared.err != nil {
		serverproc.Require(t, fmt.Errorf("%s is not set and %w", EnvURL, shared.err), ErrNotInstalled)
	}
	return shared.url
}
