package cooldown

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is the [Store] of one replica.
type MemoryStore struct {
	mu    sync.Mutex
	until map[string]time.Time
	now   func() time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{until: map[string]time.Time{}, now: time.Now}
}

// Hold implements [Store].
func (s *MemoryStore) Hold(_ context.Context, provider string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	until := s.now().Add(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.until[provider]; !ok || cur.Before(until) {
		s.until[provider] = until
	}
	return nil
}

// Remaining implements [Store]. An expired cooldown is forgotten.
func (s *MemoryStore) Remaining(_ context.Context, provider string) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.until[provider]
	if !ok {
		return 0, nil
	}
	left := until.Sub(s.now())
	if left <= 0 {
		delete(s.until, provider)
		return 0, nil
	}
	return left, nil
}

var _ Store = (*MemoryStore)(nil)
