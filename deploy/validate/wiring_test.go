package validate

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// objects are the manifests decoded into the Kubernetes API's Go types.
type objects struct {
	deployment appsv1.Deployment
	services   []corev1.Service
	hpa        autoscalingv2.HorizontalPodAutoscaler
	pdb        policyv1.PodDisruptionBudget
	configMap  corev1.ConfigMap
	secret     corev1.Secret
}

func loadObjects(t *testing.T) objects {
	t.Helper()
	var o objects
	for _, file := range manifests(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---\n") {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var into any
			switch meta.Kind {
			case "Deployment":
				into = &o.deployment
			case "Service":
				o.services = append(o.services, corev1.Service{})
				into = &o.services[len(o.services)-1]
			case "HorizontalPodAutoscaler":
				into = &o.hpa
			case "PodDisruptionBudget":
				into = &o.pdb
			case "ConfigMap":
				into = &o.configMap
			case "Secret":
				into = &o.secret
			default:
				continue
			}
			if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
				t.Fatalf("%s (%s): %v", filepath.Base(file), meta.Kind, err)
			}
		}
	}
	return o
}

func env(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// TestManifestsFitTogether checks what a schema cannot: that selectors,
// names, ports, probes, mounts and secret keys refer to each other.
func TestManifestsFitTogether(t *testing.T) {
	o := loadObjects(t)
	d := o.deployment
	podLabels := labels.Set(d.Spec.Template.Labels)
	if !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(podLabels) {
		t.Errorf("Deployment selector %v does not match its pods' labels %v", d.Spec.Selector.MatchLabels, podLabels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("Deployment replicas = %v, want several", d.Spec.Replicas)
	}
	if len(o.services) == 0 {
		t.Fatal("no Service")
	}
	for _, s := range o.services {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
			t.Errorf("Service %s selects %v, not the gateway's pods %v", s.Name, s.Spec.Selector, podLabels)
		}
	}
	if !labels.SelectorFromSet(o.pdb.Spec.Selector.MatchLabels).Matches(podLabels) {
		t.Errorf("PodDisruptionBudget selects %v, not the gateway's pods", o.pdb.Spec.Selector.MatchLabels)
	}
	if ref := o.hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA scales %s/%s, want Deployment/%s", ref.Kind, ref.Name, d.Name)
	}
	if o.hpa.Spec.MinReplicas == nil || *o.hpa.Spec.MinReplicas < 2 {
		t.Errorf("HPA minReplicas = %v, want at least 2 (the PodDisruptionBudget allows one down)", o.hpa.Spec.MinReplicas)
	}

	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	for flagEnv, port := range map[string]string{"LLMGW_GRPC_ADDR": "grpc", "LLMGW_HTTP_ADDR": "http", "LLMGW_ADMIN_ADDR": "admin"} {
		e, ok := env(c, flagEnv)
		if !ok {
			t.Errorf("%s is not set: the gateway would listen on 127.0.0.1 only", flagEnv)
			continue
		}
		host, p, err := net.SplitHostPort(e.Value)
		if err != nil || (host != "" && host != "0.0.0.0" && host != "::") {
			t.Errorf("%s=%q: want all interfaces", flagEnv, e.Value)
		}
		if want := containerPort(c, port); want == 0 || p != strconv.Itoa(int(want)) {
			t.Errorf("%s=%q does not match container port %q (%d)", flagEnv, e.Value, port, want)
		}
	}
	for probe, want := range map[*corev1.Probe]string{c.ReadinessProbe: "/readyz", c.LivenessProbe: "/healthz"} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("missing HTTP probe for %s", want)
			continue
		}
		if probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "admin" {
			t.Errorf("probe %s on port %s, want %s on admin", probe.HTTPGet.Path, probe.HTTPGet.Port.String(), want)
		}
	}

	configDir, _ := env(c, "LLMGW_CONFIG_DIR")
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.MountPath != configDir.Value {
			continue
		}
		if m.SubPath != "" {
			t.Errorf("config mounted with subPath: ConfigMap updates would never reach the pod")
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == o.configMap.Name {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("ConfigMap %s is not mounted at LLMGW_CONFIG_DIR=%q", o.configMap.Name, configDir.Value)
	}
	for _, e := range c.Env {
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			if ref.SecretKeyRef.Name != o.secret.Name {
				t.Errorf("%s comes from Secret %s, want %s", e.Name, ref.SecretKeyRef.Name, o.secret.Name)
			}
			if _, ok := o.secret.StringData[ref.SecretKeyRef.Key]; !ok {
				t.Errorf("%s: key %s is not in the example Secret", e.Name, ref.SecretKeyRef.Key)
			}
		}
	}
	for _, key := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} {
		if e, ok := env(c, key); !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s must come from the Secret", key)
		}
	}

	pod := d.Spec.Template.Spec.SecurityContext
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Error("pod may run as root")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container: want a read-only root filesystem and no privilege escalation")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("container: want CPU requests (the HPA scales on them) and a memory limit")
	}
	shutdown, _ := env(c, "LLMGW_SHUTDOWN_GRACE")
	inflight, err := time.ParseDuration(shutdown.Value)
	if err != nil {
		t.Errorf("LLMGW_SHUTDOWN_GRACE=%q: %v", shutdown.Value, err)
	}
	var preStop time.Duration
	if l := c.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Sleep == nil || l.PreStop.Sleep.Seconds <= 0 {
		t.Error("container: want a preStop sleep, so endpoints drop the pod before SIGTERM closes its listeners")
	} else {
		preStop = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
	}
	if grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds; grace == nil || time.Duration(*grace)*time.Second <= preStop+inflight {
		t.Errorf("terminationGracePeriodSeconds = %v, want more than the preStop sleep (%v) plus LLMGW_SHUTDOWN_GRACE (%v) so in-flight calls can finish", grace, preStop, inflight)
	}
}
