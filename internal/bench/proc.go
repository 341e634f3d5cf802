package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a server running as a child process in its own process group
// (wfn serve, or wfnbench in native-server mode), which prints
// "Ready on http://ADDR" when it serves.
type Server struct {
	Addr    string        // from the Ready line
	Started time.Time     // just before exec
	Ready   time.Duration // from exec to the Ready line
	cmd     *exec.Cmd
	stderr  *tail
	exited  chan struct{}
	waitErr error
}

var readyRE = regexp.MustCompile(`^Ready on http://(\S+)$`)

// StartServer runs name with args and waits up to timeout for its Ready
// line. The process group is killed when ctx is done or on Stop.
func StartServer(ctx context.Context, timeout time.Duration, name string, args ...string) (*Server, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	s := &Server{cmd: cmd, stderr: &tail{max: 16 << 10}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: cannot start %s: %w", name, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := readyRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case addr := <-ready:
		s.Ready = time.Since(s.Started)
		s.Addr = addr
		return s, nil
	case <-s.exited:
		return nil, &StartError{Cmd: filepath.Base(name), Err: s.waitErr, Stderr: s.stderr.String()}
	case <-t.C:
		s.Stop()
		return nil, &StartError{Cmd: filepath.Base(name), Err: errors.New("no Ready line within " + timeout.String()), Stderr: s.stderr.String()}
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
}

// StartError is a server that exited or hung before it was ready.
type StartError struct {
	Cmd    string
	Err    error
	Stderr string // the end of its stderr
}

func (e *StartError) Error() string {
	return fmt.Sprintf("bench: %s did not start: %v: %s", e.Cmd, e.Err, strings.TrimSpace(e.Stderr))
}

func (e *StartError) Unwrap() error { return e.Err }

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stderr is the end of the server's stderr.
func (s *Server) Stderr() string { return s.stderr.String() }

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// Stop kills the server's process group and waits for it.
func (s *Server) Stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}

// FreePort returns a 127.0.0.1 address with a port free right now.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
