// Package helm checks the oat-proxy chart: helm lint and helm template for
// the default values and the sidecar example, every rendered object
// decoded strictly into its Kubernetes type, and the security settings,
// probes and network policy present.
package helm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/proxycmd"
)

const chart = "oat-proxy"

// kubeVersion is what helm template renders for (the chart needs 1.29:
// native sidecars).
const kubeVersion = "1.33.0"

// helmBinary is $OAT_HELM (make test-chart sets it to the pinned helm it
// installs into .tools), or that helm when it is there.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("OAT_HELM"); h != "" {
		return h
	}
	h, err := filepath.Abs(filepath.Join("..", "..", ".tools", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h); err != nil {
		t.Skipf("helm is not installed in .tools: run make test-chart (it installs the pinned helm), or set OAT_HELM")
	}
	return h
}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Dir = "."
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// The prometheus-operator objects, as much of them as the chart uses,
// decoded as strictly as the rest.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// objects are the rendered objects by kind.
type objects struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	networkPolicies []*networkingv1.NetworkPolicy
	pdbs            []*policyv1.PodDisruptionBudget
	serviceMonitors []*serviceMonitor
	rules           []*prometheusRule
}

// decode splits helm template's output and decodes every object into its
// type, refusing unknown fields.
func decode(t *testing.T, rendered string) objects {
	t.Helper()
	o, err := decodeObjects(rendered)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func decodeObjects(rendered string) (objects, error) {
	var o objects
	for _, doc := range strings.Split(rendered, "\n---\n") {
		doc = strings.TrimPrefix(strings.TrimSpace(doc), "---")
		if strings.TrimSpace(doc) == "" {
			continue
		}
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return o, fmt.Errorf("not YAML: %v\n%s", err, doc)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return o, err
		}
		var into any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			v := &appsv1.Deployment{}
			o.deployments, into = append(o.deployments, v), v
		case "v1 Service":
			v := &corev1.Service{}
			o.services, into = append(o.services, v), v
		case "v1 ConfigMap":
			v := &corev1.ConfigMap{}
			o.configMaps, into = append(o.configMaps, v), v
		case "networking.k8s.io/v1 NetworkPolicy":
			v := &networkingv1.NetworkPolicy{}
			o.networkPolicies, into = append(o.networkPolicies, v), v
		case "policy/v1 PodDisruptionBudget":
			v := &policyv1.PodDisruptionBudget{}
			o.pdbs, into = append(o.pdbs, v), v
		case "monitoring.coreos.com/v1 ServiceMonitor":
			v := &serviceMonitor{}
			o.serviceMonitors, into = append(o.serviceMonitors, v), v
		case "monitoring.coreos.com/v1 PrometheusRule":
			v := &prometheusRule{}
			o.rules, into = append(o.rules, v), v
		default:
			return o, fmt.Errorf("a rendered object of a kind the test does not know: %s %s", tm.APIVersion, tm.Kind)
		}
		// Case-sensitive, no unknown and no duplicate fields: what the API
		// server's strict field validation refuses (encoding/json alone
		// matches field names in any case).
		strict, err := kjson.UnmarshalStrict(js, into)
		if err == nil && len(strict) > 0 {
			err = errors.Join(strict...)
		}
		if err != nil {
			return o, fmt.Errorf("%s %s does not decode strictly: %v\n%s", tm.APIVersion, tm.Kind, err, doc)
		}
	}
	return o, nil
}

// TestDecodeStrict: a misspelt or misplaced field fails the decoding.
func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 1, targetport: 2}]\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: c, securityContext: {readOnlyRootFileSystem: true}}]\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP}\nspec: {type: NodePort}\n",
	} {
		if _, err := decodeObjects(doc); err == nil {
			t.Errorf("decoded:\n%s", doc)
		}
	}
	if _, err := decodeObjects("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 2\n"); err != nil {
		t.Errorf("a valid Deployment: %v", err)
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	for _, values := range [][]string{nil, {"-f", filepath.Join(chart, "examples", "sidecar-values.yaml")}} {
		out := helm(t, append([]string{"lint", "--strict", "--kube-version", kubeVersion, chart}, values...)...)
		if !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %v:\n%s", values, out)
		}
	}
}

// serveFlags are the flags of oat-proxy serve, from its command table.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	flags := map[string]bool{}
	proxycmd.Table().Walk(func(path []*command.Command) {
		if len(path) == 2 && path[1].Name == "serve" {
			for _, f := range path[1].FlagList() {
				flags[f.Name] = true
			}
		}
	})
	if len(flags) == 0 {
		t.Fatal("no serve command in the table")
	}
	return flags
}

