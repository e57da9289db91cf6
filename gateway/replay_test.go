package gateway

import (
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/careerpath/llmgateway/cache/cachetest"
	"github.com/careerpath/llmgateway/providers"
)

// TestReplayRich: a rich answer replays as the live path streams it (a
// tool call's index, id and name first, its arguments after), and the
// chunks put back together are the same answer.
func TestReplayRich(t *testing.T) {
	want := cachetest.RichAnswer().Response()
	st := replay(want, 8)
	var b answerBuilder
	var calls []providers.ToolCallDelta
	var done providers.Chunk
	for {
		c, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.ToolCall != nil {
			calls = append(calls, *c.ToolCall)
		}
		if c.Done {
			done = c
			continue
		}
		b.add(c)
	}
	wantCalls := []providers.ToolCallDelta{
		{Index: 0, ID: "toolu_01A", Name: "get_weather"}, {Index: 0, Arguments: `{"city":"Paris"}`},
		{Index: 1, ID: "toolu_01B", Name: "get_weather"}, {Index: 1, Arguments: `{"city":"東京","unit":"c"}`},
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("tool call deltas\n got %+v\nwant %+v", calls, wantCalls)
	}
	got := b.response(done)
	if !reflect.DeepEqual(got.PartList(), want.PartList()) {
		t.Errorf("parts\n got %+v\nwant %+v", got.PartList(), want.PartList())
	}
	if got.Text != want.Text || got.FinishReason != want.FinishReason || got.Usage != want.Usage || got.ID != want.ID {
		t.Errorf("answer\n got %+v\nwant %+v", got, want)
	}
}

// TestReplayText: a text-only answer stays text-only.
func TestReplayText(t *testing.T) {
	var b answerBuilder
	st := replay(&providers.Response{Text: "one two three"}, 4)
	for {
		c, err := st.Recv()
		if err != nil {
			break
		}
		if !c.Done {
			b.add(c)
		}
	}
	if r := b.response(providers.Chunk{}); r.Parts != nil || r.Text != "one two three" {
		t.Errorf("got %+v, parts %v", r, r.PartList())
	}
}
