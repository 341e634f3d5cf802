//go:build race

package cli_test

// raceEnabled is true in builds with the race detector.
const raceEnabled = true
