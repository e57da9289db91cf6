package openai_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/careerpath/llmgateway/providers"
)

// Embed posts OpenAI's embeddings request to BaseURL + "/embeddings" and
// puts the recorded answer's vectors back in the order of the inputs,
// whatever order the data comes in.
func TestEmbedRecorded(t *testing.T) {
	var got []byte
	var path, auth string
	rec := jsonReply(t, http.StatusOK, "embeddings.json")
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, auth = r.URL.Path, r.Header.Get("Authorization")
		got, _ = io.ReadAll(r.Body)
		rec.ServeHTTP(w, r)
	}))
	e, ok := providers.EmbedderOf(build(t, settings(srv)))
	if !ok {
		t.Fatal("the openai backend cannot embed")
	}
	resp, err := e.Embed(context.Background(), &providers.EmbedRequest{Model: "text-embedding-3-small",
		Inputs: []string{"Senior data engineer", "Nurse"}, Dimensions: 3, User: "u-42"})
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.TrimSpace(testdata(t, "embeddings_request.golden.json")); !bytes.Equal(got, want) || path != "/v1/embeddings" ||
		auth != "Bearer "+testKey {
		t.Errorf("sent %s to %s (auth %q), want %s to /v1/embeddings", got, path, auth, want)
	}
	if resp.Model != "text-embedding-3-small" || resp.Usage.InputTokens != 8 || len(resp.Vectors) != 2 ||
		!slices.Equal(resp.Vectors[0], []float32{-0.006929283, -0.005336422, 0.024047505}) ||
		!slices.Equal(resp.Vectors[1], []float32{0.0023064255, -0.009327292, -0.0028842222}) {
		t.Errorf("got %+v", resp)
	}
}

// Failures are typed like a completion's; an answer that does not hold
// one vector per input is malformed.
func TestEmbedErrors(t *testing.T) {
	for _, tt := range []struct {
		reply recorded
		kind  providers.ErrorKind
	}{
		{jsonReply(t, http.StatusTooManyRequests, "error_rate_limit.json"), providers.KindRateLimited},
		{jsonReply(t, http.StatusUnauthorized, "error_invalid_api_key.json"), providers.KindAuth},
		{jsonReply(t, http.StatusBadRequest, "error_invalid_request.json"), providers.KindBadRequest},
		{jsonReply(t, http.StatusInternalServerError, "error_server.json"), providers.KindServer},
		{jsonReply(t, http.StatusOK, "chat_completion.json"), providers.KindMalformed},
		{recorded{status: http.StatusOK, contentType: "text/html", body: testdata(t, "bad_gateway.html")}, providers.KindMalformed},
	} {
		srv := newServer(t, tt.reply)
		e, _ := providers.EmbedderOf(build(t, settings(srv)))
		_, err := e.Embed(context.Background(), &providers.EmbedRequest{Model: "text-embedding-3-small", Inputs: []string{"x"}})
		wantKind(t, err, tt.kind)
	}
}
