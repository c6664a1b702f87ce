// Package git reads what Gantry needs from a git checkout by running the
// git command (which every CI runner and laptop has) in a directory.
package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// RemoteURL returns the URL of a remote, or "" when it is not configured.
func (r Repo) RemoteURL(ctx context.Context, name string) string {
	out, err := r.output(ctx, "remote", "get-url", name)
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

// Change is a file a build reads that HEAD does not hold as it is.
type Change struct {
	// Path is relative to the top of the working tree, slash-separated.
	Path string
	// InCommit is true when HEAD holds the file with other content, false
	// when HEAD does not hold it at all.
	InCommit bool
}

func (c Change) String() string {
	if c.InCommit {
		return c.Path + " (differs from the commit)"
	}
	return c.Path + " (not in the commit)"
}

// Git's file modes in a tree.
const (
	modeSymlink = "120000"
	modeGitlink = "160000"
)

// Changed lists the files among paths (absolute) that HEAD does not hold
// with the same content. It compares the bytes of each file (git
// hash-object, through the same filters git add applies) with HEAD's
// blobs, never git's record of the tree, so that a file marked
// --assume-unchanged or --skip-worktree, or one ignored by
// .git/info/exclude, counts as what it is. Paths outside the working tree
// are left out, and so are paths in a submodule (git status compares it
// with the commit the tree records).
func (r Repo) Changed(ctx context.Context, paths []string) ([]Change, error) {
	top, err := r.TopLevel(ctx)
	if err != nil {
		return nil, err
	}
	// The top as go list spells paths: through links, as the kernel does.
	if real, err := filepath.EvalSymlinks(top); err == nil {
		top = real
	}
	var rels []string
	for _, p := range paths {
		if real, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			p = filepath.Join(real, filepath.Base(p))
		}
		rel, err := filepath.Rel(top, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		rels = append(rels, filepath.ToSlash(rel))
	}
	if len(rels) == 0 {
		return nil, nil
	}
	slices.Sort(rels)
	rels = slices.Compact(rels)
	tree, gitlinks, err := Repo{Dir: top}.headTree(ctx)
	if err != nil {
		return nil, err
	}
	var changes, compare []string
	for _, rel := range rels {
		entry, ok := tree[rel]
		switch {
		case !ok && slices.ContainsFunc(gitlinks, func(g string) bool { return strings.HasPrefix(rel, g+"/") }):
			// In a submodule: left to git status.
		case !ok:
			changes = append(changes, rel)
		case entry.mode == modeSymlink:
			if link, err := os.Readlink(filepath.Join(top, rel)); err != nil || link != entry.content(ctx, top) {
				changes = append(changes, rel)
			}
		default:
			compare = append(compare, rel)
		}
	}
	var out []Change
	for _, rel := range changes {
		_, inCommit := tree[rel]
		out = append(out, Change{Path: rel, InCommit: inCommit})
	}
	if len(compare) == 0 {
		return out, nil
	}
	hashes, err := run.Output(ctx, run.Cmd{Name: "git", Args: []string{"hash-object", "--stdin-paths"}, Dir: top, Stdin: strings.NewReader(strings.Join(compare, "\n") + "\n")})
	if err != nil {
		return nil, fmt.Errorf("hash the files the build reads: %w", err)
	}
	lines := strings.Split(hashes, "\n")
	if len(lines) != len(compare) {
		return nil, fmt.Errorf("git hash-object gave %d hashes for %d files", len(lines), len(compare))
	}
	for i, rel := range compare {
		if lines[i] != tree[rel].object {
			out = append(out, Change{Path: rel, InCommit: true})
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// treeEntry is a file of HEAD's tree.
type treeEntry struct{ mode, object string }

// content returns the blob's content, or "" when it cannot be read.
func (e treeEntry) content(ctx context.Context, top string) string {
	out, err := run.Output(ctx, run.Cmd{Name: "git", Args: []string{"cat-file", "blob", e.object}, Dir: top})
	if err != nil {
		return ""
	}
	return out
}

// headTree lists HEAD's files by path, and its submodules' paths.
func (r Repo) headTree(ctx context.Context) (map[string]treeEntry, []string, error) {
	out, err := r.output(ctx, "ls-tree", "-r", "-z", "--full-tree", "HEAD")
	if err != nil {
		return nil, nil, fmt.Errorf("list the files of HEAD: %w", err)
	}
	tree := map[string]treeEntry{}
	var gitlinks []string
	for _, record := range strings.Split(out, "\x00") {
		// <mode> SP <type> SP <object> TAB <path>
		meta, path, ok := strings.Cut(record, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 {
			continue
		}
		if fields[0] == modeGitlink {
			gitlinks = append(gitlinks, path)
			continue
		}
		tree[path] = treeEntry{mode: fields[0], object: fields[2]}
	}
	return tree, gitlinks, nil
}

// IgnoredByCommit returns the paths among paths (relative to the top of
// the working tree) that a .gitignore file of the commit ignores, as the
// commit holds it: what a step the commit describes (Config.Prepare) may
// generate. .git/info/exclude and the user's excludes file are this
// clone's alone and say nothing of the commit.
func (r Repo) IgnoredByCommit(ctx context.Context, paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	top, err := r.TopLevel(ctx)
	if err != nil {
		return nil, err
	}
	out, err := run.Output(ctx, run.Cmd{Name: "git", Args: []string{"check-ignore", "-v", "-z", "--stdin"}, Dir: top, Stdin: strings.NewReader(strings.Join(paths, "\x00") + "\x00")})
	if exitedWith(err, 1) {
		return nil, nil // none is ignored
	}
	if err != nil {
		return nil, fmt.Errorf("git check-ignore: %w", err)
	}
	// <source> NUL <line> NUL <pattern> NUL <path> NUL, per ignored path.
	fields := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	bySource := map[string][]string{}
	for i := 0; i+3 < len(fields); i += 4 {
		source, path := fields[i], fields[i+3]
		if filepath.Base(source) == ".gitignore" && !filepath.IsAbs(source) && !strings.HasPrefix(source, ".git/") {
			bySource[source] = append(bySource[source], path)
		}
	}
	var sources []string
	for source := range bySource {
		sources = append(sources, filepath.Join(top, source))
	}
	changed, err := r.Changed(ctx, sources)
	if err != nil {
		return nil, err
	}
	var ignored []string
	for source, paths := range bySource {
		if !slices.ContainsFunc(changed, func(c Change) bool { return c.Path == source }) {
			ignored = append(ignored, paths...)
		}
	}
	slices.Sort(ignored)
	return ignored, nil
}
