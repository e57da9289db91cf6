package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/careerpath/llmgateway/providers"
)

// ErrCorrupt is returned when stored bytes do not decode to an [Entry].
var ErrCorrupt = errors.New("cache: corrupt entry")

// entryVersion starts an encoded text-only entry; richVersion one with
// parts. An entry of another version does not decode: it is a miss, and
// the next Set overwrites it.
const (
	entryVersion byte = 1
	richVersion  byte = 2
)

// The encoding of an [Entry], version 1:
//
//	version byte
//	str text, finish reason, provider, model, response id
//	varint input, output, cached input, cache creation input tokens
//	time created at, expires at, stale until
//
// where str is a uvarint byte length and the bytes, and time is 12 bytes:
// the Unix seconds (int64) and the nanoseconds (uint32), big-endian, so
// every instant that [time.Time] can hold round-trips, the zero time
// included, and an entry's size does not depend on when it was stored.
//
// Version 2, for an entry with parts, is version 1 followed by
//
//	uvarint the number of parts, then each part:
//	byte 't' str text
//	byte 'c' str tool call id, name, arguments
//	byte 'h' str thinking text, signature, redacted
//
// A text-only entry is still written as version 1, byte for byte.

// Size is the length of the entry's encoding in bytes: what a store's
// maximum entry size is compared with.
func (e Entry) Size() int {
	n := 1 + partsLen(e.Parts) + strLen(e.Text) + strLen(string(e.FinishReason)) + strLen(e.Provider) + strLen(e.Model) + strLen(e.ResponseID)
	n += varintLen(e.Usage.InputTokens) + varintLen(e.Usage.OutputTokens) +
		varintLen(e.Usage.CachedInputTokens) + varintLen(e.Usage.CacheCreationInputTokens)
	return n + 3*timeLen
}

// AppendBinary implements [encoding.BinaryAppender].
func (e Entry) AppendBinary(b []byte) ([]byte, error) {
	if e.Parts != nil {
		b = append(b, richVersion)
	} else {
		b = append(b, entryVersion)
	}
	b = appendString(b, e.Text)
	b = appendString(b, string(e.FinishReason))
	b = appendString(b, e.Provider)
	b = appendString(b, e.Model)
	b = appendString(b, e.ResponseID)
	b = binary.AppendVarint(b, e.Usage.InputTokens)
	b = binary.AppendVarint(b, e.Usage.OutputTokens)
	b = binary.AppendVarint(b, e.Usage.CachedInputTokens)
	b = binary.AppendVarint(b, e.Usage.CacheCreationInputTokens)
	b = appendTime(b, e.CreatedAt)
	b = appendTime(b, e.ExpiresAt)
	b = appendTime(b, e.StaleUntil)
	if e.Parts == nil {
		return b, nil
	}
	b = binary.AppendUvarint(b, uint64(len(*e.Parts)))
	for _, p := range *e.Parts {
		switch {
		case p.Kind == providers.PartText && p.CachePoint == nil:
			b = append(b, partText)
			b = appendString(b, p.Text)
		case p.Kind == providers.PartToolCall && p.ToolCall != nil && p.CachePoint == nil:
			b = append(b, partToolCall)
			b = appendString(b, p.ToolCall.ID)
			b = appendString(b, p.ToolCall.Name)
			b = appendString(b, p.ToolCall.Arguments)
		case p.Kind == providers.PartThinking && p.Thinking != nil && p.CachePoint == nil:
			b = append(b, partThinking)
			b = appendString(b, p.Thinking.Text)
			b = appendString(b, p.Thinking.Signature)
			b = appendString(b, p.Thinking.Redacted)
		default:
			return nil, fmt.Errorf("cache: a %s part cannot be stored", p.Kind)
		}
	}
	return b, nil
}

// The tags of the parts of a version 2 entry.
const (
	partText     byte = 't'
	partToolCall byte = 'c'
	partThinking byte = 'h'
)

// partsLen is the length of the parts section of an encoding; 0 for a
// text-only entry.
func partsLen(parts *[]providers.Part) int {
	if parts == nil {
		return 0
	}
	n := uvarintLen(uint64(len(*parts)))
	for _, p := range *parts {
		n++
		switch {
		case p.ToolCall != nil:
			n += strLen(p.ToolCall.ID) + strLen(p.ToolCall.Name) + strLen(p.ToolCall.Arguments)
		case p.Thinking != nil:
			n += strLen(p.Thinking.Text) + strLen(p.Thinking.Signature) + strLen(p.Thinking.Redacted)
		default:
			n += strLen(p.Text)
		}
	}
	return n
}

