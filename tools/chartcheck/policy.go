package chartcheck

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Services are the deployables the chart must run, one Deployment each.
var Services = []string{"gateway", "auth", "ingestion", "profiling", "ml", "causal", "sandbox", "orchestrator"}

// Expect is what a value set asks of the rendering beyond the fixed policy.
type Expect struct {
	Autoscaled          []string // services that must have an HPA (and no fixed replica count)
	PDBs                bool     // every Deployment covered by a PodDisruptionBudget
	Migration           bool     // a pre-install/pre-upgrade Job running `vds migrate`
	Ingress             bool
	SandboxRuntimeClass string
	// ExternalSecrets are Secrets the operator provides (existingSecret values), not rendered.
	ExternalSecrets []string
	MetricsPort     int32
}

// secretEnv must be read from Secrets, never given as plain values.
var secretEnv = map[string]bool{"VDS_DATABASE_URL": true, "VDS_MESH_KEY": true, "VDS_MODEL_SIGNING_KEY": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true}

// Check returns every policy violation in o (none: the rendering is acceptable).
func Check(o *Objects, want Expect) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }

	secrets := map[string]bool{}
	for _, s := range o.Secrets {
		secrets[s.Name] = true
	}
	for _, s := range want.ExternalSecrets {
		secrets[s] = true
	}
	services := map[string]*corev1.Service{}
	for _, s := range o.Services {
		services[s.Name] = s
	}

	type pod struct {
		kind, name string
		labels     map[string]string
		spec       *corev1.PodSpec
	}
	var pods []pod
	deployOf := map[string]pod{}
	for _, d := range o.Deployments {
		p := pod{"Deployment", d.Name, d.Spec.Template.Labels, &d.Spec.Template.Spec}
		pods = append(pods, p)
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			bad("Deployment %s: its selector does not match its pod template", d.Name)
		}
		deployOf[d.Spec.Template.Labels["app.kubernetes.io/component"]] = p
	}
	for _, j := range o.Jobs {
		pods = append(pods, pod{"Job", j.Name, j.Spec.Template.Labels, &j.Spec.Template.Spec})
	}

	// Every pod: non-root, no privilege, seccomp, read-only root, limits, secrets by reference.
	for _, p := range pods {
		s := p.spec
		id := p.kind + " " + p.name
		psc := s.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if s.HostNetwork || s.HostPID || s.HostIPC {
			bad("%s: uses the host's namespaces", id)
		}
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			bad("%s: mounts a service-account token it does not need", id)
		}
		for _, c := range append(append([]corev1.Container{}, s.InitContainers...), s.Containers...) {
			cid := id + " container " + c.Name
			sc := c.SecurityContext
			if sc == nil {
				bad("%s: no securityContext", cid)
				continue
			}
			nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
			if !nonRoot {
				bad("%s: may run as root (runAsNonRoot is not true)", cid)
			}
			if (sc.RunAsUser != nil && *sc.RunAsUser == 0) || (sc.RunAsUser == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0) {
				bad("%s: runs as UID 0", cid)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				bad("%s: root file system is writable", cid)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				bad("%s: allows privilege escalation", cid)
			}
			if sc.Privileged != nil && *sc.Privileged {
				bad("%s: is privileged", cid)
			}
			if sc.Capabilities == nil || !hasCap(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				bad("%s: does not drop all capabilities (or adds some)", cid)
			}
			seccomp := sc.SeccompProfile
			if seccomp == nil {
				seccomp = psc.SeccompProfile
			}
			if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
				bad("%s: no seccomp profile (RuntimeDefault or Localhost)", cid)
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := c.Resources.Limits[r]; !ok || q.IsZero() {
					bad("%s: no %s limit", cid, r)
				}
				if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
					bad("%s: no %s request", cid, r)
				} else if l, ok := c.Resources.Limits[r]; ok && q.Cmp(l) > 0 {
					bad("%s: %s request %s above its limit %s", cid, r, q.String(), l.String())
				}
			}
			if i := strings.LastIndex(c.Image, ":"); i < 0 || strings.Contains(c.Image[i:], "/") || c.Image[i+1:] == "latest" {
				bad("%s: image %q has no fixed tag", cid, c.Image)
			}
			for _, e := range c.Env {
				if secretEnv[e.Name] {
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						bad("%s: %s is given in plain text, not from a Secret", cid, e.Name)
					} else if !secrets[e.ValueFrom.SecretKeyRef.Name] {
						bad("%s: %s comes from Secret %q, which is neither rendered nor declared external", cid, e.Name, e.ValueFrom.SecretKeyRef.Name)
					}
				}
				if strings.HasPrefix(e.Name, "VDS_") && strings.HasSuffix(e.Name, "_ADDR") && e.Name != "VDS_METRICS_ADDR" && e.Name != "VDS_GRPC_ADDR" && e.Name != "VDS_HTTP_ADDR" {
					host, port, err := net.SplitHostPort(e.Value)
					svc := services[host]
					if err != nil || svc == nil || !hasPort(svc, port) {
						bad("%s: %s=%q is not a rendered Service and port", cid, e.Name, e.Value)
					}
				}
			}
			if p.kind == "Deployment" && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
				bad("%s: needs readiness and liveness probes", cid)
			}
			if want.MetricsPort > 0 && p.kind == "Deployment" && !hasContainerPort(c, want.MetricsPort) {
				bad("%s: does not expose the metrics port %d", cid, want.MetricsPort)
			}
		}
	}

	// One Deployment per service, each behind a Service that selects it.
	if len(o.Deployments) != len(Services) {
		bad("%d Deployments, want %d (one per service)", len(o.Deployments), len(Services))
	}
	for _, name := range Services {
		p, ok := deployOf[name]
		if !ok {
			bad("no Deployment for the %s service", name)
			continue
		}
		selected := false
		for _, s := range o.Services {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.labels)) {
				selected = true
			}
		}
		if !selected {
			bad("no Service selects the %s pods", name)
		}
	}

	// Autoscaling: an HPA per autoscaled service, aimed at its Deployment, which then has no fixed
	// replica count to fight it.
	for _, name := range want.Autoscaled {
		p, ok := deployOf[name]
		if !ok {
			continue
		}
		found := false
		for _, h := range o.HPAs {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == p.name {
				found = true
				if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
					bad("HPA %s: bad replica range", h.Name)
				}
			}
		}
		if !found {
			bad("no HorizontalPodAutoscaler for %s", name)
		}
		for _, d := range o.Deployments {
			if d.Name == p.name && d.Spec.Replicas != nil {
				bad("Deployment %s sets replicas although an HPA scales it", d.Name)
			}
		}
	}
	if len(o.HPAs) != len(want.Autoscaled) {
		bad("%d HPAs, want %d", len(o.HPAs), len(want.Autoscaled))
	}

	if want.PDBs {
		for _, name := range Services {
			p, ok := deployOf[name]
			if !ok {
				continue
			}
			n := 0
			for _, b := range o.PDBs {
				if sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector); err == nil && sel.Matches(labels.Set(p.labels)) {
					n++
				}
			}
			if n != 1 {
				bad("%s pods are covered by %d PodDisruptionBudgets, want 1", name, n)
			}
		}
	} else if len(o.PDBs) > 0 {
		bad("PodDisruptionBudgets rendered although disabled")
	}

	migrations := 0
	for _, j := range o.Jobs {
		c := j.Spec.Template.Spec.Containers
		if len(c) == 1 && strings.Join(c[0].Args, " ") == "migrate" {
			migrations++
			if hook := j.Annotations["helm.sh/hook"]; !strings.Contains(hook, "pre-install") || !strings.Contains(hook, "pre-upgrade") {
				bad("migration Job %s is not a pre-install/pre-upgrade hook (%q)", j.Name, hook)
			}
			if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever && j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
				bad("migration Job %s: restartPolicy %q", j.Name, j.Spec.Template.Spec.RestartPolicy)
			}
		}
	}
	if want.Migration != (migrations == 1) {
		bad("%d migration Jobs, want migration=%v", migrations, want.Migration)
	}
	if want.Ingress != (len(o.Ingresses) == 1) {
		bad("%d Ingresses, want ingress=%v", len(o.Ingresses), want.Ingress)
	}
	for _, in := range o.Ingresses {
		for _, r := range in.Spec.Rules {
			for _, path := range r.HTTP.Paths {
				if gw, ok := deployOf["gateway"]; !ok || path.Backend.Service == nil || path.Backend.Service.Name != gw.name {
					bad("Ingress %s sends %s to something other than the gateway", in.Name, path.Path)
				}
			}
		}
	}
	if sb, ok := deployOf["sandbox"]; ok {
		got := ""
		if sb.spec.RuntimeClassName != nil {
			got = *sb.spec.RuntimeClassName
		}
		if got != want.SandboxRuntimeClass {
			bad("sandbox runtimeClassName = %q, want %q", got, want.SandboxRuntimeClass)
		}
	}

	v = append(v, checkNetwork(o, deployOf["sandbox"].labels, deployOf["gateway"].labels, pods2labels(o), want.MetricsPort)...)
	return v
}

