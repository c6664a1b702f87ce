package conformance

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/gantry-build/gantry/docker"
)

// checkoutPaths are paths that a checkout by actions/checkout holds and
// that the build context must never carry: the repository, whose
// .git/config holds the job's token, and secrets. The files actually in
// the service directory are checked too.
var checkoutPaths = []string{
	".git", // a file in a worktree or submodule
	".git/config", ".git/HEAD", ".git/index", ".git/packed-refs", ".git/FETCH_HEAD", ".git/shallow",
	".git/objects/pack/pack-0123456789abcdef.pack", ".git/objects/01/23456789abcdef",
	".git/refs/heads/main", ".git/refs/tags/v1.0.0", ".git/refs/remotes/origin/main",
	".git/hooks/pre-commit", ".git/logs/HEAD", ".git/info/exclude", ".git/modules/sub/config",
	".env", ".env.local", ".env.production", ".envrc",
}

// secretKind is what a path that must stay out of the context is: part of
// a git repository or an .env file.
type secretKind struct {
	what, pattern, why string
}

var (
	gitFiles = secretKind{".git", docker.IgnoreGit, "actions/checkout keeps the job's token in .git/config, and COPY . . would put the history in an image"}
	envFiles = secretKind{".env*", docker.IgnoreEnv, ".env files hold secrets"}
)

// secretKindOf says whether rel (slash-separated) must stay out of the
// context: anything in a .git or under a name starting with .env, at any
// depth.
func secretKindOf(rel string) (secretKind, bool) {
	parts := strings.Split(rel, "/")
	if slices.Contains(parts, ".git") {
		return gitFiles, true
	}
	if slices.ContainsFunc(parts, func(p string) bool { return strings.HasPrefix(p, ".env") }) {
		return envFiles, true
	}
	return secretKind{}, false
}

// checkDockerignore checks the service's .dockerignore (content, read
// from path when exists): it must keep every file of .git and every .env*
// out of the build context, decided with BuildKit's own matcher over the
// paths a checkout holds and, when buildContext is not nil, the files in
// the service directory (the build context). Without a .dockerignore, Gantry's
// template is used beside its embedded Dockerfile, so a missing file is
// only a warning then.
//
// It also returns the files BuildKit would send (walking buildContext once
// for every rule that needs them), or nil when they cannot be told: no
// buildContext, or patterns that do not parse. Without a .dockerignore
// they are sent as BuildKit would send them: through Gantry's template
// beside its embedded Dockerfile, else all.
func checkDockerignore(path string, content []byte, exists, embeddedDockerfile bool, buildContext fs.FS) ([]Finding, []sentFile) {
	if !exists {
		f := Finding{Severity: Error, Rule: RuleDockerignore, Path: path,
			Message: "there is no .dockerignore, so the build context carries .git, .env files and everything else",
			Fix:     "copy Gantry's docker/dockerignore to .dockerignore (gantry init writes it)"}
		content = nil
		if embeddedDockerfile {
			f.Severity = Warning
			f.Message = "there is no .dockerignore; Gantry's template applies while the service uses the default Dockerfile, but not once it has its own"
			content = docker.Dockerignore
		}
		sent, _ := sentFiles(content, buildContext)
		return []Finding{f}, sent
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(content))
	if err != nil {
		return []Finding{{Severity: Error, Rule: RuleDockerignore, Path: path,
			Message: fmt.Sprintf("cannot read the patterns: %v", err), Fix: "fix the file, one pattern a line"}}, nil
	}
	filter, err := newContextFilter(patterns)
	if err != nil {
		return []Finding{invalidPattern(path, err)}, nil
	}
	leaked := map[secretKind][]string{}
	for _, p := range checkoutPaths {
		sent, err := filter.sends(p)
		if err != nil {
			return []Finding{invalidPattern(path, err)}, nil
		}
		if kind, _ := secretKindOf(p); sent {
			leaked[kind] = append(leaked[kind], p)
		}
	}
	var sent []sentFile
	if buildContext != nil {
		if err := filter.walk(buildContext, func(f sentFile) {
			sent = append(sent, f)
			if kind, secret := secretKindOf(f.path); secret && !slices.Contains(leaked[kind], f.path) {
				leaked[kind] = append(leaked[kind], f.path)
			}
		}); err != nil {
			return []Finding{invalidPattern(path, err)}, nil
		}
	}
	var findings []Finding
	for _, kind := range []secretKind{gitFiles, envFiles} {
		if paths := leaked[kind]; len(paths) > 0 {
			findings = append(findings, Finding{Severity: Error, Rule: RuleDockerignore, Path: path,
				Message: fmt.Sprintf("BuildKit sends %s into the build context: %s", listSome(paths), kind.why),
				Fix:     filter.fix(kind, paths)})
		}
	}
	return findings, sent
}

// CheckDockerignore is the dockerignore rule for the .dockerignore at path,
// which exists and holds content, beside the build context on disk.
func CheckDockerignore(path string, content []byte, buildContext fs.FS) []Finding {
	findings, _ := checkDockerignore(path, content, true, false, buildContext)
	return findings
}

