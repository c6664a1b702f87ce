// Package git reads what Gantry needs from a git checkout by running the
// git command (which every CI runner and laptop has) in a directory.
package git

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Repo is a git working tree.
type Repo struct{ Dir string }

// output runs git with args and returns its trimmed stdout.
func (r Repo) output(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// IsRepo reports whether Dir is inside a git working tree.
func (r Repo) IsRepo() bool {
	out, err := r.output("rev-parse", "--is-inside-work-tree")
	return err == nil && out == "true"
}

// TopLevel returns the absolute path of the working tree's top directory.
func (r Repo) TopLevel() (string, error) { return r.output("rev-parse", "--show-toplevel") }

// Head returns the full SHA of HEAD.
func (r Repo) Head() (string, error) { return r.Commit("HEAD") }

// Commit resolves a revision (a tag included) to the full SHA of its commit.
func (r Repo) Commit(rev string) (string, error) {
	return r.output("rev-parse", "--verify", "--quiet", rev+"^{commit}")
}

// Branch returns the checked-out branch, or "" on a detached HEAD.
func (r Repo) Branch() (string, error) {
	out, err := r.output("symbolic-ref", "--short", "-q", "HEAD")
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			return "", nil // detached
		}
		return "", err
	}
	return out, nil
}

// TagsAtHead lists the tags matching pattern that point at HEAD.
func (r Repo) TagsAtHead(pattern string) ([]string, error) {
	out, err := r.output("tag", "--points-at", "HEAD", "--list", pattern)
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// Dirty reports whether the tree has changes, untracked files included
// (they would be in the build context).
func (r Repo) Dirty() (bool, error) {
	out, err := r.output("status", "--porcelain")
	return out != "", err
}

// CommitTime returns the committer time of rev.
func (r Repo) CommitTime(rev string) (time.Time, error) {
	out, err := r.output("log", "-1", "--format=%ct", rev)
	if err != nil {
		return time.Time{}, err
	}
	secs, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time of %s: %q: %w", rev, out, err)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) b.
// Both must be in the clone; see History.
func (r Repo) IsAncestor(a, b string) (bool, error) {
	_, err := r.output("merge-base", "--is-ancestor", a, b)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false, nil
	default:
		return false, err
	}
}

// HasCommit reports whether the clone holds commit sha.
func (r Repo) HasCommit(sha string) bool {
	_, err := r.output("cat-file", "-e", sha+"^{commit}")
	return err == nil
}

// History makes sure the clone holds sha, fetching the full history from
// origin when the clone is shallow (CI checkouts often are). It reports
// false when sha is not in the history at all.
func (r Repo) History(sha string) (bool, error) {
	if r.HasCommit(sha) {
		return true, nil
	}
	shallow, err := r.output("rev-parse", "--is-shallow-repository")
	if err != nil || shallow != "true" {
		return false, err
	}
	if r.RemoteURL("origin") == "" {
		return false, fmt.Errorf("this clone is shallow and has no origin remote to fetch the history from, which is needed to compare with commit %.12s: clone with full history (actions/checkout with fetch-depth: 0)", sha)
	}
	if _, err := r.output("fetch", "--unshallow", "--no-tags", "origin"); err != nil {
		return false, fmt.Errorf("fetch history to compare with commit %.12s: %w; clone with full history (actions/checkout with fetch-depth: 0)", sha, err)
	}
	return r.HasCommit(sha), nil
}

// RemoteURL returns the URL of a remote, or "" when it is not configured.
func (r Repo) RemoteURL(name string) string {
	out, err := r.output("remote", "get-url", name)
	if err != nil {
		return ""
	}
	return out
}

// OwnerRepo extracts "owner/repo" from a remote URL in https, ssh or scp
// form (https://github.com/o/r.git, ssh://git@github.com/o/r, git@github.com:o/r.git).
// It returns "" when the URL has no owner/repo path.
func OwnerRepo(url string) string {
	path := url
	if i := strings.Index(path, "://"); i >= 0 {
		path = path[i+3:]
		if j := strings.Index(path, "/"); j >= 0 {
			path = path[j+1:]
		} else {
			return ""
		}
	} else if i := strings.Index(path, ":"); i >= 0 {
		path = path[i+1:]
	} else {
		return ""
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	parts := strings.Split(path, "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return ""
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}
