// Package chartcheck checks the Helm chart in helm/vds offline, as CI does: lint it, render it
// (`helm template`) with a value set, decode every manifest strictly into the Kubernetes API
// types, and enforce the deployment policy (every container non-root, read-only, seccomp'd and
// limited; one Deployment per service; the sandbox denied egress; only the gateway open to the
// outside). It uses the Helm SDK, so no helm binary or cluster is needed.
package chartcheck

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// Lint runs `helm lint` on the chart with the given values; warnings count as failures.
func Lint(chartDir string, values map[string]any) error {
	l := lint.All(chartDir, values, "vds", false)
	var msgs []string
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			msgs = append(msgs, m.Error())
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("helm lint:\n  %s", strings.Join(msgs, "\n  "))
	}
	return nil
}

// Render is `helm template` for release "vds" in namespace "vds": it validates values against
// values.schema.json and returns the rendered manifests by template path (NOTES.txt left out).
func Render(chartDir string, values map[string]any) (map[string]string, *chart.Chart, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, nil, err
	}
	if err := chartutil.ProcessDependencies(ch, values); err != nil {
		return nil, nil, err
	}
	vals, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{Name: "vds", Namespace: "vds", Revision: 1, IsInstall: true}, nil)
	if err != nil {
		return nil, nil, err
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		return nil, nil, err
	}
	for k := range out {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(out, k)
		}
	}
	return out, ch, nil
}

var scheme = runtime.NewScheme()

func init() {
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme, autoscalingv2.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
}

// Objects are the decoded manifests of one rendering.
type Objects struct {
	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	Secrets         []*corev1.Secret
	ServiceAccounts []*corev1.ServiceAccount
	Jobs            []*batchv1.Job
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	PDBs            []*policyv1.PodDisruptionBudget
	NetworkPolicies []*networkingv1.NetworkPolicy
	Ingresses       []*networkingv1.Ingress
}

// Decode splits the manifests into documents and decodes each strictly (an unknown or duplicated
// field is an error) into its API type; a kind the chart is not expected to make is an error too.
func Decode(manifests map[string]string) (*Objects, error) {
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
	o := &Objects{}
	names := make([]string, 0, len(manifests))
	for n := range manifests {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		docs := splitDocs(manifests[name])
		for i, doc := range docs {
			obj, gvk, err := strict.Decode([]byte(doc), nil, nil)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s document %d: %w", name, i+1, err))
				continue
			}
			switch v := obj.(type) {
			case *appsv1.Deployment:
				o.Deployments = append(o.Deployments, v)
			case *corev1.Service:
				o.Services = append(o.Services, v)
			case *corev1.Secret:
				o.Secrets = append(o.Secrets, v)
			case *corev1.ServiceAccount:
				o.ServiceAccounts = append(o.ServiceAccounts, v)
			case *batchv1.Job:
				o.Jobs = append(o.Jobs, v)
			case *autoscalingv2.HorizontalPodAutoscaler:
				o.HPAs = append(o.HPAs, v)
			case *policyv1.PodDisruptionBudget:
				o.PDBs = append(o.PDBs, v)
			case *networkingv1.NetworkPolicy:
				o.NetworkPolicies = append(o.NetworkPolicies, v)
			case *networkingv1.Ingress:
				o.Ingresses = append(o.Ingresses, v)
			default:
				errs = append(errs, fmt.Errorf("%s document %d: unexpected kind %s", name, i+1, gvk))
			}
		}
	}
	return o, errors.Join(errs...)
}

// splitDocs splits a YAML stream at "---" lines, dropping documents with only comments.
func splitDocs(s string) []string {
	var out []string
	for _, d := range strings.Split("\n"+s, "\n---") {
		if i := strings.IndexByte(d, '\n'); i >= 0 && !strings.HasPrefix(d, "\n") {
			d = d[i:] // text after "---" on its line
		}
		empty := true
		for _, line := range strings.Split(d, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				empty = false
				break
			}
		}
		if !empty {
			out = append(out, d)
		}
	}
	return out
}
