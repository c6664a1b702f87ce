package discover

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/repofile"
)

// Generator is a package of the service's module with //go:generate
// directives.
type Generator struct {
	// Package is the package as "." or "./<dir>", as go generate takes it.
	Package string
	// Files are the files holding the directives, as "./<dir>/<file>".
	Files []string
	// Directives are the commands of its directives, as written after
	// //go:generate.
	Directives []string
}

// Generators finds the packages of the service's own module in g (the
// main package and the packages it links) whose files carry //go:generate
// directives: what must run before a build when the service does not
// commit what they write. Only the files the build compiles are read
// (go list's GoFiles): a directive in a test file does not feed the
// binary. They are sorted by package.
func Generators(g golist.Graph) ([]Generator, error) {
	var gens []Generator
	for _, p := range g.Packages {
		if !p.InMainModule() {
			continue
		}
		pkg := packageDir(p)
		gen := Generator{Package: pkg}
		for _, name := range p.GoFiles {
			directives, err := generateDirectives(repofile.At(p.Dir), name)
			if err != nil {
				return nil, err
			}
			if len(directives) > 0 {
				gen.Files = append(gen.Files, pkg+"/"+name)
				gen.Directives = append(gen.Directives, directives...)
			}
		}
		if len(gen.Files) > 0 {
			gens = append(gens, gen)
		}
	}
	slices.SortFunc(gens, func(a, b Generator) int { return strings.Compare(a.Package, b.Package) })
	return gens, nil
}

// packageDir writes a package of the main module as "." or "./<dir>".
func packageDir(p golist.Package) string {
	rel, ok := strings.CutPrefix(p.ImportPath, p.Module.Path+"/")
	if !ok {
		return "."
	}
	return "./" + path.Clean(rel)
}

// generateDirectives returns the commands of the lines of the Go file
// name in the package dir that go generate runs: "//go:generate" at the
// start, then a space or a tab.
func generateDirectives(dir repofile.Dir, name string) ([]string, error) {
	content, err := dir.Read(name, repofile.MaxGoFile)
	if err != nil {
		return nil, fmt.Errorf("look for //go:generate: %w", err)
	}
	var directives []string
	lines := bufio.NewScanner(bytes.NewReader(content))
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), "//go:generate")
		if ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t")) {
			directives = append(directives, strings.TrimSpace(rest))
		}
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("look for //go:generate in %s: %w", filepath.Join(dir.Path, name), err)
	}
	return directives, nil
}
