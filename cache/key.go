package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/careerpath/llmgateway/providers"
)

// Key identifies one cached answer: the SHA-256 of the canonical encoding
// of a [KeyParts]. Build it with [NewKey].
type Key [sha256.Size]byte

// String is the key in lower-case hex, as it appears in Redis key names.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// KeyParts is everything that can change an answer.
type KeyParts struct {
	// Client is the caller's identity, the partition of the cache: two
	// clients never share a key. It must not be empty in production.
	Client string
	// Route and Variant are the routing decision.
	Route, Variant string
	// Provider is the name of the provider instance the decision chose.
	Provider string
	// Model is the model the decision chose; when empty, Request.Model is
	// used. (The failover chain rewrites Request.Model for each target;
	// an answer is keyed by what was asked for, not by who answered.)
	Model string
	// Request supplies the rendered messages, system prompt included, and
	// the generation parameters. Its User field is not part of the key:
	// it does not change the answer. Nil is a request with no messages.
	Request *providers.Request
}

// keyVersion starts the encoding. Bump it whenever the encoding changes:
// the keys of the old encoding then simply stop being found.
const keyVersion byte = 1

// keyStackSize is the size of the encodings [NewKey] builds without
// allocating.
const keyStackSize = 1024

// NewKey returns the key of p. Encodings up to 1 KiB are built on the
// stack; a longer one costs one allocation of its exact size.
func NewKey(p KeyParts) Key {
	var stack [keyStackSize]byte
	buf := stack[:0]
	if n := keyLen(&p); n > len(stack) {
		buf = make([]byte, 0, n)
	}
	return sha256.Sum256(appendKey(buf, &p))
}

// appendKey appends the canonical encoding of p:
//
//	version byte
//	str client, route, variant, provider, model
//	uvarint message count, then per message: str role, str content
//	varint max_tokens
//	opt float temperature, opt float top_p
//	uvarint stop count, then str per stop sequence
//	opt int seed
//	then, only for a request with parts, tools, a tool choice, a response
//	format or reasoning, the rich section (see appendRich)
//
// where str is a uvarint byte length and the bytes, and opt is 0 for
// absent or 1 followed by 8 big-endian bytes (an IEEE 754 float has -0
// folded into +0). Every field is self-delimiting, so a text-only
// encoding (which ends after the seed) never equals a rich one, and text
// requests keep the keys they had before requests had parts.
func appendKey(b []byte, p *KeyParts) []byte {
	r := p.Request
	if r == nil {
		r = &providers.Request{}
	}
	b = append(b, keyVersion)
	b = appendString(b, p.Client)
	b = appendString(b, p.Route)
	b = appendString(b, p.Variant)
	b = appendString(b, p.Provider)
	b = appendString(b, keyModel(p))
	b = binary.AppendUvarint(b, uint64(len(r.Messages)))
	for _, m := range r.Messages {
		b = appendString(b, string(m.Role))
		b = appendString(b, m.Content)
	}
	b = binary.AppendVarint(b, int64(r.MaxTokens))
	b = appendOptFloat(b, r.Temperature)
	b = appendOptFloat(b, r.TopP)
	b = binary.AppendUvarint(b, uint64(len(r.Stop)))
	for _, s := range r.Stop {
		b = appendString(b, s)
	}
	if r.Seed == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint64(b, uint64(*r.Seed))
	}
	if rich(r) {
		b = appendRich(b, r)
	}
	return b
}

// keyLen is the length of p's encoding, exactly.
func keyLen(p *KeyParts) int {
	r := p.Request
	if r == nil {
		r = &providers.Request{}
	}
	n := 1 + strLen(p.Client) + strLen(p.Route) + strLen(p.Variant) + strLen(p.Provider) + strLen(keyModel(p))
	n += uvarintLen(uint64(len(r.Messages)))
	for _, m := range r.Messages {
		n += strLen(string(m.Role)) + strLen(m.Content)
	}
	n += binary.MaxVarintLen64 // max_tokens, at most
	n += 2 * 9                 // temperature, top_p
	n += uvarintLen(uint64(len(r.Stop)))
	for _, s := range r.Stop {
		n += strLen(s)
	}
	n += 9 // seed
	if rich(r) {
		// Rare enough to be measured by encoding it.
		n += len(appendRich(nil, r))
	}
	return n
}

func keyModel(p *KeyParts) string {
	if p.Model == "" && p.Request != nil {
		return p.Request.Model
	}
	return p.Model
}

func appendOptFloat(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, 0)
	}
	v := *f
	if v == 0 {
		v = 0 // -0 and +0 sample the same way
	}
	return binary.BigEndian.AppendUint64(append(b, 1), math.Float64bits(v))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
