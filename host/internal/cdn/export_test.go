package cdn

// Compressions returns how many entries c has compressed.
func Compressions(c *Cache) int64 { return c.compressions.Load() }

// Waiters returns how many requests wait for the origin call of key.
func Waiters(c *Cache, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[key]; f != nil {
		return f.waiters
	}
	return 0
}
