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
	type logical struct {
		text string
		line int
	}
	var lines []logical
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
		lines = append(lines, logical{cur.String(), start})
		cur.Reset()
	}

	vars := map[string]string{}
	// exported names the exported variables, and where they are exported.
	exported := map[string]string{}
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
