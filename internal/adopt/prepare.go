package adopt

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/embeds"
	"github.com/gantry-build/gantry/internal/golist"
)

// Embeds finds the //go:embed patterns of the main package's graph that
// match nothing in a fresh checkout (embeds.Find); tests pass their own.
type Embeds func(g golist.Graph, mainPkg string) ([]embeds.Missing, error)

// findEmbeds is Embeds for the service in dir, as mage check's embed rule
// finds them.
func findEmbeds(ctx context.Context, dir string) Embeds {
	return func(g golist.Graph, mainPkg string) ([]embeds.Missing, error) {
		missing, _, err := embeds.Find(ctx, dir, g, mainPkg, false, nil)
		return missing, err
	}
}

// producer is a command that makes what a //go:embed pattern needs, and
// where it was found.
type producer struct {
	command []string
	source  string
}

// nodeBuild is a recipe's command running a package.json's build script.
var nodeBuild = regexp.MustCompile(`\b(?:yarn|pnpm|npm)\s(?:[^;&|]*\s)?build(?:\s|$|[;&|)])`)

// nodeDir is the directory a recipe runs its build script in: cd DIR,
// npm's --prefix DIR or yarn's --cwd DIR.
var nodeDir = regexp.MustCompile(`(?:\bcd\s+|--prefix[\s=]+|--cwd[\s=]+)([^\s;&|]+)`)

// decidePrepare decides the command run before every build (Prepare):
// what makes the files //go:embed patterns need that the commit does not
// hold (missing), else go generate on the packages with //go:generate
// directives. A generate step is preferred for missing files when it
// evidently makes them (runs a UI build, names their directory); else a
// Makefile target writing their directory, else the package.json build
// script of the embedding package's directory or its parent, else the
// embedding package's own //go:generate, whatever it says. What cannot be
// decided remains, with the fix.
func (l *Layout) decidePrepare(repo discover.Repo, gens []discover.Generator, missing []embeds.Missing) {
	if len(missing) == 0 {
		l.decideGenerate(gens)
		return
	}
	var chosen []producer
	for _, m := range missing {
		p, ok := l.producerOf(repo, gens, m)
		if !ok {
			l.Remaining = append(l.Remaining, fmt.Sprintf("//go:embed %s (%s line %d) embeds %s, which the commit does not hold (go: %s), and no //go:generate directive, Makefile target or package.json build script was found that makes it: set magetools.Config.Prepare in the magefile's init() to the command that does, run in the service directory before every build (mage check's embed rule checks it)", m.Pattern, m.File, m.Line, m.Dir, m.Err))
			continue
		}
		if !slices.ContainsFunc(chosen, func(c producer) bool { return slices.Equal(c.command, p.command) }) {
			chosen = append(chosen, p)
		}
	}
	switch {
	case len(chosen) > 1:
		var commands []string
		for _, c := range chosen {
			commands = append(commands, fmt.Sprintf("`%s` (from %s)", strings.Join(c.command, " "), c.source))
		}
		l.Remaining = append(l.Remaining, fmt.Sprintf("the embedded files are made by several commands, %s, and Prepare runs one: add a Makefile target that runs them all and set magetools.Config.Prepare to `make <target>`", strings.Join(commands, " and ")))
		return
	case len(chosen) == 0:
		return
	}
	p := chosen[0]
	if p.command[0] == "go" {
		l.decideGenerate(gens)
		return
	}
	l.decide("prepare command", "Prepare", p.command, p.source, true)
	if len(gens) > 0 {
		l.Notes = append(l.Notes, fmt.Sprintf("//go:generate in %s is not run by Prepare (%s), which makes the embedded files: if the build needs what it writes, have that command run go generate too", generatorFiles(gens), strings.Join(p.command, " ")))
	}
	if p.command[0] == "npm" || p.command[0] == "yarn" {
		l.Notes = append(l.Notes, fmt.Sprintf("`%s` needs the UI's dependencies installed first on every machine that builds, CI's included: a Makefile target that installs them and builds is the one command Prepare can name", strings.Join(p.command, " ")))
	}
	l.Notes = append(l.Notes, fmt.Sprintf("what `%s` writes must be ignored by git (.gitignore: publishing refuses a dirty tree) and not by .dockerignore (the image build needs it)", strings.Join(p.command, " ")))
}

