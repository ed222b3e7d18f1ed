package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is pylon's module path; the table writes its packages as "./x".
const module = "github.com/pylonlb/pylon"

// Special patterns of the table.
const (
	std      = "std"      // any package of the standard library
	external = "external" // any package outside pylon's module, the standard library's too
)

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Dir        string
	Standard   bool
	Imports    []string
}

// graph is every package pylon's packages are built from, by import path,
// as `go list -deps` gives them: non-test imports only, for this platform.
type graph map[string]*pkg

func load(t *testing.T) graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,Standard,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := graph{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		g[p.ImportPath] = &p
	}
	if len(g.pylon()) == 0 {
		t.Fatalf("go list found no package of %s", module)
	}
	return g
}

// isPylon reports whether path is one of pylon's packages.
func isPylon(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// pylon returns pylon's packages, sorted.
func (g graph) pylon() []string {
	var out []string
	for path := range g {
		if isPylon(path) {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// matches reports whether the package path matches the table's pattern:
// std, external, "./x" for pylon's package x, or a full import path; a
// pattern ending in "/..." matches the package and every one below it.
func (g graph) matches(pattern, path string) bool {
	switch pattern {
	case std:
		return g[path] != nil && g[path].Standard
	case external:
		return !isPylon(path)
	}
	if rest, ok := strings.CutPrefix(pattern, "./"); ok {
		pattern = module + "/" + rest
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func (g graph) matchesAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return g.matches(p, path) })
}

// forbidden walks a package's closure breadth first and returns, for each
// package in it that matches a pattern in never, the shortest chain of
// imports from the package to it. It does not walk on past a forbidden
// package: what that one brings along is the same finding.
func (g graph) forbidden(from string, never []string) [][]string {
	var out [][]string
	prev := map[string]string{from: ""}
	for queue := []string{from}; len(queue) > 0; queue = queue[1:] {
		p := g[queue[0]]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p.ImportPath
			if !g.matchesAny(never, imp) {
				queue = append(queue, imp)
				continue
			}
			var chain []string
			for at := imp; at != ""; at = prev[at] {
				chain = append(chain, short(at))
			}
			slices.Reverse(chain)
			out = append(out, chain)
		}
	}
	return out
}

// short writes pylon's packages as the table does.
func short(path string) string {
	if isPylon(path) {
		return "./" + strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	}
	return path
}

// violations lists what the packages a rule covers break of it: imports
// outside only, and whatever in never their closures hold, with the chain
// of imports that brings it in. An import that never forbids is reported
// once, as a never violation.
func (g graph) violations(r rule) []string {
	var out []string
	for _, path := range g.pylon() {
		if !g.matchesAny(r.pkgs, path) {
			continue
		}
		if r.only != nil {
			for _, imp := range g[path].Imports {
				if !g.matchesAny(r.only, imp) && !g.matchesAny(r.never, imp) {
					out = append(out, fmt.Sprintf("%s imports %s, which rule %q does not allow: it may import only %v (%s)",
						short(path), short(imp), r.name, r.only, r.says))
				}
			}
		}
		if len(r.never) == 0 {
			continue
		}
		for _, chain := range g.forbidden(path, r.never) {
			out = append(out, fmt.Sprintf("%s links %s (%s), which rule %q forbids: never %v (%s)",
				short(path), chain[len(chain)-1], strings.Join(chain, " → "), r.name, r.never, r.says))
		}
	}
	return out
}

// TestImports loads the module's import graph once and checks it: every
// rule of the table, the table against the module, and the doc.go files.
func TestImports(t *testing.T) {
	g := load(t)
	t.Run("rules", func(t *testing.T) {
		for _, r := range rules() {
			t.Run(r.name, func(t *testing.T) {
				for _, v := range g.violations(r) {
					t.Error(v)
				}
			})
		}
	})
	t.Run("table", func(t *testing.T) { checkTable(t, g) })
	t.Run("doc.go", func(t *testing.T) { checkDocs(t, g) })
}

// checkTable: every package has a rule listing what it may import (its doc.go's), and every pattern in the table matches a
// package the module builds: a package left out, or a typo or a moved
// package in a rule, would let anything through unnoticed.
func checkTable(t *testing.T, g graph) {
	var all []string
	for path := range g {
		all = append(all, path)
	}
	covered := map[string]bool{}
	for _, r := range rules() {
		for _, p := range r.pkgs {
			if !strings.HasPrefix(p, "./") {
				t.Errorf("rule %q: %q is not one of pylon's packages (write them ./x)", r.name, p)
			}
		}
		for _, p := range slices.Concat(r.pkgs, r.only, r.never) {
			if p == std || p == external {
				continue
			}
			if !slices.ContainsFunc(all, func(path string) bool { return g.matches(p, path) }) {
				t.Errorf("rule %q: %q matches no package the module builds", r.name, p)
			}
		}
		for _, path := range g.pylon() {
			if r.only != nil && g.matchesAny(r.pkgs, path) {
				covered[path] = true
			}
		}
	}
	for _, path := range g.pylon() {
		if !covered[path] {
			t.Errorf("%s has no rule listing what it may import: add one to rules_test.go saying what its doc.go says", short(path))
		}
	}
}

// checkDocs: each package's doc.go states its rule, which rules_test.go
// repeats.
func checkDocs(t *testing.T, g graph) {
	for _, path := range g.pylon() {
		doc, err := os.ReadFile(filepath.Join(g[path].Dir, "doc.go"))
		switch {
		case err != nil:
			t.Errorf("%s has no doc.go: %v", short(path), err)
		case !saysImports(string(doc)):
			t.Errorf("%s/doc.go does not say what the package may import", short(path))
		}
	}
}

// saysImports reports whether a doc.go says what its package may import;
// a package of tests only says it has no non-test code.
func saysImports(doc string) bool {
	doc = strings.ToLower(doc)
	return strings.Contains(doc, "import") || strings.Contains(doc, "no non-test code")
}
