package git

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gantry-build/gantry/internal/gittest"
)

// TestChanged: files are compared by their bytes with HEAD's blobs, so
// what git status hides (--assume-unchanged, --skip-worktree,
// .git/info/exclude) still counts.
func TestChanged(t *testing.T) {
	dir := gittest.NewRepo(t)
	const date = "2024-01-02T03:04:05+00:00"
	for _, f := range []string{"main.go", "assumed.go", "skipped.go", "same.go"} {
		gittest.Commit(t, dir, f, "package main // "+f+"\n", date)
	}
	if err := os.Symlink("same.go", filepath.Join(dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, dir, nil, "add", "link.go")
	gittest.Run(t, dir, nil, "commit", "-q", "-m", "link")
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("assumed.go", "package main // changed, hidden by --assume-unchanged\n")
	gittest.Run(t, dir, nil, "update-index", "--assume-unchanged", "assumed.go")
	write("skipped.go", "package main // changed, hidden by --skip-worktree\n")
	gittest.Run(t, dir, nil, "update-index", "--skip-worktree", "skipped.go")
	write("excluded.go", "package main // not committed, hidden by .git/info/exclude\n")
	write(filepath.Join(".git", "info", "exclude"), "excluded.go\n")
	if status := gittest.Run(t, dir, nil, "status", "--porcelain"); status != "" {
		t.Fatalf("git status shows %q; the test needs it to show nothing", status)
	}

	var paths []string
	for _, f := range []string{"main.go", "assumed.go", "skipped.go", "same.go", "link.go", "excluded.go"} {
		paths = append(paths, filepath.Join(dir, f))
	}
	paths = append(paths, filepath.Join(t.TempDir(), "outside.go")) // not in the working tree: left out
	got, err := Repo{Dir: dir}.Changed(t.Context(), paths)
	if err != nil {
		t.Fatal(err)
	}
	want := Changes{{Path: "assumed.go", InCommit: true}, {Path: "excluded.go"}, {Path: "skipped.go", InCommit: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Changed = %v, want %v", got, want)
	}
}

// TestIgnoredByCommit: a file a committed .gitignore ignores may be
// generated; one only this clone excludes may not, and neither may one a
// .gitignore ignores that differs from the commit's.
func TestIgnoredByCommit(t *testing.T) {
	dir := gittest.NewRepo(t)
	gittest.Commit(t, dir, ".gitignore", "/dist/\n", "2024-01-02T03:04:05+00:00")
	if err := os.MkdirAll(filepath.Join(dir, "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	gittest.Commit(t, dir, "web/.gitignore", "/tmp.js\n", "2024-01-02T03:04:05+00:00")
	if err := os.WriteFile(filepath.Join(dir, ".git", "info", "exclude"), []byte("local.go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web", ".gitignore"), []byte("/tmp.js\n/app.js\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, dir, nil, "update-index", "--assume-unchanged", "web/.gitignore")
	got, err := Repo{Dir: dir}.IgnoredByCommit(t.Context(), []string{"dist/app.js", "local.go", "web/app.js", "kept.go"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dist/app.js"}; !reflect.DeepEqual(got, want) {
		t.Errorf("IgnoredByCommit = %q, want %q", got, want)
	}
}

func TestChangesString(t *testing.T) {
	var cs Changes
	for _, name := range []string{"a.go", "b.go", "c.go", "d.go", "e.go", "f.go", "g.go"} {
		cs = append(cs, Change{Path: name, InCommit: name != "b.go"})
	}
	want := "a.go (differs from the commit), b.go (not in the commit), c.go (differs from the commit), d.go (differs from the commit), e.go (differs from the commit), and 2 more"
	if got := cs.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
