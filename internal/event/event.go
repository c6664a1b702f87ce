// Package event tells what this run is about: the GitHub Actions event in CI,
// or the local git checkout on a laptop, reduced to the few facts the tag
// rules need. Reading it is the only effect here; deciding is package plan's.
package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/git"
)

// Kind is the class of event the tag table distinguishes.
type Kind string

const (
	BranchPush  Kind = "branch"       // a push to a branch
	TagPush     Kind = "tag"          // a push of a tag
	PullRequest Kind = "pull_request" // a pull request (opened, synchronised, ...)
	Other       Kind = "other"        // anything else (schedule, dispatch, detached HEAD)
)

// Context is the event in the terms of the tag rules.
type Context struct {
	Kind Kind
	// Name is the raw event name (GITHUB_EVENT_NAME, or "local").
	Name string
	// Ref is the full git ref, e.g. refs/heads/main; empty for a detached HEAD.
	Ref string
	// Branch is the pushed branch, a pull request's head branch, or for
	// pull_request_target its base branch.
	Branch string
	// Tag is the pushed tag.
	Tag string
	// Commit is the full SHA to build and label: a pull request's head
	// commit, never its merge commit; for pull_request_target, the base
	// commit that the workflow checks out (GITHUB_SHA).
	Commit string
	// CommitTime is the commit's committer time; zero when unknown, which
	// is only allowed for a pull request or another event that publishes
	// nothing (a warning says what is lost).
	CommitTime time.Time
	// Repository is "owner/repo" as GitHub spells it (case kept); empty
	// when unknown, and RepositoryTried then says where it was looked for.
	Repository      string
	RepositoryTried string
	// PullRequest is the pull request number.
	PullRequest int
	// Dirty is true when the working tree has uncommitted changes.
	Dirty bool
}

// Read returns the context of this run: from GitHub Actions when
// GITHUB_ACTIONS is "true", else from the git checkout in dir.
func Read(ctx context.Context, env func(string) string, dir string, log *logrus.Entry) (Context, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return Context{}, fmt.Errorf("the service directory %s does not exist or is not a directory; set GANTRY_DIR or Config.Dir to the service's module root, relative to where mage runs", dir)
	}
	repo := git.Repo{Dir: dir}
	if env("GITHUB_ACTIONS") == "true" {
		return fromActions(ctx, env, repo, log)
	}
	return fromGit(ctx, repo)
}

// commitPattern is a full commit SHA: SHA-1, or SHA-256 for repositories
// in that object format.
var commitPattern = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// CheckCommit returns an error unless sha is a full commit SHA in lower-case
// hex. A commit goes into tags, labels and -X flags, so anything else
// (such as "<sha> -X main.version=x") is refused before it gets there.
func CheckCommit(sha string) error {
	if !commitPattern.MatchString(sha) {
		return fmt.Errorf("commit %q is not a full commit SHA (40 or 64 lower-case hex digits)", sha)
	}
	return nil
}

