// Package cooldown remembers which providers asked the gateway to leave
// them alone, and until when: a provider that answered 429 with a
// Retry-After is cooled down for that long, and every request skips it
// until then instead of calling it again.
//
// [MemoryStore] is the embedded default, for one replica; [RedisStore]
// shares cooldowns between every replica on one Redis. Both run the
// conformance suite in package cooldowntest.
package cooldown

import (
	"context"
	"time"
)

// Store holds cooldowns. Implementations must be safe for concurrent use.
type Store interface {
	// Hold cools provider down for d from now. A cooldown already in
	// place that ends later is kept; d <= 0 does nothing.
	Hold(ctx context.Context, provider string, d time.Duration) error
	// Remaining is how long provider stays cooled down, 0 when it is not.
	Remaining(ctx context.Context, provider string) (time.Duration, error)
}