// sentFiles walks buildContext through the patterns of a .dockerignore
// (content), when there is one to walk and the patterns parse.
func sentFiles(content []byte, buildContext fs.FS) ([]sentFile, error) {
	if buildContext == nil {
		return nil, nil
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(content))
	if err != nil {
		return nil, err
	}
	filter, err := newContextFilter(patterns)
	if err != nil {
		return nil, err
	}
	var sent []sentFile
	return sent, filter.walk(buildContext, func(f sentFile) { sent = append(sent, f) })
}

// sentFile is a file BuildKit sends with the build context.
type sentFile struct {
	path string // slash-separated, relative to the context
	size int64
}

func invalidPattern(path string, err error) Finding {
	return Finding{Severity: Error, Rule: RuleDockerignore, Path: path,
		Message: fmt.Sprintf("a pattern is invalid: %v", err), Fix: "fix the pattern named"}
}

// listSome lists the first few paths, and how many more there are.
func listSome(paths []string) string {
	const shown = 4
	if len(paths) <= shown {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:shown], ", "), len(paths)-shown)
}

// contextFilter applies .dockerignore patterns as BuildKit does when it
// sends the context (tonistiigi/fsutil's filter): a directory is walked
// with each path matched against the patterns with its parents' results,
// and an excluded directory is skipped unless a `!` pattern can bring back
// something inside it.
type contextFilter struct {
	matcher *patternmatcher.PatternMatcher
	// prefixExceptions is true when every `!` pattern is a plain path (a
	// glob only at its end): then BuildKit skips an excluded directory
	// unless one of them lies inside it; otherwise it walks every one.
	prefixExceptions bool
}

func newContextFilter(patterns []string) (contextFilter, error) {
	m, err := patternmatcher.New(patterns)
	if err != nil {
		return contextFilter{}, err
	}
	f := contextFilter{matcher: m, prefixExceptions: true}
	for _, p := range m.Patterns() {
		if p.Exclusion() && strings.ContainsAny(withoutTrailingGlob(p), `*[]?^\`) {
			f.prefixExceptions = false
		}
	}
	return f, nil
}

// withoutTrailingGlob is a pattern without a final /* or /**, slash-separated.
func withoutTrailingGlob(p *patternmatcher.Pattern) string {
	s := filepath.ToSlash(p.String())
	return strings.TrimSuffix(strings.TrimSuffix(s, "/**"), "/*")
}

// skipsDir reports whether BuildKit skips the excluded directory dir
// without looking inside.
func (f contextFilter) skipsDir(dir string) bool {
	if !f.matcher.Exclusions() {
		return true
	}
	if !f.prefixExceptions {
		return false
	}
	for _, p := range f.matcher.Patterns() {
		if p.Exclusion() && strings.HasPrefix(withoutTrailingGlob(p)+"/", dir+"/") {
			return false
		}
	}
	return true
}

// sends reports whether BuildKit sends the file rel (slash-separated,
// relative to the context) with the build context.
func (f contextFilter) sends(rel string) (bool, error) {
	var parent patternmatcher.MatchInfo
	dirs := strings.Split(rel, "/")
	for i := range dirs {
		p := strings.Join(dirs[:i+1], "/")
		excluded, info, err := f.matcher.MatchesUsingParentResults(p, parent)
		if err != nil {
			return false, err
		}
		if i == len(dirs)-1 {
			return !excluded, nil
		}
		if excluded && f.skipsDir(p) {
			return false, nil
		}
		parent = info
	}
	return false, nil
}

// walk calls sent with every file (anything but a directory) of
// buildContext that BuildKit would send, and its size, skipping what
// BuildKit skips. Directories and files that cannot be read are left out:
// the build will say so.
func (f contextFilter) walk(buildContext fs.FS, sent func(sentFile)) error {
	infos := map[string]patternmatcher.MatchInfo{}
	return fs.WalkDir(buildContext, ".", func(p string, d fs.DirEntry, err error) error {
		if p == "." {
			return err
		}
		if err != nil {
			return nil
		}
		excluded, info, err := f.matcher.MatchesUsingParentResults(p, infos[path.Dir(p)])
		switch {
		case err != nil:
			return err
		case d.IsDir() && excluded && f.skipsDir(p):
			return fs.SkipDir
		case d.IsDir():
			infos[p] = info
		case !excluded:
			if info, err := d.Info(); err == nil {
				sent(sentFile{path: p, size: info.Size()})
			}
		}
		return nil
	})
}

// fix says how to keep the leaked paths of kind out: drop the `!` lines
// that bring them back, or add the pattern, which covers every depth (the
// one gantry init's merge adds).
func (f contextFilter) fix(kind secretKind, leaked []string) string {
	var culprits []string
	for _, p := range f.matcher.Patterns() {
		if !p.Exclusion() {
			continue
		}
		for _, l := range leaked {
			if brings, _ := patternmatcher.MatchesOrParentMatches(l, []string{p.String()}); brings {
				culprits = append(culprits, "`!"+filepath.ToSlash(p.String())+"`")
				break
			}
		}
	}
	if len(culprits) > 0 {
		return fmt.Sprintf("remove %s: no later `!` line may bring back any %s", strings.Join(culprits, " and "), kind.what)
	}
	return fmt.Sprintf("add a line `%s` (and no later `!` line that brings any of it back)", kind.pattern)
}
