package quota

import (
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"

	"github.com/careerpath/llmgateway/providers"
)

// Per-message overheads of the chat format, after OpenAI's cookbook
// ("How to count tokens with tiktoken"): each message costs its role and
// content plus 3 tokens of framing, and the reply is primed with 3.
const (
	tokensPerMessage = 4 // framing + the role, which is one token
	tokensPerReply   = 3
)

// maxExactBytes bounds the text tokenized exactly: past it the estimate is
// cheaper and, for quota, as good.
const maxExactBytes = 64 << 10

// codecs are the OpenAI encodings, each built once on first use (the
// vocabulary is compiled into the binary; building its map takes tens of
// milliseconds).
var codecs = map[tokenizer.Encoding]func() tokenizer.Codec{
	tokenizer.O200kBase:  sync.OnceValue(func() tokenizer.Codec { return mustCodec(tokenizer.O200kBase) }),
	tokenizer.Cl100kBase: sync.OnceValue(func() tokenizer.Codec { return mustCodec(tokenizer.Cl100kBase) }),
}

func mustCodec(e tokenizer.Encoding) tokenizer.Codec {
	c, err := tokenizer.Get(e)
	if err != nil {
		return nil // EstimateTokens falls back to its estimate
	}
	return c
}

// encodingPrefixes map OpenAI model names to their encoding; the first
// matching prefix wins.
var encodingPrefixes = []struct {
	prefix string
	enc    tokenizer.Encoding
}{
	{"gpt-4o", tokenizer.O200kBase},
	{"gpt-4.1", tokenizer.O200kBase},
	{"gpt-4.5", tokenizer.O200kBase},
	{"gpt-5", tokenizer.O200kBase},
	{"chatgpt-4o", tokenizer.O200kBase},
	{"o1", tokenizer.O200kBase},
	{"o3", tokenizer.O200kBase},
	{"o4", tokenizer.O200kBase},
	{"gpt-4", tokenizer.Cl100kBase},
	{"gpt-3.5", tokenizer.Cl100kBase},
	{"gpt-35", tokenizer.Cl100kBase},
}

// codecFor returns the tokenizer of an OpenAI model, or nil.
func codecFor(model string) tokenizer.Codec {
	model = strings.TrimPrefix(strings.ToLower(model), "ft:")
	for _, p := range encodingPrefixes {
		if strings.HasPrefix(model, p.prefix) {
			return codecs[p.enc]()
		}
	}
	return nil
}

// EstimateTokens returns the input tokens of a chat request to model.
// For OpenAI models (gpt-3.5, gpt-4*, gpt-5*, o1/o3/o4) it counts them
// with the model's BPE encoding (github.com/tiktoken-go/tokenizer, whose
// tables are compiled in: nothing is downloaded) plus the chat format's
// framing. For other models, or text past 64 KiB, it estimates a token
// per 4 bytes plus the same framing: close for English text, low by up to
// a quarter for scripts of 3-byte characters. The quota reconciles with
// the real count when the request commits.
func EstimateTokens(model string, messages []providers.Message) int {
	size := 0
	for _, m := range messages {
		size += len(m.Content)
	}
	n := tokensPerReply + tokensPerMessage*len(messages)
	if c := codecFor(model); c != nil && size <= maxExactBytes {
		exact := true
		counted := 0
		for _, m := range messages {
			k, err := c.Count(m.Content)
			if err != nil {
				exact = false
				break
			}
			counted += k
		}
		if exact {
			return n + counted
		}
	}
	return n + (size+3)/4
}
