package host

import (
	"context"
	"net/http"
	"time"

	"github.com/wfn-dev/wfn/host/internal/cronjob"
	"github.com/wfn-dev/wfn/host/internal/project"
)

// cronUserAgent is the user-agent of Vercel's cron invocations
// (vercel.com/docs/cron-jobs/manage-cron-jobs).
const cronUserAgent = "vercel-cron/1.0"

// startCrons runs the project's cron jobs until Close, when RunCrons is
// set; otherwise it logs that they are off. A schedule already running (of
// the configuration before a Reload) is stopped first; its runs in
// progress go on.
func (h *Host) startCrons(proj *project.Project, clock cronjob.Clock) {
	h.cronMu.Lock()
	defer h.cronMu.Unlock()
	if h.stopCron != nil {
		h.stopCron()
		h.stopCron = nil
	}
	crons := proj.Crons
	if len(crons) == 0 {
		return
	}
	if !h.cfg.RunCrons {
		h.log.Info("cron jobs are off", "jobs", len(crons))
		return
	}
	jobs := make([]cronjob.Job, len(crons))
	for i, c := range crons {
		jobs[i] = cronjob.Job{Path: c.Path, Schedule: c.When}
	}
	if clock == nil {
		clock = cronjob.Real
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	h.stopCron = cancel
	h.crons = append(h.crons, stopped)
	h.log.Info("cron jobs on", "jobs", len(jobs))
	go func() {
		defer close(stopped)
		cronjob.Run(ctx, clock, jobs, func(ctx context.Context, j cronjob.Job) {
			// Stopping the schedule does not abort a run: Close drains it.
			h.runCron(context.WithoutCancel(ctx), j)
		})
	}()
}

// stopCrons stops the schedule. The runs in progress are invocations
// like the others: Close drains them, then waitCrons waits for the
// schedulers to end.
func (h *Host) stopCrons() {
	h.cronMu.Lock()
	defer h.cronMu.Unlock()
	if h.stopCron != nil {
		h.stopCron()
		h.stopCron = nil
	}
}

func (h *Host) waitCrons() {
	h.cronMu.Lock()
	crons := h.crons
	h.cronMu.Unlock()
	for _, c := range crons {
		<-c
	}
}

// runCron sends one cron job's request through the host, as Vercel sends
// it to the deployment, and logs its status and duration.
func (h *Host) runCron(ctx context.Context, job cronjob.Job) {
	start := time.Now()
	host := h.cfg.URL
	if host == "" {
		host = "localhost"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+job.Path, nil)
	if err != nil {
		h.log.Error("cron job failed", "path", job.Path, "err", err)
		return
	}
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("User-Agent", cronUserAgent)
	if secret := h.cronSecret(); secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	w := &discardWriter{header: http.Header{}}
	h.ServeHTTP(w, req)
	h.log.Info("cron job ran", "path", job.Path, "status", w.status(), "took", time.Since(start).Round(time.Millisecond))
}

// cronSecret is CRON_SECRET of the project's environment, as a guest
// would see it outside its function's own env.
func (h *Host) cronSecret() string {
	proj := h.st.Load().project
	for _, env := range []map[string]string{h.cfg.Env, proj.Dotenv, proj.Env} {
		if s := env["CRON_SECRET"]; s != "" {
			return s
		}
	}
	return ""
}

// discardWriter is the response writer of a cron run: it keeps the
// status and drops the body, as Vercel does.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

func (w *discardWriter) Flush() {}

func (w *discardWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
