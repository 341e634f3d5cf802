package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// Case is one case of the suite: the requests it sends and what it checks
// of the responses and of the host's log.
type Case struct {
	// Name is the case's name, which is also the path: /api/<Name>.
	Name string
	// Spec names the sections of SPEC.md the case covers (of SPEC-v2.md
	// for a Fluid case).
	Spec string
	// Checks says what the suite checks, in a sentence or two.
	Checks string
	// Imports are the imports of module wfn whose results the case
	// checks. Every import of abi.Funcs is in at least one case.
	Imports []string
	// Optional is true for a case that exercises an API an SDK may not
	// offer (the caches, http_wait): a guest that answers it as an
	// unknown case (404 with the case's name) is skipped, not failed.
	Optional bool
	// Fluid is true for a case of ABI version 2 (abi/SPEC-v2.md), which
	// needs many invocations at once in one instance: it runs against a
	// guest that exports wfn_abi_v2 (served as api/fluid/[case].wasm) and is
	// skipped, with the reason, for a version 1 guest.
	Fluid bool

	run func(s *suite, r *report)
}

// specRef names the sections the case covers, with their document.
func (c Case) specRef() string {
	if c.Fluid {
		return "SPEC-v2.md " + c.Spec
	}
	return "SPEC.md " + c.Spec
}

// Cases lists the cases of the suite, in the order they run.
func Cases() []Case { return slices.Clone(cases) }

// Target is the host side of the ABI that the suite drives: the wfn host
// (package github.com/wfn-dev/wfn/host/hosttarget) or the Go SDK's
// plain-Go double (wfntest.Target). The suite itself knows no host.
type Target interface {
	// Serve serves setup.Dir as a host serves a directory of functions,
	// with the settings of setup, and returns the handler the suite sends
	// its requests to and a function that stops serving. An error means
	// the guest cannot be served (it does not load).
	Serve(ctx context.Context, setup Setup) (http.Handler, func(context.Context) error, error)
}

// Skipper is a Target that cannot take part in some cases: Skip returns
// why for such a case (such as "the environment is the test process's"),
// and "" for the others. A skipped case is reported and counted in
// neither number.
type Skipper interface {
	Skip(caseName string) string
}

// Setup is what the suite asks a Target to serve (see "What the suite
// sets up" in the package documentation).
type Setup struct {
	// Dir is the served directory: api/[case].wasm (or the script), the
	// api/methods copy, vercel.json and .env.
	Dir string
	// Guest is the guest as the suite was given it (a module's path, or a
	// script's); it is also in Dir.
	Guest string
	// Env is the host's own variables for guests, after .env and before
	// the function's env.
	Env map[string]string
	// Region, DeploymentID and URL (the host and port the suite sends its
	// requests to) are the host's, for VERCEL_REGION,
	// VERCEL_DEPLOYMENT_ID and VERCEL_URL.
	Region, DeploymentID, URL string
	// TrustedProxies are the peers whose x-real-ip, x-forwarded-for and
	// x-vercel-ip-* headers the host trusts: loopback.
	TrustedProxies []netip.Prefix
	// MaxDuration and AllowedOutboundHosts are every function's, as
	// vercel.json in Dir says.
	MaxDuration          time.Duration
	AllowedOutboundHosts []string
	// Log receives the host's log. The cases that check the guest's
	// output look there for a record per line with the line as its
	// message, level INFO for stdout and WARN for stderr, and the
	// attributes "stream" (stdout, stderr; log for the log import of a
	// version 2 guest) and "id" (the request id).
	Log slog.Handler
	// Snapshots lets the host start instances from a snapshot (abi/SPEC.md
	// section 8a); false: every instance runs its initialisation.
	Snapshots bool
}

// Option configures Run and RunAll.
type Option func(*options)

type options struct {
	only    []string
	timeout time.Duration
	logger  *slog.Logger
	noSnap  bool
}

// Only runs the named cases only.
func Only(names ...string) Option {
	return func(o *options) { o.only = append(o.only, names...) }
}

// RequestTimeout bounds each request and each wait for a log line.
// Default 15 s.
func RequestTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// Snapshots(false) makes the host run the guest's initialisation for every
// instance, instead of starting instances from a snapshot taken after it
// (the default). A guest must pass the suite both ways.
func Snapshots(on bool) Option { return func(o *options) { o.noSnap = !on } }

