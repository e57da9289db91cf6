// Package validate checks the files in deploy/ that Go does not compile:
// the Kubernetes manifests against the Kubernetes API's own OpenAPI
// documents (strictly: an unknown field is an error), the ConfigMap's
// configuration against the gateway itself, and the Grafana dashboard's
// queries against the metric names the gateway exports.
//
// It is a module of its own so that the gateway's go.mod does not carry
// kubeconform and its dependencies; `make check-deploy` runs its tests.
package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubernetesVersion is the Kubernetes release whose OpenAPI v3 documents
// (api/openapi-spec/v3 in the k8s.io/kubernetes module) define the schemas.
const KubernetesVersion = "v1.35.4"

// SchemaLocation is the kubeconform schema-location template matching the
// files WriteSchemas writes into dir.
func SchemaLocation(dir string) string {
	return filepath.Join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json")
}

// OpenAPIDir returns the directory of the Kubernetes OpenAPI v3 documents,
// fetching the k8s.io/kubernetes module through the Go module proxy (or
// the module cache) with `go mod download`.
func OpenAPIDir(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "k8s.io/kubernetes@"+KubernetesVersion)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes@%s: %w: %s", KubernetesVersion, err, stderr.String())
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes@%s: %s", KubernetesVersion, mod.Error)
	}
	return filepath.Join(mod.Dir, "api", "openapi-spec", "v3"), nil
}

// WriteSchemas turns the OpenAPI v3 documents in specDir into JSON Schemas
// in dir, laid out for kubeconform's SchemaLocation template: one file per
// group version holding its component schemas, made strict (every object
// schema that lists its properties gets additionalProperties: false unless
// it preserves unknown fields), and one small file per kind,
// "<kind>-<group>-<version>.json", referring into it. It returns the number
// of kinds written.
func WriteSchemas(specDir, dir string) (int, error) {
	docs, err := filepath.Glob(filepath.Join(specDir, "api*__v*_openapi.json"))
	if err != nil {
		return 0, err
	}
	if len(docs) == 0 {
		return 0, fmt.Errorf("no OpenAPI v3 documents in %s", specDir)
	}
	kinds := 0
	for _, doc := range docs {
		n, err := writeGroupVersion(doc, dir)
		if err != nil {
			return kinds, fmt.Errorf("%s: %w", filepath.Base(doc), err)
		}
		kinds += n
	}
	return kinds, nil
}

func writeGroupVersion(doc, dir string) (int, error) {
	b, err := os.ReadFile(doc)
	if err != nil {
		return 0, err
	}
	var spec struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return 0, err
	}
	if len(spec.Components.Schemas) == 0 {
		return 0, errors.New("no component schemas")
	}
	for _, s := range spec.Components.Schemas {
		strict(s)
	}
	gvFile := "_" + strings.TrimSuffix(filepath.Base(doc), "_openapi.json") + ".json"
	out, err := json.Marshal(map[string]any{"components": spec.Components})
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, gvFile), out, 0o644); err != nil {
		return 0, err
	}
	kinds := 0
	for name, s := range spec.Components.Schemas {
		obj, _ := s.(map[string]any)
		gvks, _ := obj["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if kind == "" || gvDoc(group, version) != filepath.Base(doc) {
				continue // a kind of another group version (e.g. DeleteOptions)
			}
			suffix := "-" + version
			if group != "" {
				suffix = "-" + strings.ToLower(strings.Split(group, ".")[0]) + suffix
			}
			ref, err := json.Marshal(map[string]string{"$ref": gvFile + "#/components/schemas/" + name})
			if err != nil {
				return kinds, err
			}
			if err := os.WriteFile(filepath.Join(dir, strings.ToLower(kind)+suffix+".json"), ref, 0o644); err != nil {
				return kinds, err
			}
			kinds++
		}
	}
	return kinds, nil
}

// gvDoc is the name of the OpenAPI v3 document of a group version.
func gvDoc(group, version string) string {
	if group == "" {
		return "api__" + version + "_openapi.json"
	}
	return "apis__" + group + "__" + version + "_openapi.json"
}

// strict walks a schema and closes every object schema that lists its
// properties, as kubectl's strict field validation does.
func strict(v any) {
	switch s := v.(type) {
	case map[string]any:
		_, props := s["properties"]
		_, additional := s["additionalProperties"]
		preserve, _ := s["x-kubernetes-preserve-unknown-fields"].(bool)
		if props && !additional && !preserve {
			s["additionalProperties"] = false
		}
		for _, child := range s {
			strict(child)
		}
	case []any:
		for _, child := range s {
			strict(child)
		}
	}
}
