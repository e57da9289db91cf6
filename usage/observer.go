package usage

// Observer is told what the gateway's ledger records, for metrics and
// alerts. Methods are called on the request's goroutine and must be
// quick.
type Observer interface {
	// Recorded is an entry added to the ledger.
	Recorded(e Entry)
	// Failed is an entry the store failed to record; the request was
	// answered anyway.
	Failed(err error)
}
