package quota_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/careerpath/llmgateway/config"
	"github.com/careerpath/llmgateway/quota"
)

func Example() {
	limits := config.RateLimits{Limits: []config.Limit{
		{Name: "per_user", Scope: []string{config.ScopeUser}, RequestsPerMinute: 1, TokensPerMinute: 10000},
	}}
	l := quota.New(limits, quota.Options{}) // a memory store
	ctx := context.Background()
	req := quota.Request{Client: "web", User: "u42", Route: "career_advice", EstimatedTokens: 700}

	r, err := l.Reserve(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	// ... call the provider, then reconcile with the real usage:
	_ = r.Commit(ctx, 512, 0.0004)

	_, err = l.Reserve(ctx, req)
	var e *quota.ExceededError
	if errors.As(err, &e) {
		fmt.Println(e.Limit, e.Kind, e.RetryAfter > 0)
	}
	// Output: per_user requests_per_minute true
}
