package compat

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	anthropicwire "github.com/careerpath/llmgateway/wire/anthropic"
	openaiwire "github.com/careerpath/llmgateway/wire/openai"
	"github.com/careerpath/llmgateway/wire/wirejson"
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
	var v any
	if id, one := strings.CutPrefix(r.URL.Path, PathModels+"/"); one {
		i := slices.IndexFunc(list, func(m Model) bool { return m.ID == id })
		if i < 0 {
			writeError(w, d, modelNotFound(id))
			return
		}
		if d == openAI {
			v = openAIModel(list[i])
		} else {
			v = anthropicModel(list[i])
		}
	} else if d == openAI {
		models := make([]openaiwire.Model, len(list))
		for i, m := range list {
			models[i] = openAIModel(m)
		}
		v = openaiwire.NewModelList(models)
	} else {
		models := make([]anthropicwire.ModelInfo, len(list))
		for i, m := range list {
			models[i] = anthropicModel(m)
		}
		v = anthropicwire.NewModelList(models)
	}
	b, err := wirejson.Marshal(nil, v)
	if err != nil {
		writeError(w, d, &apiError{status: http.StatusInternalServerError, message: "cannot encode the model list"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// openAIModel is OpenAI's model object. The gateway keeps no creation
// times: created is 0.
func openAIModel(m Model) openaiwire.Model { return openaiwire.NewModel(m.ID, m.OwnedBy, 0) }

// anthropicModel is Anthropic's model object.
func anthropicModel(m Model) anthropicwire.ModelInfo {
	return anthropicwire.ModelInfo{Type: anthropicwire.TypeModel, ID: m.ID, DisplayName: m.ID, CreatedAt: "1970-01-01T00:00:00Z"}
}