func pods2labels(o *Objects) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, d := range o.Deployments {
		out[d.Name] = d.Spec.Template.Labels
	}
	return out
}

// checkNetwork: the sandbox has a deny-egress policy whose every allowance names a destination and
// none is the whole internet; every pod is under a default-deny ingress policy; only the gateway
// takes traffic from outside the release (besides metrics scrapes on the metrics port).
func checkNetwork(o *Objects, sandbox, gateway map[string]string, pods map[string]map[string]string, metricsPort int32) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	selects := func(np *networkingv1.NetworkPolicy, l map[string]string) bool {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		return err == nil && l != nil && sel.Matches(labels.Set(l))
	}
	has := func(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
		for _, p := range np.Spec.PolicyTypes {
			if p == t {
				return true
			}
		}
		return t == networkingv1.PolicyTypeIngress && len(np.Spec.PolicyTypes) == 0
	}
	egressPolicies := 0
	for _, np := range o.NetworkPolicies {
		if !selects(np, sandbox) || !has(np, networkingv1.PolicyTypeEgress) {
			continue
		}
		egressPolicies++
		for i, r := range np.Spec.Egress {
			if len(r.To) == 0 {
				bad("NetworkPolicy %s egress rule %d lets the sandbox reach any destination", np.Name, i+1)
			}
			for _, peer := range r.To {
				if peer.IPBlock != nil {
					if _, n, err := net.ParseCIDR(peer.IPBlock.CIDR); err != nil {
						bad("NetworkPolicy %s: bad CIDR %q", np.Name, peer.IPBlock.CIDR)
					} else if ones, _ := n.Mask.Size(); ones == 0 {
						bad("NetworkPolicy %s egress rule %d opens the sandbox to the whole internet (%s)", np.Name, i+1, peer.IPBlock.CIDR)
					}
				}
				if peer.PodSelector == nil && peer.NamespaceSelector == nil && peer.IPBlock == nil {
					bad("NetworkPolicy %s egress rule %d has an empty peer", np.Name, i+1)
				}
			}
		}
	}
	if egressPolicies == 0 {
		bad("no NetworkPolicy restricts the sandbox's egress")
	}
	for name, l := range pods {
		covered := false
		for _, np := range o.NetworkPolicies {
			if !selects(np, l) || !has(np, networkingv1.PolicyTypeIngress) {
				continue
			}
			covered = true
			if isGateway := labels.Equals(labels.Set(l), labels.Set(gateway)); isGateway {
				continue
			}
			for i, r := range np.Spec.Ingress {
				if metricsOnly(r.Ports, metricsPort) {
					continue
				}
				if len(r.From) == 0 {
					bad("NetworkPolicy %s ingress rule %d opens %s to everyone; only the gateway takes outside traffic", np.Name, i+1, name)
				}
				for _, peer := range r.From {
					if peer.NamespaceSelector != nil || peer.IPBlock != nil || peer.PodSelector == nil {
						bad("NetworkPolicy %s ingress rule %d lets traffic from outside the release reach %s", np.Name, i+1, name)
						continue
					}
					sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
					if err != nil || sel.Empty() || !sel.Matches(labels.Set(gateway)) {
						bad("NetworkPolicy %s ingress rule %d: its peers are not the release's pods", np.Name, i+1)
					}
				}
			}
		}
		if !covered {
			bad("%s pods are not under any ingress NetworkPolicy (no default deny)", name)
		}
	}
	return v
}

func metricsOnly(ports []networkingv1.NetworkPolicyPort, metricsPort int32) bool {
	if len(ports) == 0 || metricsPort == 0 {
		return false
	}
	for _, p := range ports {
		if p.Port == nil || p.Port.IntValue() != int(metricsPort) {
			return false
		}
	}
	return true
}

func hasCap(cs []corev1.Capability, c corev1.Capability) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

func hasPort(s *corev1.Service, port string) bool {
	n, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	for _, p := range s.Spec.Ports {
		if int(p.Port) == n {
			return true
		}
	}
	return false
}

func hasContainerPort(c corev1.Container, port int32) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}
