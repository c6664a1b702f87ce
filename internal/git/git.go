// Package git reads what Gantry needs from a git checkout by running the
// git command (which every CI runner and laptop has) in a directory.
package git

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-build/gantry/internal/run"
)

// Repo is a git working tree.
type Repo struct{ Dir string }

// output runs git with args and returns its trimmed stdout; a failure is
// a *run.ExitError naming the command and holding git's stderr.
func (r Repo) output(ctx context.Context, args ...string) (string, error) {
	out, err := run.Output(ctx, run.Cmd{Name: "git", Args: args, Dir: r.Dir})
	if err != nil {
		return "", err
	}
	return out, nil
}

// exitedWith reports whether err is git exiting with code.
func exitedWith(err error, code int) bool {
	var exit *run.ExitError
	return errors.As(err, &exit) && exit.Code == code
}

// IsRepo reports whether Dir is inside a git working tree.
func (r Repo) IsRepo(ctx context.Context) bool {
	out, err := r.output(ctx, "rev-parse", "--is-inside-work-tree")
	return err == nil && out == "true"
}

// TopLevel returns the absolute path of the working tree's top directory.
func (r Repo) TopLevel(ctx context.Context) (string, error) {
	return r.output(ctx, "rev-parse", "--show-toplevel")
}

// Head returns the full SHA of HEAD.
func (r Repo) Head(ctx context.Context) (string, error) { return r.Commit(ctx, "HEAD") }

// Commit resolves a revision (a tag included) to the full SHA of its commit.
func (r Repo) Commit(ctx context.Context, rev string) (string, error) {
	return r.output(ctx, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
}

// Branch returns the checked-out branch, or "" on a detached HEAD.
func (r Repo) Branch(ctx context.Context) (string, error) {
	out, err := r.output(ctx, "symbolic-ref", "--short", "-q", "HEAD")
	if err != nil {
		if exitedWith(err, 1) {
			return "", nil // detached
		}
		return "", err
	}
	return out, nil
}

// TagsAtHead lists the tags matching pattern that point at HEAD.
func (r Repo) TagsAtHead(ctx context.Context, pattern string) ([]string, error) {
	out, err := r.output(ctx, "tag", "--points-at", "HEAD", "--list", pattern)
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// Dirty reports whether the tree has changes, untracked files included
// (they would be in the build context).
func (r Repo) Dirty(ctx context.Context) (bool, error) {
	out, err := r.output(ctx, "status", "--porcelain")
	return out != "", err
}

// CommitTime returns the committer time of rev.
func (r Repo) CommitTime(ctx context.Context, rev string) (time.Time, error) {
	out, err := r.output(ctx, "log", "-1", "--format=%ct", rev)
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
func (r Repo) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := r.output(ctx, "merge-base", "--is-ancestor", a, b)
	switch {
	case err == nil:
		return true, nil
	case exitedWith(err, 1):
		return false, nil
	default:
		return false, err
	}
}

// HasCommit reports whether the clone holds commit sha.
func (r Repo) HasCommit(ctx context.Context, sha string) bool {
	_, err := r.output(ctx, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

// History makes sure the clone holds sha, fetching the full history from
// origin when the clone is shallow (CI checkouts often are). It reports
// false when sha is not in the history at all.
func (r Repo) History(ctx context.Context, sha string) (bool, error) {
	if r.HasCommit(ctx, sha) {
		return true, nil
	}
	shallow, err := r.output(ctx, "rev-parse", "--is-shallow-repository")
	if err != nil || shallow != "true" {
		return false, err
	}
	if r.RemoteURL(ctx, "origin") == "" {
		return false, fmt.Errorf("this clone is shallow and has no origin remote to fetch the history from, which is needed to compare with commit %.12s: clone with full history (actions/checkout with fetch-depth: 0)", sha)
	}
	if _, err := r.output(ctx, "fetch", "--unshallow", "--no-tags", "origin"); err != nil {
		return false, fmt.Errorf("fetch history to compare with commit %.12s: %w; clone with full history (actions/checkout with fetch-depth: 0)", sha, err)
	}
	return r.HasCommit(ctx, sha), nil
}

// RemoteURL returns the URL of a remote without its user name and
// password, or "" when it is not configured. A remote may hold a token
// (https://user:token@host/...); this is where remote URLs enter Gantry,
// so nothing that prints one can print the token.
func (r Repo) RemoteURL(ctx context.Context, name string) string {
	out, err := r.output(ctx, "remote", "get-url", name)
	if err != nil {
		return ""
	}
	return withoutUserinfo(out)
}

// urlScheme is a URL's scheme (RFC 3986); a remote whose "://" follows
// anything else is in scp form.
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// withoutUserinfo drops the userinfo (user[:password]@) of a remote URL
// in URL form (https://user:token@host/path gives https://host/path) or
// scp form (git@host:path gives host:path); a local path is kept.
func withoutUserinfo(url string) string {
	if scheme, rest, ok := strings.Cut(url, "://"); ok && urlScheme.MatchString(scheme) {
		// The authority ends where the path, query or fragment starts;
		// its last @ ends the userinfo, as a password may hold an @.
		authority := rest
		if end := strings.IndexAny(rest, "/?#"); end >= 0 {
			authority = rest[:end]
		}
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			return scheme + "://" + rest[at+1:]
		}
		return url
	}
	// scp form is [user@]host:path, with no / before the host's colon.
	before, _, _ := strings.Cut(url, "/")
	colon := strings.LastIndex(before, ":")
	if colon < 0 {
		return url // a local path
	}
	if at := strings.LastIndex(before[:colon], "@"); at >= 0 {
		return url[at+1:]
	}
	return url
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

// OriginHead returns the branch origin/HEAD names: the remote's default
// branch, as the clone recorded it (git clone sets it; `git remote set-head
// origin --auto` refreshes it). It is "" when the clone records none.
func (r Repo) OriginHead(ctx context.Context) (string, error) {
	out, err := r.output(ctx, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD")
	if err != nil {
		if exitedWith(err, 1) {
			return "", nil // no origin/HEAD, or not a symbolic ref
		}
		return "", err
	}
	return strings.TrimPrefix(out, "origin/"), nil
}

// Tracked returns the files under paths (absolute, or relative to Dir)
// that the index tracks, as absolute paths with links resolved: what a
// fresh checkout of the commit holds there, whatever else the working
// tree has.
func (r Repo) Tracked(ctx context.Context, paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	dir, err := filepath.Abs(r.Dir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return nil, err
	}
	out, err := r.output(ctx, append([]string{"ls-files", "-z", "--"}, paths...)...)
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f != "" {
			files = append(files, filepath.Join(dir, filepath.FromSlash(f)))
		}
	}
	return files, nil
}
