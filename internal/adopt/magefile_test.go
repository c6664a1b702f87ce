package adopt

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/discover"
)

func TestUpdateMagefile(t *testing.T) {
	t.Parallel()
	header := "// Gantry's release targets for the service \"new\", built from the main package\n// \".\"; to change either, set magetools.Config.Service or .MainPackage in init().\n"
	service := []Setting{{Field: "Service", Value: "new", Source: "-service", Flag: true}}
	tests := []struct {
		name, magefile string
		want           []string
		wantErr        string
	}{
		{name: "blank import gets a name and an init()", magefile: "//go:build mage\n\n// Gantry's release targets for the service \"old\", built from the main package\n// \".\"; to change either, set it.\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/gantry-build/gantry/magetools\"\n)\n",
			want: []string{"\t\"github.com/gantry-build/gantry/magetools\"\n", "func init() {\n\tmagetools.Config.Service = \"new\" // from -service\n}\n", `the service "new"`}},
		{name: "an assignment and its comment replaced, the team's code kept", magefile: "//go:build mage\n\npackage main\n\nimport (\n\tg \"github.com/gantry-build/gantry/magetools\"\n)\n\nfunc init() {\n\tg.Config.License = \"MIT\"\n\tg.Config.Service = \"old\" // from .goreleaser.yaml project_name\n}\n\n// Lint is the team's own target.\nfunc Lint() {}\n",
			want: []string{"\tg.Config.Service = \"new\" // from -service\n", "g.Config.License = \"MIT\"", "func Lint() {}"}},
		{name: "not a mage file", magefile: "package main\n\nimport _ \"github.com/gantry-build/gantry/magetools\"\n", wantErr: "no //go:build mage line"},
		{name: "no Gantry import", magefile: "//go:build mage\n\npackage main\n", wantErr: "does not import github.com/gantry-build/gantry/magetools"},
		{name: "not Go", magefile: "//go:build mage\n\npackage main\nfunc {", wantErr: "rewrite it with -force=magefile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := UpdateMagefile([]byte(tt.magefile), service, header)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "not recognisably the one gantry init writes") {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(got), w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(string(got), `"old"`) {
				t.Errorf("the old name is left:\n%s", got)
			}
		})
	}
}

func TestUpdateMagefileSettings(t *testing.T) {
	t.Parallel()
	const head = "//go:build mage\n\npackage main\n\nimport (\n\t//mage:import\n\t\"github.com/gantry-build/gantry/magetools\"\n)\n\n"
	tags := Setting{Field: "Tags", Value: []string{"netgo", `a"b`}, Source: ".goreleaser.yaml builds[0].tags"}
	cgo := Setting{Field: "CGO", Value: true, Source: "Dockerfile line 3"}
	tests := []struct {
		name, magefile string
		settings       []Setting
		want           string
		wantKept       []string
	}{
		{name: "a list and a bool replaced in place, with their comments",
			magefile: head + "func init() {\n\tmagetools.Config.Tags = []string{\"old\"} // from Makefile line 2\n\tmagetools.Config.CGO = false       // from the default\n}\n",
			settings: []Setting{tags, cgo},
			want:     head + "func init() {\n\tmagetools.Config.Tags = []string{\"netgo\", \"a\\\"b\"} // from .goreleaser.yaml builds[0].tags\n\tmagetools.Config.CGO = true                       // from Dockerfile line 3\n}\n"},
		{name: "missing ones added after the team's code",
			magefile: head + "func init() {\n\tmagetools.Config.License = \"MIT\"\n}\n",
			settings: []Setting{cgo, {Field: "Ports", Value: []string{"8080"}, Source: "Dockerfile line 7"}},
			want:     head + "func init() {\n\tmagetools.Config.License = \"MIT\"\n\tmagetools.Config.CGO = true               // from Dockerfile line 3\n\tmagetools.Config.Ports = []string{\"8080\"} // from Dockerfile line 7\n}\n"},
		{name: "an assignment without init's comment is the team's: kept",
			magefile: head + "func init() {\n\tmagetools.Config.Tags = []string{\"mine\"}\n\tmagetools.Config.CGO = false // the team's: no C compiler in CI\n}\n",
			settings: []Setting{tags, cgo},
			want:     head + "func init() {\n\tmagetools.Config.Tags = []string{\"mine\"}\n\tmagetools.Config.CGO = false // the team's: no C compiler in CI\n}\n",
			wantKept: []string{"Tags", "CGO"}},
		{name: "a flag replaces the team's own too, and says where from",
			magefile: head + "func init() {\n\tmagetools.Config.Service = \"mine\"\n}\n",
			settings: []Setting{{Field: "Service", Value: "api", Source: "-service", Flag: true}},
			want:     head + "func init() {\n\tmagetools.Config.Service = \"api\" // from -service\n}\n"},
		{name: "nothing to set: the blank import stays, the file is unchanged",
			magefile: "//go:build mage\n\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/gantry-build/gantry/magetools\"\n)\n",
			want:     "//go:build mage\n\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/gantry-build/gantry/magetools\"\n)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, kept, err := UpdateMagefile([]byte(tt.magefile), tt.settings, "")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || !slices.Equal(kept, tt.wantKept) {
				t.Errorf("got (kept %q):\n%s\nwant (kept %q):\n%s", kept, got, tt.wantKept, tt.want)
			}
			again, _, err := UpdateMagefile(got, tt.settings, "")
			if err != nil || string(again) != string(got) {
				t.Errorf("a second update changed it (%v):\n%s", err, again)
			}
		})
	}
}

// TestMagefileQuotesSources: a file name with a newline and "*/" (the
// source of a //go:generate decision) stays inside its comment, both in a
// new magefile and in an updated one: the file parses and declares
// nothing but init().
func TestMagefileQuotesSources(t *testing.T) {
	t.Parallel()
	name := "./web/a\n*/\nfunc init() { panic(\"injected\") }\n/*.go"
	var l Layout
	l.MainPackage, l.Service = ".", "widget"
	l.decidePrepare(discover.Repo{}, []discover.Generator{{Package: "./web", Files: []string{name}}}, nil)
	check := func(t *testing.T, src []byte) {
		t.Helper()
		f, err := parser.ParseFile(token.NewFileSet(), "magefile.go", src, parser.ParseComments)
		if err != nil {
			t.Fatalf("does not parse: %v\n%s", err, src)
		}
		if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
			t.Errorf("not gofmt'ed (%v):\n%s", err, src)
		}
		var inits int
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				if fn.Name.Name != "init" || len(fn.Body.List) != 1 {
					t.Errorf("declares %s with %d statements:\n%s", fn.Name.Name, len(fn.Body.List), src)
				}
				inits++
			}
		}
		if inits != 1 || bytes.Contains(src, []byte("\nfunc init() { panic")) {
			t.Errorf("%d init functions, or the name's code on a line of its own:\n%s", inits, src)
		}
		if want := `// from "//go:generate in ./web/a\n*/\nfunc init() { panic(\"injected\") }\n/*.go"`; !bytes.Contains(src, []byte(want)) {
			t.Errorf("lacks the quoted source %s:\n%s", want, src)
		}
	}

	src, err := l.magefile()
	if err != nil {
		t.Fatal(err)
	}
	check(t, src)

	const gantrys = "//go:build mage\n\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/gantry-build/gantry/magetools\"\n)\n"
	updated, _, err := UpdateMagefile([]byte(gantrys), l.Settings, l.header())
	if err != nil {
		t.Fatal(err)
	}
	check(t, updated)
}
