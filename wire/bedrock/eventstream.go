// Package bedrock holds what the Bedrock provider, its tests and the
// simulator share of the Bedrock Runtime wire format: the binary AWS event
// stream that ConverseStream answers with, written with the SDK's own
// encoder (github.com/aws/smithy-go/eventstream, the codec the Bedrock
// Runtime client decodes with).
package bedrock

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/smithy-go/eventstream"
)

// ContentType is the content type of a ConverseStream response body.
const ContentType = "application/vnd.amazon.eventstream"

// Event is one ConverseStream event: its type (messageStart,
// contentBlockStart, contentBlockDelta, contentBlockStop, messageStop,
// metadata) and its JSON payload. An Exception names an exception member
// of the stream's union (throttlingException, modelStreamErrorException,
// ...) instead; its payload carries {"message": ...}.
type Event struct {
	Type      string          `json:"event,omitempty"`
	Exception string          `json:"exception,omitempty"`
	Payload   json.RawMessage `json:"payload"`
}

// Writer writes events in the event-stream framing.
type Writer struct {
	w   io.Writer
	enc *eventstream.Encoder
}

// NewWriter returns a Writer onto w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, enc: eventstream.NewEncoder()}
}

// Write writes one event.
func (w *Writer) Write(e Event) error {
	var msg eventstream.Message
	msg.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue("application/json"))
	switch {
	case e.Exception != "":
		msg.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.ExceptionMessageType))
		msg.Headers.Set(eventstream.ExceptionTypeHeader, eventstream.StringValue(e.Exception))
	case e.Type != "":
		msg.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.EventMessageType))
		msg.Headers.Set(eventstream.EventTypeHeader, eventstream.StringValue(e.Type))
	default:
		return fmt.Errorf("bedrock: an event without a type")
	}
	msg.Payload = e.Payload
	if msg.Payload == nil {
		msg.Payload = []byte("{}")
	}
	return w.enc.Encode(w.w, msg)
}

// Encode frames events, in order, into one body.
func Encode(w io.Writer, events []Event) error {
	ew := NewWriter(w)
	for _, e := range events {
		if err := ew.Write(e); err != nil {
			return err
		}
	}
	return nil
}
