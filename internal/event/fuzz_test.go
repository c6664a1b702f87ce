package event

import (
	"strings"
	"testing"
)

// FuzzActions reads arbitrary GitHub Actions environments and payloads.
// The seed corpus is in testdata/fuzz/FuzzActions. Invariants: invalid
// input is an error, never a panic; what is read is valid: a full
// lower-case hex commit, a ref and a branch git accepts, an owner/repo, a
// positive pull request number, a ref for every push.
func FuzzActions(f *testing.F) {
	f.Fuzz(func(t *testing.T, name, ref, sha, repository string, data []byte) {
		env := map[string]string{"GITHUB_EVENT_NAME": name, "GITHUB_REF": ref, "GITHUB_SHA": sha, "GITHUB_REPOSITORY": repository}
		c, err := contextFromEnv(func(k string) string { return env[k] })
		if err != nil {
			return
		}
		c, _, err = withPayload(c, "event.json", data)
		if err != nil {
			return
		}
		if err := CheckCommit(c.Commit); err != nil {
			t.Fatalf("commit read: %v", err)
		}
		if c.Ref != "" {
			if err := CheckRefName(c.Ref); err != nil {
				t.Fatalf("ref read: %v", err)
			}
		}
		if c.Branch != "" {
			if err := CheckRefName("refs/heads/" + c.Branch); err != nil {
				t.Fatalf("branch read: %v", err)
			}
		}
		if c.Repository != "" && !repositoryPattern.MatchString(c.Repository) {
			t.Fatalf("repository %q read", c.Repository)
		}
		if (c.Repository == "") == (c.RepositoryTried == "") {
			t.Fatalf("repository %q, tried %q: want exactly one", c.Repository, c.RepositoryTried)
		}
		switch c.Kind {
		case PullRequest:
			if c.PullRequest <= 0 {
				t.Fatalf("pull request number %d read", c.PullRequest)
			}
		case BranchPush, TagPush:
			if !strings.HasPrefix(c.Ref, "refs/heads/"+c.Branch) && !strings.HasPrefix(c.Ref, "refs/tags/"+c.Tag) {
				t.Fatalf("ref %q gives branch %q, tag %q", c.Ref, c.Branch, c.Tag)
			}
		case Other:
			if c.Name == "push" && c.Ref == "" {
				t.Fatal("a push without a ref read")
			}
		default:
			t.Fatalf("kind %q", c.Kind)
		}
	})
}

// FuzzRemoteHost: any remote URL gives a host or nothing, never a panic,
// and only a github.com origin names a repository.
func FuzzRemoteHost(f *testing.F) {
	f.Fuzz(func(t *testing.T, url string) {
		repo, tried := originRepository(url)
		if repo != "" && (!strings.EqualFold(remoteHost(url), "github.com") || !repositoryPattern.MatchString(repo)) {
			t.Fatalf("origin %q gives repository %q", url, repo)
		}
		if (repo == "") == (tried == "") {
			t.Fatalf("origin %q: repository %q, tried %q: want exactly one", url, repo, tried)
		}
	})
}
