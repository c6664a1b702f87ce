package conformance

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/internal/stampvars"
	"github.com/gantry-build/gantry/magetools/config"
)

// Lister lists the main package's graph; Check calls it once.
type Lister func(ctx context.Context) (golist.Graph, error)

// ListPackages is the Lister of cfg's main package in dir, as the image
// build compiles it: for the first of the configured platforms, with cgo
// off unless Config.CGO (then the graph holds the C files cgo compiles,
// and the cgo rule does not apply).
func ListPackages(dir string, cfg config.Config, log *logrus.Entry) Lister {
	platform := config.DefaultPlatforms()[0]
	if len(cfg.Platforms) > 0 {
		platform = cfg.Platforms[0]
	}
	goos, rest, _ := strings.Cut(platform, "/")
	goarch, _, _ := strings.Cut(rest, "/")
	list := golist.List
	if cfg.CGO {
		list = golist.ListWithCgo
	}
	return func(ctx context.Context) (golist.Graph, error) {
		return list(ctx, dir, cfg.MainPackage, goos, goarch, log)
	}
}

// checkPackages lists the main package's graph once and applies the
// rules that need it: stamp and cgo; and the replace rule.
func checkPackages(ctx context.Context, dir string, cfg config.Config, list Lister) []Finding {
	findings := replaceFindings(dir)
	g, err := list(ctx)
	if err != nil {
		return append(findings, Finding{Severity: Error, Rule: RulePackages, Path: filepath.Join(dir, "go.mod"),
			Message: fmt.Sprintf("cannot list the packages of the main package %s: %v", cfg.MainPackage, err),
			Fix:     "make `go list " + cfg.MainPackage + "` work in the service directory (a go.mod, a main package at GANTRY_MAIN or Config.MainPackage)"})
	}
	return append(findings, CheckPackages(dir, g, cfg)...)
}

// replaceFindings applies the replace rule: a replace directive pointing
// at a directory outside the repository builds here and nowhere else.
// A go.mod that cannot be read is left to go list, which names it.
func replaceFindings(dir string) []Finding {
	replaces, _ := module.ReplacesOutside(dir, repofile.RepoRoot(dir))
	var findings []Finding
	for _, r := range replaces {
		findings = append(findings, Finding{Severity: Error, Rule: RuleReplace, Path: filepath.Join(dir, "go.mod"), Line: r.Line,
			Message: fmt.Sprintf("`%s` points outside the repository (at %s), so a fresh checkout of the commit, as CI makes, cannot build the service", r.Directive, r.Dir),
			Fix:     module.ReplaceFix})
	}
	return findings
}

// CheckPackages applies the rules that need the main package's graph g
// (listed in dir): every -X stamp names a string variable the binary
// links, and, unless the service builds with cgo, no package works only
// with cgo.
func CheckPackages(dir string, g golist.Graph, cfg config.Config) []Finding {
	main, ok := g.Main()
	if !ok {
		return []Finding{{Severity: Error, Rule: RulePackages, Path: filepath.Join(dir, "go.mod"),
			Message: fmt.Sprintf("go list found no main package %s", cfg.MainPackage), Fix: "set GANTRY_MAIN or Config.MainPackage to the service's main package"}}
	}
	if main.Error != nil {
		return []Finding{{Severity: Error, Rule: RulePackages, Path: filepath.Join(dir, "go.mod"),
			Message: fmt.Sprintf("the main package %s cannot be loaded: %s", cfg.MainPackage, main.Error.Err),
			Fix:     "fix the package, or set GANTRY_MAIN or Config.MainPackage to the service's main package"}}
	}
	if main.Name != "main" {
		return []Finding{{Severity: Error, Rule: RulePackages, Path: relTo(dir, main.Dir),
			Message: fmt.Sprintf("%s is package %s, not a main package", cfg.MainPackage, main.Name),
			Fix:     "set GANTRY_MAIN or Config.MainPackage to the service's main package"}}
	}
	vars := stampvars.New(g)
	// A package that does not parse would only make every stamp look
	// missing: the syntax error is the finding, and stamps wait for it.
	findings := parseErrorFindings(dir, vars)
	if len(findings) == 0 {
		findings = stampFindings(dir, vars, cfg.Stamp)
	}
	if cfg.CGO {
		return findings
	}
	return append(findings, cgoFindings(dir, g)...)
}

// relTo makes path, which go list gives absolute, relative to where dir
// is relative to, as the other findings' paths are.
func relTo(dir, path string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(abs, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.Join(dir, rel)
}

// stampWords are words the names of each stamp's variables usually hold.
var stampWords = map[string][]string{
	"Version": {"version"},
	"Commit":  {"commit", "revision", "sha"},
	"Date":    {"date", "time", "built"},
}

// parseErrorFindings reports the service's own packages that do not
// parse, each at the first error of its first broken file, with go's
// message.
func parseErrorFindings(dir string, vars *stampvars.Reader) []Finding {
	var findings []Finding
	for _, pe := range vars.ParseErrors() {
		first := pe.Errors[0]
		msg := fmt.Sprintf("package %s does not parse: %s:%d:%d: %s", pe.Package, filepath.Base(first.Pos.Filename), first.Pos.Line, first.Pos.Column, first.Msg)
		if len(pe.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(pe.Errors)-1)
		}
		findings = append(findings, Finding{Severity: Error, Rule: RulePackages, Path: relTo(dir, first.Pos.Filename), Line: first.Pos.Line,
			Message: msg, Fix: fmt.Sprintf("fix the syntax error (`go vet %s` shows it), then run check again: the stamps are checked once the package parses", pe.Package)})
	}
	return findings
}

