package quota

import (
	"hash/maphash"
	"strings"
	"sync"

	"github.com/maypok86/otter/v2"
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

// counted remembers, per encoding, the token counts of recent message
// contents: a conversation sends its whole history again with every
// turn, and the system prompt of a route is the same in every request.
var counted = map[tokenizer.Encoding]*countCache{
	tokenizer.O200kBase:  newCountCache(),
	tokenizer.Cl100kBase: newCountCache(),
}

// codecFor returns the tokenizer of an OpenAI model and its counts, or
// nil.
func codecFor(model string) (tokenizer.Codec, *countCache) {
	model = strings.TrimPrefix(strings.ToLower(model), "ft:")
	for _, p := range encodingPrefixes {
		if strings.HasPrefix(model, p.prefix) {
			return codecs[p.enc](), counted[p.enc]
		}
	}
	return nil, nil
}

// minCachedBytes is the shortest content whose count is remembered:
// shorter ones cost less to count again than to look up.
const minCachedBytes = 64

// countCache is a bounded memory of token counts by content hash, on
// otter (as the answer cache's memory store). Two contents with the same
// 64-bit hash would share a count: an estimate off for one request, which
// the quota reconciles.
type countCache struct {
	c *otter.Cache[uint64, int]
}

// countEntries bounds each encoding's memory: 32,768 counts, under 1 MiB.
const countEntries = 32 << 10

func newCountCache() *countCache {
	return &countCache{c: otter.Must(&otter.Options[uint64, int]{MaximumSize: countEntries})}
}

var countSeed = maphash.MakeSeed()

// count returns the tokens of content under c, counting them only when
// they are not remembered.
func (cc *countCache) count(c tokenizer.Codec, content string) (int, error) {
	if len(content) < minCachedBytes {
		return c.Count(content)
	}
	h := maphash.String(countSeed, content)
	if n, ok := cc.c.GetIfPresent(h); ok {
		return n, nil
	}
	n, err := c.Count(content)
	if err != nil {
		return 0, err
	}
	cc.c.Set(h, n)
	return n, nil
}

// countExact counts the text of messages with c; ok is false when c fails.
func countExact(c tokenizer.Codec, cc *countCache, messages []providers.Message) (int, bool) {
	counted := 0
	for _, m := range messages {
		k, err := cc.count(c, m.Content)
		if err != nil {
			return 0, false
		}
		counted += k
		for _, p := range m.Parts {
			a, b := partText(p)
			for _, s := range [2]string{a, b} {
				if s == "" {
					continue
				}
				k, err := cc.count(c, s)
				if err != nil {
					return 0, false
				}
				counted += k
			}
		}
	}
	return counted, true
}

// EstimateTokens returns the input tokens of a chat request to model.
// For OpenAI models (gpt-3.5, gpt-4*, gpt-5*, o1/o3/o4) it counts them
// with the model's BPE encoding (github.com/tiktoken-go/tokenizer, whose
// tables are compiled in: nothing is downloaded) plus the chat format's
// framing. For other models, or text past 64 KiB, it estimates a token
// per 4 bytes plus the same framing: close for English text, low by up to
// a quarter for scripts of 3-byte characters. The quota reconciles with
// the real count when the request commits. The counts of recent message
// contents of 64 bytes or more are remembered (by hash, up to 32,768 per
// encoding), so that a conversation's history and a repeated system
// prompt are counted once.
//
// Messages of parts count the text of their text parts, tool calls (name
// and arguments), tool results and thinking the same way, and their
// images as [ImageTokens] says.
func EstimateTokens(model string, messages []providers.Message) int {
	size := 0
	n := tokensPerReply + tokensPerMessage*len(messages)
	for _, m := range messages {
		size += len(m.Content)
		for _, p := range m.Parts {
			a, b := partText(p)
			size += len(a) + len(b)
			if p.Kind == providers.PartImage && p.Image != nil {
				n += ImageTokens(model, p.Image)
			}
		}
	}
	if c, cc := codecFor(model); c != nil && size <= maxExactBytes {
		if counted, ok := countExact(c, cc, messages); ok {
			return n + counted
		}
	}
	return n + (size+3)/4
}
