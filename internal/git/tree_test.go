package git

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTreeID(t *testing.T) {
	isolate(t)
	dir := newRepo(t)
	if err := os.Mkdir(filepath.Join(dir, "svc"), 0o755); err != nil {
		t.Fatal(err)
	}
	commit(t, dir, "svc/a.txt", "one", date1)
	sub := Repo{Dir: filepath.Join(dir, "svc")}
	before, err := sub.TreeID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	commit(t, dir, "other.txt", "x", date1)
	if same, _ := sub.TreeID(t.Context()); same != before {
		t.Errorf("a commit outside svc/ changed its tree: %s, %s", before, same)
	}
	// Uncommitted changes are not the commit's.
	if err := os.WriteFile(filepath.Join(dir, "svc", "a.txt"), []byte("dirty"), 0o644); err != nil {
		t.Fatal(err)
	}
	if same, _ := sub.TreeID(t.Context()); same != before {
		t.Errorf("an uncommitted change changed the tree: %s, %s", before, same)
	}
	commit(t, dir, "svc/a.txt", "two", date1)
	if after, _ := sub.TreeID(t.Context()); after == before || len(after) != 40 {
		t.Errorf("tree %s after a commit to svc/, %s before", after, before)
	}
	if _, err := (Repo{Dir: t.TempDir()}).TreeID(t.Context()); err == nil {
		t.Error("TreeID outside a repository: no error")
	}
}