// stampFindings applies the stamp rule: each -X target Gantry passes (a
// stamp switched off with "-" is empty by now) must be a package-level
// string variable of a package the binary links, or the linker ignores it
// and the binary never learns its version. A default stamp (nothing set
// it) that sets nothing is a warning: the build leaves it out
// (stampvars.Effective), so a service without version variables builds.
func stampFindings(dir string, vars *stampvars.Reader, stamp config.Stamp) []Finding {
	var findings []Finding
	for _, st := range stampvars.Stamps(stamp) {
		if st.Target == "" {
			continue
		}
		v, problem := vars.Check(st.Target)
		if problem == "" {
			continue
		}
		what := strings.ToLower(st.Field)
		f := Finding{Severity: Error, Rule: RuleStamp, Path: relTo(dir, vars.Main().Dir), Fix: stampFix(vars, st),
			Message: fmt.Sprintf("-X %s (%s) sets nothing, so the binary will not know its %s: %s", st.Target, st.Settings(), what, problem)}
		if v.Pos.IsValid() {
			f.Path, f.Line = relTo(dir, v.Pos.Filename), v.Pos.Line
		} else if p, ok := vars.Package(st.Target); ok {
			f.Path = relTo(dir, p.Dir)
		}
		if strings.HasPrefix(problem, "the linker names the main package main") {
			f.Fix = fmt.Sprintf("set %s to main.%s", st.Settings(), st.Target[strings.LastIndex(st.Target, ".")+1:])
		}
		if st.Default {
			f.Severity = Warning
			f.Message = fmt.Sprintf("-X %s (the default of %s, which is not set) sets nothing, so the build leaves it out and the binary will not know its %s: %s", st.Target, st.Settings(), what, problem)
			f.Fix += fmt.Sprintf("; or set %s to - to say the binary has no %s", st.Settings(), what)
		}
		findings = append(findings, f)
	}
	return findings
}

// stampFix names the variables of the service's own packages that the
// stamp could set, or says how to declare one.
func stampFix(vars *stampvars.Reader, st stampvars.Stamp) string {
	var found []string
	for _, v := range vars.Settable() {
		lower := strings.ToLower(v.Name)
		if slices.ContainsFunc(stampWords[st.Field], func(w string) bool { return strings.Contains(lower, w) }) {
			found = append(found, v.Target)
		}
	}
	what := strings.ToLower(st.Field)
	switch len(found) {
	case 0:
		return fmt.Sprintf("declare `var %s string` in the main package (or a package it imports) and set %s to it (e.g. main.%s); or set it to - to switch the stamp off", what, st.Settings(), what)
	case 1:
		return fmt.Sprintf("found %s; set %s to it", found[0], st.Settings())
	}
	return fmt.Sprintf("found %s; set %s to the one meant", strings.Join(found, ", "), st.Settings())
}

// pureGoAlternatives are well-known pure-Go replacements of cgo packages.
var pureGoAlternatives = map[string]string{
	"github.com/mattn/go-sqlite3": "modernc.org/sqlite (driver name \"sqlite\")",
}

// cgoFindings applies the cgo rule: Gantry builds with CGO_ENABLED=0 (a
// static binary for the distroless runtime), so a package that works only
// with cgo fails the build, or, behind a stub, the program when it runs.
func cgoFindings(dir string, g golist.Graph) []Finding {
	var findings []Finding
	for _, need := range g.NeedCgo() {
		cgoFiles := listSome(need.CgoFiles)
		msg := fmt.Sprintf("package %s works only with cgo (files importing \"C\": %s), and Gantry builds with CGO_ENABLED=0: with cgo off no Go file of it is left, so the build fails", need.ImportPath, cgoFiles)
		if need.StubFile != "" {
			msg = fmt.Sprintf("package %s works only with cgo (files importing \"C\": %s), and Gantry builds with CGO_ENABLED=0: with cgo off it builds %s instead, a stub that says %q, so the binary builds and fails when it runs", need.ImportPath, cgoFiles, need.StubFile, need.Stub)
		}
		fix := "build with cgo: set magetools.Config.CGO = true in the magefile's init() (GANTRY_CGO=true; Gantry links it statically, cross-compiled without emulation); or replace it with a pure-Go package"
		if alt, ok := pureGoAlternatives[need.ImportPath]; ok {
			fix += " such as " + alt
		}
		fix += fmt.Sprintf(" (`go mod why %s` shows what imports it)", need.ImportPath)
		findings = append(findings, Finding{Severity: Error, Rule: RuleCgo, Path: filepath.Join(dir, "go.mod"), Message: msg, Fix: fix})
	}
	return findings
}
