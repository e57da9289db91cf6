package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	gatewayv1 "github.com/careerpath/llmgateway/gen/go/llmgateway/v1"
	"github.com/careerpath/llmgateway/providers/sim"
	"github.com/careerpath/llmgateway/schemacheck"
)

// writeConfig writes files (name to body) into a new temporary directory
// and returns it.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		writeConfigFile(t, dir, name, body)
	}
	return dir
}

// writeConfigFile writes one file of a configuration directory.
func writeConfigFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dial connects a gRPC client to the gateway at addr, without TLS; the
// connection is closed when the test ends.
func dial(t *testing.T, addr string) gatewayv1.LLMGatewayClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return gatewayv1.NewLLMGatewayClient(conn)
}

// connect dials the gateway's gRPC port and gives a context for the calls
// that ends after timeout or when the test ends.
func (p *process) connect(t *testing.T, timeout time.Duration) (gatewayv1.LLMGatewayClient, context.Context) {
	t.Helper()
	client := dial(t, p.grpc)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return client, ctx
}

// startSim starts a simulator, stopped when the test ends, and returns it
// and its base URL.
func startSim(t *testing.T, cfg sim.Config) (*sim.Server, string) {
	t.Helper()
	srv, url, stop, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return srv, url
}

// user is a user message of text.
func user(text string) *gatewayv1.Message {
	return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_USER, Content: text}
}

// assistant is an assistant message carrying parts, as an answer's tool
// calls go back into the conversation.
func assistant(parts []*gatewayv1.Part) *gatewayv1.Message {
	return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_ASSISTANT, Parts: parts}
}

// toolResult is the tool message answering the call id with content.
func toolResult(id, content string) *gatewayv1.Message {
	return &gatewayv1.Message{Role: gatewayv1.Role_ROLE_TOOL, Parts: []*gatewayv1.Part{{Kind: &gatewayv1.Part_ToolResult{
		ToolResult: &gatewayv1.ToolResult{ToolCallId: id, Content: content}}}}}
}

// jsonSchema is a JSON schema given by its source text.
func jsonSchema(src string) *gatewayv1.JsonSchema {
	return &gatewayv1.JsonSchema{Source: &gatewayv1.JsonSchema_Json{Json: src}}
}

// tool is a function tool whose arguments follow the JSON schema params.
func tool(name, description, params string) *gatewayv1.Tool {
	return &gatewayv1.Tool{Name: name, Description: description, Parameters: jsonSchema(params)}
}

// jsonFormat asks for a JSON answer that follows schema.
func jsonFormat(name, schema string) *gatewayv1.ResponseFormat {
	return &gatewayv1.ResponseFormat{Type: gatewayv1.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA, Name: name, Schema: jsonSchema(schema)}
}

// compileSchema compiles a JSON schema the test's answers are checked
// against.
func compileSchema(t *testing.T, src string) *schemacheck.Schema {
	t.Helper()
	s, err := schemacheck.Compile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// callsOf is the tool calls among parts, in order.
func callsOf(parts []*gatewayv1.Part) []*gatewayv1.ToolCall {
	var out []*gatewayv1.ToolCall
	for _, p := range parts {
		if tc := p.GetToolCall(); tc != nil {
			out = append(out, tc)
		}
	}
	return out
}

// firstToolCall is the first tool call among parts, nil if there is none.
func firstToolCall(parts []*gatewayv1.Part) *gatewayv1.ToolCall {
	if calls := callsOf(parts); len(calls) > 0 {
		return calls[0]
	}
	return nil
}

// toolCall is one tool call of an answer, comparable by value.
type toolCall struct{ ID, Name, Args string }

// partCalls is the tool calls among parts, by value.
func partCalls(parts []*gatewayv1.Part) []toolCall {
	var calls []toolCall
	for _, c := range callsOf(parts) {
		calls = append(calls, toolCall{ID: c.GetId(), Name: c.GetName(), Args: c.GetArguments()})
	}
	return calls
}

// recvAll reads a stream to its end and returns its messages; any error
// but the end fails the test.
func recvAll(t *testing.T, s grpc.ServerStreamingClient[gatewayv1.StreamResponse]) []*gatewayv1.StreamResponse {
	t.Helper()
	var msgs []*gatewayv1.StreamResponse
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return msgs
		}
		if err != nil {
			t.Fatalf("Recv after %d messages: %v", len(msgs), err)
		}
		msgs = append(msgs, m)
	}
}

// readStream reads a stream to its end and returns the text of its
// deltas and its last message (nil when there was none).
func readStream(t *testing.T, s grpc.ServerStreamingClient[gatewayv1.StreamResponse]) (string, *gatewayv1.StreamResponse) {
	t.Helper()
	var text strings.Builder
	var last *gatewayv1.StreamResponse
	for _, m := range recvAll(t, s) {
		text.WriteString(m.GetDelta())
		last = m
	}
	return text.String(), last
}

// streamCalls reads a whole stream, putting its tool calls together by
// index as a client does; it checks that each call's first delta names
// it. It returns the calls in index order and the final message.
func streamCalls(t *testing.T, s grpc.ServerStreamingClient[gatewayv1.StreamResponse]) ([]toolCall, *gatewayv1.StreamResponse) {
	t.Helper()
	var calls []toolCall
	var last *gatewayv1.StreamResponse
	for _, m := range recvAll(t, s) {
		if d := m.GetToolCall(); d != nil {
			i := int(d.GetIndex())
			if i == len(calls) {
				if d.GetId() == "" || d.GetName() == "" {
					t.Fatalf("first delta of call %d without id or name: %v", i, d)
				}
				calls = append(calls, toolCall{ID: d.GetId(), Name: d.GetName()})
			} else if i > len(calls) {
				t.Fatalf("delta of call %d before call %d", i, len(calls))
			}
			calls[i].Args += d.GetArguments()
		}
		if m.GetDone() {
			last = m
		}
	}
	if last == nil {
		t.Fatal("no final message")
	}
	return calls, last
}

// awsEnv is the environment of a gateway whose bedrock providers sign with
// the static credentials keyID and secret and find no other: no config or
// credentials file, no profile, no instance metadata.
func awsEnv(t *testing.T, keyID, secret string) []string {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	return []string{
		"AWS_ACCESS_KEY_ID=" + keyID, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_PROFILE=", "AWS_EC2_METADATA_DISABLED=true",
	}
}
