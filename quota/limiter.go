package quota

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/careerpath/llmgateway/config"
)

// FailurePolicy is what a [Limiter] does when its store cannot answer.
type FailurePolicy uint8

const (
	// FailOpen answers from a local [MemoryStore] with the same limits,
	// so that each replica still enforces them on its own traffic (a
	// deployment of n replicas then admits up to n times a shared limit).
	// After a failure the limiter stays local for [Options.RetryStoreAfter]
	// before it tries the shared store again. It is the zero value.
	FailOpen FailurePolicy = iota
	// FailClosed refuses the request with an error matching
	// [ErrUnavailable].
	FailClosed
)

// Defaults of [Options].
const (
	// DefaultStreamLease bounds how long a stream holds its slot when its
	// reservation is never committed or released (a replica that died).
	DefaultStreamLease = 30 * time.Minute
	// DefaultRetryStoreAfter is how long a fail-open limiter stays on its
	// local store after the shared store failed.
	DefaultRetryStoreAfter = time.Second
)

// budgetGrace keeps a budget counter this long past its period.
const budgetGrace = time.Hour

// Options configure a [Limiter].
type Options struct {
	// Store keeps the counters; nil means a new [MemoryStore].
	Store Store
	// OnStoreFailure is the policy when Store fails (not when it refuses
	// a request); see [FailOpen] and [FailClosed].
	OnStoreFailure FailurePolicy
	// Observer, when set, is told of rejections, budget thresholds and
	// store errors.
	Observer Observer
	// StreamLease is the longest a stream holds its slot without being
	// committed or released; 0 means [DefaultStreamLease].
	StreamLease time.Duration
	// RetryStoreAfter: see [FailOpen]; 0 means [DefaultRetryStoreAfter].
	RetryStoreAfter time.Duration
	// Now is the clock; nil means [time.Now].
	Now func() time.Time
}

// Request is what a [Limiter] counts for one call.
type Request struct {
	// Client is the caller's quota group (auth.Client.QuotaGroup): the
	// value of the api_key scope.
	Client string
	// ClientName is the caller's client name (auth.Client.Name). A
	// limit's clients filter matches when it lists Client or ClientName.
	ClientName string
	// User is the caller's subject, the value of the user scope. An empty
	// user is one counter of its own, shared by every request without one.
	User string
	// Route is the route name, the value of the route scope.
	Route string
	// EstimatedTokens is the request's token estimate: its input
	// ([EstimateTokens]) plus its max_tokens.
	EstimatedTokens int64
	// Stream says the call is a stream, which takes a concurrent_streams
	// slot until it is committed or released.
	Stream bool
	// IgnoreBudgets admits the request whatever its budgets
	// (usd_per_day, usd_per_month) have spent: they are not checked, and
	// [Reservation.Remaining] has no entry for them. [Reservation.Commit]
	// still adds its cost to them, so the spend stays true. It serves a
	// route that goes on, on a cheaper variant, once a budget is spent.
	IgnoreBudgets bool
}

// Limiter enforces rate_limits.json. It is safe for concurrent use.
type Limiter struct {
	limits    atomic.Pointer[[]config.Limit]
	store     Store
	local     *MemoryStore // fail-open fallback; nil when store is local
	policy    FailurePolicy
	obs       Observer
	lease     time.Duration
	retry     time.Duration
	now       func() time.Time
	skipUntil atomic.Int64 // unix ns: until then a fail-open limiter stays local
}

