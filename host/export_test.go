package host

import "github.com/wfn-dev/wfn/host/internal/cronjob"

// WithInterpreter runs every function on Config.TieredReload's first
// tier, wazero's interpreter.
func WithInterpreter(cfg Config) Config {
	cfg.interpretAll = true
	return cfg
}

// WithTierGate makes Config.TieredReload's swaps to compiled code wait
// until gate is closed.
func WithTierGate(cfg Config, gate <-chan struct{}) Config {
	cfg.tierGate = gate
	return cfg
}

// WithReloadGate makes Reload call gate once its functions are built,
// before it swaps them in.
func WithReloadGate(cfg Config, gate func()) Config {
	cfg.reloadGate = gate
	return cfg
}

// WithCronClock makes the host's cron jobs run on clock.
func WithCronClock(cfg Config, clock cronjob.Clock) Config {
	cfg.cronClock = clock
	return cfg
}

// WithLoadGate makes the loading of each function call gate with its
// source first.
func WithLoadGate(cfg Config, gate func(source string)) Config {
	cfg.loadGate = gate
	return cfg
}
