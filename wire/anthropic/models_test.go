package anthropic

import (
	"encoding/json"
	"testing"
)

func TestModelList(t *testing.T) {
	for _, tt := range []struct {
		models []ModelInfo
		want   string
	}{
		{nil, `{"data":[],"has_more":false,"first_id":null,"last_id":null}`},
		{[]ModelInfo{{Type: TypeModel, ID: "a", DisplayName: "A", CreatedAt: "2024-05-10T00:00:00Z"}, {Type: TypeModel, ID: "b"}},
			`{"data":[{"type":"model","id":"a","display_name":"A","created_at":"2024-05-10T00:00:00Z"},` +
				`{"type":"model","id":"b","display_name":"","created_at":""}],"has_more":false,"first_id":"a","last_id":"b"}`},
	} {
		b, err := json.Marshal(NewModelList(tt.models))
		if err != nil || string(b) != tt.want {
			t.Errorf("got %s (%v)\nwant %s", b, err, tt.want)
		}
	}
}
