package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

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
// as) an array; otherwise Text holds the string. JSON null decodes to the
// zero Content.
type Content struct {
	// Text is the content when it is a string.
	Text string
	// Parts is the content when it is an array.
	Parts []Part
}

// TextContent is a string content.
func TextContent(s string) Content { return Content{Text: s} }

// ErrContent is the decoding error of a content that is neither a string,
// an array nor null.
var ErrContent = errors.New("content must be a string or an array of content parts")

// UnmarshalJSON implements json.Unmarshaler.
func (c *Content) UnmarshalJSON(data []byte) error {
	*c = Content{}
	switch {
	case len(data) == 0 || data[0] == 'n': // null
		return nil
	case data[0] == '"':
		c.Text = decodeString(data)
		if c.Text == "" && len(data) > 2 {
			return json.Unmarshal(data, &c.Text)
		}
		return nil
	case data[0] == '[':
		c.Parts = []Part{}
		return json.Unmarshal(data, &c.Parts)
	}
	return ErrContent
}

// decodeString returns the value of a JSON string token that encoding/json
// has already validated, without reflection when it holds no escapes. It
// returns "" when the slow path is needed.
func decodeString(data []byte) string {
	inner := data[1 : len(data)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	return ""
}

// MarshalJSON implements json.Marshaler. Like the hand-written encoders it
// leaves <, > and & unescaped.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.Parts != nil {
		return marshal(nil, c.Parts)
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
	if len(c.Parts) == 1 && c.Parts[0].Type == PartText {
		return c.Parts[0].Text
	}
	var b strings.Builder
	first := true
	for i := range c.Parts {
		if c.Parts[i].Type != PartText {
			continue
		}
		if !first {
			b.WriteByte('\n')
		}
		first = false
		b.WriteString(c.Parts[i].Text)
	}
	return b.String()
}

// NonText returns the index of the first part that is not text, or -1.
func (c *Content) NonText() int {
	for i := range c.Parts {
		if c.Parts[i].Type != PartText {
			return i
		}
	}
	return -1
}
