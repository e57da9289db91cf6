package cache_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/cache"
	"github.com/careerpath/llmgateway/cache/cachetest"
	"github.com/careerpath/llmgateway/providers"
)

func roundTrip(t *testing.T, e cache.Entry) cache.Entry {
	t.Helper()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != e.Size() {
		t.Errorf("encoded %d bytes, Size says %d", len(b), e.Size())
	}
	var got cache.Entry
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	return got
}

func TestEntryRoundTrip(t *testing.T) {
	now := time.Now().UTC().Round(0)
	entries := []cache.Entry{
		{},
		benchEntry(),
		{
			Text: "héllo 世界 🎉 \x00\xff", FinishReason: providers.FinishContentFilter,
			Usage:    providers.Usage{InputTokens: math.MaxInt64, OutputTokens: math.MinInt64, CachedInputTokens: -1, CacheCreationInputTokens: 0},
			Provider: "anthropic", Model: "claude-3-5-haiku-20241022", ResponseID: "msg_01",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), StaleUntil: now.Add(25 * time.Hour),
		},
		{CreatedAt: time.Unix(0, 0).UTC(), ExpiresAt: time.Unix(-1, 999_999_999).UTC(), StaleUntil: time.Date(9999, 12, 31, 23, 59, 59, 1, time.UTC)},
		{Text: strings.Repeat("long ", 100_000)},
	}
	for i, e := range entries {
		if got := roundTrip(t, e); got != e {
			t.Errorf("entry %d:\n got %#v\nwant %#v", i, got, e)
		}
	}
}

// TestEntryRoundTripLocalTime: a time in another zone comes back as the
// same instant, in UTC.
func TestEntryRoundTripLocalTime(t *testing.T) {
	zone := time.FixedZone("CEST", 2*3600)
	at := time.Date(2025, 6, 1, 12, 0, 0, 5, zone)
	got := roundTrip(t, cache.Entry{CreatedAt: at})
	if !got.CreatedAt.Equal(at) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt %v, want %v in UTC", got.CreatedAt, at)
	}
}

