package adopt

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/embeds"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/magetools/config"
)

// packageFacts are what the main package's packages say about its build.
type packageFacts struct {
	// needCgo are the packages that work only with cgo, by mage check's
	// rule (golist.Graph.NeedCgo).
	needCgo []golist.CgoNeed
	// generators are the module's packages with //go:generate directives.
	generators []discover.Generator
	// missingEmbeds are the //go:embed patterns that match nothing in a
	// fresh checkout, by mage check's embed rule.
	missingEmbeds []embeds.Missing
}

// readPackages reads the main package's packages, listed once (err: why
// they could not be); a failure is noted, and the decisions go on without
// them.
func (l *Layout) readPackages(g golist.Graph, err error, embedsOf Embeds) packageFacts {
	if err != nil {
		l.Notes = append(l.Notes, fmt.Sprintf("cgo, //go:generate and generated embeds not looked for: %v", err))
		return packageFacts{}
	}
	gens, err := discover.Generators(g)
	if err != nil {
		l.Notes = append(l.Notes, fmt.Sprintf("//go:generate not looked for: %v", err))
	}
	missing, err := embedsOf(g, l.MainPackage)
	if err != nil {
		l.Notes = append(l.Notes, fmt.Sprintf("generated embeds not looked for: %v", err))
	}
	return packageFacts{needCgo: g.NeedCgo(), generators: gens, missingEmbeds: missing}
}

// decideBuild decides how the binary is built from the main package's
// builds (most trusted first) and its packages: tags, cgo, linker flags
// and the command that generates its inputs.
func (l *Layout) decideBuild(repo discover.Repo, builds []discover.GoBuild, facts packageFacts) {
	l.decideTags(builds)
	cgo := l.decideCGO(builds, facts.needCgo)
	l.decideLDFlags(builds, cgo)
	l.decidePrepare(repo, facts.generators, facts.missingEmbeds)
}

// decideTags takes the tags of the most trusted build that sets any.
func (l *Layout) decideTags(builds []discover.GoBuild) {
	i := slices.IndexFunc(builds, func(b discover.GoBuild) bool { return len(b.Tags) > 0 })
	if i < 0 {
		return
	}
	source := builds[i].From("tags")
	if tags := l.applicable("build tag", builds[i].Tags, source, config.CheckTag); len(tags) > 0 {
		l.decide("build tags", "Tags", tags, source, true)
	}
}

// decideCGO turns cgo on when the most trusted build that sets
// CGO_ENABLED sets 1, or none sets it and a package works only with cgo
// (mage check's rule). A build that sets 0 keeps it off even then, as the
// team said so: the note says what will fail. It returns the decision.
func (l *Layout) decideCGO(builds []discover.GoBuild, needs []golist.CgoNeed) bool {
	set := discover.Fact{}
	if i := slices.IndexFunc(builds, func(b discover.GoBuild) bool { v := b.CGO().Value; return v == "0" || v == "1" }); i >= 0 {
		set = builds[i].CGO()
	}
	need := describeNeeds(needs)
	switch {
	case set.Value == "1":
		l.decide("cgo", "CGO", true, set.Source, true)
		return true
	case set.Value == "0":
		l.decide("cgo", "CGO", false, set.Source, false)
		if need != "" {
			l.Notes = append(l.Notes, fmt.Sprintf("%s, but %s sets CGO_ENABLED=0, so cgo stays off and the build (or the program, behind a stub) fails: set magetools.Config.CGO = true, or replace the package with a pure-Go one", need, set.Source))
		}
		return false
	case need != "":
		l.decide("cgo", "CGO", true, need, true)
		return true
	}
	l.decide("cgo", "CGO", false, "the default; no build sets CGO_ENABLED and no package needs cgo", false)
	return false
}

// describeNeeds says which packages work only with cgo; "" for none.
func describeNeeds(needs []golist.CgoNeed) string {
	var parts []string
	for _, n := range needs {
		parts = append(parts, fmt.Sprintf("package %s works only with cgo (files importing \"C\": %s)", n.ImportPath, strings.Join(n.CgoFiles, ", ")))
	}
	return strings.Join(parts, "; ")
}

// decideLDFlags takes the linker flags, beside -s, -w and the -X stamps,
// of the most trusted build that has any.
func (l *Layout) decideLDFlags(builds []discover.GoBuild, cgo bool) {
	i := slices.IndexFunc(builds, func(b discover.GoBuild) bool { return len(b.LDFlags) > 0 })
	if i < 0 {
		return
	}
	source := builds[i].From("ldflags")
	var flags []string
	for _, f := range builds[i].LDFlags {
		if cgo && config.IsCgoLinkFlag(f) {
			l.Notes = append(l.Notes, fmt.Sprintf("linker flag %s (from %s) not applied: with cgo, Gantry links statically itself", f, source))
			continue
		}
		flags = append(flags, f)
	}
	if flags = l.applicable("linker flag", flags, source, config.CheckLDFlag); len(flags) > 0 {
		l.decide("linker flags", "LDFlags", flags, source, true)
	}
}

// applicable keeps the words (tags, flags, ports) the magefile can set;
// each other is noted with why: a goreleaser template or a variable means
// something only where it is written, and check is the configuration's.
func (l *Layout) applicable(kind string, words []string, source string, check func(string) error) []string {
	var keep []string
	for _, w := range words {
		why := ""
		switch {
		case strings.Contains(w, "{{"):
			why = "it holds a goreleaser template, which only goreleaser fills in; set the value it gives in magetools.Config yourself"
		case strings.Contains(w, "$"):
			file, _, _ := strings.Cut(source, " ")
			why = "it holds a variable, which only " + file + " expands; set its value in magetools.Config yourself"
		default:
			if err := check(w); err != nil {
				why = err.Error()
			}
		}
		if why != "" {
			l.Notes = append(l.Notes, fmt.Sprintf("%s %s (from %s) not applied: %s", kind, w, source, why))
			continue
		}
		keep = append(keep, w)
	}
	return keep
}
