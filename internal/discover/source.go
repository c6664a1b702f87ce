package discover

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/stampvars"
)

// StampKind is what a version stamp receives.
type StampKind int

const (
	StampVersion StampKind = iota
	StampCommit
	StampDate
)

// StampKinds are the kinds, in the order they are reported.
var StampKinds = []StampKind{StampVersion, StampCommit, StampDate}

func (k StampKind) String() string {
	return [...]string{"version", "commit", "date"}[k]
}

// Field is the stamp's field of the configuration's Stamp: Version.
func (k StampKind) Field() string {
	return [...]string{"Version", "Commit", "Date"}[k]
}

// stampNames are the variable names each kind is recognised by, lower-
// cased, most likely first.
var stampNames = map[StampKind][]string{
	StampVersion: {"version", "appversion", "buildversion", "gitversion", "semver"},
	StampCommit:  {"commit", "gitcommit", "revision", "gitrevision", "commithash", "commitsha", "githash", "gitsha", "sha"},
	StampDate:    {"date", "builddate", "buildtime", "committime", "commitdate", "buildtimestamp", "timestamp"},
}

// stampKind classifies a variable name; ok is false for other names.
func stampKind(name string) (StampKind, bool) {
	for _, k := range StampKinds {
		if slices.Contains(stampNames[k], strings.ToLower(name)) {
			return k, true
		}
	}
	return 0, false
}

// rank orders names of one kind: the earlier in stampNames, the better.
func rank(k StampKind, name string) int {
	return slices.Index(stampNames[k], strings.ToLower(name))
}

// ClassifyStamps sorts -X targets (<import path>.<name>) by kind: the
// first target of each kind, by the order of stampNames.
func ClassifyStamps(targets []string) map[StampKind]string {
	out := map[StampKind]string{}
	for _, t := range targets {
		name := t[strings.LastIndex(t, ".")+1:]
		k, ok := stampKind(name)
		if !ok {
			continue
		}
		if cur, seen := out[k]; !seen || rank(k, name) < rank(k, cur[strings.LastIndex(cur, ".")+1:]) {
			out[k] = t
		}
	}
	return out
}

// Stamps decides the -X target of each stamp from the variables the
// binary links (vars, the main package's graph, as mage check reads it):
// the first build that sets one of its kind (goreleaser, Dockerfile,
// Makefile) with a target that sets a variable, else a variable the
// service's own packages declare (SourceStamps). A kind it leaves out
// takes the targets' default, main.<kind>. notes say which targets of the
// builds are not used, and why: a target that sets nothing (goreleaser's
// boilerplate names main.commit in every project), or one holding a
// template or variable that cannot be resolved.
func (r Repo) Stamps(vars *stampvars.Reader) (stamps map[StampKind]Fact, notes []string) {
	stamps = map[StampKind]Fact{}
	for _, b := range r.Builds() {
		var usable []string
		for _, written := range b.Stamps {
			name := written[strings.LastIndex(written, ".")+1:]
			k, ok := stampKind(name)
			if !ok {
				continue
			}
			target, ok := ResolveTarget(written, r.Module.Path)
			if !ok {
				notes = append(notes, fmt.Sprintf("-X %s (from %s) not used: %s, whose value only the build tool knows; the %s stamp is decided without it (to choose, set magetools.Config.Stamp.%s to <import path>.<name>)",
					written, b.From("ldflags"), unresolved(target), k, k.Field()))
				continue
			}
			if _, problem := vars.Check(target); problem != "" {
				notes = append(notes, fmt.Sprintf("-X %s (from %s) not used: %s sets nothing: %s", written, b.From("ldflags"), target, problem))
				continue
			}
			usable = append(usable, target)
		}
		for k, target := range ClassifyStamps(usable) {
			if _, ok := stamps[k]; !ok {
				stamps[k] = Fact{target, b.From("ldflags")}
			}
		}
	}
	for k, target := range ClassifyStamps(SourceStamps(vars)) {
		if _, ok := stamps[k]; !ok {
			stamps[k] = Fact{target, "the Go source declares it"}
		}
	}
	return stamps, notes
}

// SourceStamps are the variables -X can set whose names are stamp names,
// declared in the main package or in a package of the service's module it
// links whose path ends in "build" or "version" (pkg/build,
// internal/version), as -X names them.
func SourceStamps(vars *stampvars.Reader) []string {
	var stamps []string
	for _, v := range vars.Settable() {
		base := path.Base(v.Package)
		if _, ok := stampKind(v.Name); !ok || (v.Package != vars.Main().ImportPath && !strings.HasSuffix(base, "build") && !strings.HasSuffix(base, "version")) {
			continue
		}
		stamps = append(stamps, v.Target)
	}
	return stamps
}

// modulePathTemplates are what build files write for the module path:
// make's and the shell's `go list -m`, goreleaser's template.
var modulePathTemplates = regexp.MustCompile(`\$\(shell\s+go\s+list\s+-m\s*\)|\$\$?\(\s*go\s+list\s+-m\s*\)|` + "`go list -m`" + `|\{\{-?\s*\.ModulePath\s*-?\}\}`)

// ResolveTarget resolves the module path in an -X target as its build
// tool would: `$(shell go list -m)`, `$(go list -m)` and goreleaser's
// {{.ModulePath}} are modulePath (a Makefile variable set to either is
// expanded by then). ok is false when a variable or template is left,
// whose value only the build tool knows.
func ResolveTarget(target, modulePath string) (resolved string, ok bool) {
	resolved = modulePathTemplates.ReplaceAllLiteralString(target, modulePath)
	return resolved, !strings.Contains(resolved, "$") && !strings.Contains(resolved, "{{") && !strings.Contains(resolved, "`")
}

// unresolved names what is left in a target ResolveTarget cannot resolve.
func unresolved(target string) string {
	if strings.Contains(target, "{{") {
		return "it holds a template"
	}
	return "it holds a variable"
}
