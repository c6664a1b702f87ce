package stampvars

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/testtree"
	"github.com/gantry-build/gantry/magetools/config"
)

// graph writes each package's one file (by import path) under a temporary
// directory and returns the graph go list would give: the module
// example.com/svc, its main package example.com/svc/cmd/api last.
func graph(t *testing.T, files map[string]string) golist.Graph {
	t.Helper()
	root := t.TempDir()
	var g golist.Graph
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range files {
			if !yield(p) {
				return
			}
		}
	})
	const main = "example.com/svc/cmd/api"
	paths = append(slices.DeleteFunc(paths, func(p string) bool { return p == main }), main)
	for _, imp := range paths {
		dir := filepath.Join(root, filepath.FromSlash(imp))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(files[imp]), 0o644); err != nil {
			t.Fatal(err)
		}
		p := golist.Package{Dir: dir, ImportPath: imp, Name: base(imp), GoFiles: []string{"a.go"}, DepOnly: imp != main}
		if strings.HasPrefix(imp, "example.com/svc") {
			p.Module = &struct {
				Path string
				Main bool
			}{"example.com/svc", true}
		}
		if imp == main {
			p.Name = "main"
		}
		g.Packages = append(g.Packages, p)
	}
	return g
}

func base(imp string) string { return imp[strings.LastIndex(imp, "/")+1:] }

func TestCheck(t *testing.T) {
	t.Parallel()
	const buildPkg = "package build\n\nconst Prefix = \"v\"\n\nvar (\n\tversion = \"unknown\"\n\tCommit string\n)\n"
	tests := []struct {
		name, main, target string
		// problem is "" when -X sets the variable, else words of why not.
		problem string
	}{
		{"typed, uninitialised", "var version string", "main.version", ""},
		{"typed, initialised", "var version string = \"dev\"", "main.version", ""},
		{"untyped string literal", "var version = \"dev\"", "main.version", ""},
		{"a constant expression", "var version = \"a\" + \"b\"", "main.version", ""},
		{"a conversion of a constant", "var version = string(\"dev\")", "main.version", ""},
		{"a reference to a constant", "const dev = \"dev\"\n\nvar version = dev", "main.version", ""},
		{"a constant of another own package", "import \"example.com/svc/pkg/build\"\n\nvar version = build.Prefix + \"0\"", "main.version", ""},
		{"a list of names", "var version, commit, date string", "main.commit", ""},
		{"another own package", "import _ \"example.com/svc/pkg/build\"", "example.com/svc/pkg/build.version", ""},
		{"an alias of string", "type s = string\n\nvar version s", "main.version", ""},

		{"a constant", "const version = \"dev\"", "main.version", "version is a constant"},
		{"not a string", "var version = 1", "main.version", "version has type int"},
		{"a named string type", "type V string\n\nvar version V", "main.version", "version has type main.V"},
		{"a type of another module", "import \"time\"\n\nvar date time.Time", "main.date", "date has type time.Time"},
		{"a function call", "func v() string { return \"x\" }\n\nvar version = v()", "main.version", "initialised by a function call"},
		{"a call of another module", "import \"os\"\n\nvar version = os.Getenv(\"V\")", "main.version", "initialised by a function call"},
		{"two names from one call", "func two() (string, string) { return \"\", \"\" }\n\nvar version, commit = two()", "main.commit", "initialised by a function call"},
		{"another variable", "var dev = \"dev\"\n\nvar version = dev", "main.version", "not a constant"},
		{"another module's value", "import \"runtime\"\n\nvar version = runtime.Compiler", "main.version", "cannot tell"},
		{"no such variable", "var other string", "main.version", "package main declares no package-level variable version"},
		{"declared in a function", "func f() { var version string; _ = version }", "main.version", "declares no package-level variable version"},
		{"a package not linked", "", "example.com/svc/pkg/other.version", "package example.com/svc/pkg/other is not linked into example.com/svc/cmd/api"},
		{"the main package by its import path", "var version string", "example.com/svc/cmd/api.version", "the linker names the main package main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := graph(t, map[string]string{
				"example.com/svc/cmd/api":   "package main\n\n" + tt.main + "\n\nfunc main() {}\n",
				"example.com/svc/pkg/build": buildPkg,
			})
			_, problem := New(g).Check(tt.target)
			if (tt.problem == "") != (problem == "") || !strings.Contains(problem, tt.problem) {
				t.Errorf("Check(%s) = %q, want %q", tt.target, problem, tt.problem)
			}
		})
	}
}

