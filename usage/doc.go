// Package usage is the gateway's usage and cost ledger: the tokens and the
// cost of every answer, per provider, model, route and API client, rolled
// up per hour, day and month.
//
// # Recording
//
// The server records one [Entry] per answer it serves: a fresh answer
// with the tokens the provider billed and its cost, a cache hit with zero
// cost and the cost it saved, a stale or degraded answer with neither.
// [Store.Record] adds the entry to the hour, the day and the month it
// falls in (UTC). Amounts of money are kept as integer nano-dollars
// ([Nanos]), so that any sum of entries is exact: a report adds up to the
// sum of the answers' own costs to well below a cent.
//
// # Stores
//
// [MemoryStore] keeps the ledger in the process (the default);
// [RedisStore] keeps it in Redis, so that the replicas of a gateway add to
// one ledger. Both keep the last [DefaultRetention] of each granularity
// and pass the same conformance suite (package usagetest).
//
// # Reporting
//
// [Report] reads a time range from a store and sums it per bucket and per
// the dimensions asked for, after filtering by provider, model, route and
// client.
package usage
