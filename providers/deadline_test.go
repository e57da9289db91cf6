package providers_test

import (
	"context"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

func TestAttemptContext(t *testing.T) {
	bg := context.Background()
	if ctx, cancel := providers.AttemptContext(bg, 0); ctx != bg {
		t.Error("no timeout: want the caller's context")
	} else {
		cancel()
	}
	ctx, cancel := providers.AttemptContext(bg, time.Minute)
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Minute || time.Until(dl) < 50*time.Second {
		t.Errorf("no deadline before: deadline %v, %v", dl, ok)
	}
	cancel()
	if ctx.Err() == nil {
		t.Error("cancel did not end the attempt's context")
	}
	sooner, stop := context.WithTimeout(bg, time.Second)
	defer stop()
	if ctx, cancel := providers.AttemptContext(sooner, time.Minute); ctx != sooner {
		t.Error("a caller ending sooner: want its context, no second timer")
	} else {
		cancel()
		if sooner.Err() != nil {
			t.Error("cancel ended the caller's context")
		}
	}
	later, stop2 := context.WithTimeout(bg, time.Hour)
	defer stop2()
	ctx, cancel = providers.AttemptContext(later, time.Minute)
	defer cancel()
	if dl, _ := ctx.Deadline(); time.Until(dl) > time.Minute {
		t.Errorf("a caller ending later: deadline in %v, want within a minute", time.Until(dl))
	}
}
