// Package event tells what this run is about: the GitHub Actions event in CI,
// or the local git checkout on a laptop, reduced to the few facts the tag
// rules need. Reading it is the only effect here; deciding is package plan's.
package event

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

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

// Source says where the context was read from.
const (
	SourceActions = "github-actions"
	SourceGit     = "git"
)

// Context is the event in the terms of the tag rules.
type Context struct {
	Source string
	Kind   Kind
	// Name is the raw event name (GITHUB_EVENT_NAME, or "local").
	Name string
	// Ref is the full git ref, e.g. refs/heads/main; empty for a detached HEAD.
	Ref string
	// Branch is the pushed branch, or a pull request's head branch.
	Branch string
	// Tag is the pushed tag.
	Tag string
	// Commit is the full SHA to build and label; a pull request's head
	// commit, never its merge commit.
	Commit string
	// CommitTime is the commit's committer time; zero when unknown.
	CommitTime time.Time
	// Repository is "owner/repo" as GitHub spells it (case kept); empty
	// when unknown.
	Repository string
	// PullRequest is the pull request number, and FromFork whether its head
	// lives in another repository.
	PullRequest int
	FromFork    bool
	// Dirty is true when the working tree has uncommitted changes.
	Dirty bool
}

// Read returns the context of this run: from GitHub Actions when
// GITHUB_ACTIONS is "true", else from the git checkout in dir.
func Read(ctx context.Context, env func(string) string, dir string) (Context, error) {
	repo := git.Repo{Dir: dir}
	if env("GITHUB_ACTIONS") == "true" {
		return fromActions(ctx, env, repo)
	}
	return fromGit(ctx, repo)
}

func fromActions(ctx context.Context, env func(string) string, repo git.Repo) (Context, error) {
	c := Context{
		Source:     SourceActions,
		Name:       env("GITHUB_EVENT_NAME"),
		Ref:        env("GITHUB_REF"),
		Commit:     env("GITHUB_SHA"),
		Repository: env("GITHUB_REPOSITORY"),
	}
	for key, value := range map[string]string{"GITHUB_EVENT_NAME": c.Name, "GITHUB_SHA": c.Commit} {
		if value == "" {
			return Context{}, fmt.Errorf("GITHUB_ACTIONS is true but %s is empty; run inside a GitHub Actions job, or unset GITHUB_ACTIONS to read the local git checkout", key)
		}
	}
	payload, err := readPayload(env("GITHUB_EVENT_PATH"))
	if err != nil {
		return Context{}, err
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
		pr := payload.PullRequest
		if pr == nil || pr.Number == 0 || pr.Head.SHA == "" {
			return Context{}, fmt.Errorf("event %s: the payload at GITHUB_EVENT_PATH (%s) has no pull_request with number and head.sha; point GITHUB_EVENT_PATH at the event JSON GitHub wrote", c.Name, env("GITHUB_EVENT_PATH"))
		}
		c.Kind = PullRequest
		c.PullRequest = pr.Number
		c.Commit = pr.Head.SHA
		c.Branch = pr.Head.Ref
		c.FromFork = pr.Head.Repo.FullName != "" && !strings.EqualFold(pr.Head.Repo.FullName, pr.Base.Repo.FullName)
	default:
		c.Kind = Other
	}
	if repo.IsRepo(ctx) {
		if c.Dirty, err = repo.Dirty(ctx); err != nil {
			return Context{}, err
		}
	}
	c.CommitTime = commitTime(ctx, repo, payload, c.Commit, env("GITHUB_SHA"))
	return c, nil
}

// commitTime tries the commit itself, then the checked-out commit (a pull
// request's head may not be fetched), then the payload.
func commitTime(ctx context.Context, repo git.Repo, payload payload, revs ...string) time.Time {
	for _, rev := range revs {
		if t, err := repo.CommitTime(ctx, rev); err == nil {
			return t
		}
	}
	if payload.HeadCommit != nil {
		if t, err := time.Parse(time.RFC3339, payload.HeadCommit.Timestamp); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// payload is the part of the GitHub event JSON that Gantry reads.
type payload struct {
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA  string `json:"sha"`
			Ref  string `json:"ref"`
			Repo struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Repo struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
	HeadCommit *struct {
		Timestamp string `json:"timestamp"`
	} `json:"head_commit"`
}

func readPayload(path string) (payload, error) {
	var p payload
	if path == "" {
		return p, fmt.Errorf("GITHUB_EVENT_PATH is empty; GitHub Actions sets it to the event JSON, so set it to such a file when simulating an event")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("read event payload: %w; GITHUB_EVENT_PATH must name the event JSON GitHub wrote", err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("event payload %s is not valid JSON: %w; GITHUB_EVENT_PATH must name the event JSON GitHub wrote", path, err)
	}
	return p, nil
}

func fromGit(ctx context.Context, repo git.Repo) (Context, error) {
	if !repo.IsRepo(ctx) {
		return Context{}, fmt.Errorf("%s is not a git checkout; Gantry reads the commit, branch and tags from git: run it in the service's repository (or in GitHub Actions)", repo.Dir)
	}
	c := Context{Source: SourceGit, Name: "local"}
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
	c.Repository = git.OwnerRepo(repo.RemoteURL(ctx, "origin"))
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
