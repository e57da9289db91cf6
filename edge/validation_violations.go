package edge

import (
	"cmp"
	"slices"
	"strings"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/gwerr"
)

// The fields the Go checks report, and read the rules' ceilings from.
var (
	completeRequest = (&gatewayv1.CompleteRequest{}).ProtoReflect().Descriptor()
	messagesField   = completeRequest.Fields().ByName("messages")
	paramsField     = completeRequest.Fields().ByName("params")
	maxTokensField  = paramsField.Message().Fields().ByName("max_tokens")
	cacheField      = completeRequest.Fields().ByName("cache")
	ttlField        = cacheField.Message().Fields().ByName("ttl")
)

// fieldViolation is one violated field, with its path kept structured so
// that violations sort in declaration order.
type fieldViolation struct {
	path []*validatepb.FieldPathElement
	// rank is the declaration position of each path element: its field
	// number, or for a oneof the number of its first member.
	rank        []int32
	description string
}

// newFieldViolation is a violation of the field at the end of fields, a path
// from the request down.
func newFieldViolation(description string, fields ...protoreflect.FieldDescriptor) fieldViolation {
	v := fieldViolation{description: description}
	for _, fd := range fields {
		v.path = append(v.path, pathElement(fd))
		v.rank = append(v.rank, int32(fd.Number()))
	}
	return v
}

func pathElement(fd protoreflect.FieldDescriptor) *validatepb.FieldPathElement {
	return validatepb.FieldPathElement_builder{
		FieldNumber: proto.Int32(int32(fd.Number())),
		FieldName:   proto.String(string(fd.Name())),
	}.Build()
}

// ruleViolations converts the rules' violations of a message of type root.
//
// A message rule (a CEL rule of the whole message) has no field of its own:
// it is reported against the field its id names before the first dot, e.g.
// "route" for "route.route_or_model", when the message has such a field.
func ruleViolations(root protoreflect.MessageDescriptor, ve *protovalidate.ValidationError) []fieldViolation {
	out := make([]fieldViolation, 0, len(ve.Violations))
	for _, pv := range ve.Violations {
		path := pv.Proto.GetField().GetElements()
		rank := make([]int32, len(path), len(path)+1)
		md := root // the message at the end of path, nil if it is not one
		for i, e := range path {
			rank[i] = e.GetFieldNumber()
			if md == nil {
				continue
			}
			if fd := md.Fields().ByNumber(protoreflect.FieldNumber(e.GetFieldNumber())); e.HasFieldNumber() && fd != nil {
				md = elementMessage(fd)
				continue
			}
			if od := md.Oneofs().ByName(protoreflect.Name(e.GetFieldName())); od != nil && od.Fields().Len() > 0 {
				rank[i] = int32(od.Fields().Get(0).Number())
			}
			md = nil
		}
		if md != nil && pv.FieldDescriptor == nil && len(pv.Proto.GetRule().GetElements()) == 0 {
			name, _, _ := strings.Cut(pv.Proto.GetRuleId(), ".")
			if fd := md.Fields().ByName(protoreflect.Name(name)); fd != nil {
				path = append(slices.Clip(path), pathElement(fd))
				rank = append(rank, int32(fd.Number()))
			}
		}
		desc := pv.Proto.GetMessage()
		if desc == "" {
			desc = "violates " + pv.Proto.GetRuleId()
		}
		out = append(out, fieldViolation{path: path, rank: rank, description: desc})
	}
	return out
}

// elementMessage is the message type of fd's values (of a map's values), nil
// for scalars.
func elementMessage(fd protoreflect.FieldDescriptor) protoreflect.MessageDescriptor {
	if fd.IsMap() {
		return fd.MapValue().Message()
	}
	return fd.Message()
}

// reported reports whether vs already has a violation of v's field.
func reported(vs []fieldViolation, v fieldViolation) bool {
	return slices.ContainsFunc(vs, func(o fieldViolation) bool { return comparePaths(o, v) == 0 })
}

// invalidRequest sorts vs into declaration order, a field's elements and
// members before the field itself, and returns them as one error.
func invalidRequest(vs []fieldViolation) *gwerr.InvalidRequestError {
	slices.SortStableFunc(vs, comparePaths)
	out := &gwerr.InvalidRequestError{Violations: make([]gwerr.FieldError, len(vs))}
	for i, v := range vs {
		out.Violations[i] = gwerr.FieldError{
			Field:       protovalidate.FieldPathString(validatepb.FieldPath_builder{Elements: v.path}.Build()),
			Description: v.description,
		}
	}
	return out
}

func comparePaths(a, b fieldViolation) int {
	for i := range min(len(a.path), len(b.path)) {
		if c := cmp.Compare(a.rank[i], b.rank[i]); c != 0 {
			return c
		}
		if c := compareSubscripts(a.path[i], b.path[i]); c != 0 {
			return c
		}
	}
	// The longer path is inside the shorter one: it comes first.
	return cmp.Compare(len(b.path), len(a.path))
}

func compareSubscripts(x, y *validatepb.FieldPathElement) int {
	// An element of a list or map is inside it, so it comes first.
	switch none := validatepb.FieldPathElement_Subscript_not_set_case; {
	case x.WhichSubscript() == none && y.WhichSubscript() != none:
		return 1
	case x.WhichSubscript() != none && y.WhichSubscript() == none:
		return -1
	}
	if c := cmp.Compare(x.WhichSubscript(), y.WhichSubscript()); c != 0 {
		return c
	}
	switch x.WhichSubscript() {
	case validatepb.FieldPathElement_Index_case:
		return cmp.Compare(x.GetIndex(), y.GetIndex())
	case validatepb.FieldPathElement_BoolKey_case:
		return cmp.Compare(boolRank(x.GetBoolKey()), boolRank(y.GetBoolKey()))
	case validatepb.FieldPathElement_IntKey_case:
		return cmp.Compare(x.GetIntKey(), y.GetIntKey())
	case validatepb.FieldPathElement_UintKey_case:
		return cmp.Compare(x.GetUintKey(), y.GetUintKey())
	case validatepb.FieldPathElement_StringKey_case:
		return cmp.Compare(x.GetStringKey(), y.GetStringKey())
	}
	return 0
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
