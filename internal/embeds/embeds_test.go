package embeds

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gantry-build/gantry/internal/gittest"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/testtree"
)

// service writes a module whose ./ui embeds build/*, with .gitignore
// ignoring ui/build, and commits what git does not ignore.
func service(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := gittest.NewRepo(t)
	base := map[string]string{
		"go.mod":     "module example.com/svc\n\ngo 1.22\n",
		"main.go":    "package main\n\nimport _ \"example.com/svc/ui\"\n\nfunc main() {}\n",
		"ui/ui.go":   "package ui\n\nimport \"embed\"\n\n//go:embed build/*\nvar FS embed.FS\n",
		".gitignore": "ui/build\n",
	}
	for name, content := range files {
		base[name] = content
	}
	for name, content := range base {
		if content == "" {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gittest.Run(t, dir, nil, "add", "-A")
	gittest.Run(t, dir, nil, "commit", "-q", "-m", "service")
	return dir
}

func find(t *testing.T, dir string) ([]Missing, bool) {
	t.Helper()
	ctx := context.Background()
	g, err := golist.List(ctx, dir, ".", runtime.GOOS, runtime.GOARCH, nil)
	if err != nil {
		t.Fatal(err)
	}
	missing, inRepo, err := Find(ctx, dir, g, ".", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return missing, inRepo
}

func TestFind(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []Missing
	}{
		{name: "generated and ignored: go's error at the directive",
			files: map[string]string{"ui/build/index.html": "<html>"},
			want:  []Missing{{ImportPath: "example.com/svc/ui", File: "ui/ui.go", Line: 5, Err: "pattern build/*: no matching files found", Pattern: "build/*", Dir: "ui/build"}}},
		{name: "not generated yet: go fails here too",
			want: []Missing{{ImportPath: "example.com/svc/ui", File: "ui/ui.go", Line: 5, Err: "pattern build/*: no matching files found", Pattern: "build/*", Dir: "ui/build"}}},
		{name: "committed", files: map[string]string{".gitignore": "node_modules\n", "ui/build/index.html": "<html>"}},
		{name: "one file committed keeps the pattern matching",
			files: map[string]string{".gitignore": "ui/build/*.js\n", "ui/build/index.html": "<html>", "ui/build/app.js": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// gittest.NewRepo sets the environment: not parallel.
			dir := service(t, tt.files)
			got, inRepo := find(t, dir)
			if !inRepo {
				t.Fatal("inRepo = false in a git repository")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Find = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Find[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFindOutsideARepository(t *testing.T) {
	gittest.Isolate(t)
	dir := t.TempDir()
	testtree.Write(t, dir, map[string]string{
		"go.mod":   "module example.com/svc\n\ngo 1.22\n",
		"main.go":  "package main\n\nimport _ \"embed\"\n\n//go:embed build/*\nvar s string\n\nfunc main() {}\n",
		"build/ok": "x",
	})
	got, inRepo := find(t, dir)
	if inRepo || len(got) != 0 {
		t.Errorf("Find = %+v, %v outside a repository, want nothing, false", got, inRepo)
	}
}

func TestPatternDir(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string]string{
		"build/*": "build", "build": "build", "all:dist": "dist", "web/dist/*.js": "web/dist", "*.html": ".", "static/[a-z]*": "static",
	} {
		if got := PatternDir(pattern); got != want {
			t.Errorf("PatternDir(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// TestFindThroughALink: a service reached through a symbolic link (a
// checkout under a linked home) reads its committed files as committed.
func TestFindThroughALink(t *testing.T) {
	dir := service(t, map[string]string{".gitignore": "node_modules\n", "ui/build/index.html": "<html>"})
	link := filepath.Join(t.TempDir(), "svc")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if got, _ := find(t, link); len(got) != 0 {
		t.Errorf("Find = %+v through a link, want nothing: the files are committed", got)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("ui/build\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, dir, nil, "rm", "-q", "--cached", "ui/build/index.html")
	gittest.Run(t, dir, nil, "commit", "-q", "-am", "ignore the build")
	if got, _ := find(t, link); len(got) != 1 || got[0].Dir != "ui/build" {
		t.Errorf("Find = %+v through a link, want ui/build", got)
	}
}