// checkProxyContainer checks the proxy container's security context,
// probes, read-only Secret mounts and flags.
func checkProxyContainer(t *testing.T, c corev1.Container, listen string) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("proxy securityContext: %+v", sc)
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" })
		if i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.ResourceFieldRef == nil || c.Env[i].ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
			t.Errorf("a memory limit and no GOMEMLIMIT from it: %+v", c.Env)
		}
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[name]
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s probe: %+v, want GET %s on the admin port", name, p, want)
		}
	}
	for _, m := range c.VolumeMounts {
		if m.Name != "tmp" && !m.ReadOnly {
			t.Errorf("mount %s is writable", m.Name)
		}
	}
	flags := serveFlags(t)
	// The image's entrypoint is oat-proxy serve: the args are its flags.
	for _, a := range c.Args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !flags[name] {
			t.Errorf("arg %q: oat-proxy serve has no such flag", a)
		}
	}
	for _, want := range []string{"--listen=" + listen, "--allow-remote", "--admin-listen=0.0.0.0:9090", "--vault=/etc/oat-proxy/vault/oat.vault", "--ca-dir=/etc/oat-proxy/ca"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	res := c.Resources
	for _, q := range []struct {
		name      string
		got, want resource.Quantity
	}{
		{"requests.memory", res.Requests[corev1.ResourceMemory], resource.MustParse("64Mi")},
		{"requests.cpu", res.Requests[corev1.ResourceCPU], resource.MustParse("100m")},
		{"limits.memory", res.Limits[corev1.ResourceMemory], resource.MustParse("256Mi")},
		{"limits.cpu", res.Limits[corev1.ResourceCPU], resource.MustParse("1")},
	} {
		if q.got.Cmp(q.want) != 0 {
			t.Errorf("resources %s: %s, want %s", q.name, q.got.String(), q.want.String())
		}
	}
}

func checkSecretVolumes(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == "client-ca" {
			continue // the CA certificate alone: public
		}
		if v.Secret != nil && (v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o007 != 0) {
			t.Errorf("secret volume %s: mode %v, want none for others", v.Name, v.Secret.DefaultMode)
		}
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("the pod mounts a service account token")
	}
}

func TestTemplateService(t *testing.T) {
	t.Parallel()
	o := decode(t, helm(t, "template", "t", chart, "--kube-version", kubeVersion,
		"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true"))
	if len(o.deployments) != 1 || len(o.services) != 1 || len(o.networkPolicies) != 1 || len(o.pdbs) != 1 || len(o.serviceMonitors) != 1 || len(o.rules) != 1 {
		t.Fatalf("rendered: %d deployments, %d services, %d network policies, %d PDBs, %d service monitors, %d rules",
			len(o.deployments), len(o.services), len(o.networkPolicies), len(o.pdbs), len(o.serviceMonitors), len(o.rules))
	}
	d := o.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas: %v, want 2", d.Spec.Replicas)
	}
	psc := d.Spec.Template.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext: %+v", psc)
	}
	checkSecretVolumes(t, d.Spec.Template.Spec)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("containers: %d", len(d.Spec.Template.Spec.Containers))
	}
	checkProxyContainer(t, d.Spec.Template.Spec.Containers[0], "0.0.0.0:3128")
	checkShutdown(t, d.Spec.Template.Spec)
	if a := o.services[0].Spec.SessionAffinity; a != corev1.ServiceAffinityClientIP {
		t.Errorf("service sessionAffinity %q, want ClientIP", a)
	}

	np := o.networkPolicies[0]
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Ingress) != 1 {
		t.Fatalf("network policy: %+v", np.Spec)
	}
	if fmt.Sprint(np.Spec.PodSelector.MatchLabels) != fmt.Sprint(d.Spec.Selector.MatchLabels) {
		t.Errorf("the network policy selects %v, the deployment %v", np.Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels)
	}
	in := np.Spec.Ingress[0]
	if len(in.From) != 1 || in.From[0].PodSelector == nil || in.From[0].PodSelector.MatchLabels["oat-proxy-client"] != "true" ||
		len(in.Ports) != 1 || in.Ports[0].Port.String() != "proxy" {
		t.Errorf("network policy ingress: %+v", in)
	}
	if o.pdbs[0].Spec.MinAvailable == nil || o.pdbs[0].Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PDB: %+v", o.pdbs[0].Spec)
	}
	checkExpiryAlert(t, o.rules[0])
}

// checkShutdown: the preStop sleep and the proxy's drain end within the
// pod's grace period, and it logs JSON on stdout.
func checkShutdown(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	c := spec.Containers[0]
	var drain time.Duration
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--shutdown-timeout="); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("%s: %v", a, err)
			}
			drain = d
		}
	}
	// The preStop sleep comes first, inside the same grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		t.Fatalf("no preStop sleep: %+v", c.Lifecycle)
	}
	drain += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	grace := spec.TerminationGracePeriodSeconds
	if drain == 0 || grace == nil || drain >= time.Duration(*grace)*time.Second {
		t.Errorf("preStop sleep and --shutdown-timeout %v, terminationGracePeriodSeconds %v: the drain must end first", drain, grace)
	}
	for _, want := range []string{"--log-format=json", "--log-output=stdout"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
}

