package repofile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/testtree"
)

// hostile lays out, in a repository of its own, each kind of file a
// service may commit to lead Gantry astray, and one file outside.
func hostile(t *testing.T) (repo, outside string) {
	t.Helper()
	repo, outside = testtree.New(t, map[string]string{"shared/Makefile": "all:\n", "big": strings.Repeat("x", 11)}), filepath.Join(t.TempDir(), "secret")
	testtree.Write(t, filepath.Dir(outside), map[string]string{"secret": "outside\n"})
	for link, target := range map[string]string{
		"inside":  "shared/Makefile",
		"zero":    "/dev/zero",
		"stdin":   "/dev/stdin",
		"out":     outside,
		"relout":  "../" + filepath.Base(filepath.Dir(outside)) + "/secret",
		"abs":     filepath.Join(repo, "shared", "Makefile"),
		"dirout":  filepath.Dir(outside),
		"dangles": filepath.Join(filepath.Dir(outside), "new"),
	} {
		testtree.Link(t, repo, link, target)
	}
	testtree.Fifo(t, repo, "fifo")
	return repo, outside
}

func TestRead(t *testing.T) {
	repo, _ := hostile(t)
	tests := []struct {
		name, want, wantErr string
	}{
		{name: "shared/Makefile", want: "all:\n"},
		{name: "inside", want: "all:\n"},
		{name: "zero", wantErr: "zero is a link to /dev/zero, and Gantry follows only relative links that stay inside the repository"},
		{name: "stdin", wantErr: "stdin is a link to /dev/stdin"},
		{name: "out", wantErr: "out is a link to "},
		{name: "relout", wantErr: "relout is a link to ../"},
		{name: "abs", wantErr: "abs is a link to " + repo},
		{name: "dirout/secret", wantErr: "dirout/secret: dirout is a link to "},
		{name: "fifo", wantErr: "fifo is a named pipe, not a regular file: replace it with the file itself"},
		{name: "shared", wantErr: "shared is a directory, not a regular file: replace it"},
		{name: "big", wantErr: "big is over 10 bytes"},
		{name: "missing", wantErr: "missing: open"},
		{name: "../secret", wantErr: "../secret lies outside the repository " + repo + ": move the file into it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var content []byte
			var err error
			testtree.Returns(t, func() { content, err = At(repo).Read(tt.name, 10) })
			if tt.wantErr == "" {
				if err != nil || string(content) != tt.want {
					t.Fatalf("Read = %q, %v; want %q", content, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read = %q, %v; want an error with %q", content, err, tt.wantErr)
			}
		})
	}
	if _, err := At(repo).Read("missing", 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestExists(t *testing.T) {
	repo, _ := hostile(t)
	tests := []struct {
		name    string
		want    bool
		wantErr string
	}{
		{name: "shared/Makefile", want: true},
		{name: "inside", want: true},
		{name: "nothing"},
		{name: "dirout/secret", wantErr: "dirout/secret: dirout is a link to "},
		{name: "out", wantErr: "out is a link to "},
	}
	for _, tt := range tests {
		got, err := At(repo).Exists(tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Exists(%q) = %v, %v; want an error with %q", tt.name, got, err, tt.wantErr)
			}
		} else if err != nil || got != tt.want {
			t.Errorf("Exists(%q) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// A service in a sub-folder of a repository may link a file of the
// repository outside its folder.
func TestReadMonorepoLink(t *testing.T) {
	repo := testtree.New(t, map[string]string{".git/HEAD": "ref: refs/heads/main\n", "common/Makefile": "all:\n"})
	svc := filepath.Join(repo, "services", "api")
	testtree.Link(t, svc, "Makefile", "../../common/Makefile")
	if got, err := At(svc).Read("Makefile", 10); err != nil || string(got) != "all:\n" {
		t.Fatalf("Read = %q, %v; want the shared Makefile", got, err)
	}
	testtree.Link(t, svc, "out", "../../../outside")
	if _, err := At(svc).Read("out", 10); err == nil || !strings.Contains(err.Error(), "out is a link to ../../../outside") {
		t.Fatalf("a link leaving the monorepo: %v", err)
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
		// wantAt is the file, relative to the repository, that gets the
		// content; "" when nothing may be written.
		wantAt string
	}{
		{name: "new/dir/file", wantAt: "new/dir/file"},
		{name: "big", wantAt: "big"},
		{name: "inside", wantAt: "shared/Makefile"},
		{name: "out", wantErr: "out is a link to "},
		{name: "relout", wantErr: "relout is a link to ../"},
		{name: "dirout/secret", wantErr: "dirout/secret: dirout is a link to "},
		{name: "dirout/workflows/publish.yml", wantErr: "dirout is a link to "},
		{name: "dangles", wantErr: "dangles is a link to "},
		{name: "zero", wantErr: "zero is a link to /dev/zero"},
		{name: "fifo", wantErr: "fifo is a named pipe, not a regular file: replace it"},
		{name: "shared", wantErr: "shared is a directory, not a regular file: replace it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, outside := hostile(t)
			var err error
			testtree.Returns(t, func() { err = At(repo).Write(tt.name, []byte("gantry\n")) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Write: %v; want an error with %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got, err := os.ReadFile(outside); err != nil || string(got) != "outside\n" {
				t.Errorf("the file outside holds %q (%v): written through a link", got, err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(outside)); len(entries) != 1 {
				t.Errorf("the directory outside holds %d files, want only the one it had", len(entries))
			}
			if tt.wantAt != "" {
				if got, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(tt.wantAt))); err != nil || string(got) != "gantry\n" {
					t.Errorf("%s holds %q (%v), want what was written", tt.wantAt, got, err)
				}
			}
		})
	}
}

func TestMkdirAll(t *testing.T) {
	repo, outside := hostile(t)
	if err := At(repo).MkdirAll("bin/sub"); err != nil {
		t.Fatalf("MkdirAll inside: %v", err)
	}
	err := At(repo).MkdirAll("dirout/bin")
	if err == nil || !strings.Contains(err.Error(), "dirout/bin: dirout is a link to ") {
		t.Fatalf("MkdirAll through a link out: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(outside), "bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a directory was made outside the repository: %v", err)
	}
}

func TestRepoRoot(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(repo, "a"))
	tests := []struct{ dir, want string }{
		{"b", filepath.Join("b", "..", "..")},
		{".", ".."},
		{repo, repo},
	}
	for _, tt := range tests {
		if got := RepoRoot(tt.dir); filepath.Clean(got) != filepath.Clean(tt.want) {
			t.Errorf("RepoRoot(%q) = %q, want %q", tt.dir, got, tt.want)
		}
	}
	outside := t.TempDir()
	if got := RepoRoot(outside); got != outside {
		t.Errorf("without a repository, RepoRoot(%q) = %q", outside, got)
	}
}

// TestDirInRepo: the service directory as the repository names it, with
// links resolved on either side, and "." for the root or a directory
// outside it.
func TestDirInRepo(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "services", "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "checkout")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ root, dir, want string }{
		{root, root, "."},
		{root, filepath.Join(root, "services", "api"), "services/api"},
		{link, filepath.Join(root, "services", "api"), "services/api"},
		{root, filepath.Join(link, "services"), "services"},
		{filepath.Join(root, "services"), root, "."},
		{root, t.TempDir(), "."},
	} {
		if got := DirInRepo(tt.root, tt.dir); got != tt.want {
			t.Errorf("DirInRepo(%s, %s) = %q, want %q", tt.root, tt.dir, got, tt.want)
		}
	}
}
