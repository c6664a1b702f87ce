package golist

import (
	"context"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/testtree"
)

// offline keeps go list from the network and from a newer toolchain.
func offline(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
}

const (
	goMod    = "module example.com/svc\n\ngo 1.22\n"
	mainFile = "package main\n\nimport _ \"example.com/svc/db\"\n\nfunc main() {}\n"
	cgoFile  = "package db\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc One() int { return int(C.one()) }\n"
)

func TestNeedCgo(t *testing.T) {
	offline(t)
	tests := []struct {
		name  string
		files map[string]string
		want  []CgoNeed
	}{
		{name: "a package with only cgo files", files: map[string]string{"db/db.go": cgoFile},
			want: []CgoNeed{{ImportPath: "example.com/svc/db", CgoFiles: []string{"db.go"}}}},
		{name: "cgo files beside plain ones that do not replace them", files: map[string]string{"db/db.go": cgoFile, "db/doc.go": "// Package db.\npackage db\n"}},
		{name: "a pure-Go fallback", files: map[string]string{"db/db.go": cgoFile,
			"db/fallback.go": "//go:build !cgo\n\npackage db\n\nfunc One() int { return 1 }\n"}},
		// go-sqlite3's static_mock.go: it builds, and fails when called.
		{name: "a stub saying it needs cgo", files: map[string]string{"db/db.go": cgoFile,
			"db/static_mock.go": "//go:build !cgo\n\npackage db\n\nimport \"errors\"\n\nvar errMsg = errors.New(\"Binary was compiled with 'CGO_ENABLED=0', db requires cgo to work. This is a stub\")\n\nfunc One() int { panic(errMsg) }\n"},
			want: []CgoNeed{{ImportPath: "example.com/svc/db", CgoFiles: []string{"db.go"}, StubFile: "static_mock.go",
				Stub: "Binary was compiled with 'CGO_ENABLED=0', db requires cgo to work. This is a stub"}}},
		{name: "cgo files for another platform", files: map[string]string{"db/db.go": "//go:build windows\n\n" + cgoFile, "db/db_other.go": "//go:build !windows\n\npackage db\n"}},
		{name: "the standard library's fallbacks are real", files: map[string]string{"db/db.go": "package db\n\nimport _ \"net\"\nimport _ \"os/user\"\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.files["go.mod"], tt.files["main.go"] = goMod, mainFile
			dir := testtree.New(t, tt.files)
			g, err := List(context.Background(), dir, ".", "linux", runtime.GOARCH, logrus.NewEntry(logrus.New()))
			if err != nil {
				t.Fatal(err)
			}
			if got := g.NeedCgo(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NeedCgo = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestList(t *testing.T) {
	offline(t)
	dir := testtree.New(t, map[string]string{"go.mod": goMod, "main.go": mainFile, "db/db.go": "package db\n\nimport _ \"strings\"\n"})
	g, err := List(context.Background(), dir, ".", "linux", "arm64", logrus.NewEntry(logrus.New()))
	if err != nil {
		t.Fatal(err)
	}
	main, ok := g.Main()
	if !ok || main.ImportPath != "example.com/svc" || main.Name != "main" || !main.InMainModule() {
		t.Errorf("Main() = %+v, %v; want example.com/svc, package main, in the main module", main, ok)
	}
	if db, ok := g.Lookup("example.com/svc/db"); !ok || !db.DepOnly || !db.InMainModule() || !reflect.DeepEqual(db.GoFiles, []string{"db.go"}) {
		t.Errorf("Lookup(db) = %+v, %v", db, ok)
	}
	if s, ok := g.Lookup("strings"); !ok || !s.Standard || s.InMainModule() {
		t.Errorf("Lookup(strings) = %+v, %v; want a standard package", s, ok)
	}
	if g.GOOS != "linux" || g.GOARCH != "arm64" {
		t.Errorf("platform %s/%s, want linux/arm64", g.GOOS, g.GOARCH)
	}

	if _, err := List(context.Background(), t.TempDir(), ".", "linux", "amd64", logrus.NewEntry(logrus.New())); err == nil {
		t.Error("List outside a module: no error")
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	c := Command("svc", "./cmd/api", "linux", "arm64")
	want := []string{"list", "-e", "-deps", "-json=" + listFields, "--", "./cmd/api"}
	if c.Name != "go" || c.Dir != "svc" || !reflect.DeepEqual(c.Args, want) {
		t.Errorf("Command = %s %q in %s, want go %q in svc", c.Name, c.Args, c.Dir, want)
	}
	if wantEnv := []string{"CGO_ENABLED=0", "GOWORK=off", "GOOS=linux", "GOARCH=arm64"}; !reflect.DeepEqual(c.Env, wantEnv) {
		t.Errorf("Env = %q, want %q", c.Env, wantEnv)
	}
}

// TestSourceFiles: every file a build of the graph reads, for any
// platform and either cgo setting, embedded files and go.mod included;
// the standard library's are not.
func TestSourceFiles(t *testing.T) {
	offline(t)
	dir := testtree.New(t, map[string]string{
		"go.mod":            goMod,
		"main.go":           "package main\n\nimport (\n\t_ \"embed\"\n\n\t_ \"example.com/svc/db\"\n)\n\n//go:embed static/index.html\nvar index string\n\nfunc main() { println(index) }\n",
		"main_windows.go":   "package main\n",
		"main_test.go":      "package main\n",
		"static/index.html": "<html>",
		"db/db.go":          "package db\n",
		"db/db_cgo.go":      "//go:build cgo\n\npackage db\n\n// int one(void) { return 1; }\nimport \"C\"\n",
		"db/helper.c":       "int two(void) { return 2; }\n",
		"unused/unused.go":  "package unused\n",
	})
	for _, tt := range []struct {
		name string
		list func(context.Context, string, string, string, string, *logrus.Entry) (Graph, error)
		want []string
	}{
		// With cgo off, go list does not name the C files: they are not compiled.
		{"cgo off", List, []string{"db/db.go", "db/db_cgo.go", "go.mod", "main.go", "main_windows.go", "static/index.html"}},
		{"cgo on", ListWithCgo, []string{"db/db.go", "db/db_cgo.go", "db/helper.c", "go.mod", "main.go", "main_windows.go", "static/index.html"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := tt.list(context.Background(), dir, ".", "linux", "amd64", logrus.NewEntry(logrus.New()))
			if err != nil {
				t.Fatal(err)
			}
			if got := relative(t, dir, g.SourceFiles()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SourceFiles = %q, want %q", got, tt.want)
			}
		})
	}
}

// relative makes files, which must lie in dir, relative to it.
func relative(t *testing.T, dir string, files []string) []string {
	t.Helper()
	var got []string
	for _, f := range files {
		rel, err := filepath.Rel(dir, f)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("SourceFiles holds %s, outside the module", f)
			continue
		}
		got = append(got, filepath.ToSlash(rel))
	}
	return got
}

func TestDecodeModuleVersion(t *testing.T) {
	t.Parallel()
	out := `{"ImportPath":"example.com/svc","Module":{"Path":"example.com/svc","Main":true,"GoMod":"/src/go.mod"}}
{"ImportPath":"example.com/dep","Module":{"Path":"example.com/dep","Version":"v1.2.3","GoMod":"/mod/dep.mod"}}
{"ImportPath":"example.com/fork","Module":{"Path":"example.com/fork","Version":"v1.0.0","Replace":{"Path":"example.com/myfork","Version":"v1.0.1"}}}
{"ImportPath":"strings","Standard":true}
`
	pkgs, err := Decode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.ModuleVersion)
	}
	want := []string{"", "v1.2.3", "v1.0.0 => example.com/myfork v1.0.1", ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ModuleVersion = %q, want %q", got, want)
	}
	if pkgs[1].GoMod != "/mod/dep.mod" || pkgs[1].Module.Path != "example.com/dep" {
		t.Errorf("dep = %+v", pkgs[1])
	}
}
