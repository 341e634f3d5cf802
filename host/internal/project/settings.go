package project

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// Settings are one function's settings. Unset is nil, for every field: a
// nil pointer, a nil map, a nil slice. Merge lays them over each other,
// and Defaults sets every one, so that Merge(Defaults(), ...) leaves none
// unset.
type Settings struct {
	// MaxDuration bounds one invocation (Vercel's maxDuration).
	MaxDuration *time.Duration
	// MemoryMB caps each instance's linear memory (Vercel's memory).
	MemoryMB *int
	// SupportsCancellation lets an aborted request stop the invocation
	// (Vercel's supportsCancellation).
	SupportsCancellation *bool
	// MaxConcurrency bounds the live instances of the function, and so
	// its concurrent invocations (Vercel's maxConcurrency).
	MaxConcurrency *int
	// MaxQueue bounds the invocations waiting for an instance.
	MaxQueue *int
	// QueueTimeout bounds how long an invocation waits for an instance.
	QueueTimeout *time.Duration
	// Env adds variables to the function's environment (a wfn
	// extension). Merge merges it key by key.
	Env map[string]string
	// AllowedOutboundHosts replaces the default outbound policy with an
	// allow list of host[:port] patterns (a wfn extension); empty and not
	// nil: no host at all.
	AllowedOutboundHosts []string
	// Isolation is IsolationInstance or IsolationInvocation.
	Isolation *string
	// Snapshot starts instances from an image of memory and globals
	// taken after initialisation.
	Snapshot *bool
	// MinInstances are created when the host starts and kept idle in
	// reserve.
	MinInstances *int
	// IdleTimeout closes an instance idle this long, beyond the reserve;
	// 0: never.
	IdleTimeout *time.Duration
	// MaxInvocations retires an instance after this many invocations; 0:
	// no limit.
	MaxInvocations *int
	// InstanceConcurrency bounds the invocations one instance of an ABI
	// v2 guest serves at once (a wfn extension: Vercel documents no name
	// for it; abi/SPEC-v2.md section 4). Version 1 instances serve one.
	InstanceConcurrency *int
	// Fluid serves the function under Vercel's Fluid compute: many
	// invocations at once in one instance. For a Go function wfn builds
	// it with the SDK's ABI version 2 runtime (abi/SPEC-v2.md); vercel.json's
	// top-level "fluid" sets it for every function, a functions rule's
	// "fluid" (a wfn extension) for its own.
	Fluid *bool
}

// Isolation modes.
const (
	IsolationInstance   = "instance"
	IsolationInvocation = "invocation"
)

// Defaults are the host's defaults, every field set: maxDuration 300 s
// and memory 2048 MB as Vercel's defaults (vercel.com/docs/functions/
// configuring-functions), 100 instances and 1000 waiting invocations per
// function, a 10 s queue, warm reused instances from snapshots, idle ones
// closed after 5 minutes.
func Defaults() Settings {
	return Settings{
		MaxDuration:          new(300 * time.Second),
		MemoryMB:             new(2048),
		SupportsCancellation: new(false),
		MaxConcurrency:       new(100),
		MaxQueue:             new(1000),
		QueueTimeout:         new(10 * time.Second),
		Env:                  map[string]string{},
		AllowedOutboundHosts: nil, // the outbound package's default policy
		Isolation:            new(IsolationInstance),
		Snapshot:             new(true),
		Fluid:                new(false),
		MinInstances:         new(0),
		IdleTimeout:          new(5 * time.Minute),
		MaxInvocations:       new(0),
		InstanceConcurrency:  new(1000),
	}
}

// Merge lays the layers over each other, weakest first: a field set in a
// later layer wins. Env is merged key by key.
func Merge(layers ...Settings) Settings {
	var s Settings
	for _, l := range layers {
		over(&s.MaxDuration, l.MaxDuration)
		over(&s.MemoryMB, l.MemoryMB)
		over(&s.SupportsCancellation, l.SupportsCancellation)
		over(&s.MaxConcurrency, l.MaxConcurrency)
		over(&s.MaxQueue, l.MaxQueue)
		over(&s.QueueTimeout, l.QueueTimeout)
		over(&s.Isolation, l.Isolation)
		over(&s.Snapshot, l.Snapshot)
		over(&s.Fluid, l.Fluid)
		over(&s.MinInstances, l.MinInstances)
		over(&s.IdleTimeout, l.IdleTimeout)
		over(&s.MaxInvocations, l.MaxInvocations)
		over(&s.InstanceConcurrency, l.InstanceConcurrency)
		if l.AllowedOutboundHosts != nil {
			s.AllowedOutboundHosts = l.AllowedOutboundHosts
		}
		if l.Env != nil {
			if s.Env == nil {
				s.Env = map[string]string{}
			}
			maps.Copy(s.Env, l.Env)
		}
	}
	return s
}

func over[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

// Validate checks what holds for settings from any source (the file's
// own limits, Vercel's, are checked when it is read): an isolation mode
// wfn knows and no negative count or duration.
func (s Settings) Validate() error {
	if s.Isolation != nil && *s.Isolation != IsolationInstance && *s.Isolation != IsolationInvocation {
		return fmt.Errorf("%w: isolation %q: want %q or %q", ErrInvalid, *s.Isolation, IsolationInstance, IsolationInvocation)
	}
	for name, v := range map[string]*int{"memory": s.MemoryMB, "maxConcurrency": s.MaxConcurrency, "maxQueue": s.MaxQueue, "minInstances": s.MinInstances, "maxInvocations": s.MaxInvocations, "instanceConcurrency": s.InstanceConcurrency} {
		if v != nil && *v < 0 {
			return fmt.Errorf("%w: %s %d: want 0 or more", ErrInvalid, name, *v)
		}
	}
	for name, v := range map[string]*time.Duration{"maxDuration": s.MaxDuration, "queueTimeout": s.QueueTimeout, "idleTimeout": s.IdleTimeout} {
		if v != nil && *v < 0 {
			return fmt.Errorf("%w: %s %s: want 0 or more", ErrInvalid, name, *v)
		}
	}
	return nil
}

// staticProps are the properties of a function's in-file config
// (`export const config = {...}`, VERCEL.md section 4.1) that wfn applies
// as settings; the others (runtime, regions, preferredRegion, architecture,
// useWebApi) are accepted and have no effect here, as vercel.json's
// regions. (The JavaScript runtime reads `runtime: "edge"` from the
// module's exports itself: the default export is then a Web handler.)
var staticProps = []string{"maxDuration", "memory", "supportsCancellation"}

// StaticSettings returns the settings of a function's in-file config, its
// properties as JSON by name (jsbuild.StaticConfig), checked as a
// vercel.json functions rule's are. A functions rule that matches the
// function is laid over them (Merge): vercel.json's value of a property
// wins over the file's.
func StaticSettings(config map[string]json.RawMessage) (Settings, error) {
	var s Settings
	for _, prop := range staticProps {
		if v, ok := config[prop]; ok {
			if err := s.set(prop, v); err != nil {
				return Settings{}, fmt.Errorf("%w: config.%s: %w", ErrInvalid, prop, err)
			}
		}
	}
	return s, nil
}