// MarshalBinary implements [encoding.BinaryMarshaler].
func (e Entry) MarshalBinary() ([]byte, error) {
	return e.AppendBinary(make([]byte, 0, e.Size()))
}

// UnmarshalBinary implements [encoding.BinaryUnmarshaler]. The entry's
// strings share one copy of b; its times are in UTC. Bytes that are not a
// whole entry of a known version, or are followed by more bytes, are
// [ErrCorrupt].
func (e *Entry) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if b[0] != entryVersion && b[0] != richVersion {
		return fmt.Errorf("%w: version %d, want %d or %d", ErrCorrupt, b[0], entryVersion, richVersion)
	}
	d := decoder{s: string(b[1:])}
	var out Entry
	out.Text = d.string()
	out.FinishReason = providers.FinishReason(d.string())
	out.Provider = d.string()
	out.Model = d.string()
	out.ResponseID = d.string()
	out.Usage.InputTokens = d.varint()
	out.Usage.OutputTokens = d.varint()
	out.Usage.CachedInputTokens = d.varint()
	out.Usage.CacheCreationInputTokens = d.varint()
	out.CreatedAt = d.time()
	out.ExpiresAt = d.time()
	out.StaleUntil = d.time()
	if b[0] == richVersion {
		parts := d.parts()
		out.Parts = &parts
	}
	if d.err == nil && d.s != "" {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.s))
	}
	if d.err != nil {
		return d.err
	}
	*e = out
	return nil
}

// timeLen is the length of an encoded time.
const timeLen = 12

func appendTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

// decoder reads an encoding held in one string, so that the decoded
// strings are substrings of it: one allocation per entry.
type decoder struct {
	s   string
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflows 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			d.s = d.s[i+1:]
			return v
		}
	}
	d.err = fmt.Errorf("%w: bad varint", ErrCorrupt)
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)) {
		d.err = fmt.Errorf("%w: string of %d bytes, %d left", ErrCorrupt, n, len(d.s))
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// parts reads the parts section of a version 2 entry.
func (d *decoder) parts() []providers.Part {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	// Each part takes at least two bytes: no count can claim more.
	if n > uint64(len(d.s))/2 {
		d.err = fmt.Errorf("%w: %d parts in %d bytes", ErrCorrupt, n, len(d.s))
		return nil
	}
	parts := make([]providers.Part, 0, n)
	for range n {
		if d.err != nil {
			return nil
		}
		if d.s == "" {
			d.err = fmt.Errorf("%w: parts cut short", ErrCorrupt)
			return nil
		}
		tag := d.s[0]
		d.s = d.s[1:]
		switch tag {
		case partText:
			parts = append(parts, providers.Part{Kind: providers.PartText, Text: d.string()})
		case partToolCall:
			c := &providers.ToolCall{ID: d.string(), Name: d.string(), Arguments: d.string()}
			parts = append(parts, providers.Part{Kind: providers.PartToolCall, ToolCall: c})
		case partThinking:
			t := &providers.Thinking{Text: d.string(), Signature: d.string(), Redacted: d.string()}
			parts = append(parts, providers.Part{Kind: providers.PartThinking, Thinking: t})
		default:
			d.err = fmt.Errorf("%w: part tag %q", ErrCorrupt, tag)
			return nil
		}
	}
	if d.err != nil {
		return nil
	}
	return parts
}

func (d *decoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	if len(d.s) < timeLen {
		d.err = fmt.Errorf("%w: time of %d bytes, %d left", ErrCorrupt, timeLen, len(d.s))
		return time.Time{}
	}
	var sec int64
	for i := range 8 {
		sec = sec<<8 | int64(d.s[i])
	}
	var nsec uint32
	for i := 8; i < timeLen; i++ {
		nsec = nsec<<8 | uint32(d.s[i])
	}
	d.s = d.s[timeLen:]
	if nsec >= uint32(time.Second) {
		d.err = fmt.Errorf("%w: %d nanoseconds", ErrCorrupt, nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
