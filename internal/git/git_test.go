package git

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/gittest"
)

func TestOwnerRepo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string
	}{
		{"https://github.com/acme/svc", "acme/svc"},
		{"https://github.com/acme/svc.git", "acme/svc"},
		{"https://github.com/Acme/Svc.git", "Acme/Svc"}, // case is kept; callers lower-case
		{"https://github.com/acme/svc/", "acme/svc"},
		{"https://github.com/acme/svc.git/", "acme/svc"},
		{"http://github.com/acme/svc", "acme/svc"},
		{"https://user:token@github.com/acme/svc.git", "acme/svc"},
		{"ssh://git@github.com/acme/svc.git", "acme/svc"},
		{"ssh://git@github.com/acme/svc", "acme/svc"},
		{"ssh://git@github.com:22/acme/svc.git", "acme/svc"},
		{"git@github.com:Acme/Svc.git", "Acme/Svc"},
		{"git@github.com:acme/svc", "acme/svc"},
		{"git@github.com:acme/svc/", "acme/svc"},
		{"https://gitlab.com/group/subgroup/svc.git", "subgroup/svc"},
		{"git@gitlab.com:group/sub/deeper/svc.git", "deeper/svc"},
		{"", ""},
		{"foo", ""},
		{"/srv/git/acme/svc.git", ""},
		{"https://github.com/onlyowner", ""},
		{"https://github.com/onlyowner/", ""},
		{"https://github.com", ""},
		{"https://github.com/", ""},
		{"git@github.com:svc.git", ""},
		{"git@github.com:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			if got := OwnerRepo(tt.url); got != tt.want {
				t.Errorf("OwnerRepo(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

// The git helpers of every test here.
var (
	isolate = gittest.Isolate
	gitCmd  = gittest.Run
	newRepo = gittest.NewRepo
	commit  = gittest.Commit
)

const date1 = "2023-04-05T06:07:08+00:00"

var sha1re = regexp.MustCompile(`^[0-9a-f]{40}$`)

func TestIsRepo(t *testing.T) {
	repo := newRepo(t)
	commit(t, repo, "a.txt", "a", date1)
	sub := filepath.Join(repo, "sub", "dir")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	empty := newRepo(t)
	tests := []struct {
		name string
		dir  string
		want bool
	}{
		{"repository root", repo, true},
		{"sub-directory of a repository", sub, true},
		{"repository without commits", empty, true},
		{"plain directory", t.TempDir(), false},
		{"inside .git", filepath.Join(repo, ".git"), false},
		{"missing directory", filepath.Join(t.TempDir(), "nope"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Repo{Dir: tt.dir}).IsRepo(t.Context()); got != tt.want {
				t.Errorf("IsRepo(%s) = %v, want %v", tt.dir, got, tt.want)
			}
		})
	}
}

func TestHeadAndCommit(t *testing.T) {
	dir := newRepo(t)
	first := commit(t, dir, "a.txt", "one", date1)
	gitCmd(t, dir, nil, "tag", "-a", "v1.0.0", "-m", "release 1.0.0")
	gitCmd(t, dir, nil, "tag", "light")
	second := commit(t, dir, "a.txt", "two", "2023-05-06T07:08:09+00:00")
	tagObject := gitCmd(t, dir, nil, "rev-parse", "v1.0.0")
	if tagObject == first {
		t.Fatal("setup: v1.0.0 is not an annotated tag")
	}
	r := Repo{Dir: dir}

	head, err := r.Head(t.Context())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if head != second || !sha1re.MatchString(head) {
		t.Errorf("Head = %q, want %q", head, second)
	}

	tests := []struct {
		rev     string
		want    string
		wantErr bool
	}{
		{rev: "HEAD", want: second},
		{rev: "main", want: second},
		{rev: "HEAD~1", want: first},
		{rev: "v1.0.0", want: first}, // annotated: the commit, not the tag object
		{rev: "refs/tags/v1.0.0", want: first},
		{rev: "light", want: first},
		{rev: first[:10], want: first},
		{rev: "v9.9.9", wantErr: true},
		{rev: "no-such-branch", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.rev, func(t *testing.T) {
			got, err := r.Commit(t.Context(), tt.rev)
			if tt.wantErr {
				if err == nil {
					t.Errorf("Commit(%q) = %q, want an error", tt.rev, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Commit(%q): %v", tt.rev, err)
			}
			if got != tt.want {
				t.Errorf("Commit(%q) = %q, want %q (tag object is %s)", tt.rev, got, tt.want, tagObject)
			}
		})
	}
}

func TestHeadErrors(t *testing.T) {
	isolate(t)
	tests := []struct {
		name string
		dir  string
	}{
		{"repository without commits", newRepo(t)},
		{"not a repository", t.TempDir()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Repo{Dir: tt.dir}.Head(t.Context())
			if err == nil {
				t.Errorf("Head = %q, want an error", got)
			}
		})
	}
}

func TestBranch(t *testing.T) {
	dir := newRepo(t)
	first := commit(t, dir, "a.txt", "one", date1)
	r := Repo{Dir: dir}
	steps := []struct {
		name  string
		setup func()
		want  string
	}{
		{"main", func() {}, "main"},
		{"branch with a slash", func() { gitCmd(t, dir, nil, "checkout", "-q", "-b", "feature/x") }, "feature/x"},
		{"detached HEAD", func() { gitCmd(t, dir, nil, "checkout", "-q", "--detach", first) }, ""},
		{"back on main", func() { gitCmd(t, dir, nil, "checkout", "-q", "main") }, "main"},
	}
	for _, s := range steps {
		s.setup()
		got, err := r.Branch(t.Context())
		if err != nil {
			t.Fatalf("%s: Branch: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: Branch = %q, want %q", s.name, got, s.want)
		}
	}
}

func TestBranchUnbornAndErrors(t *testing.T) {
	// A fresh repository is on its (unborn) branch already.
	got, err := Repo{Dir: newRepo(t)}.Branch(t.Context())
	if err != nil || got != "main" {
		t.Errorf("Branch of a repository without commits = %q, %v; want \"main\", nil", got, err)
	}
	// Outside a repository it is an error, not a detached HEAD.
	got, err = Repo{Dir: t.TempDir()}.Branch(t.Context())
	if err == nil {
		t.Errorf("Branch outside a repository = %q, want an error", got)
	}
}

func TestTagsAtHead(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.txt", "one", date1)
	gitCmd(t, dir, nil, "tag", "v0.9.0")
	commit(t, dir, "a.txt", "two", date1)
	r := Repo{Dir: dir}

	got, err := r.TagsAtHead(t.Context(), "v*")
	if err != nil {
		t.Fatalf("TagsAtHead without tags at HEAD: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("TagsAtHead without tags at HEAD = %q, want none", got)
	}

	gitCmd(t, dir, nil, "tag", "-a", "v1.0.0", "-m", "annotated")
	gitCmd(t, dir, nil, "tag", "v1.1.0")
	gitCmd(t, dir, nil, "tag", "release-2023")
	tests := []struct {
		pattern string
		want    []string
	}{
		{"v*", []string{"v1.0.0", "v1.1.0"}},
		{"release-*", []string{"release-2023"}},
		{"v1.1.*", []string{"v1.1.0"}},
		{"nomatch*", nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := r.TagsAtHead(t.Context(), tt.pattern)
			if err != nil {
				t.Fatalf("TagsAtHead(%q): %v", tt.pattern, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TagsAtHead(%q) = %q, want %q", tt.pattern, got, tt.want)
			}
		})
	}

	if _, err := (Repo{Dir: t.TempDir()}).TagsAtHead(t.Context(), "v*"); err == nil {
		t.Error("TagsAtHead outside a repository: want an error")
	}
}

func TestDirty(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   bool
	}{
		{"clean", func(*testing.T, string) {}, false},
		{"modified tracked file", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"untracked file", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"staged change", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte("b"), 0o644); err != nil {
				t.Fatal(err)
			}
			gitCmd(t, dir, nil, "add", "b.txt")
		}, true},
		{"deleted file", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "a.txt")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"ignored file", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "debug.log"), []byte("log"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRepo(t)
			if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.log\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			gitCmd(t, dir, nil, "add", ".gitignore")
			commit(t, dir, "a.txt", "one", date1)
			tt.change(t, dir)
			got, err := Repo{Dir: dir}.Dirty(t.Context())
			if err != nil {
				t.Fatalf("Dirty: %v", err)
			}
			if got != tt.want {
				t.Errorf("Dirty = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDirtyOutsideRepo(t *testing.T) {
	isolate(t)
	if _, err := (Repo{Dir: t.TempDir()}).Dirty(t.Context()); err == nil {
		t.Error("Dirty outside a repository: want an error")
	}
}

func TestCommitTime(t *testing.T) {
	dir := newRepo(t)
	first := commit(t, dir, "a.txt", "one", date1)
	commit(t, dir, "a.txt", "two", "2024-01-02T12:00:00+02:00")
	r := Repo{Dir: dir}
	tests := []struct {
		rev     string
		want    time.Time
		wantErr bool
	}{
		{rev: "HEAD", want: time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)},
		{rev: first, want: time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)},
		{rev: "HEAD~1", want: time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)},
		{rev: "0000000000000000000000000000000000000000", wantErr: true},
		{rev: "no-such-rev", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.rev, func(t *testing.T) {
			got, err := r.CommitTime(t.Context(), tt.rev)
			if tt.wantErr {
				if err == nil {
					t.Errorf("CommitTime(%q) = %v, want an error", tt.rev, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CommitTime(%q): %v", tt.rev, err)
			}
			// The committer date, not the author date (2001), in UTC.
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("CommitTime(%q) = %v, want %v", tt.rev, got, tt.want)
			}
		})
	}
}

func TestRemoteURL(t *testing.T) {
	dir := newRepo(t)
	r := Repo{Dir: dir}
	if got := r.RemoteURL(t.Context(), "origin"); got != "" {
		t.Errorf("RemoteURL(origin) without remotes = %q, want \"\"", got)
	}
	gitCmd(t, dir, nil, "remote", "add", "origin", "https://github.com/Acme/Svc.git")
	gitCmd(t, dir, nil, "remote", "add", "upstream", "git@github.com:Upstream/Svc.git")
	tests := []struct {
		name string
		want string
	}{
		{"origin", "https://github.com/Acme/Svc.git"},
		{"upstream", "github.com:Upstream/Svc.git"}, // scp form: its user is dropped too
		{"missing", ""},
	}
	for _, tt := range tests {
		if got := r.RemoteURL(t.Context(), tt.name); got != tt.want {
			t.Errorf("RemoteURL(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := (Repo{Dir: t.TempDir()}).RemoteURL(t.Context(), "origin"); got != "" {
		t.Errorf("RemoteURL outside a repository = %q, want \"\"", got)
	}
	gitCmd(t, dir, nil, "remote", "add", "token", "https://x-access-token:ghp_s3cret@github.com/Acme/Svc.git")
	if got := r.RemoteURL(t.Context(), "token"); got != "https://github.com/Acme/Svc.git" {
		t.Errorf("RemoteURL of a remote holding a token = %q, want it without the token", got)
	}
}

func TestWithoutUserinfo(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"https://user:s3cret@github.com/Acme/Svc.git", "https://github.com/Acme/Svc.git"},
		{"https://ghp_s3cret@github.com/Acme/Svc.git", "https://github.com/Acme/Svc.git"},
		{"https://user:p@ss@gitlab.com/a/b", "https://gitlab.com/a/b"},
		{"https://user:s3cret@host.example", "https://host.example"},
		{"https://user:s3cret@host.example?x=1", "https://host.example?x=1"},
		{"ssh://git@github.com:22/Acme/Svc", "ssh://github.com:22/Acme/Svc"},
		{"https://github.com/Acme/Svc@v1", "https://github.com/Acme/Svc@v1"},
		{"https://github.com/Acme/Svc.git", "https://github.com/Acme/Svc.git"},
		{"file:///srv/git/a/b", "file:///srv/git/a/b"},
		{"git@github.com:Acme/Svc.git", "github.com:Acme/Svc.git"},
		{"user:s3cret@host.example:a/b.git", "host.example:a/b.git"},
		{"git@host.example:repo@v1", "host.example:repo@v1"},
		{"git@[::1]:repo", "[::1]:repo"},
		{"user:s3cret@host.example:a://b", "host.example:a://b"}, // no scheme before ://
		{"host.example:a/b", "host.example:a/b"},
		{"../svc", "../svc"},
		{"/srv/git/a@b:c", "/srv/git/a@b:c"},
		{"", ""},
	} {
		if got := withoutUserinfo(tt.url); got != tt.want {
			t.Errorf("withoutUserinfo(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestOriginHead(t *testing.T) {
	origin := newRepo(t)
	gitCmd(t, origin, nil, "commit", "-q", "--allow-empty", "-m", "first")
	gitCmd(t, origin, nil, "branch", "-m", "master")
	if got, err := (Repo{Dir: origin}).OriginHead(t.Context()); got != "" || err != nil {
		t.Errorf("OriginHead without origin = %q, %v; want \"\", nil", got, err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	gitCmd(t, filepath.Dir(clone), nil, "clone", "-q", origin, clone)
	if got, err := (Repo{Dir: clone}).OriginHead(t.Context()); got != "master" || err != nil {
		t.Errorf("OriginHead of a clone of master = %q, %v; want master", got, err)
	}
	if _, err := (Repo{Dir: t.TempDir()}).OriginHead(t.Context()); err == nil {
		t.Error("OriginHead outside a repository: want an error")
	}
}

// FuzzWithoutUserinfo: the password of a remote URL, in URL or scp form,
// never survives, whatever the user, host and path around it.
func FuzzWithoutUserinfo(f *testing.F) {
	f.Add("x-access-token", "ghp_s3cret", "github.com", "Acme/Svc.git")
	f.Add("ci", "p@ss:word", "gitlab.example:8443", "group/sub@v1/repo:x")
	f.Fuzz(func(t *testing.T, user, password, host, path string) {
		// A /, ? or # would end the userinfo of a URL, and an @ in the
		// host would start it later.
		if password == "" || strings.ContainsAny(user+password+host, "/?#") || strings.Contains(host, "@") {
			t.Skip()
		}
		for _, form := range []struct{ url, without string }{
			{"https://" + user + ":" + password + "@" + host + "/" + path, "https://" + host + "/" + path},
			{user + ":" + password + "@" + host + ":" + path, host + ":" + path},
		} {
			// A password the rest of the URL holds too cannot be told apart.
			if strings.Contains(form.without, password) {
				continue
			}
			if got := withoutUserinfo(form.url); strings.Contains(got, password) {
				t.Fatalf("withoutUserinfo(%q) = %q, which holds the password", form.url, got)
			}
		}
	})
}

func TestTracked(t *testing.T) {
	dir := gittest.NewRepo(t)
	gittest.Commit(t, dir, "kept.txt", "x", "2024-01-02T03:04:05Z")
	for name, content := range map[string]string{".gitignore": "out\n", "out": "generated", "new.txt": "not added"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Repo{Dir: dir}.Tracked(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(real, "kept.txt")}; !slices.Equal(got, want) {
		t.Errorf("Tracked = %q, want %q: neither the ignored nor the untracked file", got, want)
	}
}
