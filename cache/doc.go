// Package cache is the gateway's exact-match answer cache: an answer is
// served again only for a request that is the same, byte for byte, in
// everything that can change the answer.
//
// # Keys
//
// A [Key] is the SHA-256 of a versioned, length-prefixed binary encoding of
// [KeyParts]: the client, route, variant, provider and model, every message
// (role and content, in order) and every generation parameter of the
// provider-neutral request (max_tokens, temperature, top_p, stop sequences,
// seed; a parameter that is absent is encoded differently from any value it
// may take). Every variable-length field carries its length, so no two
// different requests encode to the same bytes ("ab"+"c" is not "a"+"bc"),
// and SHA-256 makes it infeasible to craft two requests with the same key,
// which a fast non-cryptographic hash would not. The encoding is stable
// across releases: a change to it bumps its version byte, so replicas of
// two releases never read each other's entries under a wrong meaning.
//
// # Partitioning
//
// [KeyParts.Client] is the client's identity (the API key's id, the
// tenant) and is part of every key: no client ever reads an answer cached
// for another. A deployment that must not share answers between the end
// users of one client puts the user into Client as well. The request's
// User field (an abuse-monitoring id forwarded to vendors) does not change
// the answer and is not part of the key.
//
// # Freshness
//
// [Store.Set] takes two durations. Until ttl has passed the entry is
// [Fresh]: it may answer a request instead of the provider. For maxStale
// after that it is [Stale]: it is still kept, but only the failover chain's
// stale-if-error step uses it, when every provider has failed. After
// ttl+maxStale it is gone ([Miss]). The boundaries are stamped into the
// [Entry] when it is stored ([Entry.ExpiresAt], [Entry.StaleUntil]), so
// every replica judges an entry the same way; the Redis store also sets the
// key's own expiry to ttl+maxStale.
//
// # Stores
//
// [MemoryStore] is the embedded default: one process, bounded by the total
// size of its entries. [RedisStore] is shared by every replica on one
// Redis; it bounds every operation by a short timeout and, when Redis is
// unreachable, reports a miss together with the error, so a cache outage
// costs provider calls, never a failed or stalled request. Both refuse an
// entry larger than their maximum entry size with a [*TooLargeError].
// Package cachetest holds the conformance suite both pass.
//
// # Coalescing
//
// A [Group] makes concurrent identical requests share one upstream call.
// The first caller of a key starts the work on a context detached from its
// own (it keeps the caller's values, loses its cancellation and gains the
// group's bound); every caller, the first included, waits on its own
// context and may leave early without disturbing the others. The work is
// canceled only when every caller waiting for it has gone.
//
// # Streams
//
// A cached answer is replayed to a streaming caller as deltas cut on word
// boundaries by [Entry.Chunks].
package cache
