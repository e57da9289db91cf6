package edge

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/protoconv"
	"github.com/careerpath/llmgateway/schemacheck"
)

// The default limits of the rich parts of a request (see [Limits]).
const (
	DefaultMaxTools       = 128
	DefaultMaxSchemaBytes = 64 << 10
	DefaultMaxImageBytes  = 5 << 20
	DefaultMaxParts       = 256
)

// ImageMediaTypes are the media types an inline image may have: the ones
// every vendor the gateway speaks to accepts.
var ImageMediaTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// The fields the rich checks report.
var (
	messageDesc        = messagesField.Message()
	partsField         = messageDesc.Fields().ByName("parts")
	partDesc           = partsField.Message()
	imageField         = partDesc.Fields().ByName("image")
	imageDataField     = imageField.Message().Fields().ByName("data")
	imageURLField      = imageField.Message().Fields().ByName("url")
	imageMediaField    = imageField.Message().Fields().ByName("media_type")
	toolCallPartField  = partDesc.Fields().ByName("tool_call")
	toolResultField    = partDesc.Fields().ByName("tool_result")
	toolResultIDField  = toolResultField.Message().Fields().ByName("tool_call_id")
	thinkingField      = partDesc.Fields().ByName("thinking")
	toolsField         = completeRequest.Fields().ByName("tools")
	toolNameField      = toolsField.Message().Fields().ByName("name")
	toolParamsField    = toolsField.Message().Fields().ByName("parameters")
	toolChoiceField    = completeRequest.Fields().ByName("tool_choice")
	toolChoiceName     = toolChoiceField.Message().Fields().ByName("name")
	responseFormatFld  = completeRequest.Fields().ByName("response_format")
	responseSchemaFld  = responseFormatFld.Message().Fields().ByName("schema")
	messageRoleField   = messageDesc.Fields().ByName("role")
	noIndex            = -1
	richCeilingTools   = 128
	richCeilingParts   = 256
	errLimitAboveRules = errors.New("validation: a limit is above what the .proto allows")
)

// step is one element of a violation's path: a field, and its index when
// it is an element of a repeated field.
type step struct {
	fd    protoreflect.FieldDescriptor
	index int
}

func field(fd protoreflect.FieldDescriptor) step { return step{fd: fd, index: noIndex} }

func elem(fd protoreflect.FieldDescriptor, i int) step { return step{fd: fd, index: i} }

// violationAt is a violation of the field at the end of path.
func violationAt(description string, path ...step) fieldViolation {
	v := fieldViolation{description: description}
	for _, s := range path {
		e := pathElement(s.fd)
		if s.index != noIndex {
			e.SetIndex(uint64(s.index))
		}
		v.path = append(v.path, e)
		v.rank = append(v.rank, int32(s.fd.Number()))
	}
	return v
}

