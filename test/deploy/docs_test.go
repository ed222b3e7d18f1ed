package deploy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/envtest"
)

// yamlBlockRE finds the fenced YAML blocks of a Markdown page.
var yamlBlockRE = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// testConfigurationExamples applies, with dry-run, every complete object
// docs/configuration.md shows, and runs them through config.Parse: the
// examples must be accepted by the API server and make no problem.
func testConfigurationExamples(ctx context.Context, t *testing.T, env *envtest.Env) {
	page, err := os.ReadFile(filepath.Join(env.RepoRoot, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, m := range yamlBlockRE.FindAllStringSubmatch(string(page), -1) {
		if strings.Contains(m[1], "apiVersion:") {
			docs = append(docs, m[1])
		}
	}
	if len(docs) < 6 {
		t.Fatalf("found %d examples in configuration.md", len(docs))
	}
	all := []byte(strings.Join(docs, "\n---\n"))
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}); err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, env, writeTemp(t, "configuration.yaml", all), true)

	res := config.Resources{Namespace: pylonNS}
	kinds := map[string]int{}
	for _, o := range decode(t, all) {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		kind, _ := o["kind"].(string)
		kinds[kind]++
		switch kind {
		case "IPPool":
			appendStrict(t, b, &res.Pools)
		case "L2Advertisement":
			appendStrict(t, b, &res.L2Advertisements)
		case "BGPPeer":
			appendStrict(t, b, &res.BGPPeers)
		case "BGPAdvertisement":
			appendStrict(t, b, &res.BGPAdvertisements)
		case "Secret":
			var s corev1.Secret
			if err := yaml.UnmarshalStrict(b, &s); err != nil {
				t.Fatal(err)
			}
			s.Data = map[string][]byte{}
			for k, v := range s.StringData {
				s.Data[k] = []byte(v)
			}
			res.Secrets = append(res.Secrets, s)
		}
	}
	for _, k := range []string{"IPPool", "L2Advertisement", "BGPPeer", "BGPAdvertisement", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("configuration.md shows no %s", k)
		}
	}
	for _, p := range config.Parse(res).Problems {
		t.Errorf("configuration.md example: %v", p)
	}
}

// appendStrict decodes b strictly into a new element of the slice into
// points at (*[]v1alpha1.IPPool and the like).
func appendStrict(t *testing.T, b []byte, into any) {
	t.Helper()
	var err error
	switch l := into.(type) {
	case *[]v1alpha1.IPPool:
		var o v1alpha1.IPPool
		err = yaml.UnmarshalStrict(b, &o)
		*l = append(*l, o)
	case *[]v1alpha1.L2Advertisement:
		var o v1alpha1.L2Advertisement
		err = yaml.UnmarshalStrict(b, &o)
		*l = append(*l, o)
	case *[]v1alpha1.BGPPeer:
		var o v1alpha1.BGPPeer
		err = yaml.UnmarshalStrict(b, &o)
		*l = append(*l, o)
	case *[]v1alpha1.BGPAdvertisement:
		var o v1alpha1.BGPAdvertisement
		err = yaml.UnmarshalStrict(b, &o)
		*l = append(*l, o)
	}
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
