// Package redisserver runs a real redis-server for tests: a child process
// on a loopback port, in a temporary directory, without persistence.
package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/internal/serverproc"
)

// ErrNotInstalled is returned by Start when redis-server is not on PATH.
var ErrNotInstalled = errors.New("redis-server not found on PATH; install the redis-server package")

// Server is a running redis-server.
type Server struct {
	Port int
	Dir  string
	proc *serverproc.Proc
}

// FreePort returns a loopback TCP port that nothing listens on now.
func FreePort() (int, error) { return serverproc.FreePort() }

// Start runs redis-server on 127.0.0.1:port with dir as its directory and
// log, and returns once it answers PING (or fails after 10 s).
func Start(ctx context.Context, dir string, port int) (*Server, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotInstalled, err)
	}
	s := &Server{Port: port, Dir: dir}
	cmd := exec.Command(path,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--protected-mode", "no", "--daemonize", "no")
	s.proc, err = serverproc.Start(ctx, cmd, filepath.Join(dir, "redis.log"), 10*time.Second, 20*time.Millisecond,
		func() error { return ping(s.Addr()) })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// StartForTest starts a server of the test's own, killed at its end. It
// skips the test when redis-server is not installed, except under
// CI=true, where it fails.
func StartForTest(t testing.TB) *Server {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(t.Context(), t.TempDir(), port)
	serverproc.Require(t, err, ErrNotInstalled)
	t.Cleanup(s.Kill)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is redis://host:port/0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Kill sends SIGKILL and waits for the process to end.
func (s *Server) Kill() { s.proc.Kill() }

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
