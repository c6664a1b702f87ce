package adopt

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/testsvc"
)

// TestTargetsAreMagetools: Targets lists the targets magetools declares,
// its exported functions.
func TestTargetsAreMagetools(t *testing.T) {
	t.Parallel()
	pkgs, err := filepath.Glob(filepath.Join(testsvc.Root(t), "magetools", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, file := range pkgs {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.IsExported() {
				got = append(got, strings.ToLower(fn.Name.Name))
			}
		}
	}
	slices.Sort(got)
	var want []string
	for _, target := range Targets {
		want = append(want, strings.ToLower(target)) // Mage matches names whatever their case
	}
	if slices.Sort(want); !slices.Equal(got, want) {
		t.Errorf("magetools declares %v, Targets lists %v", got, want)
	}
}

// TestInitWithTheTeamsMagefiles: a team's own mage files keep working
// beside Gantry's targets, whatever module arrangement they had; those
// Mage would not read with Gantry's, or whose names clash, stop init
// before it writes anything, with the fix.
func TestInitWithTheTeamsMagefiles(t *testing.T) {
	t.Parallel()
	const greet = "package greet\n\nfunc Hello() string { return \"hello from the service\" }\n"
	const hello = "//go:build mage\n\npackage main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/acme/widget/internal/greet\"\n)\n\n// Hello is the team's target.\nfunc Hello() { fmt.Println(greet.Hello()) }\n"
	tests := []struct {
		name  string
		files map[string]string
		// wantErr: init refuses; else the team's hello target and
		// Gantry's check are both listed, and hello runs.
		wantErr   string
		wantNotes []string
		wantMod   []string
	}{
		{name: "magefiles/ in the service's module, importing its packages",
			files:     map[string]string{"internal/greet/greet.go": greet, "magefiles/magefile.go": hello},
			wantNotes: []string{"magefiles/ holds the team's mage files (magefiles/magefile.go): Gantry's targets go beside them, in magefiles/gantry.go", "the team's mage files import packages of github.com/acme/widget"},
			wantMod:   []string{"github.com/acme/widget v0.0.0", "replace github.com/acme/widget => ..", "github.com/gantry-build/gantry v0.0.0"}},
		{name: "magefiles/ a module of its own",
			files: map[string]string{"magefiles/go.mod": "module github.com/acme/widget/magefiles\n\ngo 1.26\n",
				"magefiles/tasks.go": strings.ReplaceAll(strings.ReplaceAll(hello, "\n\t\"github.com/acme/widget/internal/greet\"\n", ""), "greet.Hello()", "\"hello from the service\"")},
			wantMod: []string{"module github.com/acme/widget/magefiles", "github.com/gantry-build/gantry v0.0.0"}},
		{name: "a magefile at the root",
			files:   map[string]string{"magefile.go": "//go:build mage\n\npackage main\n\nfunc Lint() {}\n"},
			wantErr: "the module root has mage files (magefile.go): Mage reads those and then ignores magefiles/, where Gantry's targets go, so go tool mage check would be an unknown target (and Gantry's import at the root would enter the service's go.mod); move them: mkdir -p magefiles && git mv magefile.go magefiles/"},
		{name: "a team's target named as Gantry's",
			files:   map[string]string{"magefiles/magefile.go": "//go:build mage\n\npackage main\n\n// Build is the team's.\nfunc Build() {}\n\nfunc Lint() {}\n"},
			wantErr: "the team's mage targets magefiles/magefile.go: Build have the names of Gantry's targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := newService(t)
			for name, content := range tt.files {
				svc.Write(t, name, content)
			}
			svc.Commit(t, "the team's mage files")
			report, err := Init(context.Background(), Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if status := svc.Git(t, "status", "--porcelain", "--untracked-files=all"); status != "" {
					t.Errorf("init wrote before refusing:\n%s", status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tt.wantNotes {
				if !slices.ContainsFunc(report.Notes, func(note string) bool { return strings.HasPrefix(note, n) }) {
					t.Errorf("notes %q lack %q", report.Notes, n)
				}
			}
			for name, content := range tt.files {
				if got, _ := os.ReadFile(filepath.Join(svc.Dir, name)); name != "magefiles/go.mod" && string(got) != content {
					t.Errorf("init changed the team's %s:\n%s", name, got)
				}
			}
			mod := readFile(t, svc.Dir, "magefiles/go.mod")
			for _, w := range tt.wantMod {
				if !strings.Contains(mod, w) {
					t.Errorf("magefiles/go.mod lacks %q:\n%s", w, mod)
				}
			}
			if res := svc.Mage(t, nil, "-l"); res.Code != 0 || !strings.Contains(res.Stdout, "hello ") || !strings.Contains(res.Stdout, "check ") {
				t.Errorf("mage -l: exit %d, want the team's hello and Gantry's check:\n%s", res.Code, res.Stdout)
			}
			if res := svc.Mage(t, nil, "hello"); res.Code != 0 || res.Stdout != "hello from the service\n" {
				t.Errorf("mage hello: exit %d, %q", res.Code, res.Stdout)
			}
			if res := svc.Exec(t, map[string]string{"GOWORK": "off"}, "go", "build", "./..."); res.Code != 0 {
				t.Errorf("the service's own build fails: exit %d", res.Code)
			}
		})
	}
}
