package anthropic

// TypeModel is the type of a model object.
const TypeModel Type = "model"

// ModelInfo is one model of GET /v1/models, or the answer of
// GET /v1/models/{id}.
type ModelInfo struct {
	Type        Type   `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// CreatedAt is an RFC 3339 time.
	CreatedAt string `json:"created_at"`
}

// ModelList is a page of GET /v1/models. FirstID and LastID are null on
// an empty page.
type ModelList struct {
	Data    []ModelInfo `json:"data"`
	HasMore bool        `json:"has_more"`
	FirstID *string     `json:"first_id"`
	LastID  *string     `json:"last_id"`
}

// NewModelList is a single, complete page of models.
func NewModelList(models []ModelInfo) ModelList {
	l := ModelList{Data: models}
	if l.Data == nil {
		l.Data = []ModelInfo{}
	}
	if n := len(models); n > 0 {
		l.FirstID, l.LastID = &models[0].ID, &models[n-1].ID
	}
	return l
}