// HostLog also sends the host's log lines (the guest's output among them)
// to l.
func HostLog(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Settings the suite gives the host and the guest's functions; the cases
// check against them.
const (
	region       = "tst1"
	deploymentID = "dpl_conformance"
	maxDuration  = 60 * time.Second
)

// scriptExts are the extensions of a JavaScript or TypeScript guest: a
// source file the host bundles and runs on its JavaScript runtime.
var scriptExts = []string{".js", ".mjs", ".ts", ".mts"}

// suite is one running host with the guest, and the backends of the
// outbound cases.
type suite struct {
	opts    options
	target  Target
	dir     string
	base    string // http://127.0.0.1:port of the host
	addr    string // 127.0.0.1:port
	methods []string
	hasAll  bool // the methods copy is served
	fluid   bool // the guest is a version 2 one: the fluid copy is served
	token   string

	stop    func(context.Context) error // the target's
	srv     *httptest.Server
	client  *http.Client
	backend *httptest.Server
	denied  net.Listener
	dials   atomic.Int32 // connections the denied listener accepted
	// The TCP cases' servers: one that echoes what it reads until the
	// end, one that never answers, and a port nothing listens on.
	echo, silent net.Listener
	refused      string
	logs         *logBuffer
}

// report collects the failures of one case.
type report struct {
	failures []string
	skip     string
	ids      []string // the request ids of the responses the case got
}

func (r *report) errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *report) failed() bool { return len(r.failures) > 0 }

