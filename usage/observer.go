package usage

// Observer is told what the gateway's ledger records, for metrics and
// alerts. Methods are called on the goroutine that writes the entry (the
// gateway's ledger writer, or a request's) and must be quick.
type Observer interface {
	// Recorded is an entry added to the ledger.
	Recorded(e Entry)
	// Failed is an entry the store failed to record; the request was
	// answered anyway.
	Failed(err error)
}
