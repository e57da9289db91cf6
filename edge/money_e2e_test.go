package edge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/careerpath/llmgateway/edge"
)

// exactDollars asserts that the JSON number lit is exactly nanos
// nano-dollars written as a decimal: no binary-float tail.
func exactDollars(t *testing.T, what string, lit json.Number, nanos int64) {
	t.Helper()
	got, ok := new(big.Rat).SetString(lit.String())
	if !ok {
		t.Fatalf("%s: %q is not a number", what, lit)
	}
	if want := big.NewRat(nanos, 1_000_000_000); got.Cmp(want) != 0 {
		t.Errorf("%s: %s is not exactly %d nano-dollars (%s)", what, lit, nanos, want.FloatString(9))
	}
}

func decodeNumbers(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func nanosOf(t *testing.T, what string, v any) int64 {
	t.Helper()
	s, _ := v.(string) // protojson writes int64 as a string
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s: cost_nano_usd %v is not an int64 string", what, v)
	}
	return n
}

// TestMoneyIsExactOverREST: a REST answer's cost_usd is exactly its
// cost_nano_usd, which is the configured price of its tokens (gpt-4o-mini
// at $0.15 and $0.60 per million: 150 and 600 nano-dollars a token), and
// the usage report's totals add the answers' nano-dollars up exactly.
func TestMoneyIsExactOverREST(t *testing.T) {
	g := startUsageGateway(t, edge.Options{})
	var sum int64
	for i, prompt := range []string{"Hi", "What should I learn to become a data engineer?", "Tell me about careers in nursing, please, in some detail."} {
		body := `{"route":"openai_only","messages":[{"role":"ROLE_USER","content":"` + prompt + `"}],"params":{"max_tokens":64}}`
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, "http://"+g.httpAddr+"/v1/complete", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+usageAppKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
		m := decodeNumbers(t, b)
		what := "answer " + strconv.Itoa(i)
		nanos := nanosOf(t, what, m["cost_nano_usd"])
		u, _ := m["usage"].(map[string]any)
		tokens := func(k string) int64 {
			n, _ := strconv.ParseInt(string(u[k].(json.Number)), 10, 64)
			return n
		}
		if want := 150*tokens("input_tokens") + 600*tokens("output_tokens"); nanos != want || want == 0 {
			t.Errorf("%s: cost_nano_usd %d, want %d for usage %v", what, nanos, want, u)
		}
		lit, _ := m["cost_usd"].(json.Number)
		exactDollars(t, what+" cost_usd", lit, nanos)
		sum += nanos
	}

	q := url.Values{"granularity": {"GRANULARITY_HOUR"}, "start": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, "http://"+g.httpAddr+"/v1/usage?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+usageAppKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("usage: %d %s", res.StatusCode, b)
	}
	totals, _ := decodeNumbers(t, b)["totals"].(map[string]any)
	if got := nanosOf(t, "usage totals", totals["cost_nano_usd"]); got != sum {
		t.Errorf("usage totals: cost_nano_usd %d, want the answers' sum %d", got, sum)
	}
	lit, _ := totals["cost_usd"].(json.Number)
	exactDollars(t, "usage totals cost_usd", lit, sum)
}