func TestEntryUnmarshalCorrupt(t *testing.T) {
	good, _ := benchEntry().MarshalBinary()
	cases := map[string][]byte{
		"empty":                     nil,
		"version 0":                 append([]byte{0}, good[1:]...),
		"version 3":                 append([]byte{3}, good[1:]...),
		"version 2, no parts count": append([]byte{2}, good[1:]...),
		"trailing bytes":            append(append([]byte(nil), good...), 0),
		"bad nanos":                 append(append([]byte(nil), good[:len(good)-4]...), 0x3b, 0x9a, 0xca, 0x00), // 1e9
		"long varint":               {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"huge string":               {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for i := 1; i < len(good); i += max(1, len(good)/50) {
		cases["truncated at "+string(rune('0'+i%10))+"…"+strings.Repeat("|", i%7)] = good[:i]
	}
	for name, b := range cases {
		var e cache.Entry
		e.Text = "untouched"
		if err := e.UnmarshalBinary(b); !errors.Is(err, cache.ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", name, err)
		}
		if e.Text != "untouched" {
			t.Errorf("%s: a failed decode changed the entry", name)
		}
	}
}

func FuzzEntryRoundTrip(f *testing.F) {
	f.Add("text", "stop", "openai", "gpt-4o-mini", "id", int64(1), int64(2), int64(3), int64(4), int64(1700000000), uint32(5))
	f.Add("", "", "", "", "", int64(-1), int64(math.MinInt64), int64(0), int64(math.MaxInt64), int64(math.MinInt64), uint32(999_999_999))
	f.Fuzz(func(t *testing.T, text, finish, provider, model, id string, in, out, cached, created, sec int64, nsec uint32) {
		at := time.Unix(sec, int64(nsec%1e9)).UTC()
		e := cache.Entry{
			Text: text, FinishReason: providers.FinishReason(finish), Provider: provider, Model: model, ResponseID: id,
			Usage:     providers.Usage{InputTokens: in, OutputTokens: out, CachedInputTokens: cached, CacheCreationInputTokens: created},
			CreatedAt: at, ExpiresAt: at.Add(time.Duration(created)), StaleUntil: time.Unix(created, 0).UTC(),
		}
		if got := roundTrip(t, e); got != e {
			t.Errorf("\n got %#v\nwant %#v", got, e)
		}
	})
}

func FuzzEntryUnmarshal(f *testing.F) {
	good, _ := benchEntry().MarshalBinary()
	f.Add(good)
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e cache.Entry
		if err := e.UnmarshalBinary(b); err != nil {
			return
		}
		if got := roundTrip(t, e); !sameEntry(got, e) {
			t.Errorf("decoded entry does not round-trip:\n got %#v\nwant %#v", got, e)
		}
	})
}

// sameEntry reports whether a and b hold the same answer: their parts
// compared by value (no parts and an empty list alike), the rest as is.
func sameEntry(a, b cache.Entry) bool {
	pa, pb := a.PartList(), b.PartList()
	if len(pa) != 0 || len(pb) != 0 {
		if !reflect.DeepEqual(pa, pb) {
			return false
		}
	}
	a.Parts, b.Parts = nil, nil
	return a == b
}

// BenchmarkEntryCodec compares the binary encoding with encoding/json on
// a typical answer.
func BenchmarkEntryCodec(b *testing.B) {
	e := benchEntry()
	e.CreatedAt = time.Now().UTC().Round(0)
	e.ExpiresAt, e.StaleUntil = e.CreatedAt.Add(time.Hour), e.CreatedAt.Add(2*time.Hour)
	bin, _ := e.MarshalBinary()
	js, _ := json.Marshal(e)
	b.Logf("binary %d bytes, JSON %d bytes", len(bin), len(js))
	b.Run("Binary/Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = e.MarshalBinary()
		}
	})
	b.Run("Binary/Append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, len(bin))
		for b.Loop() {
			buf, _ = e.AppendBinary(buf[:0])
		}
	})
	b.Run("Binary/Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d cache.Entry
			if err := d.UnmarshalBinary(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("JSON/Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(e)
		}
	})
	b.Run("JSON/Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d cache.Entry
			if err := json.Unmarshal(js, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestEntryRichRoundTrip: an entry with parts round-trips exactly; a
// text-only entry is still written as version 1, and version 1 bytes
// written before parts existed still decode.
func TestEntryRichRoundTrip(t *testing.T) {
	rich := cachetest.RichAnswer()
	got := roundTrip(t, rich)
	if !reflect.DeepEqual(got.PartList(), rich.PartList()) {
		t.Errorf("parts\n got %#v\nwant %#v", got.PartList(), rich.PartList())
	}
	b, _ := rich.MarshalBinary()
	if b[0] != 2 {
		t.Errorf("a rich entry is version %d, want 2", b[0])
	}
	none := []providers.Part{}
	empty := cache.Entry{Parts: &none}
	if got := roundTrip(t, empty); got.Parts == nil || len(*got.Parts) != 0 {
		t.Errorf("an entry with an empty part list came back with %v", got.Parts)
	}

	// Version 1 as it was written: "hi", "stop", "openai", "m", "id",
	// usage 1 2 3 4, three zero-second times.
	v1 := []byte{1, 2, 'h', 'i', 4, 's', 't', 'o', 'p', 6, 'o', 'p', 'e', 'n', 'a', 'i', 1, 'm', 2, 'i', 'd', 2, 4, 6, 8}
	v1 = append(v1, make([]byte, 36)...)
	var old cache.Entry
	if err := old.UnmarshalBinary(v1); err != nil {
		t.Fatalf("version 1: %v", err)
	}
	if old.Text != "hi" || old.Provider != "openai" || old.Usage.CacheCreationInputTokens != 4 || old.Parts != nil {
		t.Errorf("version 1 decoded as %+v", old)
	}
	if again, _ := old.MarshalBinary(); string(again) != string(v1) {
		t.Errorf("a text-only entry re-encodes as\n%v\nnot\n%v", again, v1)
	}
}

func TestEntryRichUnmarshalCorrupt(t *testing.T) {
	good, _ := cachetest.RichAnswer().MarshalBinary()
	cases := map[string][]byte{
		"unknown tag":    append(append([]byte(nil), good[:len(good)-len(`{"city":"東京","unit":"c"}`)-1-len("get_weather")-1-len("toolu_01B")-1-1]...), 'x', 0),
		"huge count":     append(append([]byte(nil), good[:len(good)-1]...), 0xff, 0x0f),
		"trailing bytes": append(append([]byte(nil), good...), 't'),
	}
	for i := len(good) - 80; i < len(good); i += 7 {
		cases["truncated at "+strconv.Itoa(i)] = good[:i]
	}
	for name, b := range cases {
		var e cache.Entry
		if err := e.UnmarshalBinary(b); !errors.Is(err, cache.ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", name, err)
		}
	}
}

func TestSetRefusesLossy(t *testing.T) {
	r := &providers.Response{Text: "see", Parts: &[]providers.Part{
		{Kind: providers.PartText, Text: "see"},
		{Kind: providers.PartImage, Image: &providers.Image{URL: "https://example.com/a.png"}},
	}}
	if cache.Storable(r) {
		t.Error("an answer with an image is storable")
	}
	if _, err := cache.NewEntry("p", r).MarshalBinary(); err == nil {
		t.Error("an image part encoded")
	}
	if !cache.Storable(cachetest.RichAnswer().Response()) || !cache.Storable(&providers.Response{Text: "x"}) {
		t.Error("a text, tool call and thinking answer is not storable")
	}
}
