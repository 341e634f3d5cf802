package admin

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/wfn-dev/wfn/host"
)

// Sizes of what a Monitor keeps.
const (
	// KeptErrors is how many error logs are kept on disk, as Vercel keeps
	// the last 2,000 error logs of a project's functions.
	KeptErrors = 2000
	// keptLogs is how many recent log records are kept in memory.
	keptLogs = 1000
	// keptDurations is how many recent durations per function make its
	// percentiles.
	keptDurations = 1000
)

// Record is one log record as the dashboard shows it.
type Record struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Msg   string    `json:"msg"`
	// Fn and ID are the function and request id the record is about, when
	// it has them.
	Fn    string            `json:"fn,omitempty"`
	ID    string            `json:"id,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`

	level slog.Level
}

// Invocation is one request as the dashboard shows it: a host.AccessEntry
// in JSON.
type Invocation struct {
	Time       time.Time `json:"time"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	DurationMS float64   `json:"duration_ms"`
	Bytes      int64     `json:"bytes"`
	Fn         string    `json:"fn,omitempty"`
	ID         string    `json:"id"`
	Fresh      bool      `json:"fresh"`
	Cache      string    `json:"cache,omitempty"`
}

// event is one server-sent event.
type event struct {
	name string // "invocation" or "log"
	data []byte // JSON
}

// Monitor watches a host through its log and its access entries: it is
// the slog.Handler to give host.Config.Logger (it passes every record on
// to the next handler), and its Access method is host.Config.OnAccess. It
// keeps the recent logs in memory, the last KeptErrors error logs on disk
// (records at level ERROR and the guests' stderr), each function's recent
// durations, and the request metrics; and it pushes invocations and logs
// to the dashboard's open pages.
type Monitor struct {
	next   slog.Handler
	attrs  []slog.Attr // of WithAttrs
	group  string      // of WithGroup, with a trailing dot
	shared *monitorState
}

type monitorState struct {
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec

	mu      sync.Mutex
	recent  []Record // a ring of keptLogs
	next    int      // recent's next slot
	errors  []Record // the last KeptErrors, oldest first
	pending []Record // errors not yet on disk
	db      *bolt.DB
	flush   chan struct{}
	flushed chan struct{} // closed when the writer has stopped
	subs    map[chan event]struct{}
	nsubs   atomic.Int32 // len(subs), read without mu

	// perFn holds each function's stats ("" for the requests no function
	// answered): a map copied on write under fnMu when a function is new,
	// so that a request finds its function's without a lock (a read lock
	// is a write to memory every core shares), and updates them with
	// atomics.
	fnMu  sync.Mutex
	perFn atomic.Pointer[map[string]*fnStats]
}

// fnStats is what a Monitor keeps of one function: its metrics' series,
// resolved once rather than by their labels on every request, and its
// latest durations.
type fnStats struct {
	observer prometheus.Observer // of wfn_request_duration_seconds
	// counters are its wfn_requests_total series by status code, a map
	// copied on write (under monitorState.fnMu) when a status is new.
	counters atomic.Pointer[map[int]prometheus.Counter]
	// n counts the durations recorded; last is a ring of the latest
	// keptDurations of them, in milliseconds (math.Float64bits), the
	// n-th in slot (n-1) % keptDurations. A reader may see a slot taken
	// but not yet written, as 0 or the duration it held before.
	n    atomic.Uint64
	last [keptDurations]atomic.Uint64
}

var _ slog.Handler = (*Monitor)(nil)

// NewMonitor returns a Monitor that passes the records on to next.
func NewMonitor(next slog.Handler) *Monitor {
	return &Monitor{next: next, shared: &monitorState{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wfn_requests_total",
			Help: "Requests answered, by function (source path; empty for static files, redirects and 404s) and status code.",
		}, []string{"fn", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wfn_request_duration_seconds",
			Help:    "Time from a request's arrival to its response's end, by function.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"fn"}),
		recent: make([]Record, 0, keptLogs),
		subs:   map[chan event]struct{}{},
	}}
}

// Enabled is the next handler's.
func (m *Monitor) Enabled(ctx context.Context, l slog.Level) bool { return m.next.Enabled(ctx, l) }

// WithAttrs returns a Monitor that adds attrs to every record.
func (m *Monitor) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *m
	c.next = m.next.WithAttrs(attrs)
	for _, a := range attrs {
		a.Key = m.group + a.Key
		c.attrs = append(slices.Clip(c.attrs), a)
	}
	return &c
}

// WithGroup returns a Monitor that qualifies the next attributes by name.
func (m *Monitor) WithGroup(name string) slog.Handler {
	c := *m
	c.next = m.next.WithGroup(name)
	c.group = m.group + name + "."
	return &c
}

// Handle passes r on, then keeps and pushes it.
func (m *Monitor) Handle(ctx context.Context, r slog.Record) error {
	err := m.next.Handle(ctx, r)
	rec := Record{Time: r.Time, Level: r.Level.String(), Msg: r.Message, level: r.Level}
	add := func(a slog.Attr) {
		a.Value = a.Value.Resolve()
		switch a.Key {
		case "fn":
			rec.Fn = a.Value.String()
		case "id":
			rec.ID = a.Value.String()
		default:
			if rec.Attrs == nil {
				rec.Attrs = map[string]string{}
			}
			rec.Attrs[a.Key] = a.Value.String()
		}
	}
	for _, a := range m.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		a.Key = m.group + a.Key
		add(a)
		return true
	})
	if rec.Msg == "request" && rec.Attrs["method"] != "" {
		return err // the access log: the dashboard has it as an invocation
	}
	m.shared.keep(rec)
	return err
}

// keep adds rec to the recent logs, the error log when it is an error,
// and sends it to the pages.
func (s *monitorState) keep(rec Record) {
	data, _ := json.Marshal(rec)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) < keptLogs {
		s.recent = append(s.recent, rec)
	} else {
		s.recent[s.next] = rec
	}
	s.next = (s.next + 1) % keptLogs
	if rec.level >= slog.LevelError || rec.Attrs["stream"] == "stderr" {
		s.errors = append(s.errors, rec)
		if len(s.errors) > KeptErrors {
			s.errors = slices.Delete(s.errors, 0, len(s.errors)-KeptErrors)
		}
		s.pending = append(s.pending, rec)
		if len(s.pending) > KeptErrors {
			// Not written yet (no error log open, or a slow disk): the
			// oldest would be dropped from the file anyway.
			s.pending = slices.Delete(s.pending, 0, len(s.pending)-KeptErrors)
		}
		if s.flush != nil {
			select {
			case s.flush <- struct{}{}:
			default:
			}
		}
	}
	s.sendLocked(event{"log", data})
}

// sendLocked pushes e to every page, dropping it for a page that is
// behind.
func (s *monitorState) sendLocked(e event) {
	for ch := range s.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Access is host.Config.OnAccess: it counts the request, keeps its
// duration and pushes it to the pages (made into JSON only when a page is
// open).
func (m *Monitor) Access(e host.AccessEntry) {
	s := m.shared
	ms := float64(e.Duration.Microseconds()) / 1000
	var data []byte
	if s.nsubs.Load() > 0 {
		data, _ = json.Marshal(Invocation{
			Time: e.Start, Method: e.Method, Path: e.Path, Status: e.Status, DurationMS: ms,
			Bytes: e.Bytes, Fn: e.Function, ID: e.ID, Fresh: e.Fresh, Cache: e.Cache,
		})
	}
	st := s.stats(e.Function)
	st.counter(s, e.Function, e.Status).Inc()
	st.observer.Observe(e.Duration.Seconds())
	if e.Function != "" {
		n := st.n.Add(1)
		st.last[(n-1)%keptDurations].Store(math.Float64bits(ms))
	}
	if data != nil {
		s.mu.Lock()
		s.sendLocked(event{"invocation", data})
		s.mu.Unlock()
	}
}

// stats returns fn's stats, made on its first request.
func (s *monitorState) stats(fn string) *fnStats {
	if st := s.fnStats(fn); st != nil {
		return st
	}
	s.fnMu.Lock()
	defer s.fnMu.Unlock()
	if st := s.fnStats(fn); st != nil {
		return st
	}
	st := &fnStats{observer: s.durations.WithLabelValues(fn)}
	st.counters.Store(&map[int]prometheus.Counter{})
	m := map[string]*fnStats{fn: st}
	if old := s.perFn.Load(); old != nil {
		m = maps.Clone(*old)
		m[fn] = st
	}
	s.perFn.Store(&m)
	return st
}

// fnStats returns fn's stats, or nil before its first request.
func (s *monitorState) fnStats(fn string) *fnStats {
	if m := s.perFn.Load(); m != nil {
		return (*m)[fn]
	}
	return nil
}

// counter returns the wfn_requests_total series of fn's requests
// answered with status.
func (st *fnStats) counter(s *monitorState, fn string, status int) prometheus.Counter {
	if c := (*st.counters.Load())[status]; c != nil {
		return c
	}
	s.fnMu.Lock()
	defer s.fnMu.Unlock()
	old := *st.counters.Load()
	if c := old[status]; c != nil {
		return c
	}
	c := s.requests.WithLabelValues(fn, strconv.Itoa(status))
	m := maps.Clone(old)
	m[status] = c
	st.counters.Store(&m)
	return c
}

// percentiles returns the requests seen for fn and the p50 and p99 of
// their latest durations, in milliseconds (nearest rank).
func (m *Monitor) percentiles(fn string) (n uint64, p50, p99 float64) {
	st := m.shared.fnStats(fn)
	if st == nil {
		return 0, 0, 0
	}
	n = st.n.Load()
	if n == 0 {
		return 0, 0, 0
	}
	d := make([]float64, min(n, keptDurations))
	for i := range d {
		d[i] = math.Float64frombits(st.last[i].Load())
	}
	slices.Sort(d)
	rank := func(p float64) float64 {
		i := int(p*float64(len(d))+0.999999) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return n, rank(0.50), rank(0.99)
}

// subscribe returns a channel of the events from now on; unsubscribe it.
func (m *Monitor) subscribe() chan event {
	ch := make(chan event, 256)
	m.shared.mu.Lock()
	m.shared.subs[ch] = struct{}{}
	m.shared.nsubs.Store(int32(len(m.shared.subs)))
	m.shared.mu.Unlock()
	return ch
}

func (m *Monitor) unsubscribe(ch chan event) {
	m.shared.mu.Lock()
	delete(m.shared.subs, ch)
	m.shared.nsubs.Store(int32(len(m.shared.subs)))
	m.shared.mu.Unlock()
}

// levelFilter keeps the records at its level or above; the zero value
// is DEBUG, which keeps all.
type levelFilter struct{ min slog.Level }

func (f *levelFilter) parse(s string) error {
	f.min = slog.LevelDebug
	if s == "" {
		return nil
	}
	if err := f.min.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("level %q: want debug, info, warn or error", s)
	}
	return nil
}

// logs returns the recent logs, or the error log, of fn ("" for all) at
// the filter's level or above, oldest first.
func (m *Monitor) logs(errors bool, fn string, f levelFilter) []Record {
	s := m.shared
	s.mu.Lock()
	var all []Record
	if errors {
		all = slices.Clone(s.errors)
	} else {
		all = slices.Clone(s.recent)
		if len(s.recent) == keptLogs {
			all = append(slices.Clone(s.recent[s.next:]), s.recent[:s.next]...)
		}
	}
	s.mu.Unlock()
	out := []Record{}
	for _, r := range all {
		if (fn == "" || r.Fn == fn) && r.level >= f.min {
			out = append(out, r)
		}
	}
	return out
}

var errorsBucket = []byte("errors")

// open opens the error log at path, loads what it kept, and starts
// writing the new error logs to it. A file another process holds is
// not waited for: the error log is then kept in memory only.
func (m *Monitor) open(path string) error {
	s := m.shared
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		m.next.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelWarn, "the error log is kept in memory only: cannot open "+path+": "+err.Error(), 0))
		return nil
	}
	var kept []Record
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(errorsBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			var r Record
			if json.Unmarshal(v, &r) == nil {
				_ = r.level.UnmarshalText([]byte(r.Level))
				kept = append(kept, r)
			}
			return nil
		})
	})
	if err != nil {
		db.Close()
		return fmt.Errorf("wfn: cannot read the error log %s: %w", path, err)
	}
	s.mu.Lock()
	s.errors = append(kept, s.errors...)
	if len(s.errors) > KeptErrors {
		s.errors = slices.Delete(s.errors, 0, len(s.errors)-KeptErrors)
	}
	s.db = db
	s.flush = make(chan struct{}, 1)
	s.flushed = make(chan struct{})
	s.mu.Unlock()
	go s.writer(db, s.flush)
	s.flush <- struct{}{} // what was logged before open
	return nil
}

// writer writes the pending error logs to db, in batches, until close
// closes flush.
func (s *monitorState) writer(db *bolt.DB, flush <-chan struct{}) {
	defer close(s.flushed)
	for range flush {
		s.write(db)
	}
	s.write(db)
}

// write writes the pending error logs and drops the oldest past
// KeptErrors.
func (s *monitorState) write(db *bolt.DB) {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(errorsBucket)
		for _, r := range batch {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			v, _ := json.Marshal(r)
			if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), v); err != nil {
				return err
			}
		}
		extra := b.Stats().KeyN - KeptErrors
		c := b.Cursor()
		for k, _ := c.First(); k != nil && extra > 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			extra--
		}
		return nil
	})
}

// close writes what is pending and closes the error log.
func (m *Monitor) close() error {
	s := m.shared
	s.mu.Lock()
	db, flush := s.db, s.flush
	s.db, s.flush = nil, nil
	s.mu.Unlock()
	if db == nil {
		return nil
	}
	close(flush)
	<-s.flushed
	return db.Close()
}
