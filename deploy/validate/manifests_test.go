package validate

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/yannh/kubeconform/pkg/validator"
)

const manifestDir = "../kubernetes"

var (
	schemasOnce sync.Once
	schemasDir  string
	schemasErr  error
)

// schemas writes the strict Kubernetes schemas once per test binary.
func schemas(t *testing.T) string {
	t.Helper()
	schemasOnce.Do(func() {
		spec, err := OpenAPIDir(context.Background())
		if err != nil {
			schemasErr = err
			return
		}
		dir, err := os.MkdirTemp("", "k8s-schemas-")
		if err != nil {
			schemasErr = err
			return
		}
		schemasDir = dir
		_, schemasErr = WriteSchemas(spec, dir)
	})
	if schemasErr != nil {
		t.Fatalf("Kubernetes schemas: %v", schemasErr)
	}
	return schemasDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if schemasDir != "" {
		_ = os.RemoveAll(schemasDir)
	}
	os.Exit(code)
}

func newValidator(t *testing.T) validator.Validator {
	t.Helper()
	v, err := validator.New([]string{SchemaLocation(schemas(t))}, validator.Opts{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// manifests lists the Kubernetes resource files (kustomization.yaml is
// kustomize's own file, checked in TestKustomizationListsEveryManifest).
func manifests(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", manifestDir)
	}
	return files
}

func TestManifestsMatchKubernetesSchemas(t *testing.T) {
	v := newValidator(t)
	kinds := map[string]int{}
	for _, file := range manifests(t) {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range v.Validate(file, f) {
			switch res.Status {
			case validator.Valid:
				sig, _ := res.Resource.Signature()
				kinds[sig.Kind]++
			case validator.Empty:
			default:
				t.Errorf("%s: %v", file, res.Err)
				for _, e := range res.ValidationErrors {
					t.Errorf("  %s: %s", e.Path, e.Msg)
				}
			}
		}
	}
	for _, kind := range []string{"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} {
		if kinds[kind] == 0 {
			t.Errorf("no valid %s among the manifests (found %v)", kind, kinds)
		}
	}
}

// TestBrokenManifestsAreRejected shows that the check fails on the
// mistakes it is there to catch.
func TestBrokenManifestsAreRejected(t *testing.T) {
	v := newValidator(t)
	deployment := func(container string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
        - ` + container + "\n"
	}
	for name, doc := range map[string]string{
		"misspelt field": deployment(`{name: gateway, image: gw, readinesProbe: {httpGet: {path: /readyz, port: 9090}}}`),
		"missing name":   deployment(`{image: gw}`),
		"wrong type":     deployment(`{name: gateway, image: gw, ports: [{containerPort: "nine"}]}`),
		"duplicate key":  deployment(`{name: gateway, name: other, image: gw}`),
		"unknown top-level field": `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: x}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: x}}}
extra: true
`,
		"HPA without target": `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: x}
spec: {maxReplicas: 3}
`,
	} {
		t.Run(name, func(t *testing.T) {
			results := v.Validate(name+".yaml", reader(doc))
			if len(results) != 1 {
				t.Fatalf("got %d results, want 1", len(results))
			}
			if res := results[0]; res.Status == validator.Valid || res.Status == validator.Empty || res.Status == validator.Skipped {
				t.Errorf("accepted (status %d)", res.Status)
			}
		})
	}
	// the same document without the mistake is accepted
	if res := v.Validate("ok.yaml", reader(deployment(`{name: gateway, image: gw}`))); len(res) != 1 || res[0].Status != validator.Valid {
		t.Errorf("a correct Deployment was refused: %+v", res)
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(manifestDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range manifests(t) {
		base := filepath.Base(file)
		listed := strings.Contains(string(b), "\n  - "+base+"\n")
		if example := strings.HasSuffix(base, ".example.yaml"); listed == example {
			t.Errorf("kustomization.yaml: %s listed=%v, want %v (examples are applied by hand)", base, listed, !example)
		}
	}
}

func reader(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