// New returns a limiter of the limits in rl, counting in opts.Store.
func New(rl config.RateLimits, opts Options) *Limiter {
	l := &Limiter{
		store:  opts.Store,
		policy: opts.OnStoreFailure,
		obs:    opts.Observer,
		lease:  opts.StreamLease,
		retry:  opts.RetryStoreAfter,
		now:    opts.Now,
	}
	if l.store == nil {
		l.store = NewMemoryStore()
	}
	if _, ok := l.store.(*MemoryStore); !ok && l.policy == FailOpen {
		l.local = NewMemoryStore()
	}
	if l.obs == nil {
		l.obs = nopObserver{}
	}
	if l.lease <= 0 {
		l.lease = DefaultStreamLease
	}
	if l.retry <= 0 {
		l.retry = DefaultRetryStoreAfter
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.Update(rl)
	return l
}

// Update swaps in new limits (a config reload). Reservations made before
// are committed and released against the limits they were made with.
// Counters are kept by limit name, so a limit whose name stays keeps
// counting; a renamed one starts from zero.
func (l *Limiter) Update(rl config.RateLimits) {
	limits := slices.Clone(rl.Limits)
	l.limits.Store(&limits)
}

// counterRef ties a counter of a reservation to its limit.
type counterRef struct {
	limit string
	end   time.Time // budgets: the end of the period
}

// Reserve checks req against every limit that matches it and, if it
// fits all of them, consumes it: one request, its estimated tokens and,
// for a stream, a stream slot; budgets are checked (spent < budget),
// unless req.IgnoreBudgets, and charged later by [Reservation.Commit]
// either way. [Reservation.Remaining] tells what is left of each counter
// it reserved. If it does not fit one of them,
// nothing is consumed and the error is an [*ExceededError] (matching
// [ErrExceeded]). A store failure is an error matching [ErrUnavailable]
// under [FailClosed]. The caller must end every reservation with Commit
// or Release.
func (l *Limiter) Reserve(ctx context.Context, req Request) (*Reservation, error) {
	now := l.now()
	limits := *l.limits.Load()
	est := max(req.EstimatedTokens, 0)
	// Room for two counters per limit (a limit has up to five, but rarely
	// more than two, and not every limit matches) saves growing the slices.
	n := min(2*len(limits)+2, 16)
	cs := make([]Counter, 0, n)
	refs := make([]counterRef, 0, n)
	charges := false // budgets that Commit charges but Reserve did not check
	add := func(c Counter, ref counterRef) {
		cs = append(cs, c)
		refs = append(refs, ref)
	}
	var charged []budgetKey // every budget Commit charges, with its key now
	for i := range limits {
		lim := &limits[i]
		if !matches(lim, req) {
			continue
		}
		keys := keysFor(lim, req, now)
		ref := counterRef{limit: lim.Name}
		if lim.RequestsPerMinute > 0 {
			add(Counter{Key: keys.rpm, Kind: KindRequests, Max: float64(lim.RequestsPerMinute), N: 1}, ref)
		}
		if lim.TokensPerMinute > 0 {
			c := Counter{Key: keys.tpm, Kind: KindTokens, Max: float64(lim.TokensPerMinute), N: float64(est)}
			if est > int64(lim.TokensPerMinute) {
				e := &ExceededError{Limit: lim.Name, Kind: KindTokens, Key: c.Key, Max: c.Max, TooLarge: true}
				l.obs.Rejected(req, e)
				return nil, e
			}
			add(c, ref)
		}
		if req.Stream && lim.ConcurrentStreams > 0 {
			add(Counter{Key: keys.streams, Kind: KindStreams, Max: float64(lim.ConcurrentStreams), N: 1, Expires: now.Add(l.lease)}, ref)
		}
		for _, b := range budgets(lim) {
			if b.kind == 0 {
				continue
			}
			bk := budgetKey{limit: lim.Name, kind: b.kind, max: b.max, start: periodStart(b.kind, now), key: keys.budget(b.kind)}
			charged = append(charged, bk)
			if req.IgnoreBudgets {
				charges = true
				continue
			}
			c, end := bk.counter()
			add(c, counterRef{limit: lim.Name, end: end})
		}
	}
	r := &Reservation{l: l, req: req, estimated: est, budgets: charged}
	if len(cs) == 0 {
		if !charges {
			r.done.Store(true) // nothing to commit or release
		}
		// Otherwise Commit charges the budgets in the store of the
		// moment (r.store stays nil).
		return r, nil
	}
	r.id = rand.Text()
	st, rem, d, err := l.reserve(ctx, now, r.id, cs)
	if err != nil {
		return nil, err
	}
	if d != nil {
		e := l.exceeded(now, cs[d.Index], refs[d.Index], d)
		l.obs.Rejected(req, e)
		return nil, e
	}
	if len(rem) != len(cs) {
		// A store breaking its contract; the reservation stands.
		rem = nil
	}
	r.store, r.counters = st, cs
	r.remaining = make([]Remaining, 0, len(rem))
	for i, v := range rem {
		r.remaining = append(r.remaining, remainingOf(now, cs[i], refs[i], v))
	}
	return r, nil
}

// remainingOf is what is left of c right after a reservation, from the
// store's unrounded value v.
func remainingOf(now time.Time, c Counter, ref counterRef, v float64) Remaining {
	rm := Remaining{Limit: ref.limit, Kind: c.Kind, Max: c.Max, Remaining: math.Max(0, v)}
	switch {
	case c.Kind.isRate():
		rm.Remaining = math.Max(0, math.Floor(v+epsilon))
		rm.Reset = drainTime(min(max(c.Max-v, 0), c.Max), c.Max)
	case c.Kind.IsBudget():
		rm.Reset = ref.end.Sub(now)
	}
	return rm
}

// current is the store a call without a reservation's store goes to: the
// local one while a fail-open limiter skips the shared store.
func (l *Limiter) current() Store {
	if l.local != nil && time.Now().UnixNano() < l.skipUntil.Load() {
		return l.local
	}
	return l.store
}

// reserve runs Reserve on the store the policy says, and returns it with
// the remaining values.
func (l *Limiter) reserve(ctx context.Context, now time.Time, id string, cs []Counter) (Store, []float64, *Denial, error) {
	if st := l.current(); st != l.store {
		rem, d, err := st.Reserve(ctx, now, id, cs)
		return st, rem, d, err
	}
	rem, d, err := l.store.Reserve(ctx, now, id, cs)
	if err == nil {
		return l.store, rem, d, nil
	}
	if ctx.Err() != nil { // the caller gave up: no policy applies
		l.obs.StoreError(err, false)
		return nil, nil, nil, err
	}
	if l.local == nil {
		l.obs.StoreError(err, false)
		if l.policy == FailClosed {
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, nil, nil, err
	}
	l.obs.StoreError(err, true)
	l.skipUntil.Store(time.Now().Add(l.retry).UnixNano())
	rem, d, err = l.local.Reserve(ctx, now, id, cs)
	return l.local, rem, d, err
}

// exceeded builds the error of a denial.
func (l *Limiter) exceeded(now time.Time, c Counter, ref counterRef, d *Denial) *ExceededError {
	e := &ExceededError{Limit: ref.limit, Kind: c.Kind, Key: c.Key, Max: c.Max, Remaining: d.Remaining, RetryAfter: d.RetryAfter}
	switch {
	case c.Kind == KindStreams:
		e.RetryAfter = StreamRetryAfter
	case c.Kind.IsBudget():
		e.RetryAfter = ref.end.Sub(now)
	}
	if e.RetryAfter <= 0 {
		e.RetryAfter = time.Microsecond
	}
	return e
}

// Reservation is a request admitted by [Limiter.Reserve]. End it with
// exactly one Commit or Release; later calls do nothing.
type Reservation struct {
	l         *Limiter
	req       Request
	id        string
	estimated int64
	store     Store // nil when it reserved no counter
	counters  []Counter
	remaining []Remaining
	budgets   []budgetKey // the budgets Commit charges, keyed for the period of the reservation
	done      atomic.Bool
}

// Remaining is what is left of one counter of a [Reservation] right after
// it was made.
type Remaining struct {
	// Limit is the name of the limit in rate_limits.json; Kind is the
	// counter's dimension.
	Limit string
	Kind  Kind
	// Max is the limit: requests or tokens per minute, streams, or USD
	// per day or month.
	Max float64
	// Remaining is what is left, this reservation included, in the
	// counter's unit: whole requests or tokens (the window drained to
	// the moment of the reservation; tokens as estimated), stream slots,
	// or USD of the budget (whose spend a reservation does not change).
	Remaining float64
	// Reset is how long until the counter is full again if nothing else
	// uses it: until the window has drained, for requests and tokens;
	// until the end of the UTC day or month, for budgets; 0 for streams
	// (a slot frees when a stream ends).
	Reset time.Duration
}

// Remaining returns, per counter the reservation took or checked (in the
// order of the limits, then requests, tokens, streams, day and month),
// what is left of it. It is empty when no limit matched.
func (r *Reservation) Remaining() []Remaining {
	return slices.Clone(r.remaining)
}

// Commit ends a request that reached a provider: the token windows are
// charged the difference between actualTokens (prompt + completion) and
// the estimate (a refund when it is less, an extra charge when more, even
// past the limit), the stream slot is freed, and costUSD is added to
// every matching budget of the current UTC day and month, telling the
// observer of each budget that crosses 80% or 100%.
func (r *Reservation) Commit(ctx context.Context, actualTokens int64, costUSD float64) error {
	if !r.done.CompareAndSwap(false, true) {
		return nil
	}
	now := r.l.now()
	cs := r.ending(max(actualTokens, 0) - r.estimated)
	type budgetRef struct {
		i     int
		limit string
		start time.Time
	}
	var refs []budgetRef
	if costUSD > 0 {
		for _, bk := range r.budgets {
			if start := periodStart(bk.kind, now); !start.Equal(bk.start) {
				// A new day or month began since the reservation.
				bk.start, bk.key = start, periodKey(bk.key[:strings.LastIndexByte(bk.key, '|')], bk.kind, start)
			}
			c, _ := bk.counter()
			c.N = costUSD
			refs = append(refs, budgetRef{i: len(cs), limit: bk.limit, start: bk.start})
			cs = append(cs, c)
		}
	}
	before, err := r.adjust(ctx, now, cs)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		c, spent := cs[ref.i], before[ref.i]
		after := spent + c.N
		for _, th := range []float64{BudgetWarning, BudgetExhausted} {
			if spent < th*c.Max && after >= th*c.Max {
				r.l.obs.BudgetCrossed(BudgetEvent{
					Limit: ref.limit, Kind: c.Kind, Key: c.Key, Period: ref.start,
					Threshold: th, Spent: after, Budget: c.Max,
				})
			}
		}
	}
	return nil
}

// Release ends a request that failed before it cost anything: its
// estimated tokens are refunded and its stream slot freed. It still
// counts toward requests_per_minute.
func (r *Reservation) Release(ctx context.Context) error {
	if !r.done.CompareAndSwap(false, true) {
		return nil
	}
	_, err := r.adjust(ctx, r.l.now(), r.ending(-r.estimated))
	return err
}

// ending returns the token and stream adjustments that end r.
func (r *Reservation) ending(tokens int64) []Counter {
	var cs []Counter
	for _, c := range r.counters {
		switch c.Kind {
		case KindTokens:
			if tokens != 0 {
				c.N = float64(tokens)
				cs = append(cs, c)
			}
		case KindStreams:
			c.N = -1
			cs = append(cs, c)
		}
	}
	return cs
}

// adjust runs Adjust on the store r was reserved in, or the current one
// when it reserved nothing.
func (r *Reservation) adjust(ctx context.Context, now time.Time, cs []Counter) ([]float64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	st := r.store
	if st == nil {
		st = r.l.current()
	}
	before, err := st.Adjust(ctx, now, r.id, cs)
	if err != nil {
		r.l.obs.StoreError(err, false)
		if st == r.l.store && r.l.policy == FailClosed && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, err
	}
	return before, nil
}

// matches reports whether lim applies to req.
func matches(lim *config.Limit, req Request) bool {
	if len(lim.Routes) > 0 && !slices.Contains(lim.Routes, req.Route) {
		return false
	}
	if len(lim.Clients) > 0 && !slices.Contains(lim.Clients, req.Client) &&
		(req.ClientName == "" || !slices.Contains(lim.Clients, req.ClientName)) {
		return false
	}
	return true
}

// limitKeys are the keys of one limit's counters for one request, all
// slices of one string.
type limitKeys struct {
	rpm, tpm, streams, day, month string
}

// budget is the key of k's counter.
func (k limitKeys) budget(kind Kind) string {
	if kind == KindUSDPerMonth {
		return k.month
	}
	return k.day
}

// keysFor returns lim's counter keys for req at now: its name and scope
// values (e.g. "per_user|user=u42") followed by the counter's dimension
// ("|rpm", "|tpm", "|streams") or budget period ("|day=2026-12-05",
// "|month=2026-12"), built in one allocation, and only those lim has.
func keysFor(lim *config.Limit, req Request, now time.Time) limitKeys {
	baseLen := len(lim.Name)
	for _, sc := range lim.Scope {
		baseLen += 2 + len(sc) + escapedLen(scopeValue(sc, req))
	}
	var (
		n      int
		suffix [5]int // the length of each key's suffix, 0 for none
	)
	if lim.RequestsPerMinute > 0 {
		suffix[0] = len("|rpm")
	}
	if lim.TokensPerMinute > 0 {
		suffix[1] = len("|tpm")
	}
	if lim.ConcurrentStreams > 0 {
		suffix[2] = len("|streams")
	}
	if lim.USDPerDay > 0 {
		suffix[3] = len("|day=2006-01-02")
	}
	if lim.USDPerMonth > 0 {
		suffix[4] = len("|month=2006-01")
	}
	for _, l := range suffix {
		if l > 0 {
			n += baseLen + l
		}
	}
	var b strings.Builder
	b.Grow(n)
	var ends [5][2]int
	var names *periodNames
	if suffix[3]+suffix[4] > 0 {
		names = periodNamesAt(now)
	}
	for i, l := range suffix {
		if l == 0 {
			continue
		}
		ends[i][0] = b.Len()
		b.WriteString(lim.Name)
		for _, sc := range lim.Scope {
			b.WriteByte('|')
			b.WriteString(sc)
			b.WriteByte('=')
			writeEscaped(&b, scopeValue(sc, req))
		}
		switch i {
		case 0:
			b.WriteString("|rpm")
		case 1:
			b.WriteString("|tpm")
		case 2:
			b.WriteString("|streams")
		case 3:
			b.WriteString("|day=")
			b.WriteString(names.day)
		case 4:
			b.WriteString("|month=")
			b.WriteString(names.month)
		}
		ends[i][1] = b.Len()
	}
	s := b.String()
	at := func(i int) string { return s[ends[i][0]:ends[i][1]] }
	return limitKeys{rpm: at(0), tpm: at(1), streams: at(2), day: at(3), month: at(4)}
}

// periodNames are the names of a UTC day and its month in budget keys.
type periodNames struct {
	unixDay    int64
	day, month string // "2006-01-02", "2006-01"
}

// periods holds the names of the last day asked for: formatting them
// anew on every request costs more than the rest of the keys.
var periods atomic.Pointer[periodNames]

// periodNamesAt returns the names of now's UTC day and month.
func periodNamesAt(now time.Time) *periodNames {
	unixDay := now.Unix() / 86400
	if now.Unix() < 0 && now.Unix()%86400 != 0 {
		unixDay-- // floor, for the few clocks before 1970
	}
	if p := periods.Load(); p != nil && p.unixDay == unixDay {
		return p
	}
	start := periodStart(KindUSDPerDay, now)
	p := &periodNames{unixDay: unixDay, day: start.Format("2006-01-02"), month: start.Format("2006-01")}
	periods.Store(p)
	return p
}

// scopeValue is req's value for the scope dimension sc.
func scopeValue(sc string, req Request) string {
	switch sc {
	case config.ScopeAPIKey:
		return req.Client
	case config.ScopeUser:
		return req.User
	case config.ScopeRoute:
		return req.Route
	}
	return ""
}

// escapes keep scope values from forging another key or, on Redis
// Cluster, another hash slot: each of these bytes is written as %XX.
func escapes(c byte) bool {
	return c == '%' || c == '|' || c == '=' || c == '{' || c == '}'
}

func escapedLen(v string) int {
	n := len(v)
	for i := 0; i < len(v); i++ {
		if escapes(v[i]) {
			n += 2
		}
	}
	return n
}

func writeEscaped(b *strings.Builder, v string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		if c := v[i]; escapes(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
}

// budget is one budget of a limit; kind 0 for none.
type budget struct {
	kind Kind
	max  float64
}

// budgets lists lim's budgets: the day's first, then the month's.
func budgets(lim *config.Limit) [2]budget {
	var bs [2]budget
	if lim.USDPerDay > 0 {
		bs[0] = budget{KindUSDPerDay, lim.USDPerDay}
	}
	if lim.USDPerMonth > 0 {
		bs[1] = budget{KindUSDPerMonth, lim.USDPerMonth}
	}
	return bs
}

// periodStart is the start of the UTC day or month of now.
func periodStart(k Kind, now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	if k == KindUSDPerMonth {
		d = 1
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// periodKey is the key of a budget of kind k for the period starting at
// start, from the limit's base key.
func periodKey(base string, k Kind, start time.Time) string {
	if k == KindUSDPerMonth {
		return base + "|month=" + start.Format("2006-01")
	}
	return base + "|day=" + start.Format("2006-01-02")
}

// budgetKey is a budget of a reservation's limit in one period.
type budgetKey struct {
	limit string
	kind  Kind
	max   float64
	start time.Time // of the period
	key   string
}

// counter is the budget's counter, checked (N 0), and the end of its
// period.
func (bk budgetKey) counter() (Counter, time.Time) {
	end := bk.start.AddDate(0, 0, 1)
	if bk.kind == KindUSDPerMonth {
		end = bk.start.AddDate(0, 1, 0)
	}
	return Counter{Key: bk.key, Kind: bk.kind, Max: bk.max, Expires: end.Add(budgetGrace)}, end
}
