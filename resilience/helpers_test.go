package resilience_test

import (
	"context"
	"errors"
)

func errorsIsDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
