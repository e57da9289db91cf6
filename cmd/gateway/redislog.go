package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// redisLogger sends go-redis's own messages (pool dial failures, cluster
// and sentinel events) to the gateway's JSON log as warnings, instead of
// the plain-text lines go-redis writes to stderr by default.
type redisLogger struct{ log *slog.Logger }

// Printf implements go-redis's logging interface.
func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}

var _ interface {
	Printf(context.Context, string, ...any)
} = redisLogger{}

// useRedisLogger routes go-redis's messages to log.
func useRedisLogger(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }
