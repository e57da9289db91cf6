package edge

import "time"

// HTTPTimeouts bound how long the REST listener waits on a client, so that
// slow or stalled clients cannot hold connections forever. Responses have
// no write timeout: a stream lasts as long as its answer.
type HTTPTimeouts struct {
	// ReadHeader is how long a client has to send a request's headers.
	ReadHeader time.Duration
	// Read is how long a client has to send a whole request, body included.
	Read time.Duration
	// Idle is how long a keep-alive connection may wait for its next
	// request.
	Idle time.Duration
}

// DefaultHTTPTimeouts are the REST listener's timeouts when none are set.
var DefaultHTTPTimeouts = HTTPTimeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Idle: 2 * time.Minute}

// withDefaults fills zero fields from [DefaultHTTPTimeouts].
func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	if t.ReadHeader == 0 {
		t.ReadHeader = DefaultHTTPTimeouts.ReadHeader
	}
	if t.Read == 0 {
		t.Read = DefaultHTTPTimeouts.Read
	}
	if t.Idle == 0 {
		t.Idle = DefaultHTTPTimeouts.Idle
	}
	return t
}