// producerOf finds the command that makes m's files.
func (l *Layout) producerOf(repo discover.Repo, gens []discover.Generator, m embeds.Missing) (producer, bool) {
	pkgDir := path.Dir(m.File)
	within := embeds.PatternDir(m.Pattern) // the directory, relative to the package
	var own *discover.Generator            // the embedding package's directives
	for i, g := range gens {
		if g.Package != "./"+pkgDir && !(pkgDir == "." && g.Package == ".") {
			continue
		}
		own = &gens[i]
		for _, d := range g.Directives {
			words := strings.Fields(d)
			if len(words) > 0 && slices.Contains([]string{"npm", "npx", "yarn", "pnpm"}, words[0]) || mentionsDir(d, within) {
				return producer{command: []string{"go", "generate"}, source: "//go:generate " + d}, true
			}
		}
	}
	for _, t := range repo.MakeTargets {
		for _, command := range t.Recipe {
			if mentionsDir(command, m.Dir) || l.buildsInto(repo.Dir, command, m.Dir) {
				return producer{command: []string{"make", t.Name}, source: fmt.Sprintf("%s line %d: target %s makes %s, which //go:embed %s in %s needs", repo.MakefileName, t.Line, t.Name, m.Dir, m.Pattern, m.File)}, true
			}
		}
	}
	for _, dir := range []string{pkgDir, path.Dir(pkgDir)} {
		if p, ok := l.packageJSON(repo.Dir, dir); ok && p.OutputDir() == m.Dir {
			return producer{command: p.Command(), source: fmt.Sprintf("%s's build script writes %s, which //go:embed %s in %s needs", path.Join(dir, "package.json"), m.Dir, m.Pattern, m.File)}, true
		}
		if dir == "." {
			break
		}
	}
	if own != nil {
		// A directive that does not say what it writes (go run ./gen) is
		// taken to make what its package embeds when nothing else does.
		return producer{command: []string{"go", "generate"}, source: fmt.Sprintf("//go:generate in %s, the package embedding %s", strings.Join(own.Files, ", "), m.Dir)}, true
	}
	return producer{}, false
}

// buildsInto reports whether a recipe's command runs a package.json's
// build script (in the directory it changes to, or the service's) that
// writes dir.
func (l *Layout) buildsInto(serviceDir, command, dir string) bool {
	if !nodeBuild.MatchString(command) {
		return false
	}
	at := "."
	if m := nodeDir.FindStringSubmatch(command); m != nil {
		at = path.Clean(strings.TrimPrefix(m[1], "./"))
	}
	p, ok := l.packageJSON(serviceDir, at)
	return ok && p.OutputDir() == dir
}

// packageJSON reads a package.json; one that cannot be read is noted.
func (l *Layout) packageJSON(serviceDir, dir string) (discover.PackageJSON, bool) {
	p, ok, err := discover.ReadPackageJSON(serviceDir, dir)
	if err != nil {
		note := "not read: " + err.Error()
		if !slices.Contains(l.Notes, note) {
			l.Notes = append(l.Notes, note)
		}
	}
	return p, ok
}

// mentionsDir reports whether a command names dir as a path of its own
// (ui/build, ./ui/build, ui/build/), not as part of a longer name.
func mentionsDir(command, dir string) bool {
	if dir == "." || dir == "" {
		return false
	}
	pattern := `(?:^|[\s='"(])(?:\./)?` + regexp.QuoteMeta(dir) + `(?:/|$|[\s'";)&|])`
	return regexp.MustCompile(pattern).MatchString(command)
}

// decideGenerate runs go generate on the packages of the module that
// carry //go:generate directives, before every build.
func (l *Layout) decideGenerate(gens []discover.Generator) {
	if len(gens) == 0 {
		return
	}
	cmd := []string{"go", "generate"}
	for _, g := range gens {
		cmd = append(cmd, g.Package)
	}
	l.decide("prepare command", "Prepare", cmd, "//go:generate in "+generatorFiles(gens), true)
	l.Notes = append(l.Notes, "what go generate writes must be ignored by git (.gitignore: publishing refuses a dirty tree) and not by .dockerignore (the image build needs it)")
}

// generatorFiles lists the files holding the directives.
func generatorFiles(gens []discover.Generator) string {
	var files []string
	for _, g := range gens {
		files = append(files, g.Files...)
	}
	return strings.Join(files, ", ")
}