// start serves the guest and starts the backends.
func start(ctx context.Context, target Target, guestWasm string, opts []Option) (s *suite, err error) {
	o := options{timeout: 15 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	for _, name := range o.only {
		if !slices.ContainsFunc(cases, func(c Case) bool { return c.Name == name }) {
			return nil, fmt.Errorf("conformance: no case %q", name)
		}
	}
	// An empty guest: the target brings its own (wfntest runs a Go
	// guest's handler without WebAssembly).
	var wasm []byte
	if guestWasm != "" {
		if wasm, err = os.ReadFile(guestWasm); err != nil {
			return nil, fmt.Errorf("conformance: %w", err)
		}
	}
	// A JavaScript or TypeScript guest is one source file, served as a
	// function of the host's JavaScript runtime, whose module exports
	// wfn_handle alone (the JS handler shapes are dispatched inside it).
	ext := filepath.Ext(guestWasm)
	script := slices.Contains(scriptExts, ext)
	s = &suite{opts: o, target: target, logs: &logBuffer{}, token: randomHex(8)}
	if guestWasm != "" && !script {
		ext = ".wasm"
		exps, _, _, err := parseExports(wasm)
		if err != nil {
			return nil, fmt.Errorf("conformance: %s: %w", guestWasm, err)
		}
		for _, m := range abi.Methods {
			if slices.ContainsFunc(exps, func(e export) bool { return e.name == m && e.kind == 0 }) {
				s.methods = append(s.methods, m)
			}
		}
		s.fluid = slices.ContainsFunc(exps, func(e export) bool { return e.name == abi.ExportMarkerV2 })
		if !slices.ContainsFunc(exps, func(e export) bool { return e.name == abi.ExportHandle }) {
			return nil, fmt.Errorf("conformance: %s does not export %s: a conformance guest must (see the package documentation)", guestWasm, abi.ExportHandle)
		}
	}
	started := s // a return with an error sets s to nil
	defer func() {
		if err != nil {
			started.close()
		}
	}()

	if s.dir, err = os.MkdirTemp("", "wfn-conformance-"); err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	if guestWasm != "" {
		if err := writeFile(filepath.Join(s.dir, "api", "[case]"+ext), wasm); err != nil {
			return nil, err
		}
	}
	if len(s.methods) > 0 {
		stripped, err := withoutExport(wasm, abi.ExportHandle)
		if err != nil {
			return nil, fmt.Errorf("conformance: %s: %w", guestWasm, err)
		}
		if err := writeFile(filepath.Join(s.dir, "api", "methods", "[case].wasm"), stripped); err != nil {
			return nil, err
		}
		s.hasAll = true
	}
	if s.fluid {
		if err := writeFile(filepath.Join(s.dir, "api", "fluid", "[case].wasm"), wasm); err != nil {
			return nil, err
		}
	}

	// The backend of the fetch case, and a listener that must never be
	// reached.
	s.backend = httptest.NewServer(http.HandlerFunc(backend))
	if s.denied, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	go func() {
		for {
			c, err := s.denied.Accept()
			if err != nil {
				return
			}
			s.dials.Add(1)
			c.Close()
		}
	}()

	if err := s.startTCP(); err != nil {
		return nil, err
	}

	fn := map[string]any{
		"maxDuration": int(maxDuration / time.Second),
		"env":         map[string]string{"WFN_CONFORMANCE_FN": "fn", "WFN_CONFORMANCE_ORDER": "fn"},
		"allowedOutboundHosts": []string{s.backend.Listener.Addr().String(),
			s.echo.Addr().String(), s.silent.Addr().String(), s.refused},
	}
	functions := map[string]any{
		"api/[case]" + ext:         fn,
		"api/methods/[case]" + ext: fn,
	}
	if s.fluid {
		functions["api/fluid/[case].wasm"] = map[string]any{
			"maxDuration":          int(fluidMaxDuration / time.Second),
			"supportsCancellation": true,
		}
	}
	vercel, _ := json.MarshalIndent(map[string]any{"functions": functions}, "", "  ")
	if err := writeFile(filepath.Join(s.dir, "vercel.json"), vercel); err != nil {
		return nil, err
	}
	dotenv := "WFN_CONFORMANCE_DOTENV=dotenv\nWFN_CONFORMANCE_ORDER=dotenv\n"
	if err := writeFile(filepath.Join(s.dir, ".env"), []byte(dotenv)); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	s.addr = ln.Addr().String()
	s.base = "http://" + s.addr
	var handler slog.Handler = slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	if o.logger != nil {
		handler = teeHandler{handler, o.logger.Handler()}
	}
	setup := Setup{
		Dir:                  s.dir,
		Guest:                guestWasm,
		Env:                  map[string]string{"WFN_CONFORMANCE_HOST": "host", "WFN_CONFORMANCE_ORDER": "host"},
		Region:               region,
		DeploymentID:         deploymentID,
		URL:                  s.addr,
		TrustedProxies:       []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")},
		MaxDuration:          maxDuration,
		AllowedOutboundHosts: fn["allowedOutboundHosts"].([]string),
		Log:                  handler,
		Snapshots:            !o.noSnap,
	}
	h, stop, err := target.Serve(ctx, setup)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("conformance: %w", err)
	}
	s.stop = stop
	s.srv = httptest.NewUnstartedServer(h)
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	s.client = &http.Client{
		Timeout:   o.timeout,
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s, nil
}

// startTCP starts the servers of the TCP cases: echo answers "echo: "
// and what it read once the guest half-closes; silent reads and never
// answers, keeping each connection until the suite ends; refused is a
// loopback port closed again.
func (s *suite) startTCP() error {
	var err error
	if s.echo, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	if s.silent, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	s.refused = ln.Addr().String()
	ln.Close()
	serve := func(ln net.Listener, conn func(net.Conn)) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go conn(c)
		}
	}
	go serve(s.echo, func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		b, err := io.ReadAll(io.LimitReader(c, 1<<20))
		if err == nil {
			_, _ = c.Write(append([]byte("echo: "), b...))
		}
	})
	go serve(s.silent, func(c net.Conn) {
		defer c.Close()
		_, _ = io.Copy(io.Discard, c) // until the guest or the suite closes it
	})
	return nil
}

