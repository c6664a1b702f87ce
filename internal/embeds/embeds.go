// Package embeds finds the //go:embed patterns of a service's own
// packages that match nothing in a fresh checkout of its commit: here
// they match only files git does not track (a UI build output, ignored
// or never added), which the checkout CI builds from does not hold. It
// asks go itself: the main package's graph is listed again with those
// files deleted through -overlay, and go's own error is the answer, as
// CI's build would print it.
package embeds

import (
	"context"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/golist"
)

// Missing is a //go:embed pattern that matches nothing in a fresh checkout.
type Missing struct {
	// ImportPath is the embedding package's.
	ImportPath string
	// File and Line are the //go:embed directive's, File relative to the
	// service directory, slash-separated (go's position).
	File string
	Line int
	// Err is go's message: "pattern build/*: no matching files found".
	Err string
	// Pattern is the pattern, as written after //go:embed ("build/*").
	Pattern string
	// Dir is the directory the pattern reads, relative to the service
	// directory, slash-separated ("ui/build"): what must be generated.
	Dir string
}

// embedError is go's error for a //go:embed pattern: every one begins
// "pattern <pattern>: " (no matching files found, cannot embed directory
// ...: contains no embeddable files, ...).
var embedError = regexp.MustCompile(`^pattern (\S+): `)

// Find lists the patterns of the graph g (the main package's, listed in
// dir for g's platform, cgo as said) that match nothing in a fresh
// checkout. Outside a git repository there is no commit to speak of:
// inRepo is false and nothing is found.
func Find(ctx context.Context, dir string, g golist.Graph, mainPackage string, cgo bool, log *logrus.Entry) (missing []Missing, inRepo bool, err error) {
	repo := git.Repo{Dir: dir}
	if !repo.IsRepo(ctx) {
		return nil, false, nil
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, true, err
	}
	// embedded maps each embedded file, as git names it (links resolved,
	// as git's paths are), to the path go names it by, for the overlay.
	var dirs []string
	embedded := map[string]string{}
	for _, p := range g.Packages {
		if !p.InMainModule() {
			continue
		}
		if m, ok := fromError(abs, p); ok {
			// Missing here too: go says so without an overlay.
			missing = append(missing, m)
			continue
		}
		if len(p.EmbedFiles) == 0 {
			continue
		}
		dirs = append(dirs, p.Dir)
		real, err := filepath.EvalSymlinks(p.Dir)
		if err != nil {
			return nil, true, err
		}
		for _, f := range p.EmbedFiles {
			embedded[filepath.Join(real, f)] = filepath.Join(p.Dir, f)
		}
	}
	if len(embedded) == 0 {
		return missing, true, nil
	}
	tracked, err := repo.Tracked(ctx, dirs)
	if err != nil {
		return nil, true, fmt.Errorf("list the files git tracks where packages embed files: %w", err)
	}
	var deleted []string
	for _, f := range untracked(slices.Sorted(maps.Keys(embedded)), tracked) {
		deleted = append(deleted, embedded[f])
	}
	if len(deleted) == 0 {
		return missing, true, nil
	}
	fresh, err := golist.ListWithout(ctx, dir, mainPackage, g.GOOS, g.GOARCH, cgo, deleted, log)
	if err != nil {
		return nil, true, fmt.Errorf("list the packages as a fresh checkout holds them: %w", err)
	}
	for _, p := range fresh.Packages {
		if m, ok := fromError(abs, p); p.InMainModule() && ok {
			missing = append(missing, m)
		}
	}
	return missing, true, nil
}

// untracked are the files of embedded that are not among tracked.
func untracked(embedded, tracked []string) []string {
	var out []string
	for _, f := range embedded {
		if !slices.Contains(tracked, f) {
			out = append(out, f)
		}
	}
	return out
}

// fromError reads p's error as a pattern matching nothing; dir is the
// directory go list ran in (absolute, links resolved), which go's
// positions are relative to.
func fromError(dir string, p golist.Package) (Missing, bool) {
	if p.Error == nil {
		return Missing{}, false
	}
	m := embedError.FindStringSubmatch(p.Error.Err)
	if m == nil {
		return Missing{}, false
	}
	file, line := splitPos(p.Error.Pos)
	pkgDir, err := filepath.EvalSymlinks(p.Dir)
	if err == nil {
		pkgDir, err = filepath.Rel(dir, pkgDir)
	}
	if err != nil {
		pkgDir = p.Dir
	}
	return Missing{ImportPath: p.ImportPath, File: filepath.ToSlash(file), Line: line, Err: p.Error.Err, Pattern: m[1],
		Dir: path.Join(filepath.ToSlash(pkgDir), PatternDir(m[1]))}, true
}

// splitPos splits go's file:line:col.
func splitPos(pos string) (string, int) {
	parts := strings.Split(pos, ":")
	if len(parts) < 3 {
		return pos, 0
	}
	line, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil {
		return pos, 0
	}
	return strings.Join(parts[:len(parts)-2], ":"), line
}

// PatternDir is the directory a //go:embed pattern reads, relative to
// its package: the pattern's path up to its first glob, without `all:`;
// "." for a pattern of the package's own directory ("*.html").
func PatternDir(pattern string) string {
	pattern = strings.TrimPrefix(pattern, "all:")
	var keep []string
	for _, elem := range strings.Split(pattern, "/") {
		if strings.ContainsAny(elem, `*?[\`) {
			break
		}
		keep = append(keep, elem)
	}
	if len(keep) == 0 {
		return "."
	}
	return path.Join(keep...)
}
