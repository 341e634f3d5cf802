package host

import "github.com/wfn-dev/wfn/host/internal/cronjob"

// WithCronClock makes the host's cron jobs run on clock.
func WithCronClock(cfg Config, clock cronjob.Clock) Config {
	cfg.cronClock = clock
	return cfg
}
