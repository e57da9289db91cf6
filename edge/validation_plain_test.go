package edge

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// TestPlainValidKnowsEveryField: the shortcut was written for exactly
// these fields. A field added to one of these messages may carry a rule
// the shortcut does not check: review plainValid, then add it here.
func TestPlainValidKnowsEveryField(t *testing.T) {
	for msg, want := range map[proto.Message][]string{
		&gatewayv1.CompleteRequest{}: {"route", "model", "messages", "params", "caller", "cache", "variables",
			"force_variant", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning"},
		&gatewayv1.ModelOverride{}:    {"provider", "model"},
		&gatewayv1.Message{}:          {"role", "content", "parts", "cache_point"},
		&gatewayv1.GenerationParams{}: {"max_tokens", "temperature", "top_p", "stop", "seed"},
		&gatewayv1.Caller{}:           {"subject", "tags"},
		&gatewayv1.CacheControl{}:     {"bypass", "ttl"},
	} {
		fs := msg.ProtoReflect().Descriptor().Fields()
		var got []string
		for i := range fs.Len() {
			got = append(got, string(fs.Get(i).Name()))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s has fields %v, plainValid was written for %v", msg.ProtoReflect().Descriptor().FullName(), got, want)
		}
	}
	if n := gatewayv1.Role(0).Descriptor().Values().Len(); n != 5 {
		t.Errorf("Role has %d values, plainValid was written for 5", n)
	}
}

func plainRequest() *gatewayv1.CompleteRequest {
	return &gatewayv1.CompleteRequest{
		Route: "career_advice",
		Messages: []*gatewayv1.Message{
			{Role: gatewayv1.Role_ROLE_SYSTEM, Content: "You are a career coach."},
			{Role: gatewayv1.Role_ROLE_USER, Content: "How do I become a data engineer?"},
		},
		Params:    &gatewayv1.GenerationParams{MaxTokens: proto.Int32(512), Temperature: proto.Float64(0.7), Stop: []string{"\n\n"}},
		Caller:    &gatewayv1.Caller{Subject: "user-123", Tags: map[string]string{"feature": "resume_review"}},
		Cache:     &gatewayv1.CacheControl{Ttl: durationpb.New(90e9)},
		Variables: map[string]string{"role": "data engineer"},
	}
}

// TestPlainValidTakesThePlainRequests: the shortcut answers for the
// requests it is for, and leaves every other to the full check.
func TestPlainValidTakesThePlainRequests(t *testing.T) {
	v, err := newRequestValidator(Limits{MaxMessages: 4, MaxTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(r *gatewayv1.CompleteRequest){
		"typical": func(*gatewayv1.CompleteRequest) {},
		"model override": func(r *gatewayv1.CompleteRequest) {
			r.Route, r.Model = "", &gatewayv1.ModelOverride{Provider: "openai", Model: "m"}
		},
		"bounds": func(r *gatewayv1.CompleteRequest) {
			r.Params.Temperature, r.Params.TopP = proto.Float64(2), proto.Float64(1)
		},
		"no params or cache": func(r *gatewayv1.CompleteRequest) { r.Params, r.Caller, r.Cache = nil, nil, nil },
	} {
		r := plainRequest()
		edit(r)
		if !v.plainValid(r) {
			t.Errorf("%s: plainValid = false", name)
		}
		if err := v.checkAll(r); err != nil {
			t.Errorf("%s: the full check refuses it: %v", name, err)
		}
	}
	for name, edit := range map[string]func(r *gatewayv1.CompleteRequest){
		"route and model":   func(r *gatewayv1.CompleteRequest) { r.Model = &gatewayv1.ModelOverride{Provider: "p", Model: "m"} },
		"neither":           func(r *gatewayv1.CompleteRequest) { r.Route = "" },
		"no user":           func(r *gatewayv1.CompleteRequest) { r.Messages = r.Messages[:1] },
		"too many messages": func(r *gatewayv1.CompleteRequest) { r.Messages = slices.Repeat(r.Messages, 3) },
		"empty content":     func(r *gatewayv1.CompleteRequest) { r.Messages[0].Content = "" },
		"unspecified role":  func(r *gatewayv1.CompleteRequest) { r.Messages[0].Role = 0 },
		"undefined role":    func(r *gatewayv1.CompleteRequest) { r.Messages[0].Role = 9 },
		"tool role":         func(r *gatewayv1.CompleteRequest) { r.Messages[0].Role = gatewayv1.Role_ROLE_TOOL },
		"max tokens limit":  func(r *gatewayv1.CompleteRequest) { r.Params.MaxTokens = proto.Int32(1001) },
		"zero max tokens":   func(r *gatewayv1.CompleteRequest) { r.Params.MaxTokens = proto.Int32(0) },
		"hot":               func(r *gatewayv1.CompleteRequest) { r.Params.Temperature = proto.Float64(2.01) },
		"NaN":               func(r *gatewayv1.CompleteRequest) { r.Params.Temperature = proto.Float64(math.NaN()) },
		"top_p 0":           func(r *gatewayv1.CompleteRequest) { r.Params.TopP = proto.Float64(0) },
		"five stops":        func(r *gatewayv1.CompleteRequest) { r.Params.Stop = []string{"a", "b", "c", "d", "e"} },
		"empty stop":        func(r *gatewayv1.CompleteRequest) { r.Params.Stop = []string{""} },
		"long subject":      func(r *gatewayv1.CompleteRequest) { r.Caller.Subject = strings.Repeat("s", 257) },
		"negative ttl":      func(r *gatewayv1.CompleteRequest) { r.Cache.Ttl = durationpb.New(-1) },
		"malformed ttl":     func(r *gatewayv1.CompleteRequest) { r.Cache.Ttl = &durationpb.Duration{Seconds: 1, Nanos: -1} },
		"rich: parts":       func(r *gatewayv1.CompleteRequest) { r.Messages[1].Parts = []*gatewayv1.Part{{}} },
		"rich: tools":       func(r *gatewayv1.CompleteRequest) { r.Tools = []*gatewayv1.Tool{{Name: "t"}} },
		"rich: format":      func(r *gatewayv1.CompleteRequest) { r.ResponseFormat = &gatewayv1.ResponseFormat{} },
		"forced variant":    func(r *gatewayv1.CompleteRequest) { r.ForceVariant = "a" },
		"cache point":       func(r *gatewayv1.CompleteRequest) { r.Messages[0].CachePoint = &gatewayv1.PromptCachePoint{} },
		"empty model": func(r *gatewayv1.CompleteRequest) {
			r.Route, r.Model = "", &gatewayv1.ModelOverride{Provider: "openai"}
		},
		"rich: reasoning":    func(r *gatewayv1.CompleteRequest) { r.Reasoning = &gatewayv1.Reasoning{} },
		"rich: tool choice":  func(r *gatewayv1.CompleteRequest) { r.ToolChoice = &gatewayv1.ToolChoice{} },
		"too many variables": func(r *gatewayv1.CompleteRequest) { r.Variables = manyPairs(65) },
	} {
		r := plainRequest()
		edit(r)
		if v.plainValid(r) {
			t.Errorf("%s: plainValid = true", name)
		}
	}
}

func manyPairs(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[strings.Repeat("k", i+1)] = "v"
	}
	return m
}

// FuzzPlainValid holds the shortcut to the rules: whatever request of the
// plain shape the fuzzer builds, the shortcut never accepts one that the
// full check refuses.
func FuzzPlainValid(f *testing.F) {
	f.Add([]byte{1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 3, 1, 2, 3, 0x40, 0, 0, 0, 0, 0, 0, 0, 4, 1, 200, 7})
	f.Add([]byte{2, 1, 4, 0xff, 0xf8, 0, 0, 0, 0, 0, 1, 9, 9, 9})
	v, err := newRequestValidator(Limits{MaxMessages: 8, MaxTokens: 2000})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := buildPlain(data)
		if v.plainValid(r) {
			if err := v.checkAll(r); err != nil {
				t.Fatalf("plainValid accepts %v, the full check refuses it: %v", r, err)
			}
		}
	})
}

