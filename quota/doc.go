// Package quota is the gateway's token quota and budget engine: it
// enforces rate_limits.json (config.RateLimits) on every request.
//
// # Limits and counters
//
// Every limit whose routes and clients filters include a request applies
// to it, and the request must fit all of them. A limit keeps its counters
// per the values of its scope (api_key = the client's quota group, user,
// route): the counter key is the limit's name and those values, e.g.
// "per_user|user=u42", followed by the dimension ("|rpm", "|tpm",
// "|streams", "|day=2025-11-25", "|month=2025-11").
//
//   - requests_per_minute and tokens_per_minute are GCRA windows (a leaky
//     bucket that drains the limit per minute): a full limit may be used at
//     once, then it refills continuously; a refusal says exactly when the
//     request would fit.
//   - concurrent_streams counts leased slots: a stream takes one until its
//     reservation is committed or released, or its lease
//     ([Options.StreamLease]) ends, whichever comes first.
//   - usd_per_day and usd_per_month compare the USD spent in the current
//     UTC day or month with the budget: a request is admitted while the
//     spend is below it, so spend stops within the cost of the requests in
//     flight when it is reached. An [Observer] is told once per period and
//     counter when the spend crosses 80% and 100%.
//
// # The life of a request
//
// [Limiter.Reserve] checks and consumes every matching counter at once,
// or nothing (an [*ExceededError] names the limit, its remaining amount
// and when to retry). The reservation holds the estimated tokens (see
// [EstimateTokens]) and, for a stream, a slot; [Reservation.Remaining]
// tells what each counter has left. A request with
// [Request.IgnoreBudgets] is not held to its budgets, but still pays
// into them. [Reservation.Commit] with
// the real token count and cost refunds or charges the difference and
// adds the cost to the budgets; [Reservation.Release] (the request failed
// before it cost anything) refunds the tokens and frees the slot, while
// the request still counts toward requests_per_minute.
//
// # Stores
//
// A [MemoryStore] serves one replica. A [RedisStore] lets every replica
// enforce one limit: each reservation is one Lua script over all its
// counters, keys under "llmgw:quota:" expire when they no longer hold
// anything. When the shared store fails, a [FailOpen] limiter (the
// default) falls back to a local in-memory limiter with the same limits,
// so each replica enforces them on its own traffic until the store
// answers again; a [FailClosed] limiter refuses with [ErrUnavailable].
package quota
