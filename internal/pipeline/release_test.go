package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/magetools/config"
)

const (
	date1 = "2024-01-02T03:04:05+00:00"
	date2 = "2024-01-03T03:04:05+00:00"
	date3 = "2024-01-04T03:04:05+00:00"
)

// checkoutRun reads the event as load() does, from the checkout in dir
// (GitHub Actions when actions is not nil), and returns the run.
func checkoutRun(t *testing.T, dir string, actions map[string]string, cfg config.Config) Run {
	t.Helper()
	env := map[string]string{}
	if actions != nil {
		payload := filepath.Join(t.TempDir(), "event.json")
		if err := os.WriteFile(payload, []byte(`{"head_commit": {"timestamp": "2024-01-03T03:04:05Z"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		env = map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push",
			"GITHUB_EVENT_PATH": payload, "GITHUB_REPOSITORY": "acme/svc"}
		for k, v := range actions {
			env[k] = v
		}
	}
	ev, err := event.Read(t.Context(), getenv(env), dir, logrus.NewEntry(logrus.StandardLogger()))
	if err != nil {
		t.Fatalf("event.Read: %v", err)
	}
	cfg.Dir = dir
	cfg.Image = "127.0.0.1:5000/acme/svc"
	cfg = resolve(t, cfg, nil)
	p, err := plan.Make(ev, cfg)
	if err != nil {
		t.Fatalf("plan.Make: %v", err)
	}
	return newRun(t, cfg, ev, p, env)
}

func TestCheckPublish(t *testing.T) {
	isolate(t)
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string, c1, c2 string) map[string]string // returns the Actions env, or nil
		cfg     config.Config
		wantErr []string
	}{
		{name: "clean main", setup: func(t *testing.T, dir, c1, c2 string) map[string]string { return nil }},
		{name: "clean main in Actions", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			return map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": c2}
		}},
		{name: "custom publishing branch", cfg: config.Config{PublishBranch: "release"},
			setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
				gitRun(t, dir, nil, "checkout", "-q", "-b", "release")
				return nil
			}},
		{name: "other branch", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "checkout", "-q", "-b", "feature")
			return nil
		}, wantErr: []string{"nothing to publish", `"feature"`, `publishing branch "main"`, "mage plan"}},
		{name: "main when release publishes", cfg: config.Config{PublishBranch: "release"},
			setup:   func(t *testing.T, dir, c1, c2 string) map[string]string { return nil },
			wantErr: []string{"nothing to publish", `"release"`}},
		{name: "other branch in Actions", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			return map[string]string{"GITHUB_REF": "refs/heads/feature", "GITHUB_SHA": c2}
		}, wantErr: []string{"nothing to publish", `publishing branch "main"`}},
		{name: "detached HEAD", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "checkout", "-q", "--detach")
			return nil
		}, wantErr: []string{"nothing to publish", "detached HEAD"}},
		{name: "release tag at HEAD", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "v1.0.0", "v1.0.0")
			return nil
		}, wantErr: []string{"nothing to publish", `"main"`}},
		{name: "modified file", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			writeFile(t, dir, "a.txt", "changed")
			return nil
		}, wantErr: []string{"uncommitted changes", "refusing to publish", "commit or stash"}},
		{name: "untracked file", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			writeFile(t, dir, "new.txt", "new")
			return nil
		}, wantErr: []string{"uncommitted changes", "commit or stash"}},
		{name: "a module replaced by a directory outside the repository", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			writeFile(t, dir, "go.mod", "module example.com/svc\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n\nreplace example.com/lib => ../lib\n")
			gitRun(t, dir, nil, "add", "go.mod")
			gitRun(t, dir, nil, "commit", "-q", "-m", "replace")
			return nil
		}, wantErr: []string{"`replace example.com/lib => ../lib` (line 7) points outside the repository", "refusing to publish", "go mod vendor"}},
		{name: "a module replaced by a directory inside", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			writeFile(t, dir, "go.mod", "module example.com/svc\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n\nreplace example.com/lib => ./lib\n")
			gitRun(t, dir, nil, "add", "go.mod")
			gitRun(t, dir, nil, "commit", "-q", "-m", "replace")
			return nil
		}},
		{name: "staged file in Actions", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			writeFile(t, dir, "b.txt", "staged")
			gitRun(t, dir, nil, "add", "b.txt")
			return map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": c2}
		}, wantErr: []string{"uncommitted changes", "refusing to publish"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRepo(t)
			c1 := commitFile(t, dir, "a.txt", "a", date1)
			c2 := commitFile(t, dir, "b.txt", "b", date2)
			actions := tt.setup(t, dir, c1, c2)
			r := checkoutRun(t, dir, actions, tt.cfg)
			err := r.CheckPublish(t.Context())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckPublish: %v", err)
				}
				return
			}
			wantErr(t, err, tt.wantErr...)
		})
	}
}

func writeFile(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRelease(t *testing.T) {
	isolate(t)
	tagPush := func(sha string) map[string]string {
		return map[string]string{"GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_SHA": sha}
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir, c1, c2 string) map[string]string
		wantErr func(c1, c2 string) []string
	}{
		{name: "annotated tag at HEAD", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3")
			return tagPush(c2)
		}},
		{name: "lightweight tag at HEAD", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "v1.2.3")
			return tagPush(c2)
		}},
		{name: "tag at a detached HEAD", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3")
			gitRun(t, dir, nil, "checkout", "-q", "v1.2.3")
			return tagPush(c2)
		}},
		{name: "local: annotated tag at HEAD", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3")
			return nil
		}},
		{name: "pre-release tag", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "rc", "v1.2.3-rc.1")
			return map[string]string{"GITHUB_REF": "refs/tags/v1.2.3-rc.1", "GITHUB_SHA": c2}
		}},
		{name: "tag names an older commit than HEAD", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3", c1)
			return tagPush(c2)
		}, wantErr: func(c1, c2 string) []string {
			return []string{"tag v1.2.3 names commit " + c1[:12], "HEAD is " + c2[:12], "git checkout v1.2.3"}
		}},
		{name: "event names the tag's commit, HEAD is another", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3", c1)
			return tagPush(c1)
		}, wantErr: func(c1, c2 string) []string {
			return []string{"names commit " + c1[:12], "HEAD is " + c2[:12], "event commit " + c1[:12], "git checkout v1.2.3"}
		}},
		{name: "tag at HEAD, event names another commit", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3")
			return tagPush(c1)
		}, wantErr: func(c1, c2 string) []string {
			return []string{"event commit " + c1[:12], "git checkout v1.2.3"}
		}},
		{name: "tag missing from the clone", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			return tagPush(c2)
		}, wantErr: func(c1, c2 string) []string {
			return []string{"tag v1.2.3 is not in this clone", "git fetch --tags"}
		}},
		{name: "a branch of the tag's name is not the tag", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "branch", "v1.2.3")
			return tagPush(c2)
		}, wantErr: func(c1, c2 string) []string {
			return []string{"is not in this clone", "git fetch --tags"}
		}},
		{name: "dirty tree", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3")
			writeFile(t, dir, "a.txt", "changed")
			return tagPush(c2)
		}, wantErr: func(c1, c2 string) []string {
			return []string{"uncommitted changes", "refusing to release", "commit or stash"}
		}},
		{name: "local: untracked file", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "-a", "-m", "release", "v1.2.3")
			writeFile(t, dir, "new.txt", "new")
			return nil
		}, wantErr: func(c1, c2 string) []string {
			return []string{"uncommitted changes", "refusing to release"}
		}},
		{name: "branch push", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			return map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": c2}
		}, wantErr: func(c1, c2 string) []string {
			return []string{"nothing to release", "v* tag at HEAD", "git tag v1.2.3"}
		}},
		{name: "tag without v", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			gitRun(t, dir, nil, "tag", "1.2.3")
			return map[string]string{"GITHUB_REF": "refs/tags/1.2.3", "GITHUB_SHA": c2}
		}, wantErr: func(c1, c2 string) []string {
			return []string{"nothing to release", "does not start with v"}
		}},
		{name: "local: no tag", setup: func(t *testing.T, dir, c1, c2 string) map[string]string {
			return nil
		}, wantErr: func(c1, c2 string) []string {
			return []string{"nothing to release"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRepo(t)
			c1 := commitFile(t, dir, "a.txt", "a", date1)
			c2 := commitFile(t, dir, "b.txt", "b", date2)
			actions := tt.setup(t, dir, c1, c2)
			r := checkoutRun(t, dir, actions, config.Config{})
			err := r.CheckRelease(t.Context())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckRelease: %v", err)
				}
				return
			}
			wantErr(t, err, tt.wantErr(c1, c2)...)
		})
	}
}

// TestCheckPublishHeadIsTheEventCommit: the image is built from the
// checkout (HEAD) but tagged <sha> and labelled with the event's commit,
// so the two must be equal, as CheckRelease requires for a release.
func TestCheckPublishHeadIsTheEventCommit(t *testing.T) {
	isolate(t)
	dir := newRepo(t)
	c1 := commitFile(t, dir, "a.txt", "a", date1)
	c2 := commitFile(t, dir, "b.txt", "b", date2)
	// GitHub sent the push of c1; the checkout is at c2 (a checkout of
	// the branch instead of GITHUB_SHA, after main moved on).
	r := checkoutRun(t, dir, map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": c1}, config.Config{})
	if r.Event.Commit != c1 || r.Plan.Short != c1[:7] {
		t.Fatalf("event commit %s, plan short %s; want %s", r.Event.Commit, r.Plan.Short, c1)
	}
	err := r.CheckPublish(t.Context())
	wantErr(t, err, c1[:12], c2[:12])
}

// TestCheckPublishNamesHiddenChanges: files the build compiles that the
// commit does not hold as they are (found by the session, though git
// status shows nothing) are refused by name.
func TestCheckPublishNamesHiddenChanges(t *testing.T) {
	isolate(t)
	dir := newRepo(t)
	commitFile(t, dir, "a.txt", "a", date1)
	r := checkoutRun(t, dir, nil, config.Config{})
	r.Event.Dirty, r.Event.Changes = true, git.Changes{{Path: "main.go", InCommit: true}, {Path: "extra.go"}}
	err := r.CheckPublish(t.Context())
	wantErr(t, err, "main.go (differs from the commit), extra.go (not in the commit)", "refusing to publish", "--assume-unchanged", ".git/info/exclude")
}
