package cache

// Waiters is the number of callers waiting for the call for k in flight
// in g, or 0.
func Waiters(g *Group, k Key) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[k]; ok {
		return c.waiters
	}
	return 0
}

// InFlight is the number of calls in flight in g.
func InFlight(g *Group) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// SameSlot reports whether a and b share a slot of Group.FinishedSince.
func SameSlot(a, b Key) bool { return slotOf(a) == slotOf(b) }
