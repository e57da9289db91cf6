package cooldown_test

import (
	"testing"

	"github.com/careerpath/llmgateway/cooldown"
	"github.com/careerpath/llmgateway/cooldown/cooldowntest"
)

func TestMemoryStore(t *testing.T) {
	cooldowntest.Run(t, func(*testing.T) cooldown.Store { return cooldown.NewMemoryStore() })
}
