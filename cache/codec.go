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

// entryVersion starts an encoded entry. An entry of another version does
// not decode: it is a miss, and the next Set overwrites it.
const entryVersion byte = 1

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

// Size is the length of the entry's encoding in bytes: what a store's
// maximum entry size is compared with.
func (e Entry) Size() int {
	n := 1 + strLen(e.Text) + strLen(string(e.FinishReason)) + strLen(e.Provider) + strLen(e.Model) + strLen(e.ResponseID)
	n += varintLen(e.Usage.InputTokens) + varintLen(e.Usage.OutputTokens) +
		varintLen(e.Usage.CachedInputTokens) + varintLen(e.Usage.CacheCreationInputTokens)
	return n + 3*timeLen
}

// AppendBinary implements [encoding.BinaryAppender].
func (e Entry) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, entryVersion)
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
	return b, nil
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
	if len(b) == 0 || b[0] != entryVersion {
		if len(b) == 0 {
			return fmt.Errorf("%w: empty", ErrCorrupt)
		}
		return fmt.Errorf("%w: version %d, want %d", ErrCorrupt, b[0], entryVersion)
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