func TestSettable(t *testing.T) {
	t.Parallel()
	g := graph(t, map[string]string{
		"example.com/svc/cmd/api":   "package main\n\nimport \"example.com/svc/pkg/build\"\n\nvar commit string\nconst date = \"x\"\n\nfunc main() { _ = build.Version }\n",
		"example.com/svc/pkg/build": "package build\n\nvar Version = \"dev\"\nvar n int\n",
		"github.com/other/lib":      "package lib\n\nvar Version string\n",
	})
	var got []string
	for _, v := range New(g).Settable() {
		got = append(got, v.Target)
	}
	want := []string{"main.commit", "example.com/svc/pkg/build.Version"}
	if !slices.Equal(got, want) {
		t.Errorf("Settable = %v, want %v (the service's own packages, main first; not constants, not other types, not other modules')", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	g := graph(t, map[string]string{
		"example.com/svc/cmd/api":   "package main\n\nvar version string\n\nfunc main() {}\n",
		"example.com/svc/pkg/build": "package build\n\nfunc broken( {\n}\n",
		"github.com/other/lib":      "package lib\n\nfunc broken( {\n}\n",
	})
	r := New(g)
	errs := r.ParseErrors()
	if len(errs) != 1 || errs[0].Package != "example.com/svc/pkg/build" || errs[0].Errors[0].Pos.Line != 3 {
		t.Fatalf("ParseErrors = %v, want pkg/build's at line 3 only (another module's is not the service's to fix)", errs)
	}
	if _, problem := r.Check("main.version"); problem != "" {
		t.Errorf("main.version: %q; a broken package elsewhere hides nothing of main's", problem)
	}
	if _, problem := r.Check("example.com/svc/pkg/build.version"); !strings.Contains(problem, "cannot parse package example.com/svc/pkg/build") {
		t.Errorf("a stamp in the broken package: %q, want it to say the package does not parse", problem)
	}
}

// TestEffective: the build leaves out a default stamp that sets nothing,
// and refuses one the team set; the -X flags follow.
func TestEffective(t *testing.T) {
	t.Parallel()
	g := graph(t, map[string]string{"example.com/svc/cmd/api": "package main\n\nvar version string\n\nfunc main() {}\n"})
	all := config.StampFields{Version: true, Commit: true, Date: true}
	tests := []struct {
		name    string
		stamp   config.Stamp
		want    []string // the -X flags
		skipped []string // the fields left out
		err     string
	}{
		{name: "defaults: the missing ones are left out", stamp: config.Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date", Defaulted: all},
			want: []string{"-X", "main.version=1.2.3"}, skipped: []string{"Commit", "Date"}},
		{name: "a configured stamp that sets nothing is an error", stamp: config.Stamp{Version: "main.version", Commit: "main.sha", Date: "main.date", Defaulted: config.StampFields{Version: true, Date: true}},
			err: "-X main.sha (Config.Stamp.Commit or GANTRY_STAMP_COMMIT) sets nothing: package main declares no package-level variable sha"},
		{name: "configured as the default's name, still the team's", stamp: config.Stamp{Commit: "main.commit"},
			err: "-X main.commit (Config.Stamp.Commit or GANTRY_STAMP_COMMIT) sets nothing"},
		{name: "switched off", stamp: config.Stamp{Version: "main.version", Defaulted: all}, want: []string{"-X", "main.version=1.2.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, skipped, err := New(g).Effective(tt.stamp)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var fields []string
			for _, s := range skipped {
				fields = append(fields, s.Field)
				if !strings.Contains(s.Problem, "declares no package-level variable") {
					t.Errorf("skipped %s: problem %q does not say why", s.Field, s.Problem)
				}
			}
			if !slices.Equal(fields, tt.skipped) {
				t.Errorf("skipped %v, want %v", fields, tt.skipped)
			}
			if flags := gobuild.XFlags(got, gobuild.Stamp{Version: "1.2.3", Commit: "abc"}); !slices.Equal(flags, tt.want) {
				t.Errorf("-X flags %v, want %v", flags, tt.want)
			}
		})
	}
}

// The service's own Go files are read as repofile reads its files: a link
// leading out of the repository or a named pipe is refused, and the
// reader does not hang.
func TestHostileFiles(t *testing.T) {
	t.Parallel()
	outside := testtree.New(t, map[string]string{"v.go": "package main\n\nvar version string\n"})
	tests := []struct {
		name, want string
		setup      func(t *testing.T, dir string)
	}{
		{"a link leading out", "a.go is a link to " + outside, func(t *testing.T, dir string) {
			testtree.Link(t, dir, "a.go", filepath.Join(outside, "v.go"))
		}},
		{"a named pipe", "a.go is a named pipe", func(t *testing.T, dir string) { testtree.Fifo(t, dir, "a.go") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := testtree.New(t, map[string]string{".git/HEAD": "ref: refs/heads/main\n"})
			tt.setup(t, dir)
			g := golist.Graph{Packages: []golist.Package{{Dir: dir, ImportPath: "example.com/svc", Name: "main", GoFiles: []string{"a.go"},
				Module: &struct {
					Path string
					Main bool
				}{"example.com/svc", true}}}}
			var problem string
			testtree.Returns(t, func() { _, problem = New(g).Check("main.version") })
			if !strings.Contains(problem, tt.want) {
				t.Errorf("Check = %q, want it to say %q", problem, tt.want)
			}
		})
	}
}
