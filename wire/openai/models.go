package openai

// ObjectModel and ObjectList are the object values of GET /v1/models.
const (
	ObjectModel = "model"
	ObjectList  = "list"
)

// Model is one model of GET /v1/models, or the answer of
// GET /v1/models/{id}.
type Model struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	// Created is the model's Unix creation time.
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is the answer of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// NewModel is a model object.
func NewModel(id, ownedBy string, created int64) Model {
	return Model{ID: id, Object: ObjectModel, Created: created, OwnedBy: ownedBy}
}

// NewModelList is a model list.
func NewModelList(models []Model) ModelList {
	if models == nil {
		models = []Model{}
	}
	return ModelList{Object: ObjectList, Data: models}
}
