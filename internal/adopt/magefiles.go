package adopt

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-build/gantry/internal/repofile"
)

// Where init writes Gantry's magefile: magefiles/magefile.go, or beside
// a team's own magefile.go.
const (
	magefilePath   = "magefiles/magefile.go"
	besideTeamPath = "magefiles/gantry.go"
)

// Targets are the names of the targets Gantry's magetools package
// declares, as Mage lists them (lower-cased first letter): a team's target
// of the same name beside them is a "multiple definitions" error.
var Targets = []string{"build", "buildDev", "check", "ci", "image", "imageDev", "plan", "publish", "release", "verify"}

// Magefiles is what the service's magefiles/ holds before init: the
// team's own mage files, and Gantry's when it has one.
type Magefiles struct {
	// Gantry is the file importing Gantry's targets (init's, updated in
	// place); "" when there is none.
	Gantry string
	// Team are the team's own Go files in magefiles/.
	Team []string
	// ImportsService: a team's file imports a package of the service's
	// module, which the magefiles module must then require.
	ImportsService bool
	// Conflicts are the team's targets named as one of Gantry's:
	// "magefiles/tasks.go: Build".
	Conflicts []string
}

// Path is where Gantry's magefile goes: the one there is, else
// magefiles/magefile.go, else (a team's magefile.go there) beside it.
func (m Magefiles) Path() string {
	switch {
	case m.Gantry != "":
		return m.Gantry
	case !slices.Contains(m.Team, magefilePath):
		return magefilePath
	default:
		return besideTeamPath
	}
}

// ReadMagefiles reads the Go files of magefiles/ (listed, then read
// through root) for the service's module modulePath.
func ReadMagefiles(root repofile.Dir, modulePath string) (Magefiles, error) {
	var m Magefiles
	entries, err := os.ReadDir(filepath.Join(root.Path, "magefiles"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("read magefiles/: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		rel := "magefiles/" + name
		content, err := root.Read(rel, repofile.MaxGoFile)
		if err != nil {
			return m, fmt.Errorf("not read: %w", err)
		}
		// A file that does not parse is the team's: Mage will say why.
		f, _ := parser.ParseFile(token.NewFileSet(), rel, content, parser.SkipObjectResolution)
		if f == nil {
			m.Team = append(m.Team, rel)
			continue
		}
		gantrys := false
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			gantrys = gantrys || p == Module+"/magetools"
			m.ImportsService = m.ImportsService || p == modulePath || strings.HasPrefix(p, modulePath+"/")
		}
		if gantrys && m.Gantry == "" {
			m.Gantry = rel
			continue
		}
		m.Team = append(m.Team, rel)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() {
				continue
			}
			// Mage matches target names whatever their case.
			if slices.ContainsFunc(Targets, func(t string) bool { return strings.EqualFold(t, fn.Name.Name) }) {
				m.Conflicts = append(m.Conflicts, rel+": "+fn.Name.Name)
			}
		}
	}
	return m, nil
}

// check refuses team's targets named as Gantry's: Mage would refuse
// every target ("multiple definitions"), the team's too.
func (m Magefiles) check() error {
	if len(m.Conflicts) == 0 {
		return nil
	}
	return fmt.Errorf("the team's mage targets %s have the names of Gantry's targets (%s): Mage refuses a name defined twice, so no target would run, theirs included; rename them (e.g. Build to BuildLocal), then run gantry init again; nothing was written", strings.Join(m.Conflicts, ", "), strings.Join(Targets, ", "))
}

// checkRootMagefiles refuses mage files at the module root: Mage reads
// those and then ignores magefiles/, where Gantry's targets go, so `mage
// check` would be an unknown target. They cannot take Gantry's import
// there either: it would enter the service's own go.mod.
func checkRootMagefiles(root repofile.Dir) error {
	entries, err := os.ReadDir(root.Path)
	if err != nil {
		return fmt.Errorf("read %s: %w", root.Path, err)
	}
	mage, plain := root.GoContext(), root.GoContext()
	mage.BuildTags = append(slices.Clone(mage.BuildTags), "mage")
	var found []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		with, err := mage.MatchFile(root.Path, name)
		if err != nil {
			return err
		}
		if without, err := plain.MatchFile(root.Path, name); err == nil && with && !without {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return nil
	}
	return fmt.Errorf("the module root has mage files (%s): Mage reads those and then ignores magefiles/, where Gantry's targets go, so go tool mage check would be an unknown target (and Gantry's import at the root would enter the service's go.mod); move them: mkdir -p magefiles && git mv %s magefiles/, then run gantry init again, which adds Gantry's targets beside them; nothing was written", strings.Join(found, ", "), strings.Join(found, " "))
}
