package openai

import (
	"encoding/json"
	"testing"
)

func TestModelList(t *testing.T) {
	for _, tt := range []struct {
		models []Model
		want   string
	}{
		{nil, `{"object":"list","data":[]}`},
		{[]Model{NewModel("gpt-4o-mini", "openai", 1715367049)},
			`{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1715367049,"owned_by":"openai"}]}`},
	} {
		b, err := json.Marshal(NewModelList(tt.models))
		if err != nil || string(b) != tt.want {
			t.Errorf("got %s (%v)\nwant %s", b, err, tt.want)
		}
	}
}
