package quota

import "time"

// Observer is told what a [Limiter] decides, for metrics, logs and
// alerts. Methods are called on the caller's goroutine and must be
// quick; they must not call the limiter.
type Observer interface {
	// Rejected is a request refused by a limit.
	Rejected(req Request, err *ExceededError)
	// BudgetCrossed is a budget counter reaching a threshold
	// ([BudgetWarning] or [BudgetExhausted]) of its budget. It is called
	// once per threshold, period and counter: by the commit whose cost
	// crossed it (with a shared store, on the replica that made it).
	BudgetCrossed(ev BudgetEvent)
	// StoreError is a store call that failed; fellBack says that a
	// fail-open limiter answered from its local memory store instead.
	StoreError(err error, fellBack bool)
}

// The thresholds of [BudgetEvent].
const (
	// BudgetWarning is 80% of a budget spent.
	BudgetWarning = 0.8
	// BudgetExhausted is 100% of a budget spent: requests that match the
	// budget's limit are refused until the period ends.
	BudgetExhausted = 1.0
)

// BudgetEvent is a budget counter crossing a threshold.
type BudgetEvent struct {
	// Limit is the name of the limit; Kind is [KindUSDPerDay] or
	// [KindUSDPerMonth].
	Limit string
	Kind  Kind
	// Key is the counter, naming the scope values and the period, e.g.
	// "team|api_key=web|day=2025-11-25".
	Key string
	// Period is the start of the UTC day or month.
	Period time.Time
	// Threshold is [BudgetWarning] or [BudgetExhausted].
	Threshold float64
	// Spent is the USD spent in the period, this request included;
	// Budget is the limit.
	Spent, Budget float64
}

// nopObserver stands in for a nil [Observer].
type nopObserver struct{}

func (nopObserver) Rejected(Request, *ExceededError) {}
func (nopObserver) BudgetCrossed(BudgetEvent)        {}
func (nopObserver) StoreError(error, bool)           {}