// withRichDefaults fills the rich limits left zero with their defaults.
func (l Limits) withRichDefaults() Limits {
	for _, f := range []struct {
		v   *int
		def int
	}{{&l.MaxTools, DefaultMaxTools}, {&l.MaxSchemaBytes, DefaultMaxSchemaBytes},
		{&l.MaxImageBytes, DefaultMaxImageBytes}, {&l.MaxParts, DefaultMaxParts}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return l
}

// checkRichLimits fails when lim allows more tools or parts than the rules.
func checkRichLimits(lim Limits) error {
	if lim.MaxTools > richCeilingTools || lim.MaxParts > richCeilingParts {
		return fmt.Errorf("%w: at most %d tools and %d parts per message", errLimitAboveRules, richCeilingTools, richCeilingParts)
	}
	return nil
}

// checkRich adds to vs what the rules cannot say of a request's tools,
// response format and parts: the configured limits, tool names unique, a
// tool choice naming a tool of the request, schemas that are JSON
// Schemas, images of an allowed type and size, parts in messages of the
// right role, and every tool result answering an earlier tool call.
func (v *requestValidator) checkRich(req *gatewayv1.CompleteRequest, vs []fieldViolation) []fieldViolation {
	tools := req.GetTools()
	if n := len(tools); v.lim.MaxTools > 0 && n > v.lim.MaxTools && n <= richCeilingTools {
		vs = append(vs, violationAt(fmt.Sprintf("at most %d tools are allowed, got %d", v.lim.MaxTools, n), field(toolsField)))
	}
	names := make(map[string]int, len(tools))
	for i, t := range tools {
		if j, dup := names[t.GetName()]; dup {
			vs = append(vs, violationAt(fmt.Sprintf("tools[%d] has the same name %q", j, t.GetName()),
				elem(toolsField, i), field(toolNameField)))
		} else {
			names[t.GetName()] = i
		}
		if t.GetParameters() != nil {
			vs = v.checkSchema(t.GetParameters(), vs, elem(toolsField, i), field(toolParamsField))
		}
	}
	if tc := req.GetToolChoice(); tc.GetName() != "" {
		if _, ok := names[tc.GetName()]; !ok {
			vs = append(vs, violationAt(fmt.Sprintf("%q is not one of the request's tools", tc.GetName()),
				field(toolChoiceField), field(toolChoiceName)))
		}
	} else if m := tc.GetMode(); len(tools) == 0 && (m == gatewayv1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED) {
		vs = append(vs, violationAt("a tool call is required but the request has no tools", field(toolChoiceField)))
	}
	if s := req.GetResponseFormat().GetSchema(); s != nil {
		vs = v.checkSchema(s, vs, field(responseFormatFld), field(responseSchemaFld))
	}
	calls := map[string]bool{}
	for i, m := range req.GetMessages() {
		parts := m.GetParts()
		if n := len(parts); v.lim.MaxParts > 0 && n > v.lim.MaxParts && n <= richCeilingParts {
			vs = append(vs, violationAt(fmt.Sprintf("at most %d parts are allowed, got %d", v.lim.MaxParts, n),
				elem(messagesField, i), field(partsField)))
		}
		role := m.GetRole()
		for j, p := range parts {
			at := []step{elem(messagesField, i), elem(partsField, j)}
			if kind, ok := misplaced(role, p); ok {
				vs = append(vs, violationAt(fmt.Sprintf("a %s part is not allowed in a %s message", kind, role),
					under(at, field(partKindField(p)))...))
				continue
			}
			switch k := p.GetKind().(type) {
			case *gatewayv1.Part_Image:
				vs = v.checkImage(k.Image, vs, under(at, field(imageField))...)
			case *gatewayv1.Part_ToolCall:
				calls[k.ToolCall.GetId()] = true
			case *gatewayv1.Part_ToolResult:
				if id := k.ToolResult.GetToolCallId(); id != "" && !calls[id] {
					vs = append(vs, violationAt(fmt.Sprintf("no earlier assistant message has a tool call with id %q", id),
						under(at, field(toolResultField), field(toolResultIDField))...))
				}
			}
		}
		if role == gatewayv1.Role_ROLE_TOOL && (m.GetContent() != "" || slices.ContainsFunc(parts, func(p *gatewayv1.Part) bool {
			return p.GetToolResult() == nil
		})) {
			vs = append(vs, violationAt("a ROLE_TOOL message holds only tool_result parts", elem(messagesField, i), field(messageRoleField)))
		}
	}
	return vs
}

// misplaced reports whether p may not appear in a message of role, and
// its kind's name.
func misplaced(role gatewayv1.Role, p *gatewayv1.Part) (string, bool) {
	switch p.GetKind().(type) {
	case *gatewayv1.Part_Image:
		return "image", role != gatewayv1.Role_ROLE_USER
	case *gatewayv1.Part_ToolCall:
		return "tool_call", role != gatewayv1.Role_ROLE_ASSISTANT
	case *gatewayv1.Part_ToolResult:
		return "tool_result", role != gatewayv1.Role_ROLE_USER && role != gatewayv1.Role_ROLE_TOOL
	case *gatewayv1.Part_Thinking:
		return "thinking", role != gatewayv1.Role_ROLE_ASSISTANT
	}
	return "text", false
}

func partKindField(p *gatewayv1.Part) protoreflect.FieldDescriptor {
	switch p.GetKind().(type) {
	case *gatewayv1.Part_Image:
		return imageField
	case *gatewayv1.Part_ToolCall:
		return toolCallPartField
	case *gatewayv1.Part_ToolResult:
		return toolResultField
	}
	return thinkingField
}

// checkSchema checks a schema's size and that it compiles.
func (v *requestValidator) checkSchema(s *gatewayv1.JsonSchema, vs []fieldViolation, at ...step) []fieldViolation {
	text, err := protoconv.SchemaJSON(s)
	if err != nil {
		return append(vs, violationAt(err.Error(), at...))
	}
	if v.lim.MaxSchemaBytes > 0 && len(text) > v.lim.MaxSchemaBytes {
		return append(vs, violationAt(fmt.Sprintf("the schema is %d bytes, the limit is %d", len(text), v.lim.MaxSchemaBytes), at...))
	}
	if len(text) == 0 {
		return vs // the rules report a schema without a source
	}
	if _, err := schemacheck.Shared.Compile(text); err != nil {
		return append(vs, violationAt(err.Error(), at...))
	}
	return vs
}

// checkImage checks an image's media type and size, and that inline bytes
// are of the type they claim.
func (v *requestValidator) checkImage(img *gatewayv1.Image, vs []fieldViolation, at ...step) []fieldViolation {
	mt := img.GetMediaType()
	if mt != "" && !slices.Contains(ImageMediaTypes, mt) {
		vs = append(vs, violationAt(fmt.Sprintf("must be one of %s, got %q", strings.Join(ImageMediaTypes, ", "), mt),
			under(at, field(imageMediaField))...))
	}
	switch src := img.GetSource().(type) {
	case *gatewayv1.Image_Data:
		data := under(at, field(imageDataField))
		if n := len(src.Data); v.lim.MaxImageBytes > 0 && n > v.lim.MaxImageBytes {
			vs = append(vs, violationAt(fmt.Sprintf("the image is %d bytes, the limit is %d", n, v.lim.MaxImageBytes), data...))
		}
		switch sniffed := http.DetectContentType(src.Data); {
		case mt == "":
			vs = append(vs, violationAt("a media type is required with data", under(at, field(imageMediaField))...))
		case slices.Contains(ImageMediaTypes, mt) && sniffed != mt:
			vs = append(vs, violationAt(fmt.Sprintf("the data is not %s (it looks like %s)", mt, sniffed), data...))
		}
	case *gatewayv1.Image_Url:
		u := src.Url
		switch {
		case strings.HasPrefix(u, "https://"):
		case strings.HasPrefix(u, "data:"):
			media, _, _ := strings.Cut(strings.TrimPrefix(u, "data:"), ";")
			if !slices.Contains(ImageMediaTypes, media) {
				vs = append(vs, violationAt(fmt.Sprintf("a data URL must be of %s, got %q", strings.Join(ImageMediaTypes, ", "), media),
					under(at, field(imageURLField))...))
			} else if n := len(u) / 4 * 3; v.lim.MaxImageBytes > 0 && n > v.lim.MaxImageBytes {
				vs = append(vs, violationAt(fmt.Sprintf("the image is about %d bytes, the limit is %d", n, v.lim.MaxImageBytes),
					under(at, field(imageURLField))...))
			}
		default:
			vs = append(vs, violationAt("must be an https: or data: URL", under(at, field(imageURLField))...))
		}
	}
	return vs
}

// under is the path at extended by more steps, never sharing at's array.
func under(at []step, more ...step) []step { return append(slices.Clip(at), more...) }
