package chartcheck

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

func chartDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "helm", "vds")
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Fatalf("chart not found: %v", err)
	}
	return dir
}

func valuesFile(t *testing.T, rel string) map[string]any {
	t.Helper()
	if rel == "" {
		return map[string]any{}
	}
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var all = []string{"ml", "sandbox"}

// valueSets are the default values and the examples under helm/vds/ci/, with what each must yield.
var valueSets = []struct {
	name, file string
	want       Expect
	// secrets the rendering must contain
	secrets []string
}{
	{"default", "", Expect{Autoscaled: all, PDBs: true, Migration: true, MetricsPort: 9090}, []string{"vds-keys", "vds-database"}},
	{"production", "ci/production-values.yaml", Expect{Autoscaled: all, PDBs: true, Migration: true, Ingress: true,
		SandboxRuntimeClass: "gvisor", ExternalSecrets: []string{"vds-database", "vds-keys"}, MetricsPort: 9090}, nil},
	{"minimal", "ci/minimal-values.yaml", Expect{PDBs: false, Migration: false, MetricsPort: 9090}, []string{"vds-keys", "vds-database", "vds-s3"}},
}

// TestChart is `helm lint` and `helm template` for each value set, with the manifests decoded
// strictly into Kubernetes types and held to the policy.
func TestChart(t *testing.T) {
	dir := chartDir(t)
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			vals := valuesFile(t, vs.file)
			if err := Lint(dir, vals); err != nil {
				t.Fatal(err)
			}
			out, _, err := Render(dir, vals)
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			o, err := Decode(out)
			if err != nil {
				t.Fatalf("strict decoding: %v", err)
			}
			for _, v := range Check(o, vs.want) {
				t.Error(v)
			}
			got := map[string]bool{}
			for _, s := range o.Secrets {
				got[s.Name] = true
			}
			for _, s := range vs.secrets {
				if !got[s] {
					t.Errorf("Secret %s not rendered", s)
				}
			}
			if len(o.Secrets) != len(vs.secrets) {
				t.Errorf("%d Secrets rendered, want %d (%v)", len(o.Secrets), len(vs.secrets), vs.secrets)
			}
		})
	}
}

// TestSchemaRejects: values.schema.json refuses bad values before anything renders.
func TestSchemaRejects(t *testing.T) {
	dir := chartDir(t)
	for _, tc := range []struct{ name, values, want string }{
		{"root pod", "podSecurityContext: {runAsNonRoot: false}", "'/podSecurityContext/runAsNonRoot'"},
		{"writable root fs", "containerSecurityContext: {readOnlyRootFilesystem: false}", "'/containerSecurityContext/readOnlyRootFilesystem'"},
		{"privilege escalation", "containerSecurityContext: {allowPrivilegeEscalation: true}", "'/containerSecurityContext/allowPrivilegeEscalation'"},
		{"no replicas", "services: {ml: {replicas: 0}}", "'/services/ml/replicas'"},
		{"no memory limit", "services: {auth: {resources: {limits: {cpu: 1, memory: null}}}}", "'/services/auth/resources/limits': missing property 'memory'"},
		{"bad quantity", "services: {auth: {resources: {limits: {cpu: lots}}}}", "'/services/auth/resources/limits/cpu'"},
		{"typo in a service name", "services: {mll: {replicas: 1}}", "additional properties 'mll' not allowed"},
		{"typo at the top", "servics: {}", "additional properties 'servics' not allowed"},
		{"mysql database", "database: {url: 'mysql://x/y'}", "'/database/url'"},
		{"file object store", "objectStore: {url: 'file:///data'}", "'/objectStore/url'"},
		{"nats without scheme", "nats: {url: 'nats-0:4222'}", "'/nats/url'"},
		{"mesh key too short", "secrets: {meshKey: 'abcd'}", "'/secrets/meshKey'"},
		{"signing key not hex", "secrets: {modelSigningKey: 'zz00000000000000000000000000000000000000000000000000000000000000'}", "'/secrets/modelSigningKey'"},
		{"bad runtime class", "services: {sandbox: {runtimeClassName: 'G Visor'}}", "'/services/sandbox/runtimeClassName'"},
		{"sandbox open to the internet", "networkPolicy: {dependencies: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}", "'/networkPolicy/dependencies/0/to/0/ipBlock/cidr'"},
		{"egress rule without destination", "networkPolicy: {dependencies: [{ports: [{port: 443}]}]}", "'/networkPolicy/dependencies/0': missing property 'to'"},
		{"metrics on the gRPC port", "telemetry: {metricsPort: 9000}", "'/telemetry/metricsPort'"},
		{"autoscaling without bounds", "services: {ml: {autoscaling: {enabled: true, minReplicas: null}}}", "missing property 'minReplicas'"},
		{"bad log level", "logLevel: verbose", "'/logLevel'"},
		{"capabilities kept", "containerSecurityContext: {capabilities: {drop: [NET_RAW]}}", "'/containerSecurityContext/capabilities/drop'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			override := map[string]any{}
			if err := yaml.Unmarshal([]byte(tc.values), &override); err != nil {
				t.Fatal(err)
			}
			_, _, err := Render(dir, override)
			if err == nil {
				t.Fatalf("values %s were accepted", tc.values)
			}
			if testing.Verbose() {
				t.Logf("%v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not name %q: %v", tc.want, err)
			}
		})
	}
}

