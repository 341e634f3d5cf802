// Package conns lists the open connections that belong to the instance
// (wfnnet's, dialed for a pool), so that package wfn can release those
// of an attached pool that has no call of its own to close its idle
// connections (go-redis).
package conns

import "sync"

// Releaser is an open connection.
type Releaser interface {
	// Release closes the connection as if the peer had closed it: the
	// next read returns io.EOF, so the pool that holds it drops it.
	Release()
}

var (
	mu   sync.Mutex
	open = map[Releaser]string{} // connection -> the address it was dialed with
)

// Add lists c, dialed with address addr ("host:port").
func Add(c Releaser, addr string) {
	mu.Lock()
	defer mu.Unlock()
	open[c] = addr
}

// Remove forgets c.
func Remove(c Releaser) {
	mu.Lock()
	defer mu.Unlock()
	delete(open, c)
}

// ReleaseTo releases every listed connection dialed with address addr
// and returns how many.
func ReleaseTo(addr string) int {
	mu.Lock()
	var rs []Releaser
	for c, a := range open {
		if a == addr {
			rs = append(rs, c)
		}
	}
	mu.Unlock()
	for _, c := range rs {
		c.Release()
	}
	return len(rs)
}
