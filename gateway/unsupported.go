package gateway

import (
	"fmt"

	"github.com/careerpath/llmgateway/gwerr"
	"github.com/careerpath/llmgateway/providers"
)

// refuseUnsupported refuses a request that needs what its provider cannot
// honour, naming each such field, before anything is sent: the gateway
// never drops a tool, an image or a response format silently.
func refuseUnsupported(p providers.Provider, req *providers.Request) error {
	missing := providers.Unsupported(p, req)
	if len(missing) == 0 {
		return nil
	}
	out := &gwerr.InvalidRequestError{Violations: make([]gwerr.FieldError, len(missing))}
	for i, f := range missing {
		out.Violations[i] = gwerr.FieldError{Field: string(f),
			Description: fmt.Sprintf("provider %q cannot honour %s for model %q", p.Name(), f, req.Model)}
	}
	return out
}