// TestPolicyCatches: the policy check is not vacuous — a rendering broken in each of these ways
// (after strict decoding, as a hand-edited chart could be) is reported.
func TestPolicyCatches(t *testing.T) {
	dir := chartDir(t)
	for _, tc := range []struct {
		name   string
		break_ func(o *Objects)
		want   string
	}{
		{"container without limits", func(o *Objects) { o.Deployments[2].Spec.Template.Spec.Containers[0].Resources.Limits = nil }, "limit"},
		{"container may run as root", func(o *Objects) {
			f := false
			o.Deployments[0].Spec.Template.Spec.SecurityContext.RunAsNonRoot = &f
			o.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.RunAsNonRoot = nil
		}, "root"},
		{"sandbox egress policy removed", func(o *Objects) {
			var keep []*networkingv1.NetworkPolicy
			for _, np := range o.NetworkPolicies {
				if !strings.HasSuffix(np.Name, "sandbox-egress") {
					keep = append(keep, np)
				}
			}
			o.NetworkPolicies = keep
		}, "egress"},
		{"sandbox egress to anywhere", func(o *Objects) {
			for _, np := range o.NetworkPolicies {
				if strings.HasSuffix(np.Name, "sandbox-egress") {
					np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
				}
			}
		}, "any destination"},
		{"ml open to outside", func(o *Objects) {
			for _, np := range o.NetworkPolicies {
				if strings.HasSuffix(np.Name, "-mesh") {
					np.Spec.Ingress[0].From = nil
				}
			}
		}, "everyone"},
		{"database URL in plain text", func(o *Objects) {
			for i, e := range o.Deployments[1].Spec.Template.Spec.Containers[0].Env {
				if e.Name == "VDS_DATABASE_URL" {
					o.Deployments[1].Spec.Template.Spec.Containers[0].Env[i] = corev1.EnvVar{Name: e.Name, Value: "postgres://x"}
				}
			}
		}, "plain text"},
		{"missing deployment", func(o *Objects) { o.Deployments = o.Deployments[1:] }, "Deployment"},
		{"latest image", func(o *Objects) { o.Deployments[3].Spec.Template.Spec.Containers[0].Image = "vds/ml:latest" }, "tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := Render(dir, map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			o, err := Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			if v := Check(o, valueSets[0].want); len(v) != 0 {
				t.Fatalf("the default rendering already fails: %v", v)
			}
			tc.break_(o)
			v := Check(o, valueSets[0].want)
			if !strings.Contains(strings.Join(v, "\n"), tc.want) {
				t.Fatalf("violation %q not reported; got %v", tc.want, v)
			}
		})
	}
}

// TestDecodeIsStrict: a manifest with a misspelt field fails to decode.
func TestDecodeIsStrict(t *testing.T) {
	_, err := Decode(map[string]string{"x.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n"})
	if err == nil || !strings.Contains(err.Error(), "selectr") {
		t.Fatalf("unknown field accepted: %v", err)
	}
}
