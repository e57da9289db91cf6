package compat

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/careerpath/llmgateway/providers/wirejson"
)

// models answers GET /v1/models and GET /v1/models/{id} with what the
// caller may ask for: in Anthropic's list shape when the request carries
// an anthropic-version header (as Anthropic's SDK always sends), else in
// OpenAI's.
func (h *Handler) models(w http.ResponseWriter, r *http.Request) {
	d := openAI
	if r.Header.Get("Anthropic-Version") != "" {
		d = anthropic
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, d, badMethod(r, http.MethodGet))
		return
	}
	list, err := h.catalog.Models(incoming(r))
	if err != nil {
		writeError(w, d, fromError(err, nil))
		return
	}
	var b []byte
	if id, one := strings.CutPrefix(r.URL.Path, PathModels+"/"); one {
		i := -1
		for j := range list {
			if list[j].ID == id {
				i = j
				break
			}
		}
		if i < 0 {
			writeError(w, d, modelNotFound(id))
			return
		}
		if d == openAI {
			b = appendOpenAIModel(nil, list[i])
		} else {
			b = appendAnthropicModel(nil, list[i])
		}
	} else if d == openAI {
		b = append(b, `{"object":"list","data":[`...)
		for i, m := range list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendOpenAIModel(b, m)
		}
		b = append(b, "]}"...)
	} else {
		b = append(b, `{"data":[`...)
		for i, m := range list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAnthropicModel(b, m)
		}
		b = append(b, `],"has_more":false,"first_id":`...)
		if len(list) > 0 {
			b = wirejson.AppendString(b, list[0].ID)
			b = append(b, `,"last_id":`...)
			b = wirejson.AppendString(b, list[len(list)-1].ID)
		} else {
			b = append(b, `null,"last_id":null`...)
		}
		b = append(b, '}')
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// appendOpenAIModel appends OpenAI's model object. The gateway keeps no
// creation times: created is 0.
func appendOpenAIModel(b []byte, m Model) []byte {
	b = append(b, `{"id":`...)
	b = wirejson.AppendString(b, m.ID)
	b = append(b, `,"object":"model","created":0,"owned_by":`...)
	b = wirejson.AppendString(b, m.OwnedBy)
	return append(b, '}')
}

// appendAnthropicModel appends Anthropic's model object.
func appendAnthropicModel(b []byte, m Model) []byte {
	b = append(b, `{"type":"model","id":`...)
	b = wirejson.AppendString(b, m.ID)
	b = append(b, `,"display_name":`...)
	b = wirejson.AppendString(b, m.ID)
	return append(b, `,"created_at":"1970-01-01T00:00:00Z"}`...)
}
