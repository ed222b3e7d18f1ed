package bgp

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The router-side snippets of docs/configuration.md are the lab's own
// router configurations: FRR's frrPeering and the peering part of BIRD's
// birdTemplate, rendered with the lab's neighbours. Each sits in a fenced
// block after a "<!-- router snippet: NAME -->" comment.
var snippetRE = regexp.MustCompile("(?s)<!-- router snippet: (\\w+) -->\n```\n(.*?)```")

// routerSnippets are the snippets as the lab uses them, by name.
func routerSnippets() map[string]string {
	bird := birdLabRouter().render()
	const begin, end = "# --- pylon peering ---\n", "# --- end of pylon peering ---\n"
	bird = bird[strings.Index(bird, begin)+len(begin) : strings.Index(bird, end)]
	return map[string]string{
		"frr":  fmt.Sprintf(frrPeering, "", md5Password),
		"bird": bird,
	}
}

// TestRouterSnippets fails when a router snippet in docs/configuration.md
// differs from the configuration the lab's router runs (TestFRR,
// TestBIRD), and prints the block to paste.
func TestRouterSnippets(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, m := range snippetRE.FindAllStringSubmatch(string(page), -1) {
		found[m[1]] = m[2]
	}
	for name, want := range routerSnippets() {
		got, ok := found[name]
		switch {
		case !ok:
			t.Errorf("docs/configuration.md has no router snippet %q; add:\n<!-- router snippet: %s -->\n```\n%s```", name, name, want)
		case got != want:
			t.Errorf("docs/configuration.md's router snippet %q differs from what the lab runs; replace its block with:\n```\n%s```", name, want)
		}
	}
	if len(found) != 2 {
		t.Errorf("docs/configuration.md has router snippets %v, want frr and bird", len(found))
	}
}
