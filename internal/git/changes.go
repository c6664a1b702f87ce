package git

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/run"
)

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

// Changes are the files of one comparison, in path order.
type Changes []Change

// String names the first few files, and how many more there are.
func (cs Changes) String() string {
	const shown = 5
	var names []string
	for _, c := range cs[:min(len(cs), shown)] {
		names = append(names, c.String())
	}
	if len(cs) > shown {
		names = append(names, fmt.Sprintf("and %d more", len(cs)-shown))
	}
	return strings.Join(names, ", ")
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
func (r Repo) Changed(ctx context.Context, paths []string) (Changes, error) {
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
	var out Changes
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
