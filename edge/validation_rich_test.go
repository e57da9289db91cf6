package edge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/careerpath/llmgateway/edge"
	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
)

// richLimits are small, so that every limit shows.
var richLimits = edge.Limits{MaxRequestBytes: 64 << 10, MaxMessages: 8, MaxTokens: 1000,
	MaxTools: 2, MaxSchemaBytes: 256, MaxImageBytes: 64, MaxParts: 3}

// The first bytes of real files of each type.
var (
	pngBytes  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00")
	jpegBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
)

func tool(name, schema string) *gatewayv1.Tool {
	t := &gatewayv1.Tool{Name: name, Description: "d"}
	if schema != "" {
		t.Parameters = &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: schema}}
	}
	return t
}

func text(s string) *gatewayv1.Part { return &gatewayv1.Part{Kind: &gatewayv1.Part_Text{Text: s}} }

func image(img *gatewayv1.Image) *gatewayv1.Part {
	return &gatewayv1.Part{Kind: &gatewayv1.Part_Image{Image: img}}
}

func toolCall(id, name string) *gatewayv1.Part {
	return &gatewayv1.Part{Kind: &gatewayv1.Part_ToolCall{ToolCall: &gatewayv1.ToolCall{Id: id, Name: name, Arguments: "{}"}}}
}

func toolResult(id string) *gatewayv1.Part {
	return &gatewayv1.Part{Kind: &gatewayv1.Part_ToolResult{ToolResult: &gatewayv1.ToolResult{ToolCallId: id, Content: "[]"}}}
}

func user(parts ...*gatewayv1.Part) *gatewayv1.Message {
	return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_USER, Parts: parts}
}

func assistant(parts ...*gatewayv1.Part) *gatewayv1.Message {
	return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_ASSISTANT, Parts: parts}
}

const objSchema = `{"type":"object","properties":{"q":{"type":"string"}}}`

