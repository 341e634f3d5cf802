package host

import (
	"bytes"
	"context"
	"log/slog"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/fluid"
	"github.com/wfn-dev/wfn/host/internal/gobuild"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/jsbuild"
)

// maxLogLine bounds one guest log line; a longer one is split.
const maxLogLine = 16 << 10

// guestLog turns a guest's stdout or stderr into log lines carrying the
// function and the request id of the invocation being served. It is used
// only by the goroutine running the instance.
type guestLog struct {
	log    *slog.Logger
	fn     string
	stream string
	inv    *hostcall.Invocation // nil between invocations
	// loop, for a version 2 instance, tells the invocation in flight
	// when it is the only one (fluid.Loop.SoleRequestID); nil before the
	// instance has one, and for version 1.
	loop *fluid.Loop
	buf  []byte
	// srcmap, when not nil, tells the positions in a script's bundle in
	// the user's files (stack traces).
	srcmap *jsbuild.SourceMap
	// goNames, for a Go file in Vercel's shape, names the functions of
	// its generated package by the file's package (gobuild.TraceNames).
	goNames bool
	// holding keeps the lines in held instead of logging them, until
	// release or until maxHeld lines.
	holding bool
	held    []string
	// script: the guest is the JavaScript runtime, whose stderr says
	// "Uncaught exception..." before it stops an invocation (wfnjs.c's
	// fail); uncaught is set by that line until the next begin.
	script, uncaught bool
}

// uncaughtPrefix starts the JavaScript runtime's account of an exception
// that ends an invocation.
const uncaughtPrefix = "Uncaught exception"

// maxHeld bounds the lines a guestLog holds: past it, they are logged.
const maxHeld = 256

func (g *guestLog) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			g.buf = append(g.buf, p...)
			if len(g.buf) >= maxLogLine {
				g.flush()
			}
			break
		}
		g.buf = append(g.buf, p[:i]...)
		g.flush()
		p = p[i+1:]
	}
	return n, nil
}

// flush emits what is buffered as one line.
func (g *guestLog) flush() {
	if len(g.buf) == 0 {
		return
	}
	line := g.srcmap.Rewrite(string(g.buf))
	if g.goNames {
		line = gobuild.TraceNames(line)
	}
	g.buf = g.buf[:0]
	if g.holding {
		if g.held = append(g.held, line); len(g.held) >= maxHeld {
			g.emit(g.release())
		}
		return
	}
	g.logLine(line)
}

func (g *guestLog) logLine(line string) {
	if g.script && g.inv != nil && strings.HasPrefix(line, uncaughtPrefix) {
		g.uncaught = true
	}
	attrs := []any{"fn", g.fn, "stream", g.stream}
	if g.inv != nil {
		attrs = append(attrs, "id", g.inv.ID)
	} else if g.loop != nil {
		if id := g.loop.SoleRequestID(); id != "" {
			attrs = append(attrs, "id", id)
		}
	}
	level := slog.LevelInfo
	if g.stream == "stderr" {
		level = slog.LevelWarn
	}
	g.log.Log(context.Background(), level, line, attrs...)
}

// release stops holding lines and returns those held.
func (g *guestLog) release() []string {
	held := g.held
	g.holding, g.held = false, nil
	return held
}

// emit logs lines.
func (g *guestLog) emit(lines []string) {
	for _, l := range lines {
		g.logLine(l)
	}
}
