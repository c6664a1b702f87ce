package discover

import (
	"fmt"
	"regexp"
	"strings"
)

// MakefileNames are the names make reads, in its order.
var MakefileNames = []string{"GNUmakefile", "makefile", "Makefile"}

// makeAssignment is a variable assignment: NAME = value, :=, ::=, ?=, +=.
var makeAssignment = regexp.MustCompile(`^\s*(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(::?=|\?=|\+=|=)\s*(.*)$`)

// makeReference is $(NAME) or ${NAME}.
var makeReference = regexp.MustCompile(`\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]`)

// ParseMakefile finds the go build commands of a Makefile's recipes.
// Variables assigned in the file ($(LDFLAGS), ${PKG}) are expanded, so that
// -ldflags "$(LDFLAGS)" yields its -X targets; the others stay as written.
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
	for _, l := range lines {
		if strings.HasPrefix(l.text, "\t") {
			continue // a recipe line
		}
		m := makeAssignment.FindStringSubmatch(stripComment(l.text))
		if m == nil {
			continue
		}
		value := strings.TrimSpace(m[3])
		switch m[2] {
		case "+=":
			vars[m[1]] = strings.TrimSpace(vars[m[1]] + " " + value)
		case "?=":
			if _, ok := vars[m[1]]; !ok {
				vars[m[1]] = value
			}
		default:
			vars[m[1]] = value
		}
	}

	var builds []GoBuild
	for _, l := range lines {
		text := strings.TrimLeft(l.text, "\t @-+")
		if !strings.Contains(text, " build") {
			continue
		}
		source := fmt.Sprintf("%s line %d", file, l.line)
		commands, err := shellCommands(expand(text, vars))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		found, err := goBuilds(commands, source)
		if err != nil {
			return nil, err
		}
		builds = append(builds, found...)
	}
	return builds, nil
}

// expand replaces references to the file's variables, recursively (make's
// = is recursive), a bounded number of times.
func expand(s string, vars map[string]string) string {
	for range 10 {
		next := makeReference.ReplaceAllStringFunc(s, func(ref string) string {
			if v, ok := vars[makeReference.FindStringSubmatch(ref)[1]]; ok {
				return v
			}
			return ref
		})
		if next == s {
			break
		}
		s = next
	}
	return s
}

func stripComment(s string) string {
	if i := strings.Index(s, "#"); i >= 0 {
		return s[:i]
	}
	return s
}
