package discover

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// MakefileNames are the names make reads, in its order.
var MakefileNames = []string{"GNUmakefile", "makefile", "Makefile"}

// makeAssignment is a variable assignment: NAME = value, :=, ::=, ?=, +=,
// and whether it is exported to the recipes' environment.
var makeAssignment = regexp.MustCompile(`^\s*(export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(::?=|\?=|\+=|=)\s*(.*)$`)

// makeReference is $(NAME) or ${NAME}.
var makeReference = regexp.MustCompile(`\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]`)

// ParseMakefile finds the go build commands of a Makefile's recipes.
// Variables assigned in the file ($(LDFLAGS), ${PKG}) are expanded, so that
// -ldflags "$(LDFLAGS)" yields its -X targets; the others stay as written.
// The variables it exports (export CGO_ENABLED=0) are in every build's
// environment.
func ParseMakefile(file string, content []byte) ([]GoBuild, error) {
	lines := makeLines(content)
	vars, exported := makeVars(file, lines)
	var environment []Var
	for _, name := range slices.Sorted(maps.Keys(exported)) {
		value, err := expand(vars[name], vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", exported[name], err)
		}
		environment = append(environment, Var{name, value, exported[name]})
	}

	var builds []GoBuild
	for _, l := range lines {
		text := strings.TrimLeft(l.text, "\t @-+")
		if !strings.Contains(text, " build") {
			continue
		}
		source := fmt.Sprintf("%s line %d", file, l.line)
		expanded, err := expand(text, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		commands, err := shellCommands(expanded)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		found, err := goBuilds(commands, source)
		if err != nil {
			return nil, err
		}
		for i := range found {
			found[i].Inherited = environment
		}
		builds = append(builds, found...)
	}
	return builds, nil
}

// makeLine is a logical line of a Makefile: its continuations (\ at the
// end) joined, and the number of its first line.
type makeLine struct {
	text string
	line int
}

func makeLines(content []byte) []makeLine {
	var lines []makeLine
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(content), "\n") {
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, makeLine{cur.String(), start})
		cur.Reset()
	}
	return lines
}

// makeVars are the variables the lines assign, and where the exported
// ones are exported.
func makeVars(file string, lines []makeLine) (vars, exported map[string]string) {
	vars, exported = map[string]string{}, map[string]string{}
	for _, l := range lines {
		if strings.HasPrefix(l.text, "\t") {
			continue // a recipe line
		}
		m := makeAssignment.FindStringSubmatch(stripComment(l.text))
		if m == nil {
			continue
		}
		name, value := m[2], strings.TrimSpace(m[4])
		switch m[3] {
		case "+=":
			vars[name] = strings.TrimSpace(vars[name] + " " + value)
		case "?=":
			if _, ok := vars[name]; !ok {
				vars[name] = value
			}
		default:
			vars[name] = value
		}
		if strings.HasPrefix(m[1], "export") {
			exported[name] = fmt.Sprintf("%s line %d", file, l.line)
		}
	}
	return vars, exported
}

// MakeTarget is a rule of a Makefile: its target and its recipe.
type MakeTarget struct {
	Name string
	// Line is the rule's line in the file.
	Line int
	// Recipe holds its commands, the file's variables expanded (those
	// that cannot be are left as written).
	Recipe []string
}

// makeRule is a rule's first line: targets, a colon (not :=), the
// prerequisites, and an optional recipe after ;.
var makeRule = regexp.MustCompile(`^([A-Za-z0-9_./%-]+(?:[ \t]+[A-Za-z0-9_./%-]+)*)[ \t]*::?([^=].*|)$`)

// ParseMakeTargets reads the rules of a Makefile, each target with its
// recipe: which command makes what (a UI build that writes ui/build).
// Pattern rules (%) and special targets (.PHONY) are left out.
func ParseMakeTargets(content []byte) []MakeTarget {
	lines := makeLines(content)
	vars, _ := makeVars("", lines)
	var targets []MakeTarget
	var current []int // the indexes of the rule's targets in targets
	for _, l := range lines {
		if strings.HasPrefix(l.text, "\t") {
			if command := strings.TrimSpace(l.text); command != "" && len(current) > 0 {
				if expanded, err := expand(command, vars); err == nil {
					command = expanded
				}
				for _, i := range current {
					targets[i].Recipe = append(targets[i].Recipe, command)
				}
			}
			continue
		}
		text := stripComment(l.text)
		if strings.TrimSpace(text) == "" {
			continue
		}
		current = nil
		m := makeRule.FindStringSubmatch(text)
		if m == nil || makeAssignment.MatchString(text) {
			continue
		}
		_, inline, _ := strings.Cut(m[2], ";")
		for _, name := range strings.Fields(m[1]) {
			if strings.HasPrefix(name, ".") || strings.Contains(name, "%") {
				continue
			}
			t := MakeTarget{Name: name, Line: l.line}
			if inline = strings.TrimSpace(inline); inline != "" {
				command := inline
				if expanded, err := expand(command, vars); err == nil {
					command = expanded
				}
				t.Recipe = append(t.Recipe, command)
			}
			current = append(current, len(targets))
			targets = append(targets, t)
		}
	}
	return targets
}

// Bounds of expand. make expands without bounds: ten variables, each ten
// references to the one before, make a file of a few hundred bytes that
// expands to 10^10 bytes. A go build line needs far less.
const (
	maxExpansion      = 64 << 10
	maxExpansionDepth = 10
)

// expand replaces references to the file's variables, recursively (make's
// = is recursive). Past maxExpansion bytes or maxExpansionDepth levels of
// references (a variable that refers to itself does not end) it gives up
// with an error.
func expand(s string, vars map[string]string) (string, error) {
	tooBig := fmt.Errorf("variable expansion exceeds %d bytes: make the variables of the go build line plain", maxExpansion)
	for depth := 0; ; depth++ {
		var b strings.Builder
		last, replaced := 0, false
		for _, m := range makeReference.FindAllStringSubmatchIndex(s, -1) {
			value, ok := vars[s[m[2]:m[3]]]
			if !ok {
				continue
			}
			if depth == maxExpansionDepth {
				return "", fmt.Errorf("variable expansion exceeds depth %d (a variable that refers to itself?): make the variables of the go build line plain", maxExpansionDepth)
			}
			b.WriteString(s[last:m[0]])
			b.WriteString(value)
			last, replaced = m[1], true
			// Checked at every reference: one pass over a line of many
			// references to a long value could already be too big to hold.
			if b.Len() > maxExpansion {
				return "", tooBig
			}
		}
		if !replaced {
			return s, nil
		}
		b.WriteString(s[last:])
		if b.Len() > maxExpansion {
			return "", tooBig
		}
		s = b.String()
	}
}

func stripComment(s string) string {
	if i := strings.Index(s, "#"); i >= 0 {
		return s[:i]
	}
	return s
}
