package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/careerpath/llmgateway/internal/strictjson"
)

// DefaultAnswerTokens is the answer length, in words (one word is one output
// token), used when [Config.AnswerTokens] is zero.
const DefaultAnswerTokens = 24

// MaxAnswerTokens bounds [Config.AnswerTokens].
const MaxAnswerTokens = 1 << 20

// Config is the simulator's behaviour that applies to every request. It can
// be replaced at run time with [Server.SetConfig] or PUT /_sim/config.
//
// In JSON the keys are snake_case and durations are Go duration strings
// such as "150ms":
//
//	{"latency":"20ms","ttft":"100ms","inter_token":"15ms","answer_tokens":24,"require_api_key":""}
type Config struct {
	// Latency is waited before a unary answer (or error) and before the
	// first byte of a stream.
	Latency time.Duration `json:"latency"`
	// TTFT is the extra time to first token of a stream, waited after the
	// stream's opening events and before the first content token.
	TTFT time.Duration `json:"ttft"`
	// InterToken is waited between two content tokens of a stream. When it
	// is zero the tokens are written in one go.
	InterToken time.Duration `json:"inter_token"`
	// AnswerTokens is the answer length in words (= output tokens) when the
	// request's max_tokens allows it; zero means [DefaultAnswerTokens].
	AnswerTokens int `json:"answer_tokens"`
	// RequireAPIKey, when not empty, must be sent as "Authorization: Bearer
	// <key>" on OpenAI paths and as "x-api-key: <key>" on the Anthropic
	// path; otherwise the request fails with the vendor's 401 error.
	RequireAPIKey string `json:"require_api_key"`
}

// Validate reports the first invalid field, naming it by its JSON key.
func (c Config) Validate() error {
	switch {
	case c.Latency < 0:
		return errors.New("latency: must not be negative")
	case c.TTFT < 0:
		return errors.New("ttft: must not be negative")
	case c.InterToken < 0:
		return errors.New("inter_token: must not be negative")
	case c.AnswerTokens < 0 || c.AnswerTokens > MaxAnswerTokens:
		return fmt.Errorf("answer_tokens: must be between 0 and %d", MaxAnswerTokens)
	}
	return nil
}

// answerTokens is the effective default answer length.
func (c *Config) answerTokens() int {
	if c.AnswerTokens <= 0 {
		return DefaultAnswerTokens
	}
	return c.AnswerTokens
}

// configJSON is Config's wire form: durations as strings.
type configJSON struct {
	Latency       jsonDuration `json:"latency"`
	TTFT          jsonDuration `json:"ttft"`
	InterToken    jsonDuration `json:"inter_token"`
	AnswerTokens  int          `json:"answer_tokens"`
	RequireAPIKey string       `json:"require_api_key"`
}

// MarshalJSON writes durations as Go duration strings.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{
		Latency:       jsonDuration(c.Latency),
		TTFT:          jsonDuration(c.TTFT),
		InterToken:    jsonDuration(c.InterToken),
		AnswerTokens:  c.AnswerTokens,
		RequireAPIKey: c.RequireAPIKey,
	})
}

// UnmarshalJSON decodes strictly (unknown keys are errors). Keys absent
// from data keep their current values, so decoding onto a copy of the live
// config is a merge.
func (c *Config) UnmarshalJSON(data []byte) error {
	j := configJSON{
		Latency:       jsonDuration(c.Latency),
		TTFT:          jsonDuration(c.TTFT),
		InterToken:    jsonDuration(c.InterToken),
		AnswerTokens:  c.AnswerTokens,
		RequireAPIKey: c.RequireAPIKey,
	}
	if err := decodeStrict(data, &j); err != nil {
		return err
	}
	*c = Config{
		Latency:       time.Duration(j.Latency),
		TTFT:          time.Duration(j.TTFT),
		InterToken:    time.Duration(j.InterToken),
		AnswerTokens:  j.AnswerTokens,
		RequireAPIKey: j.RequireAPIKey,
	}
	return nil
}

// jsonDuration is a time.Duration written as a Go duration string.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"150ms\", got %s", data)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = jsonDuration(v)
	return nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(data []byte, v any) error {
	return strictjson.Decode(data, v)
}