// buildPlain makes a request of the plain shape, every value from data.
func buildPlain(data []byte) *gatewayv1.CompleteRequest {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	f64 := func() float64 {
		var b [8]byte
		for i := range b {
			b[i] = next()
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b[:]))
	}
	r := &gatewayv1.CompleteRequest{}
	switch next() % 3 {
	case 0:
		r.Route = "r"
	case 1:
		r.Model = &gatewayv1.ModelOverride{Provider: strings.Repeat("p", int(next()%2)), Model: strings.Repeat("m", int(next()%2))}
	case 2:
		r.Route, r.Model = "r", &gatewayv1.ModelOverride{Provider: "p", Model: "m"}
	}
	for range int(next() % 12) {
		r.Messages = append(r.Messages, &gatewayv1.Message{Role: gatewayv1.Role(next() % 7), Content: strings.Repeat("x", int(next()%3))})
	}
	if b := next(); b&1 != 0 {
		p := &gatewayv1.GenerationParams{}
		if b&2 != 0 {
			p.MaxTokens = proto.Int32(int32(binary.BigEndian.Uint16([]byte{next(), next()})) - 100)
		}
		if b&4 != 0 {
			p.Temperature = proto.Float64(f64())
		}
		if b&8 != 0 {
			p.TopP = proto.Float64(f64())
		}
		for range int(next() % 7) {
			p.Stop = append(p.Stop, strings.Repeat("s", int(next())*2))
		}
		r.Params = p
	}
	if b := next(); b&1 != 0 {
		r.Caller = &gatewayv1.Caller{Subject: strings.Repeat("u", int(next())*2), Tags: manyPairs(int(next() % 40))}
	}
	if b := next(); b&1 != 0 {
		r.Cache = &gatewayv1.CacheControl{Bypass: b&2 != 0}
		if b&4 != 0 {
			r.Cache.Ttl = &durationpb.Duration{Seconds: int64(int8(next())) * 1e10, Nanos: int32(int8(next())) * 1e7}
		}
	}
	if b := next(); b&1 != 0 {
		r.Variables = manyPairs(int(next() % 80))
	}
	return r
}
