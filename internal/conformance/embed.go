package conformance

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gantry-build/gantry/internal/embeds"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/magetools/config"
)

// RuleEmbed names the embed rule: a //go:embed pattern matches nothing in
// a fresh checkout, as CI builds from.
const RuleEmbed = "embed"

// checkEmbeds applies the embed rule to the main package's graph (list's;
// a graph that cannot be listed is the packages rule's finding).
func checkEmbeds(ctx context.Context, dir string, cfg config.Config, list Lister) []Finding {
	g, err := list(ctx)
	if err != nil {
		return nil
	}
	// The commands log on the entry the context carries (run.WithLog).
	missing, _, err := embeds.Find(ctx, dir, g, cfg.MainPackage, cfg.CGO, nil)
	if err != nil {
		return []Finding{{Severity: Error, Rule: RuleEmbed, Path: filepath.Join(dir, "go.mod"),
			Message: fmt.Sprintf("cannot tell whether the files the packages embed are in the commit: %v", err),
			Fix:     "make `git ls-files` and `go list` work in the service directory"}}
	}
	return EmbedFindings(dir, missing, cfg.Prepare)
}

// EmbedFindings are the embed rule's findings for the patterns that match
// nothing in a fresh checkout (embeds.Find, in dir): an error, with go's
// own message; with Config.Prepare set, only a warning that Prepare must
// create them, since it runs before every build.
func EmbedFindings(dir string, missing []embeds.Missing, prepare []string) []Finding {
	var findings []Finding
	for _, m := range missing {
		f := Finding{Severity: Error, Rule: RuleEmbed, Path: filepath.Join(dir, filepath.FromSlash(m.File)), Line: m.Line,
			Message: fmt.Sprintf("//go:embed %s in package %s embeds files the commit does not hold (%s: generated, git-ignored or never added), so the build of a fresh checkout, as CI makes, fails: %s", m.Pattern, m.ImportPath, m.Dir, m.Err),
			Fix:     fmt.Sprintf("set magetools.Config.Prepare (GANTRY_PREPARE) to the command that generates %s, run before every build (gantry init looks for it in the Makefile and package.json); or commit the files", m.Dir)}
		if len(prepare) > 0 {
			command := strings.Join(prepare, " ")
			f.Severity = Warning
			f.Message = fmt.Sprintf("//go:embed %s in package %s embeds files the commit does not hold (%s), so `%s` (Config.Prepare) must create them before every build, or it fails: %s", m.Pattern, m.ImportPath, m.Dir, command, m.Err)
			f.Fix = fmt.Sprintf("make sure `%s` creates %s in a fresh clone of the repository (clone it, then `go tool mage build`)", command, m.Dir)
		}
		findings = append(findings, f)
	}
	return findings
}

// listOnce is list, run once however often it is called.
func listOnce(list Lister) Lister {
	var g golist.Graph
	var err error
	done := false
	return func(ctx context.Context) (golist.Graph, error) {
		if !done {
			g, err = list(ctx)
			done = true
		}
		return g, err
	}
}
