package admin

// Percentiles is Monitor.percentiles, for the tests.
func Percentiles(m *Monitor, fn string) (n uint64, p50, p99 float64) { return m.percentiles(fn) }