// close stops everything start started and removes the served directory.
func (s *suite) close() error {
	var err error
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	if s.srv != nil {
		s.srv.Close()
	}
	if s.stop != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.stop(ctx)
		cancel()
	}
	if s.backend != nil {
		s.backend.Close()
	}
	if s.denied != nil {
		s.denied.Close()
	}
	for _, ln := range []net.Listener{s.echo, s.silent} {
		if ln != nil {
			ln.Close()
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	return err
}

// selected returns the cases to run.
func (s *suite) selected() []Case {
	if len(s.opts.only) == 0 {
		return cases
	}
	var out []Case
	for _, c := range cases {
		if slices.Contains(s.opts.only, c.Name) {
			out = append(out, c)
		}
	}
	return out
}

func (s *suite) run(c Case) *report {
	r := &report{}
	if c.Fluid && !s.fluid {
		r.skip = "the guest is an ABI version 1 guest (it does not export " + abi.ExportMarkerV2 + "): version 1 runs one invocation at a time per instance"
		return r
	}
	if sk, ok := s.target.(Skipper); ok {
		if r.skip = sk.Skip(c.Name); r.skip != "" {
			return r
		}
	}
	c.run(s, r)
	if r.failed() {
		s.explain(r)
	}
	return r
}

// explain adds to a failed case what the host logged of its requests at
// level WARN or above (not the guest's own output): why an invocation
// failed (a trap, an out-of-bounds pointer, a status that cannot end a
// response), which the client sees only as a 500 or 502.
func (s *suite) explain(r *report) {
	for line := range strings.SplitSeq(s.logs.String(), "\n") {
		var ll logLine
		if line == "" || json.Unmarshal([]byte(line), &ll) != nil || ll.Stream != "" || ll.ID == "" || !slices.Contains(r.ids, ll.ID) {
			continue
		}
		if ll.Level != slog.LevelWarn.String() && ll.Level != slog.LevelError.String() {
			continue
		}
		msg := ll.Msg
		for _, detail := range []string{ll.Code, ll.Reason, ll.Err} {
			if detail != "" {
				msg += ": " + detail
			}
		}
		r.errorf("host log for request %s: %s", ll.ID, msg)
	}
}

// Run runs every case against the guest at guestWasm (a module, or a
// JavaScript or TypeScript source file: .js, .mjs, .ts, .mts) served by
// target, each as a subtest of t. An empty guestWasm is for a target that
// brings its own guest, such as wfntest's. A case the guest cannot take part in (dispatch, without
// method exports) is skipped. When a case fails, the host's log is
// logged too.
func Run(t *testing.T, target Target, guestWasm string, opts ...Option) {
	t.Helper()
	s, err := start(t.Context(), target, guestWasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.close(); err != nil {
			t.Errorf("closing the host: %v", err)
		}
		if t.Failed() {
			t.Logf("host log:\n%s", s.logs)
		}
	})
	for _, c := range s.selected() {
		t.Run(c.Name, func(t *testing.T) {
			r := s.run(c)
			if r.skip != "" && !r.failed() {
				t.Skip(r.skip)
			}
			for _, f := range r.failures {
				t.Errorf("%s (%s): %s", c.Name, c.specRef(), f)
			}
		})
	}
}

// RunAll runs every case against the guest at guestWasm served by target
// (as for Run) and
// writes one line per case to w ("ok", "FAIL" with the reasons indented
// below, or "skip"), then a last line "N passed, N failed". Skipped cases
// are counted in neither number. err is not nil when the suite could not
// run: the guest cannot be read, does not load, or ctx is done.
func RunAll(ctx context.Context, target Target, guestWasm string, w io.Writer, opts ...Option) (passed, failed int, err error) {
	s, err := start(ctx, target, guestWasm, opts)
	if err != nil {
		return 0, 0, err
	}
	defer s.close()
	for _, c := range s.selected() {
		if err := ctx.Err(); err != nil {
			return passed, failed, err
		}
		begin := time.Now()
		r := s.run(c)
		took := time.Since(begin).Round(time.Millisecond)
		switch {
		case r.failed():
			failed++
			fmt.Fprintf(w, "FAIL %s (%s) [%s]\n", c.Name, took, c.specRef())
			for _, f := range r.failures {
				fmt.Fprintf(w, "     %s\n", strings.ReplaceAll(f, "\n", "\n     "))
			}
		case r.skip != "":
			fmt.Fprintf(w, "skip %s: %s\n", c.Name, r.skip)
		default:
			passed++
			fmt.Fprintf(w, "ok   %s (%s)\n", c.Name, took)
		}
	}
	_, err = fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return passed, failed, err
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// logBuffer keeps the host's JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logLine is one line of the host's log.
type logLine struct {
	Level  string `json:"level"`
	Msg    string `json:"msg"`
	Stream string `json:"stream"`
	ID     string `json:"id"`
	// Why the host failed an invocation: an error, or the code and
	// reason of its answer.
	Err    string `json:"err"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// lines returns the log lines whose message is msg.
func (l *logBuffer) lines(msg string) []logLine {
	var out []logLine
	for line := range strings.SplitSeq(l.String(), "\n") {
		if !strings.Contains(line, msg) {
			continue
		}
		var ll logLine
		if json.Unmarshal([]byte(line), &ll) == nil && ll.Msg == msg {
			out = append(out, ll)
		}
	}
	return out
}

// teeHandler sends records to two handlers.
type teeHandler [2]slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t[0].Enabled(ctx, l) || t[1].Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			err = errors.Join(err, h.Handle(ctx, r.Clone()))
		}
	}
	return err
}

func (t teeHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return teeHandler{t[0].WithAttrs(a), t[1].WithAttrs(a)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t[0].WithGroup(name), t[1].WithGroup(name)}
}
