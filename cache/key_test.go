package cache_test

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/cache/cachetest"
	"github.com/careerpath/llmgateway/providers"
)

// TestKeyGolden pins the encoding, built here by hand from its
// specification: a change to it must bump the version byte, or replicas of
// two releases would read each other's entries under another meaning.
func TestKeyGolden(t *testing.T) {
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) } // all shorter than 128
	f64 := func(v float64) []byte { return binary.BigEndian.AppendUint64([]byte{1}, math.Float64bits(v)) }
	enc := slices.Concat(
		[]byte{1}, // version
		str("client-a"), str("career_advice"), str("gpt4o_mini"), str("openai"), str("gpt-4o-mini"),
		[]byte{2}, // messages
		str("system"), str("You are a career coach."),
		str("user"), str("How do I move from QA into data engineering?"),
		[]byte{0xb0, 0x09}, // max_tokens 600, zigzag varint
		f64(0.7), f64(0.9), // temperature, top_p
		[]byte{1}, str("\n\n"), // stop
		binary.BigEndian.AppendUint64([]byte{1}, 42), // seed
	)
	want := cache.Key(sha256.Sum256(enc))
	got := cache.NewKey(cachetest.BaseParts())
	if got != want {
		t.Errorf("key of the base request\n got %s\nwant %s (the encoding changed: bump keyVersion)", got, want)
	}
	const pinned = "27608578672cdbb993dfba1dd5a441eff9dba513bf57dedc602682f1fc5d9b6d"
	if got.String() != pinned {
		t.Errorf("key of the base request %s, pinned %s", got, pinned)
	}
}

// TestKeyCoversRequest fails when providers.Request gains a field: decide
// whether it changes the answer, put it in the key if it does, and list it
// here.
func TestKeyCoversRequest(t *testing.T) {
	known := []string{
		"Model", "Messages", "MaxTokens", "Temperature", "TopP", "Stop", "Seed", // in the key
		"Tools", "ToolChoice", "ParallelToolCalls", "ResponseFormat", "Reasoning", // in its rich section
		"User", // forwarded for abuse monitoring; does not change the answer
	}
	var fields []string
	for f := range reflect.TypeFor[providers.Request]().Fields() {
		fields = append(fields, f.Name)
	}
	slices.Sort(fields)
	slices.Sort(known)
	if !slices.Equal(fields, known) {
		t.Errorf("providers.Request has fields %v, the key knows %v", fields, known)
	}
	// Role and Content in the key, Parts in its rich section; CachePoint
	// changes what the vendor caches, not the answer.
	if n := reflect.TypeFor[providers.Message]().NumField(); n != 4 {
		t.Errorf("providers.Message has %d fields, the key knows Role, Content, Parts and CachePoint", n)
	}
	if n := reflect.TypeFor[providers.Part]().NumField(); n != 7 {
		t.Errorf("providers.Part has %d fields, the key knows Kind, Text, Image, ToolCall, ToolResult, Thinking and CachePoint", n)
	}
}

func TestKeyEquivalences(t *testing.T) {
	base := cachetest.BaseParts()
	same := func(name string, change func(p *cache.KeyParts, r *providers.Request)) {
		t.Helper()
		p := base
		r := *base.Request
		p.Request = &r
		change(&p, &r)
		if cache.NewKey(p) != cache.NewKey(base) {
			t.Errorf("%s changes the key", name)
		}
	}
	same("user", func(_ *cache.KeyParts, r *providers.Request) { r.User = "end-user-7" })
	same("request model, with a model in the parts", func(_ *cache.KeyParts, r *providers.Request) { r.Model = "gpt-4o" })
	same("model only in the request", func(p *cache.KeyParts, r *providers.Request) { p.Model, r.Model = "", base.Model })

	noStop := base
	r := *base.Request
	r.Stop = nil
	noStop.Request = &r
	r2 := r
	r2.Stop = []string{}
	emptyStop := noStop
	emptyStop.Request = &r2
	if cache.NewKey(noStop) != cache.NewKey(emptyStop) {
		t.Error("nil and empty stop lists differ")
	}

	neg, pos := math.Copysign(0, -1), 0.0
	a, b := base, base
	ra, rb := *base.Request, *base.Request
	ra.Temperature, rb.Temperature = &neg, &pos
	a.Request, b.Request = &ra, &rb
	if cache.NewKey(a) != cache.NewKey(b) {
		t.Error("temperature -0 and +0 differ")
	}

	if cache.NewKey(cache.KeyParts{}) != cache.NewKey(cache.KeyParts{Request: &providers.Request{}}) {
		t.Error("a nil request and an empty one differ")
	}
}

// TestKeyLongRequest covers encodings past the stack buffer.
func TestKeyLongRequest(t *testing.T) {
	p := cachetest.BaseParts()
	r := *p.Request
	r.Messages = []providers.Message{{Role: providers.RoleUser, Content: strings.Repeat("a", 5000)}}
	p.Request = &r
	k1 := cache.NewKey(p)
	r2 := r
	r2.Messages = []providers.Message{{Role: providers.RoleUser, Content: strings.Repeat("a", 4999) + "b"}}
	p2 := p
	p2.Request = &r2
	if k1 == cache.NewKey(p2) {
		t.Error("long requests differing in their last byte have one key")
	}
	if k1 != cache.NewKey(p) {
		t.Error("a long request's key is not stable")
	}
}

func TestKeyString(t *testing.T) {
	var k cache.Key
	k[0], k[31] = 0xab, 0x01
	if s := k.String(); len(s) != 64 || !strings.HasPrefix(s, "ab00") || !strings.HasSuffix(s, "01") {
		t.Errorf("String = %q", s)
	}
}

func BenchmarkNewKey(b *testing.B) {
	for _, bc := range []struct {
		name   string
		prompt int
	}{{"prompt=200B", 200}, {"prompt=4KiB", 4 << 10}, {"prompt=64KiB", 64 << 10}} {
		p := cachetest.BaseParts()
		r := *p.Request
		r.Messages = []providers.Message{r.Messages[0], {Role: providers.RoleUser, Content: strings.Repeat("x", bc.prompt)}}
		p.Request = &r
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(bc.prompt))
			for b.Loop() {
				_ = cache.NewKey(p)
			}
		})
	}
}
