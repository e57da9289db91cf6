package edge_test

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func writeFileErr(dir, name, body string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600)
}

func marshalJSON(m proto.Message) ([]byte, error) {
	return protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
}

func TestMain(m *testing.M) {
	// Every test shuts its gateway, simulators and clients down: nothing may
	// outlive them.
	goleak.VerifyTestMain(m)
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