var richValidationCases = []struct {
	name   string
	mutate func(r *gatewayv1.CompleteRequest)
	fields []string // nil: the request is valid
}{
	{"tool round trip", func(r *gatewayv1.CompleteRequest) {
		r.Tools = []*gatewayv1.Tool{tool("search_jobs", objSchema), tool("now", "")}
		r.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, Name: "now"}
		r.ParallelToolCalls = proto.Bool(true)
		r.Messages = append(r.Messages,
			assistant(&gatewayv1.Part{Kind: &gatewayv1.Part_Thinking{Thinking: &gatewayv1.Thinking{Text: "t", Signature: "s"}}},
				toolCall("c1", "search_jobs"), toolCall("c2", "now")),
			&gatewayv1.Message{Role: gatewayv1.Role_ROLE_TOOL, Parts: []*gatewayv1.Part{toolResult("c1")}},
			user(toolResult("c2"), text("and now?")))
	}, nil},
	{"structured answer", func(r *gatewayv1.CompleteRequest) {
		obj, _ := structpb.NewStruct(map[string]any{"type": "object"})
		r.ResponseFormat = &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
			Name: "career_plan", Strict: true, Schema: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Object{Object: obj}}}
		r.Reasoning = &gatewayv1.Reasoning{BudgetTokens: proto.Int32(2048)}
	}, nil},
	{"images and cache points", func(r *gatewayv1.CompleteRequest) {
		r.Messages[0] = user(text("my resume"),
			image(&gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: pngBytes}, MediaType: "image/png"}),
			image(&gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "https://example.com/cv.jpg"}}))
		r.Messages[0].CachePoint = &gatewayv1.PromptCachePoint{Ttl: durationpb.New(time.Hour)}
		r.Messages[0].Parts[0].CachePoint = &gatewayv1.PromptCachePoint{}
	}, nil},
	{"content and parts", func(r *gatewayv1.CompleteRequest) { r.Messages[0].Parts = []*gatewayv1.Part{text("x")} },
		[]string{"messages[0].parts"}},
	{"part without kind", func(r *gatewayv1.CompleteRequest) { r.Messages[0] = user(&gatewayv1.Part{}) },
		[]string{"messages[0].parts[0].kind"}},
	{"too many tools", func(r *gatewayv1.CompleteRequest) {
		r.Tools = []*gatewayv1.Tool{tool("a", ""), tool("b", ""), tool("c", "")}
	}, []string{"tools"}},
	{"duplicate tool", func(r *gatewayv1.CompleteRequest) { r.Tools = []*gatewayv1.Tool{tool("a", ""), tool("a", "")} },
		[]string{"tools[1].name"}},
	{"bad tool name", func(r *gatewayv1.CompleteRequest) {
		r.Tools = []*gatewayv1.Tool{tool("search jobs", ""), tool(strings.Repeat("a", 65), "")}
	}, []string{"tools[0].name", "tools[1].name"}},
	{"schema not JSON Schema", func(r *gatewayv1.CompleteRequest) {
		r.Tools = []*gatewayv1.Tool{tool("a", `{"type":"objekt"}`), tool("b", `{"type":`)}
	}, []string{"tools[0].parameters", "tools[1].parameters"}},
	{"schema refers outside", func(r *gatewayv1.CompleteRequest) {
		r.Tools = []*gatewayv1.Tool{tool("a", `{"$ref":"file:///etc/passwd"}`)}
	}, []string{"tools[0].parameters"}},
	{"schema too large", func(r *gatewayv1.CompleteRequest) {
		r.Tools = []*gatewayv1.Tool{tool("a", `{"description":"`+strings.Repeat("x", 300)+`"}`)}
	}, []string{"tools[0].parameters"}},
	{"unknown tool choice", func(r *gatewayv1.CompleteRequest) {
		r.Tools = []*gatewayv1.Tool{tool("a", "")}
		r.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL, Name: "b"}
	}, []string{"tool_choice.name"}},
	{"tool mode without a name", func(r *gatewayv1.CompleteRequest) {
		r.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_TOOL}
	}, []string{"tool_choice.name"}},
	{"required without tools", func(r *gatewayv1.CompleteRequest) {
		r.ToolChoice = &gatewayv1.ToolChoice{Mode: gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}
	}, []string{"tool_choice"}},
	{"json schema without schema", func(r *gatewayv1.CompleteRequest) {
		r.ResponseFormat = &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA}
	}, []string{"response_format.schema"}},
	{"response schema invalid", func(r *gatewayv1.CompleteRequest) {
		r.ResponseFormat = &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
			Name: "bad name", Schema: &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: `{"minLength":"3"}`}}}
	}, []string{"response_format.name", "response_format.schema"}},
	{"effort and budget", func(r *gatewayv1.CompleteRequest) {
		r.Reasoning = &gatewayv1.Reasoning{Effort: gatewayv1.ReasoningEffort_REASONING_EFFORT_LOW, BudgetTokens: proto.Int32(100)}
	}, []string{"reasoning.budget_tokens", "reasoning.budget_tokens"}},
	{"tool result without a call", func(r *gatewayv1.CompleteRequest) {
		r.Messages = append(r.Messages, assistant(toolCall("c1", "a")), user(toolResult("c9")))
	}, []string{"messages[2].parts[0].tool_result.tool_call_id"}},
	{"tool result before its call", func(r *gatewayv1.CompleteRequest) {
		r.Messages = append(r.Messages, user(toolResult("c1")), assistant(toolCall("c1", "a")))
	}, []string{"messages[1].parts[0].tool_result.tool_call_id"}},
	{"parts in the wrong role", func(r *gatewayv1.CompleteRequest) {
		r.Messages = append(r.Messages, assistant(image(&gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "https://x/y.png"}})),
			user(toolCall("c1", "a")))
	}, []string{"messages[1].parts[0].image", "messages[2].parts[0].tool_call"}},
	{"tool message with text", func(r *gatewayv1.CompleteRequest) {
		r.Messages = append(r.Messages, &gatewayv1.Message{Role: gatewayv1.Role_ROLE_TOOL, Content: "42"})
	}, []string{"messages[1].role"}},
	{"too many parts", func(r *gatewayv1.CompleteRequest) { r.Messages[0] = user(text("a"), text("b"), text("c"), text("d")) },
		[]string{"messages[0].parts"}},
	{"image too large", func(r *gatewayv1.CompleteRequest) {
		r.Messages[0] = user(image(&gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: append(pngBytes, make([]byte, 64)...)},
			MediaType: "image/png"}))
	}, []string{"messages[0].parts[0].image.data"}},
	{"media type not allowed", func(r *gatewayv1.CompleteRequest) {
		r.Messages[0] = user(image(&gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: pngBytes}, MediaType: "image/tiff"}))
	}, []string{"messages[0].parts[0].image.media_type"}},
	{"media type missing", func(r *gatewayv1.CompleteRequest) {
		r.Messages[0] = user(image(&gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: pngBytes}}))
	}, []string{"messages[0].parts[0].image.media_type"}},
	{"data not of its type", func(r *gatewayv1.CompleteRequest) {
		r.Messages[0] = user(image(&gatewayv1.Image{Source: &gatewayv1.Image_Data{Data: jpegBytes}, MediaType: "image/png"}))
	}, []string{"messages[0].parts[0].image.data"}},
	{"bad image URLs", func(r *gatewayv1.CompleteRequest) {
		r.Messages[0] = user(image(&gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "file:///etc/passwd"}}),
			image(&gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "data:image/svg+xml;base64,PHN2Zz4="}}),
			image(&gatewayv1.Image{Source: &gatewayv1.Image_Url{Url: "data:image/png;base64," + strings.Repeat("A", 200)}}))
	}, []string{"messages[0].parts[0].image.url", "messages[0].parts[1].image.url", "messages[0].parts[2].image.url"}},
	{"zero cache ttl", func(r *gatewayv1.CompleteRequest) {
		r.Messages[0].CachePoint = &gatewayv1.PromptCachePoint{Ttl: durationpb.New(0)}
	}, []string{"messages[0].cache_point.ttl"}},
}

func TestValidationRich(t *testing.T) {
	client := startValidationServer(t, richLimits)
	for _, tt := range richValidationCases {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.mutate(r)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := client.Complete(ctx, r)
			checkRefusal(t, "unary", err, tt.fields)
		})
	}
}

func TestValidationRichLimitsAboveRules(t *testing.T) {
	for _, lim := range []edge.Limits{{MaxTools: 129}, {MaxParts: 257}} {
		if _, _, err := edge.NewValidationInterceptors(lim); err == nil {
			t.Errorf("%+v accepted", lim)
		}
	}
}