func checkExpiryAlert(t *testing.T, r *prometheusRule) {
	t.Helper()
	for _, g := range r.Spec.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "OatTokenExpiresSoon" && strings.Contains(rule.Expr, "oat_token_expiry_days") && strings.HasSuffix(rule.Expr, "< 14") {
				return
			}
		}
	}
	t.Errorf("no alert on oat_token_expiry_days < 14: %+v", r.Spec)
}

func TestTemplateSidecar(t *testing.T) {
	t.Parallel()
	o := decode(t, helm(t, "template", "t", chart, "--kube-version", kubeVersion, "-f", filepath.Join(chart, "examples", "sidecar-values.yaml")))
	if len(o.deployments) != 1 || len(o.services) != 0 || len(o.rules) != 1 || len(o.configMaps) != 1 {
		t.Fatalf("rendered: %d deployments, %d services, %d rules, %d config maps", len(o.deployments), len(o.services), len(o.rules), len(o.configMaps))
	}
	spec := o.deployments[0].Spec.Template.Spec
	checkSecretVolumes(t, spec)
	if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
		t.Fatalf("init containers %d, containers %d", len(spec.InitContainers), len(spec.Containers))
	}
	side := spec.InitContainers[0]
	if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("the proxy is not a native sidecar: restartPolicy %v", side.RestartPolicy)
	}
	checkProxyContainer(t, side, "127.0.0.1:3128")
	build := spec.Containers[0]
	env := map[string]string{}
	for _, e := range build.Env {
		env[e.Name] = e.Value
	}
	if env["HTTPS_PROXY"] != "http://127.0.0.1:3128" {
		t.Errorf("build container HTTPS_PROXY: %q", env["HTTPS_PROXY"])
	}
	mounts := map[string]string{}
	for _, m := range build.VolumeMounts {
		mounts[m.MountPath] = m.Name
		if m.Name == "vault" || m.Name == "passphrase" || m.Name == "ca" {
			t.Errorf("the build container mounts the proxy's secret %s", m.Name)
		}
	}
	for _, p := range []string{"/etc/docker/certs.d/registry-1.docker.io", "/etc/buildkit"} {
		if mounts[p] == "" {
			t.Errorf("nothing mounted at %s in the build container: %v", p, mounts)
		}
	}
	for _, v := range spec.Volumes {
		if v.Name == "client-ca" {
			if v.Secret == nil || len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != "oat-proxy-ca.pem" || v.Secret.Items[0].Path != "ca.crt" {
				t.Errorf("the build container's CA volume: %+v; want the certificate alone, as ca.crt", v.Secret)
			}
		}
	}
	if !strings.Contains(o.configMaps[0].Data["buildkitd.toml"], "/etc/oat-proxy/client-ca/ca.crt") {
		t.Errorf("buildkitd.toml: %q", o.configMaps[0].Data["buildkitd.toml"])
	}
	checkExpiryAlert(t, o.rules[0])
}

// TestTemplateInject: proxy.inject turns on --inject with the proxy secret
// read from its own Secret (0440, read-only), the same file for every
// replica; without it neither the flag nor the volume is there.
func TestTemplateInject(t *testing.T) {
	t.Parallel()
	for _, inject := range []bool{false, true} {
		o := decode(t, helm(t, "template", "t", chart, "--kube-version", kubeVersion, "--set", fmt.Sprintf("proxy.inject=%v", inject)))
		if len(o.deployments) != 1 {
			t.Fatalf("inject=%v: %d deployments", inject, len(o.deployments))
		}
		spec := o.deployments[0].Spec.Template.Spec
		c := spec.Containers[0]
		const file = "--proxy-secret-file=/etc/oat-proxy/proxy-secret/secret"
		if got := slices.Contains(c.Args, "--inject") && slices.Contains(c.Args, file); got != inject {
			t.Errorf("inject=%v: args %v", inject, c.Args)
		}
		var vol *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == "proxy-secret" {
				vol = &spec.Volumes[i]
			}
		}
		mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == "proxy-secret" && m.MountPath == "/etc/oat-proxy/proxy-secret" && m.ReadOnly
		})
		if (vol != nil) != inject || mounted != inject {
			t.Fatalf("inject=%v: volume %+v, mounted read-only %v", inject, vol, mounted)
		}
		if inject && (vol.Secret == nil || vol.Secret.SecretName != "oat-proxy-secret" || vol.Secret.DefaultMode == nil || *vol.Secret.DefaultMode != 0o440) {
			t.Errorf("the proxy secret's volume: %+v", vol.Secret)
		}
	}
}
