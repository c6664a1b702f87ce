package event

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/gittest"
)

// SHAs and times of the payloads in testdata.
const (
	prHeadSHA   = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" // pull_request.json head.sha
	prMergeSHA  = "e4c1b0d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3" // what GITHUB_SHA is for a pull request
	forkHeadSHA = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432" // pull_request_fork.json head.sha
	pushSHA     = "5d41402abc4b2a76b9719d911017c592aabbccdd" // push.json head_commit.id
)

// pushTime is head_commit.timestamp of push.json (2024-05-06T14:15:16+02:00).
var pushTime = time.Date(2024, 5, 6, 12, 15, 16, 0, time.UTC)

// envFunc returns an env func backed by m; absent keys are "".
func envFunc(m map[string]string) func(string) string {
	return func(key string) string { return m[key] }
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return p
}

// actionsEnv is the environment of a GitHub Actions job for event name,
// ref, GITHUB_SHA and payload file, with extra entries applied over it
// (an empty value removes the entry).
func actionsEnv(name, ref, sha, payload string, extra map[string]string) map[string]string {
	m := map[string]string{
		"GITHUB_ACTIONS":    "true",
		"GITHUB_EVENT_NAME": name,
		"GITHUB_REF":        ref,
		"GITHUB_SHA":        sha,
		"GITHUB_REPOSITORY": "Acme/Svc",
		"GITHUB_EVENT_PATH": payload,
	}
	for k, v := range extra {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// The git helpers of every test here.
var (
	isolate = gittest.Isolate
	gitCmd  = gittest.Run
	newRepo = gittest.NewRepo
)

// commit commits a change of file.txt with the given committer date.
func commit(t *testing.T, dir, content, committerDate string) string {
	return gittest.Commit(t, dir, "file.txt", content, committerDate)
}

// notRepo is an empty directory outside any git repository.
func notRepo(t *testing.T) string {
	t.Helper()
	isolate(t)
	return t.TempDir()
}

func TestReadActions(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Context
	}{
		{
			name: "push to main",
			env:  actionsEnv("push", "refs/heads/main", pushSHA, "push.json", nil),
			want: Context{Kind: BranchPush, Name: "push", Ref: "refs/heads/main", Branch: "main",
				Commit: pushSHA, CommitTime: pushTime, Repository: "Acme/Svc"},
		},
		{
			name: "push to a branch with a slash",
			env:  actionsEnv("push", "refs/heads/feature/x", pushSHA, "push.json", nil),
			want: Context{Kind: BranchPush, Name: "push", Ref: "refs/heads/feature/x", Branch: "feature/x",
				Commit: pushSHA, CommitTime: pushTime, Repository: "Acme/Svc"},
		},
		{
			name: "push of a tag",
			env:  actionsEnv("push", "refs/tags/v1.2.3", pushSHA, "push_tag.json", nil),
			want: Context{Kind: TagPush, Name: "push", Ref: "refs/tags/v1.2.3", Tag: "v1.2.3",
				Commit: pushSHA, CommitTime: pushTime, Repository: "Acme/Svc"},
		},
		{
			name: "push of another ref",
			env:  actionsEnv("push", "refs/notes/commits", pushSHA, "push.json", nil),
			want: Context{Kind: Other, Name: "push", Ref: "refs/notes/commits",
				Commit: pushSHA, CommitTime: pushTime, Repository: "Acme/Svc"},
		},
		{
			name: "pull request builds the head commit, not the merge commit",
			env:  actionsEnv("pull_request", "refs/pull/42/merge", prMergeSHA, "pull_request.json", nil),
			want: Context{Kind: PullRequest, Name: "pull_request", Ref: "refs/pull/42/merge",
				Branch: "feature/health", Commit: prHeadSHA, Repository: "Acme/Svc", PullRequest: 42},
		},
		{
			name: "pull request from a fork",
			env:  actionsEnv("pull_request", "refs/pull/7/merge", prMergeSHA, "pull_request_fork.json", nil),
			want: Context{Kind: PullRequest, Name: "pull_request", Ref: "refs/pull/7/merge",
				Branch: "main", Commit: forkHeadSHA, Repository: "Acme/Svc", PullRequest: 7},
		},
		{
			name: "pull_request_target builds and stamps the base commit it checks out, not the fork's head",
			env:  actionsEnv("pull_request_target", "refs/heads/main", "0f0e0d0c0b0a09080706050403020100ffeeddcc", "pull_request_fork.json", nil),
			want: Context{Kind: PullRequest, Name: "pull_request_target", Ref: "refs/heads/main",
				Branch: "main", Commit: "0f0e0d0c0b0a09080706050403020100ffeeddcc", Repository: "Acme/Svc", PullRequest: 7},
		},
		{
			name: "workflow_dispatch",
			env:  actionsEnv("workflow_dispatch", "refs/heads/main", pushSHA, "workflow_dispatch.json", nil),
			want: Context{Kind: Other, Name: "workflow_dispatch", Ref: "refs/heads/main", Branch: "main",
				Commit: pushSHA, Repository: "Acme/Svc"},
		},
		{
			name: "workflow_dispatch on a tag keeps the tag",
			env:  actionsEnv("workflow_dispatch", "refs/tags/v1.2.3", pushSHA, "workflow_dispatch.json", nil),
			want: Context{Kind: Other, Name: "workflow_dispatch", Ref: "refs/tags/v1.2.3", Tag: "v1.2.3",
				Commit: pushSHA, Repository: "Acme/Svc"},
		},
		{
			name: "release event without a ref",
			env:  actionsEnv("release", "", pushSHA, "schedule.json", nil),
			want: Context{Kind: Other, Name: "release", Commit: pushSHA, Repository: "Acme/Svc"},
		},
		{
			name: "schedule",
			env:  actionsEnv("schedule", "refs/heads/main", pushSHA, "schedule.json", nil),
			want: Context{Kind: Other, Name: "schedule", Ref: "refs/heads/main", Branch: "main",
				Commit: pushSHA, Repository: "Acme/Svc"},
		},
		{
			name: "no GITHUB_REPOSITORY",
			env:  actionsEnv("push", "refs/heads/main", pushSHA, "push.json", map[string]string{"GITHUB_REPOSITORY": ""}),
			want: Context{Kind: BranchPush, Name: "push", Ref: "refs/heads/main", Branch: "main",
				Commit: pushSHA, CommitTime: pushTime, RepositoryTried: "GITHUB_REPOSITORY is empty (in GitHub Actions, the origin remote is not read)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := notRepo(t)
			env := make(map[string]string, len(tt.env))
			for k, v := range tt.env {
				env[k] = v
			}
			env["GITHUB_EVENT_PATH"] = testdata(t, tt.env["GITHUB_EVENT_PATH"])
			got, err := Read(context.Background(), envFunc(env), dir, discard)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !got.CommitTime.Equal(tt.want.CommitTime) {
				t.Errorf("CommitTime = %v, want %v", got.CommitTime, tt.want.CommitTime)
			}
			if !got.CommitTime.IsZero() && got.CommitTime.Location() != time.UTC {
				t.Errorf("CommitTime %v is not in UTC", got.CommitTime)
			}
			got.CommitTime, tt.want.CommitTime = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Read:\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

// writePayload writes a payload to a temporary file and returns its path.
func writePayload(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadActionsErrors(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		errHas []string
	}{
		{name: "missing GITHUB_EVENT_NAME",
			env:    actionsEnv("", "refs/heads/main", pushSHA, "push.json", nil),
			errHas: []string{"GITHUB_EVENT_NAME"}},
		{name: "missing GITHUB_SHA",
			env:    actionsEnv("push", "refs/heads/main", "", "push.json", nil),
			errHas: []string{"GITHUB_SHA"}},
		{name: "missing GITHUB_EVENT_PATH",
			env:    actionsEnv("push", "refs/heads/main", pushSHA, "", nil),
			errHas: []string{"GITHUB_EVENT_PATH"}},
		{name: "nonexistent GITHUB_EVENT_PATH",
			env:    actionsEnv("push", "refs/heads/main", pushSHA, "testdata/does-not-exist.json", nil),
			errHas: []string{"GITHUB_EVENT_PATH", "does-not-exist.json"}},
		{name: "GITHUB_EVENT_PATH is a directory",
			env:    actionsEnv("push", "refs/heads/main", pushSHA, "testdata", nil),
			errHas: []string{"GITHUB_EVENT_PATH"}},
		{name: "malformed JSON",
			env:    actionsEnv("push", "refs/heads/main", pushSHA, "testdata/malformed.json", nil),
			errHas: []string{"GITHUB_EVENT_PATH", "not valid JSON", "malformed.json"}},
		{name: "pull_request payload without pull_request",
			env:    actionsEnv("pull_request", "refs/pull/42/merge", prMergeSHA, "testdata/push.json", nil),
			errHas: []string{"GITHUB_EVENT_PATH", "pull_request", "push.json"}},
		{name: "GITHUB_SHA with an injected flag",
			env:    actionsEnv("push", "refs/heads/main", pushSHA+" -X main.version=PWNED", "push.json", nil),
			errHas: []string{"GITHUB_SHA", "is not a full commit SHA", "40 or 64 lower-case hex", "git rev-parse HEAD"}},
		{name: "GITHUB_SHA abbreviated",
			env:    actionsEnv("push", "refs/heads/main", pushSHA[:7], "push.json", nil),
			errHas: []string{"GITHUB_SHA", "not a full commit SHA"}},
		{name: "GITHUB_SHA upper-case",
			env:    actionsEnv("push", "refs/heads/main", strings.ToUpper(pushSHA), "push.json", nil),
			errHas: []string{"GITHUB_SHA", "lower-case hex"}},
		{name: "GITHUB_REF that is not a full ref",
			env:    actionsEnv("push", "main", pushSHA, "push.json", nil),
			errHas: []string{`GITHUB_REF="main"`, "is not a full ref", "refs/heads/main"}},
		{name: "a push with an empty GITHUB_REF is not called a detached HEAD",
			env:    actionsEnv("push", "", pushSHA, "testdata/push.json", nil),
			errHas: []string{"GITHUB_EVENT_NAME is push but GITHUB_REF is empty", "GitHub Actions sets it to the pushed ref (refs/heads/<branch> or refs/tags/<tag>)"}},
		{name: "GITHUB_REF with a space",
			env:    actionsEnv("push", "refs/heads/a b", pushSHA, "push.json", nil),
			errHas: []string{"GITHUB_REF", "a space"}},
		{name: "GITHUB_REPOSITORY going up",
			env:    actionsEnv("push", "refs/heads/main", pushSHA, "push.json", map[string]string{"GITHUB_REPOSITORY": "../../x"}),
			errHas: []string{`GITHUB_REPOSITORY="../../x" is not owner/repo`, "e.g. acme/widget"}},
		{name: "a field of the wrong type is not called invalid JSON",
			env:    actionsEnv("pull_request", "refs/pull/42/merge", prMergeSHA, "testdata/wrong_type.json", nil),
			errHas: []string{"is valid JSON, but its field pull_request.number holds a JSON string where Gantry expects a Go int", "GITHUB_EVENT_PATH"}},
		{name: "a pull request head.sha with an injected flag",
			env:    actionsEnv("pull_request", "refs/pull/42/merge", prMergeSHA, "testdata/injected_head.json", nil),
			errHas: []string{"pull_request.head.sha", "not a full commit SHA"}},
		{name: "a pull request head branch git would refuse",
			env:    actionsEnv("pull_request", "refs/pull/42/merge", prMergeSHA, "testdata/bad_head_ref.json", nil),
			errHas: []string{"the pull request's branch", "'..'"}},
		{name: "a push whose commit time is nowhere",
			env:    actionsEnv("push", "refs/heads/main", pushSHA, "testdata/schedule.json", nil),
			errHas: []string{"commit time of 5d41402abc4b is unknown", "check out the commit"}},
		{name: "pull_request_target payload without pull_request",
			env:    actionsEnv("pull_request_target", "refs/heads/main", prMergeSHA, "testdata/schedule.json", nil),
			errHas: []string{"GITHUB_EVENT_PATH", "pull_request_target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := tt.env["GITHUB_EVENT_PATH"]; p != "" {
				abs, err := filepath.Abs(p)
				if err != nil {
					t.Fatal(err)
				}
				tt.env["GITHUB_EVENT_PATH"] = abs
			}
			got, err := Read(context.Background(), envFunc(tt.env), notRepo(t), discard)
			if err == nil {
				t.Fatalf("Read = %+v, want an error", got)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if !reflect.DeepEqual(got, Context{}) {
				t.Errorf("Read returned %+v with its error, want the zero Context", got)
			}
		})
	}
}

func TestReadActionsIncompletePullRequest(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{"pull_request null", `{"pull_request": null}`},
		{"no number", `{"pull_request": {"head": {"sha": "` + prHeadSHA + `"}}}`},
		{"no head sha", `{"pull_request": {"number": 3, "head": {"ref": "x"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := actionsEnv("pull_request", "refs/pull/3/merge", prMergeSHA, writePayload(t, tt.payload), nil)
			got, err := Read(context.Background(), envFunc(env), notRepo(t), discard)
			if err == nil {
				t.Fatalf("Read = %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), "GITHUB_EVENT_PATH") {
				t.Errorf("error %q does not mention GITHUB_EVENT_PATH", err)
			}
		})
	}
}

// TestReadActionsInCheckout reads the commit time and the tree's state from
// the checkout when there is one.
func TestReadActionsInCheckout(t *testing.T) {
	dir := newRepo(t)
	head := commit(t, dir, "head", "2023-01-02T03:04:05+00:00")
	headTime := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	merge := commit(t, dir, "merge", "2023-06-07T08:09:10+00:00")
	mergeTime := time.Date(2023, 6, 7, 8, 9, 10, 0, time.UTC)
	const unknown = "0123456789012345678901234567890123456789"

	prPayload := func(sha string) string {
		return `{"pull_request": {"number": 9, "head": {"sha": "` + sha + `", "ref": "feature/y", "repo": {"full_name": "Acme/Svc"}},
			"base": {"repo": {"full_name": "Acme/Svc"}}}}`
	}
	pushPayload := writePayload(t, `{"ref": "refs/heads/main", "head_commit": {"id": "x", "timestamp": "2024-05-06T14:15:16+02:00"}}`)
	tests := []struct {
		name     string
		env      map[string]string
		untidy   bool
		wantTime time.Time
		wantSHA  string
	}{
		{name: "push: git time wins over the payload",
			env:      actionsEnv("push", "refs/heads/main", merge, pushPayload, nil),
			wantTime: mergeTime, wantSHA: merge},
		{name: "push of an unknown commit: payload time",
			env:      actionsEnv("push", "refs/heads/main", unknown, pushPayload, nil),
			wantTime: pushTime, wantSHA: unknown},
		{name: "pull request: time of the head commit, not of the merge commit",
			env:      actionsEnv("pull_request", "refs/pull/9/merge", merge, writePayload(t, prPayload(head)), nil),
			wantTime: headTime, wantSHA: head},
		{name: "pull request whose head is not fetched: time of the checked-out commit",
			env:      actionsEnv("pull_request", "refs/pull/9/merge", merge, writePayload(t, prPayload(unknown)), nil),
			wantTime: mergeTime, wantSHA: unknown},
		{name: "dirty checkout",
			env:    actionsEnv("push", "refs/heads/main", merge, pushPayload, nil),
			untidy: true, wantTime: mergeTime, wantSHA: merge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			untracked := filepath.Join(dir, "untracked.txt")
			if tt.untidy {
				if err := os.WriteFile(untracked, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(untracked)
			}
			got, err := Read(context.Background(), envFunc(tt.env), dir, discard)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !got.CommitTime.Equal(tt.wantTime) {
				t.Errorf("CommitTime = %v, want %v", got.CommitTime, tt.wantTime)
			}
			if got.Commit != tt.wantSHA {
				t.Errorf("Commit = %s, want %s", got.Commit, tt.wantSHA)
			}
			if got.Dirty != tt.untidy {
				t.Errorf("Dirty = %v, want %v", got.Dirty, tt.untidy)
			}
		})
	}
}

func TestReadGit(t *testing.T) {
	const date = "2023-04-05T08:07:08+02:00"
	commitTime := time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)
	tests := []struct {
		name string
		// setup prepares a repository with one or more commits.
		setup func(t *testing.T, dir string)
		want  Context // Commit and CommitTime are filled in by the test
	}{
		{name: "branch main",
			setup: func(*testing.T, string) {},
			want:  Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main"}},
		{name: "other branch",
			setup: func(t *testing.T, dir string) { gitCmd(t, dir, nil, "checkout", "-q", "-b", "feature/z") },
			want:  Context{Kind: BranchPush, Ref: "refs/heads/feature/z", Branch: "feature/z"}},
		{name: "v tag at HEAD",
			setup: func(t *testing.T, dir string) { gitCmd(t, dir, nil, "tag", "-a", "v1.2.3", "-m", "v1.2.3") },
			want:  Context{Kind: TagPush, Ref: "refs/tags/v1.2.3", Branch: "main", Tag: "v1.2.3"}},
		{name: "lightweight v tag at HEAD",
			setup: func(t *testing.T, dir string) { gitCmd(t, dir, nil, "tag", "v0.1.0") },
			want:  Context{Kind: TagPush, Ref: "refs/tags/v0.1.0", Branch: "main", Tag: "v0.1.0"}},
		{name: "two tags: the highest version, not the last string",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "tag", "v1.2.0")
				gitCmd(t, dir, nil, "tag", "v1.10.0")
			},
			want: Context{Kind: TagPush, Ref: "refs/tags/v1.10.0", Branch: "main", Tag: "v1.10.0"}},
		{name: "release over its pre-release",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "tag", "v2.0.0-rc.1")
				gitCmd(t, dir, nil, "tag", "v2.0.0")
			},
			want: Context{Kind: TagPush, Ref: "refs/tags/v2.0.0", Branch: "main", Tag: "v2.0.0"}},
		{name: "only an invalid v tag",
			setup: func(t *testing.T, dir string) { gitCmd(t, dir, nil, "tag", "vfoo") },
			want:  Context{Kind: TagPush, Ref: "refs/tags/vfoo", Branch: "main", Tag: "vfoo"}},
		{name: "valid tag over an invalid one",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "tag", "v1.2")
				gitCmd(t, dir, nil, "tag", "v1.0.0")
			},
			want: Context{Kind: TagPush, Ref: "refs/tags/v1.0.0", Branch: "main", Tag: "v1.0.0"}},
		{name: "tag that does not start with v",
			setup: func(t *testing.T, dir string) { gitCmd(t, dir, nil, "tag", "1.2.3") },
			want:  Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main"}},
		{name: "v tag on an earlier commit",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "tag", "v1.0.0")
				commit(t, dir, "later", date)
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main"}},
		{name: "detached HEAD without tag",
			setup: func(t *testing.T, dir string) { gitCmd(t, dir, nil, "checkout", "-q", "--detach") },
			want:  Context{Kind: Other}},
		{name: "detached HEAD at a tag",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "tag", "v3.0.0")
				gitCmd(t, dir, nil, "checkout", "-q", "v3.0.0")
			},
			want: Context{Kind: TagPush, Ref: "refs/tags/v3.0.0", Tag: "v3.0.0"}},
		{name: "dirty tree",
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "file.txt"), []byte("edited"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", Dirty: true}},
		{name: "untracked file",
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", Dirty: true}},
		{name: "https origin",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "https://github.com/Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", Repository: "Acme/Svc"}},
		{name: "scp-form origin",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "git@github.com:Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", Repository: "Acme/Svc"}},
		{name: "a GitLab origin names no GitHub repository",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "https://gitlab.com/Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", RepositoryTried: `the origin remote "https://gitlab.com/Acme/Svc.git" is not on github.com`}},
		{name: "an ssh GitLab origin names no GitHub repository",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "git@gitlab.com:Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", RepositoryTried: `the origin remote "gitlab.com:Acme/Svc.git" is not on github.com`}},
		{name: "the token of an origin is never repeated",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "https://ci:glpat-s3cret@gitlab.com/Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", RepositoryTried: `the origin remote "https://gitlab.com/Acme/Svc.git" is not on github.com`}},
		{name: "a github.com origin with a token",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "https://x-access-token:ghp_s3cret@github.com/Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", Repository: "Acme/Svc"}},
		{name: "a file origin names no GitHub repository",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "file:///srv/git/acme/svc")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", RepositoryTried: `the origin remote "file:///srv/git/acme/svc" is not on github.com`}},
		{name: "ssh URL origin on github.com",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "origin", "ssh://git@github.com:22/Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main", Repository: "Acme/Svc"}},
		{name: "only another remote",
			setup: func(t *testing.T, dir string) {
				gitCmd(t, dir, nil, "remote", "add", "upstream", "https://github.com/Acme/Svc.git")
			},
			want: Context{Kind: BranchPush, Ref: "refs/heads/main", Branch: "main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRepo(t)
			commit(t, dir, "first", date)
			tt.setup(t, dir)
			want := tt.want
			want.Name = "local"
			if want.Repository == "" && want.RepositoryTried == "" {
				want.RepositoryTried = "there is no origin remote"
			}
			want.Commit = gitCmd(t, dir, nil, "rev-parse", "HEAD")
			// GITHUB_ACTIONS other than "true" (and the other GITHUB_*
			// variables with it) is ignored.
			env := envFunc(map[string]string{"GITHUB_ACTIONS": "false", "GITHUB_SHA": prMergeSHA, "GITHUB_REPOSITORY": "Other/Repo"})
			got, err := Read(context.Background(), env, dir, discard)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !got.CommitTime.Equal(commitTime) || got.CommitTime.Location() != time.UTC {
				t.Errorf("CommitTime = %v, want %v", got.CommitTime, commitTime)
			}
			got.CommitTime = time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Read:\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

func TestReadGitErrors(t *testing.T) {
	tests := []struct {
		name   string
		dir    func(t *testing.T) string
		errHas []string
	}{
		{name: "not a git repository", dir: notRepo, errHas: []string{"not a git checkout"}},
		{name: "missing directory is not called a non-checkout", dir: func(t *testing.T) string { return filepath.Join(notRepo(t), "nope") },
			errHas: []string{"nope does not exist", "GANTRY_DIR"}},
		{name: "repository without commits", dir: func(t *testing.T) string { return newRepo(t) }, errHas: []string{"at least one commit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			got, err := Read(context.Background(), envFunc(nil), dir, discard)
			if err == nil {
				t.Fatalf("Read = %+v, want an error", got)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestNewestTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tags []string
		want string
	}{
		{[]string{"v1.0.0"}, "v1.0.0"},
		{[]string{"v1.2.0", "v1.10.0"}, "v1.10.0"},
		{[]string{"v1.10.0", "v1.2.0"}, "v1.10.0"},
		{[]string{"v1.2.3-rc.1", "v1.2.3"}, "v1.2.3"},
		{[]string{"v1.2.3-rc.2", "v1.2.3-rc.10"}, "v1.2.3-rc.10"},
		{[]string{"vfoo"}, "vfoo"},
		{[]string{"vfoo", "v1.2"}, "v1.2"},
		{[]string{"vfoo", "v0.0.1"}, "v0.0.1"},
		{[]string{"v2", "v1.0.0"}, "v1.0.0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.tags, ","), func(t *testing.T) {
			t.Parallel()
			in := append([]string(nil), tt.tags...)
			if got := newestTag(in); got != tt.want {
				t.Errorf("newestTag(%q) = %q, want %q", tt.tags, got, tt.want)
			}
		})
	}
}

func TestCheckRefName(t *testing.T) {
	t.Parallel()
	for ref, ok := range map[string]bool{
		"refs/heads/main": true, "refs/heads/feature/x": true, "refs/tags/v1.2.3": true, "refs/pull/7/merge": true, "refs/heads/fix#12": true,
		"main": false, "heads/main": false, "refs/heads/a b": false, "refs/heads/a..b": false, "refs/heads/a//b": false, "refs/heads/.hidden": false,
		"refs/heads/x.lock": false, "refs/heads/x/": false, "refs/heads/x.": false, "refs/heads/a@{b": false, "refs/heads/a~1": false,
		"refs/heads/a:b": false, "refs/heads/a\nb": false, "refs/heads/a\\b": false, "refs/heads/a*": false,
	} {
		if err := CheckRefName(ref); (err == nil) != ok {
			t.Errorf("CheckRefName(%q) = %v, want ok=%v", ref, err, ok)
		}
	}
}

func TestCheckCommit(t *testing.T) {
	t.Parallel()
	for sha, ok := range map[string]bool{
		pushSHA: true, strings.Repeat("ab", 32): true,
		"": false, pushSHA[:39]: false, pushSHA + "0": false, strings.ToUpper(pushSHA): false, "-X" + pushSHA[2:]: false, strings.Repeat("g", 40): false,
	} {
		if err := CheckCommit(sha); (err == nil) != ok {
			t.Errorf("CheckCommit(%q) = %v, want ok=%v", sha, err, ok)
		}
	}
}

func TestRemoteHost(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]string{
		"https://github.com/Acme/Svc.git":      "github.com",
		"https://user:token@github.com/a/b":    "github.com",
		"ssh://git@github.com:22/Acme/Svc.git": "github.com",
		"git@github.com:Acme/Svc.git":          "github.com",
		"github.com:Acme/Svc.git":              "github.com",
		"https://gitlab.com/Acme/Svc.git":      "gitlab.com",
		"file:///srv/git/acme/svc":             "",
		"/srv/git/acme/svc":                    "",
		"../svc":                               "",
		"./dir:with/colon":                     "",
	} {
		if got := remoteHost(url); got != want {
			t.Errorf("remoteHost(%q) = %q, want %q", url, got, want)
		}
	}
}

// discard is the log entry of Read in tests that do not look at warnings.
var discard = logrus.NewEntry(&logrus.Logger{Out: io.Discard, Formatter: new(logrus.TextFormatter), Level: logrus.PanicLevel})
