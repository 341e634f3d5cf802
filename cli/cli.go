// Package cli is the wfn command: serve a directory of functions, build
// them ahead of time, or print the version. Package main in cli/wfn only
// calls Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wfn-dev/wfn/host"
)

// Version is the wfn version, set at link time with
// -ldflags "-X github.com/wfn-dev/wfn/cli.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

// ErrLoad is returned by the build command when a function fails to load.
var ErrLoad = errors.New("wfn: some functions failed to load")

// Run runs the wfn command with args (args[0] is the program name). It
// returns when the command is done or, for serve, when ctx is done and the
// server has drained.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	app := &cli.App{
		Name:      "wfn",
		Usage:     "run WebAssembly functions the way Vercel runs functions",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are returned to main, which prints them once.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			serveCommand(stdout, stderr),
			devCommand(stdout, stderr),
			buildCommand(stdout, stderr),
			conformanceCommand(stdout, stderr),
			cacheCommand(stdout),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					_, err := fmt.Fprintf(stdout, "wfn %s\n", version())
					return err
				},
			},
		},
	}
	return app.RunContext(ctx, flagsFirst(app.Commands, args))
}

// flagsFirst moves a command's flags ahead of its other arguments, so that
// `wfn serve DIR --listen ADDR` works: urfave/cli stops reading flags at
// the first argument that is not one.
func flagsFirst(cmds []*cli.Command, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var cmd *cli.Command
	for _, c := range cmds {
		if c.HasName(args[1]) {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	if len(cmd.Subcommands) > 0 {
		// wfn cache purge ...: the same, one level down.
		return append([]string{args[0]}, flagsFirst(cmd.Subcommands, args[1:])...)
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, rest []string
	for i := 2; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			rest = append(rest, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(rest) > 0 {
		out = append(append(out, "--"), rest...)
	}
	return out
}

// serveMinInstances is wfn serve's reserve: one warm instance of each
// function, so that the first request after start is no cold start (the
// host's own default, for embedders, is none).
const serveMinInstances = 1

// hostFlags configure the host; serve and build share them. Their
// defaults are host.DefaultConfig's.
func hostFlags() []cli.Flag {
	d := host.DefaultConfig()
	return []cli.Flag{
		&cli.StringFlag{Name: "cache-dir", Usage: "where built and compiled guests are kept (default DIR/.wfn)"},
		&cli.StringFlag{Name: "engine", Value: d.Engine, Usage: "the WebAssembly engine: " + strings.Join(host.Engines(), " or ")},
		&cli.DurationFlag{Name: "max-duration", Value: d.MaxDuration, Usage: "longest an invocation may run, 1s to 30m (Vercel's maxDuration)"},
		&cli.IntFlag{Name: "max-instances", Value: d.MaxInstances, Usage: "live instances of all functions together"},
		&cli.IntFlag{Name: "max-instances-per-function", Value: d.MaxInstancesPerFunction, Usage: "live instances, and so concurrent invocations, of one function"},
		&cli.IntFlag{Name: "max-queue", Value: d.MaxQueue, Usage: "invocations of one function waiting for an instance before 503"},
		&cli.DurationFlag{Name: "queue-timeout", Value: d.QueueTimeout, Usage: "longest an invocation waits for an instance before 503"},
		&cli.IntFlag{Name: "memory", Value: d.MemoryLimitMB, Usage: "linear memory limit of each instance, in MB, 128 to 10240 (Vercel's memory)"},
		&cli.IntFlag{Name: "tmp-size", Value: d.TmpSizeMB, Usage: "size of each instance's writable /tmp, in MB"},
		&cli.StringSliceFlag{Name: "env", Usage: "KEY=VALUE for the guests' environment (repeatable)"},
		&cli.StringFlag{Name: "region", Value: d.Region, Usage: "this host's region: VERCEL_REGION, request ids, geolocation"},
		&cli.StringFlag{Name: "environment", Value: d.Environment, Usage: "VERCEL_ENV: development, preview or production"},
		&cli.StringSliceFlag{Name: "trust-proxy", Usage: "CIDR or address of a proxy whose x-forwarded-for, x-real-ip and x-vercel-* headers are believed (repeatable)"},
		&cli.StringFlag{Name: "geoip-db", Usage: "MaxMind city database (.mmdb) for geolocation by client address"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text (key=value lines) or json (one object a line)"},
		&cli.StringFlag{Name: "cache", Usage: "where the Runtime Cache and the CDN cache live: redis://HOST:PORT/DB to share them among hosts (default: files in the cache directory)"},
		&cli.StringFlag{Name: "cdn-rules", Value: d.CDNRules, Usage: "the CDN cache's rules: vercel (only s-maxage and CDN-Cache-Control cache) or rfc9111 (a shared cache: also max-age and Expires)"},
		&cli.StringSliceFlag{Name: "purge-from", Usage: "CIDR or address allowed to purge the caches at /_wfn/cache/purge, by socket address (repeatable; default: loopback only)"},
		&cli.StringFlag{Name: "purge-token", EnvVars: []string{purgeTokenEnv}, Usage: "require this bearer token of every purge (prefer the environment variable: a flag shows in ps); with it, purges forwarded by a proxy are allowed"},
		&cli.BoolFlag{Name: "purge-forwarded", Usage: "allow purges that came through a proxy (a --trust-proxy peer, or forwarding headers) without a token; only if the proxy guards /_wfn/ itself"},
		&cli.StringFlag{Name: "isolation", Value: d.Isolation, Usage: "instance: invocations reuse warm instances; invocation: a fresh instance for every invocation"},
		&cli.BoolFlag{Name: "snapshot", Value: !d.DisableSnapshots, Usage: "start instances from a snapshot taken after initialisation (--snapshot=false: run it every time)"},
		&cli.IntFlag{Name: "min-instances", Value: serveMinInstances, Usage: "instances of each function made at start and kept idle in reserve"},
		&cli.DurationFlag{Name: "idle-timeout", Value: d.IdleTimeout, Usage: "close instances idle this long, down to the reserve (0: never)"},
		&cli.IntFlag{Name: "max-invocations", Usage: "retire an instance after this many invocations (0: no limit)"},
		&cli.DurationFlag{Name: "suspend-after", Value: d.SuspendAfter, Usage: "call wfn_on_suspend on an instance idle this long, so that the guest releases its pools' idle connections (abi/SPEC.md section 5c)"},
		&cli.DurationFlag{Name: "unload-after", Value: d.UnloadAfter, Usage: "unload a function that took no invocation this long: its instances, reserve included, and its compiled code, loaded again from the cache when next needed (0: never)"},
	}
}

func hostConfig(c *cli.Context, stderr io.Writer) (host.Config, error) {
	dir := c.Args().First()
	if dir == "" {
		dir = "."
	}
	if c.NArg() > 1 {
		return host.Config{}, fmt.Errorf("wfn: one directory expected, got %d arguments", c.NArg())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return host.Config{}, fmt.Errorf("wfn: --log-level: %w", err)
	}
	logs, err := logHandler(c.String("log-format"), stderr, level)
	if err != nil {
		return host.Config{}, err
	}
	env := map[string]string{}
	for _, kv := range c.StringSlice("env") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return host.Config{}, fmt.Errorf("wfn: --env %q: want KEY=VALUE", kv)
		}
		env[k] = v
	}
	proxies, err := prefixes("--trust-proxy", c.StringSlice("trust-proxy"))
	if err != nil {
		return host.Config{}, err
	}
	purgeFrom, err := prefixes("--purge-from", c.StringSlice("purge-from"))
	if err != nil {
		return host.Config{}, err
	}
	// The flags are the defaults of vercel.json's maxDuration and memory,
	// and meet the same limits (host.MaxDurationMax, host.MemoryMinMB,
	// host.MemoryMaxMB), with the same words.
	if d := c.Duration("max-duration"); d < time.Second || d > host.MaxDurationMax || d%time.Second != 0 {
		return host.Config{}, fmt.Errorf("wfn: --max-duration: want a whole number of seconds from 1s to %v, got %v", host.MaxDurationMax, d)
	}
	if m := c.Int("memory"); m < host.MemoryMinMB || m > host.MemoryMaxMB {
		return host.Config{}, fmt.Errorf("wfn: --memory: want an integer from %d to %d (MB), got %d", host.MemoryMinMB, host.MemoryMaxMB, m)
	}
	// Counts and durations of 0 or more: refused here, by their flags'
	// names; host.Config's errors name its fields.
	for _, name := range []string{"max-instances", "max-instances-per-function", "max-queue", "tmp-size", "min-instances", "max-invocations"} {
		if v := c.Int(name); v < 0 {
			return host.Config{}, fmt.Errorf("wfn: --%s %d: want 0 or more", name, v)
		}
	}
	for _, name := range []string{"queue-timeout", "idle-timeout", "suspend-after", "unload-after"} {
		if v := c.Duration(name); v < 0 {
			return host.Config{}, fmt.Errorf("wfn: --%s %v: want 0 or more", name, v)
		}
	}
	switch e := c.String("environment"); e {
	case "development", "preview", "production":
	default:
		return host.Config{}, fmt.Errorf("wfn: --environment %q: want development, preview or production", e)
	}
	return host.Config{
		Dir:                     dir,
		Engine:                  c.String("engine"),
		Region:                  c.String("region"),
		Environment:             c.String("environment"),
		NodeEnv:                 host.DefaultConfig().NodeEnv, // production; wfn dev's is development (serve)
		TrustedProxies:          proxies,
		PurgeFrom:               purgeFrom,
		PurgeToken:              c.String("purge-token"),
		PurgeForwarded:          c.Bool("purge-forwarded"),
		Cache:                   c.String("cache"),
		CDNRules:                c.String("cdn-rules"),
		GeoIPDB:                 c.String("geoip-db"),
		CacheDir:                c.String("cache-dir"),
		Logger:                  slog.New(logs),
		Env:                     env,
		MaxDuration:             c.Duration("max-duration"),
		MaxInstances:            c.Int("max-instances"),
		MaxInstancesPerFunction: c.Int("max-instances-per-function"),
		MaxQueue:                c.Int("max-queue"),
		QueueTimeout:            c.Duration("queue-timeout"),
		MemoryLimitMB:           c.Int("memory"),
		TmpSizeMB:               c.Int("tmp-size"),
		Isolation:               c.String("isolation"),
		DisableSnapshots:        !c.Bool("snapshot"),
		MinInstances:            c.Int("min-instances"),
		IdleTimeout:             c.Duration("idle-timeout"),
		DisableIdleTimeout:      c.Duration("idle-timeout") == 0,
		MaxInvocations:          c.Int("max-invocations"),
		SuspendAfter:            c.Duration("suspend-after"),
		UnloadAfter:             c.Duration("unload-after"),
		DisableUnload:           c.Duration("unload-after") == 0,
	}, nil
}

// prefixes parses the CIDRs or addresses of a repeatable flag.
func prefixes(flag string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range vals {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("wfn: %s %q: want a CIDR such as 10.0.0.0/8 or an address", flag, p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, prefix.Masked())
	}
	return out, nil
}

func serveCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve the functions under DIR/api over HTTP",
		ArgsUsage: "[DIR]",
		Flags: append(append(hostFlags(), adminFlags()...),
			&cli.StringFlag{Name: "listen", Aliases: []string{"l"}, Value: "127.0.0.1:3000", Usage: "address to listen on: host:port, :port (every interface) or a port alone (on 127.0.0.1, as vercel dev --listen 3000 takes it)"},
			&cli.DurationFlag{Name: "shutdown-grace", Value: 30 * time.Second, Usage: "how long in-flight invocations may finish on SIGTERM or SIGINT"},
			&cli.IntFlag{Name: "max-connections", Value: defaultMaxConnections(), Usage: "open client connections at most, 0 for no cap (default 10000, or half the open-file limit if lower); at the cap idle ones are closed first, then new ones wait in the listen backlog"},
			&cli.BoolFlag{Name: "crons", Value: true, Usage: "invoke the crons of vercel.json on schedule (--crons=false: never)"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := hostConfig(c, stderr)
			if err != nil {
				return err
			}
			cfg.RunCrons = c.Bool("crons")
			cfg.TieredReload = c.Bool("tiered-reload") // wfn dev's only
			if g := c.Duration("shutdown-grace"); g < 0 {
				return fmt.Errorf("wfn: --shutdown-grace %v: want 0 or more", g)
			}
			maxConns := c.Int("max-connections")
			if maxConns < 0 {
				return fmt.Errorf("wfn: --max-connections %d: want 0 (no cap) or more", maxConns)
			}
			addr, err := listenAddr(c.String("listen"))
			if err != nil {
				return err
			}
			dev := c.Command.Name == "dev"
			// Listen first: the address is VERCEL_URL. The functions are
			// built and compiled in the background: a request waits for its
			// own. wfn dev on its default address takes the next free port,
			// as vercel dev does; an address asked for is that address.
			tries := 1
			if dev && !c.IsSet("listen") {
				tries = devPortTries
			}
			ln, err := listen(addr, tries, stderr)
			if err != nil {
				return fmt.Errorf("wfn: cannot listen on --listen: %w", err)
			}
			return serve(c.Context, cfg, ln, c.Duration("shutdown-grace"), maxConns, stdout, dev, stderr, adminFlagValues(c))
		},
	}
}

// devCommand is serve, plus a watcher that reloads what changes.
func devCommand(stdout, stderr io.Writer) *cli.Command {
	cmd := serveCommand(stdout, stderr)
	cmd.Name = "dev"
	cmd.Usage = "serve DIR like serve, and rebuild and swap in the functions that change as files are saved"
	cmd.Flags = append(cmd.Flags, &cli.BoolFlag{Name: "tiered-reload", Value: true,
		Usage: "serve a changed function from wazero's interpreter until its compiled code is ready (--tiered-reload=false: wait for the compiled code)"})
	return cmd
}

// serve serves cfg.Dir on ln, which it closes; with dev, it also reloads
// what changes under it, and writes build errors whole to stderr.
func serve(ctx context.Context, cfg host.Config, ln net.Listener, grace time.Duration, maxConns int, stdout io.Writer, dev bool, stderr io.Writer, adm adminOptions) error {
	cfg.URL = readyAddr(ln.Addr())
	defer startGCFloor(gcHeapFloor)()
	cfg.LoadInBackground = true
	cfg.ShowBuildErrors = cfg.ShowBuildErrors || dev
	if dev {
		cfg.NodeEnv = "development" // as vercel dev; serve's is the host's default, production
	}
	side, err := newAdminSide(adm, &cfg)
	if err != nil {
		ln.Close()
		return err
	}
	routeRedisLog(cfg.Logger)
	var w *watcher
	if dev {
		// Watching from before the host's scan: a file saved while it loads
		// (after "Ready on", which comes first) is reloaded, not lost.
		if w, err = openWatcher(cfg, stderr); err != nil {
			ln.Close()
			side.abandon()
			return err
		}
	}
	h, err := host.New(ctx, cfg)
	if err != nil {
		ln.Close()
		side.abandon()
		if w != nil {
			w.fsw.Close()
		}
		if ctx.Err() != nil {
			return nil // a signal while loading: nothing to drain
		}
		return err
	}
	handler, err := side.start(h, cfg.Logger)
	if err != nil {
		ln.Close()
		side.abandon()
		_ = h.Close(context.Background())
		if w != nil {
			w.fsw.Close()
		}
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// The host answers 431 REQUEST_HEADER_TOO_LARGE past Vercel's
		// limits (16 KB for one header, 32 KB in all); past this, the
		// server answers a plain 431 itself before reading the rest.
		MaxHeaderBytes: 1 << 20,
		IdleTimeout:    120 * time.Second,
		ErrorLog:       serverErrorLog(cfg.Logger),
	}
	if maxConns > 0 {
		cc := newConnCap(maxConns, cfg.Logger)
		ln, srv.ConnState = cc.limit(ln), cc.connState
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "Ready on http://%s\n", readyAddr(ln.Addr()))
	if w != nil {
		defer w.start(ctx, h)()
	}

	select {
	case err := <-served:
		side.shutdown()
		_ = h.Close(context.Background())
		_ = side.close()
		return fmt.Errorf("wfn: server stopped: %w", err)
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	// Readiness fails first (/_wfn/readyz answers 503), so that load
	// balancers stop sending new requests during the drain, as Kubernetes
	// takes out of a Service an endpoint whose readiness fails; then
	// Shutdown closes the listener and waits for what is in flight.
	side.shutdown()
	err = srv.Shutdown(sctx)
	// Past the grace, the host aborts the invocations still in flight
	// (each logged with its request id, its client answered where the
	// head was not sent) before the server drops their connections.
	herr := h.Close(sctx)
	if err != nil {
		_ = srv.Close() // the grace ran out: drop what is left
	}
	err = errors.Join(err, herr, side.close())
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("wfn: in-flight invocations did not finish within %s: %w", grace, err)
	}
	return err
}

// readyAddr is the address to print: a wildcard listen address becomes
// localhost, which a browser can open.
func readyAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
}

func buildCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build and compile every function under DIR/api; exit non-zero on any error",
		ArgsUsage: "[DIR]",
		Flags:     hostFlags(),
		Action: func(c *cli.Context) error {
			cfg, err := hostConfig(c, stderr)
			if err != nil {
				return err
			}
			cfg.MinInstances = 0 // nothing will be served
			h, err := host.New(c.Context, cfg)
			if err != nil {
				return err
			}
			defer h.Close(context.WithoutCancel(c.Context))
			var failed int
			fns := h.Functions()
			for _, fn := range fns {
				if fn.Err != nil {
					failed++
					fmt.Fprintf(stdout, "FAIL %s\n     %s\n", fn.Source, strings.ReplaceAll(fn.Err.Error(), "\n", "\n     "))
					continue
				}
				fmt.Fprintf(stdout, "ok   %s -> %s\n", fn.Source, fn.Route)
			}
			fmt.Fprintf(stdout, "%d functions, %d failed\n", len(fns), failed)
			if failed > 0 {
				return fmt.Errorf("%w: %d of %d", ErrLoad, failed, len(fns))
			}
			return nil
		},
	}
}

// Main is what package main calls: it runs the command with the process's
// arguments, stops on SIGINT or SIGTERM (a second signal exits at once),
// and exits non-zero on error.
func Main() {
	ctx, stop := notifyContext(context.Background())
	defer stop()
	if err := Run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