// repositoryPattern is GitHub's owner/repo: an owner of letters, digits
// and inner '-', a name of letters, digits, '.', '_' and '-'.
var repositoryPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$`)

// CheckRefName returns an error unless ref is a full ref name that git
// would accept (git check-ref-format): refs/heads/main, refs/tags/v1.2.3.
func CheckRefName(ref string) error {
	switch {
	case !strings.HasPrefix(ref, "refs/"):
		return fmt.Errorf("%q is not a full ref: GitHub sets refs/heads/<branch>, refs/tags/<tag> or refs/pull/<n>/merge", ref)
	case strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) }):
		return fmt.Errorf("ref %q holds a space, a control character or one of ~^:?*[\\", ref)
	case strings.Contains(ref, "..") || strings.Contains(ref, "//") || strings.Contains(ref, "@{") || strings.Contains(ref, "/."):
		return fmt.Errorf("ref %q holds '..', '//', '@{' or a component starting with '.'", ref)
	case strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") || strings.Contains(ref, ".lock/"):
		return fmt.Errorf("ref %q ends in '/', '.' or '.lock'", ref)
	}
	return nil
}

func fromActions(ctx context.Context, env func(string) string, repo git.Repo, log *logrus.Entry) (Context, error) {
	c, err := contextFromEnv(env)
	if err != nil {
		return Context{}, err
	}
	path := env("GITHUB_EVENT_PATH")
	if path == "" {
		return Context{}, fmt.Errorf("GITHUB_EVENT_PATH is empty; GitHub Actions sets it to the event JSON, so set it to such a file when simulating an event")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Context{}, fmt.Errorf("read event payload: %w; GITHUB_EVENT_PATH must name the event JSON GitHub wrote", err)
	}
	c, p, err := withPayload(c, path, data)
	if err != nil {
		return Context{}, err
	}
	if repo.IsRepo(ctx) {
		if c.Dirty, err = repo.Dirty(ctx); err != nil {
			return Context{}, err
		}
	}
	revs := []string{c.Commit}
	if c.Kind == PullRequest {
		// The head of a pull request may not be fetched; the checked-out
		// merge commit is the next best time.
		revs = append(revs, env("GITHUB_SHA"))
	}
	if c.CommitTime, err = commitTime(ctx, repo, p, revs...); err != nil {
		if c.Kind == BranchPush || c.Kind == TagPush {
			return Context{}, fmt.Errorf("%w; a push publishes, and its images need the commit time to be reproducible: check out the commit (actions/checkout) before running Gantry", err)
		}
		log.Warnf("%v: this build has no SOURCE_DATE_EPOCH, no created label and no date stamp, so it is not reproducible; fetch the commit (actions/checkout with fetch-depth: 0) to keep them", err)
	}
	return c, nil
}

// contextFromEnv reads the event from the Actions environment, every
// value checked; withPayload completes it. Neither has effects.
func contextFromEnv(env func(string) string) (Context, error) {
	c := Context{
		Name:       env("GITHUB_EVENT_NAME"),
		Ref:        env("GITHUB_REF"),
		Commit:     env("GITHUB_SHA"),
		Repository: env("GITHUB_REPOSITORY"),
	}
	for _, kv := range []struct{ key, value string }{{"GITHUB_EVENT_NAME", c.Name}, {"GITHUB_SHA", c.Commit}} {
		if kv.value == "" {
			return Context{}, fmt.Errorf("GITHUB_ACTIONS is true but %s is empty; run inside a GitHub Actions job, or unset GITHUB_ACTIONS to read the local git checkout", kv.key)
		}
	}
	if err := CheckCommit(c.Commit); err != nil {
		return Context{}, fmt.Errorf("GITHUB_SHA: %w; GitHub sets it to the commit of the run: unset it or set it to a full SHA (git rev-parse HEAD)", err)
	}
	if c.Ref == "" && c.Name == "push" {
		// Without the ref a push is neither a branch nor a tag push, and
		// would publish nothing without a word.
		return Context{}, errors.New("GITHUB_EVENT_NAME is push but GITHUB_REF is empty; GitHub Actions sets it to the pushed ref (refs/heads/<branch> or refs/tags/<tag>): set it so when simulating a push")
	}
	if c.Ref != "" {
		if err := CheckRefName(c.Ref); err != nil {
			return Context{}, fmt.Errorf("GITHUB_REF=%q: %w; set it as GitHub does, e.g. refs/heads/main", c.Ref, err)
		}
	}
	if c.Repository == "" {
		c.RepositoryTried = "GITHUB_REPOSITORY is empty (in GitHub Actions, the origin remote is not read)"
	} else if !repositoryPattern.MatchString(c.Repository) {
		return Context{}, fmt.Errorf("GITHUB_REPOSITORY=%q is not owner/repo; GitHub sets it to the repository of the run, e.g. acme/widget", c.Repository)
	}
	return c, nil
}

// withPayload completes c with the event payload data, read from path.
func withPayload(c Context, path string, data []byte) (Context, payload, error) {
	p, err := parsePayload(path, data)
	if err != nil {
		return Context{}, payload{}, err
	}
	c.Branch, _ = strings.CutPrefix(c.Ref, "refs/heads/")
	c.Tag, _ = strings.CutPrefix(c.Ref, "refs/tags/")
	if c.Branch == c.Ref {
		c.Branch = ""
	}
	if c.Tag == c.Ref {
		c.Tag = ""
	}
	switch c.Name {
	case "push":
		switch {
		case c.Branch != "":
			c.Kind = BranchPush
		case c.Tag != "":
			c.Kind = TagPush
		default:
			c.Kind = Other
		}
	case "pull_request", "pull_request_target":
		pr := p.PullRequest
		if pr == nil || pr.Number <= 0 || pr.Head.SHA == "" {
			return Context{}, payload{}, fmt.Errorf("event %s: the payload at GITHUB_EVENT_PATH (%s) has no pull_request with number and head.sha; point GITHUB_EVENT_PATH at the event JSON GitHub wrote", c.Name, path)
		}
		c.Kind = PullRequest
		c.PullRequest = pr.Number
		if c.Name == "pull_request" {
			// The head commit is what the pull request proposes.
			if err := CheckCommit(pr.Head.SHA); err != nil {
				return Context{}, payload{}, fmt.Errorf("pull_request.head.sha in %s: %w; point GITHUB_EVENT_PATH at the event JSON GitHub wrote", path, err)
			}
			c.Commit, c.Branch = pr.Head.SHA, pr.Head.Ref
		} else {
			// pull_request_target runs the base branch's workflow on the
			// base commit (GITHUB_SHA), which is what actions/checkout
			// checks out: that is what is built and stamped, never the
			// head, whose code must not run with the base's secrets.
			c.Branch = pr.Base.Ref
		}
		if c.Branch != "" {
			if err := CheckRefName("refs/heads/" + c.Branch); err != nil {
				return Context{}, payload{}, fmt.Errorf("the pull request's branch in %s: %w; point GITHUB_EVENT_PATH at the event JSON GitHub wrote", path, err)
			}
		}
	default:
		c.Kind = Other
	}
	return c, p, nil
}

// commitTime tries each revision in the checkout, then the payload's head
// commit (a push's).
func commitTime(ctx context.Context, repo git.Repo, p payload, revs ...string) (time.Time, error) {
	var errs []error
	for _, rev := range revs {
		t, err := repo.CommitTime(ctx, rev)
		if err == nil {
			return t, nil
		}
		errs = append(errs, err)
	}
	if p.HeadCommit != nil {
		t, err := time.Parse(time.RFC3339, p.HeadCommit.Timestamp)
		if err == nil {
			return t.UTC(), nil
		}
		errs = append(errs, fmt.Errorf("head_commit.timestamp of the event payload: %w", err))
	}
	return time.Time{}, fmt.Errorf("the commit time of %.12s is unknown: not in the checkout, not in the event payload (%w)", revs[0], errors.Join(errs...))
}

// payload is the part of the GitHub event JSON that Gantry reads.
type payload struct {
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
	HeadCommit *struct {
		Timestamp string `json:"timestamp"`
	} `json:"head_commit"`
}

func parsePayload(path string, data []byte) (payload, error) {
	var p payload
	err := json.Unmarshal(data, &p)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return p, nil
	case errors.As(err, &typeErr):
		return payload{}, fmt.Errorf("event payload %s is valid JSON, but its field %s holds a JSON %s where Gantry expects a Go %s; GITHUB_EVENT_PATH must name the event JSON GitHub wrote", path, typeErr.Field, typeErr.Value, typeErr.Type)
	default:
		return payload{}, fmt.Errorf("event payload %s is not valid JSON: %w; GITHUB_EVENT_PATH must name the event JSON GitHub wrote", path, err)
	}
}

func fromGit(ctx context.Context, repo git.Repo) (Context, error) {
	if !repo.IsRepo(ctx) {
		return Context{}, fmt.Errorf("%s is not a git checkout; Gantry reads the commit, branch and tags from git: run it in the service's repository (or in GitHub Actions)", repo.Dir)
	}
	c := Context{Name: "local"}
	var err error
	if c.Commit, err = repo.Head(ctx); err != nil {
		return Context{}, fmt.Errorf("read HEAD (a repository needs at least one commit): %w", err)
	}
	if c.Branch, err = repo.Branch(ctx); err != nil {
		return Context{}, err
	}
	tags, err := repo.TagsAtHead(ctx, "v*")
	if err != nil {
		return Context{}, err
	}
	if c.Dirty, err = repo.Dirty(ctx); err != nil {
		return Context{}, err
	}
	if c.CommitTime, err = repo.CommitTime(ctx, "HEAD"); err != nil {
		return Context{}, err
	}
	c.Repository, c.RepositoryTried = originRepository(repo.RemoteURL(ctx, "origin"))
	switch {
	case len(tags) > 0:
		// A tag at HEAD is what a tag push of this commit would build.
		c.Kind, c.Tag = TagPush, newestTag(tags)
		c.Ref = "refs/tags/" + c.Tag
	case c.Branch != "":
		c.Kind, c.Ref = BranchPush, "refs/heads/"+c.Branch
	default:
		c.Kind = Other
	}
	return c, nil
}

// newestTag picks the highest semver among tags; when none is valid it
// returns the first, so that the plan reports it as invalid.
func newestTag(tags []string) string {
	var valid []*semver.Version
	byVersion := map[*semver.Version]string{}
	for _, t := range tags {
		if v, err := semver.StrictNewVersion(strings.TrimPrefix(t, "v")); err == nil {
			valid = append(valid, v)
			byVersion[v] = t
		}
	}
	if len(valid) == 0 {
		sort.Strings(tags)
		return tags[0]
	}
	sort.Sort(semver.Collection(valid))
	return byVersion[valid[len(valid)-1]]
}

// originRepository returns owner/repo of an origin remote on github.com,
// or why there is none: another host (GitLab, a file:// path) names no
// GitHub repository, so it cannot give a ghcr.io name.
func originRepository(url string) (repository, tried string) {
	if url == "" {
		return "", "there is no origin remote"
	}
	if host := remoteHost(url); !strings.EqualFold(host, "github.com") {
		return "", fmt.Sprintf("the origin remote %q is not on github.com", url)
	}
	if r := git.OwnerRepo(url); repositoryPattern.MatchString(r) {
		return r, ""
	}
	return "", fmt.Sprintf("the origin remote %q names no owner/repo", url)
}

// remoteHost is the host of a remote URL in URL form (https://host/...,
// ssh://user@host:port/...) or scp form (user@host:path); "" for a path.
func remoteHost(url string) string {
	var host string
	if _, rest, ok := strings.Cut(url, "://"); ok {
		host, _, _ = strings.Cut(rest, "/")
		if i := strings.LastIndex(host, "@"); i >= 0 {
			host = host[i+1:]
		}
		host, _, _ = strings.Cut(host, ":")
		return host
	}
	before, _, ok := strings.Cut(url, ":")
	if !ok || strings.Contains(before, "/") {
		return "" // a local path
	}
	if i := strings.LastIndex(before, "@"); i >= 0 {
		before = before[i+1:]
	}
	return before
}
