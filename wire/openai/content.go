package openai

import (
	"errors"
	"slices"

	"github.com/careerpath/llmgateway/wire/wirejson"
)

// The content part types the gateway reads.
const (
	// PartText is a text part, {"type":"text","text":"…"}.
	PartText = "text"
	// PartImageURL is an image part, {"type":"image_url","image_url":{…}}.
	PartImageURL = "image_url"
)

// Part is one element of an array content. Type says which of the other
// fields are set.
type Part struct {
	// Type is the part's kind, e.g. [PartText].
	Type string `json:"type"`
	// Text is the text of a [PartText] part.
	Text string `json:"text,omitempty"`
	// ImageURL is the image of a [PartImageURL] part.
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL is the image of a [PartImageURL] part: a URL or a data: URL.
type ImageURL struct {
	// URL is an https: URL or a base64 data: URL.
	URL string `json:"url"`
	// Detail is "auto", "low" or "high"; empty leaves the default.
	Detail string `json:"detail,omitempty"`
}

// Content is a message's content: a JSON string, or an array of typed
// parts. Parts is non-nil exactly when the content was (or is to be sent
// as) an array; otherwise Text holds the string. JSON null decodes to an
// empty Content with Null set.
type Content struct {
	// Text is the content when it is a string.
	Text string
	// Parts is the content when it is an array.
	Parts []Part
	// Null, with an empty Text and nil Parts, sends the content as JSON
	// null, as an assistant message that only calls tools has it.
	Null bool
}

// TextContent is a string content.
func TextContent(s string) Content { return Content{Text: s} }

// ErrContent is the decoding error of a content that is neither a string,
// an array nor null.
var ErrContent = errors.New("content must be a string or an array of content parts")

// UnmarshalJSON implements json.Unmarshaler.
func (c *Content) UnmarshalJSON(data []byte) error {
	*c = Content{}
	if string(data) == "null" {
		c.Null = true
		return nil
	}
	return wirejson.UnmarshalStringOrArray(data, &c.Text, &c.Parts, ErrContent)
}

// MarshalJSON implements json.Marshaler. Like the hand-written encoders it
// leaves <, > and & unescaped.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.Parts != nil {
		return wirejson.Marshal(nil, c.Parts)
	}
	if c.Null && c.Text == "" {
		return []byte("null"), nil
	}
	return wirejson.AppendString(nil, c.Text), nil
}

// IsArray reports whether the content is an array of parts.
func (c *Content) IsArray() bool { return c.Parts != nil }

// String is the content's text: the string, or the text parts joined with
// newlines. Parts of other types are left out; see [Content.NonText].
func (c *Content) String() string {
	if c.Parts == nil {
		return c.Text
	}
	return wirejson.JoinText(c.Parts, func(p *Part) (string, bool) { return p.Text, p.Type == PartText })
}

// NonText returns the index of the first part that is not text, or -1.
func (c *Content) NonText() int {
	return slices.IndexFunc(c.Parts, func(p Part) bool { return p.Type != PartText })
}
