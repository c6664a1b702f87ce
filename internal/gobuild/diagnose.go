package gobuild

import (
	"fmt"
	"regexp"
	"strings"
)

// FirstError is the first error go printed: its first line that is
// neither blank nor a "# <package>" heading, with the indented lines that
// continue it ("package x\n\timports y: ..."); "" when there is none.
func FirstError(output string) string {
	var parts []string
	for _, line := range strings.Split(output, "\n") {
		indented := strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ")
		line = strings.TrimSpace(line)
		switch {
		case len(parts) > 0 && indented && line != "":
			parts = append(parts, line)
		case len(parts) > 0:
			return strings.Join(parts, " ")
		case line != "" && !strings.HasPrefix(line, "#"):
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}

// embedError is go's error for a //go:embed pattern that matches nothing:
// "pattern build/*: no matching files found", or a directory of none.
var embedError = regexp.MustCompile(`pattern \S+: (no matching files found|cannot embed directory .*: contains no embeddable files)`)

// Diagnose says why a go build failed, from what go printed (output) and
// the settings the build actually ran with: cgo is whether it had
// CGO_ENABLED=1 (Config.CGO), prepare is Config.Prepare. It names go's
// error, then what to do: for a //go:embed pattern matching nothing, that
// the files are generated and Prepare must make them; for a package that
// works only with cgo, in a build with CGO_ENABLED=0, to turn cgo on.
// needCgo lists the packages that work only with cgo (NeedsCgo, with the
// build's platform); it is called only for a build with cgo off, and a
// package counts only when go's output names it.
func Diagnose(output string, cgo bool, prepare []string, needCgo func() []string) string {
	first := FirstError(output)
	if first == "" {
		return ""
	}
	diagnosis := fmt.Sprintf("go printed %q", first)
	if m := embedError.FindString(output); m != "" {
		if len(prepare) > 0 {
			return fmt.Sprintf("%s: %s: the files //go:embed names are generated, and `%s` (Config.Prepare) ran before the build without making them: fix that command so that it creates them", diagnosis, m, strings.Join(prepare, " "))
		}
		return fmt.Sprintf("%s: %s: the files //go:embed names are generated (the commit does not hold them), so they must be made before every build: set magetools.Config.Prepare (GANTRY_PREPARE) to the command that makes them (gantry init looks for it in the Makefile and package.json); `go tool mage check` names the pattern", diagnosis, m)
	}
	if cgo {
		return diagnosis
	}
	var named []string
	for _, p := range needCgo() {
		if strings.Contains(output, p) {
			named = append(named, p)
		}
	}
	if len(named) == 0 {
		return diagnosis
	}
	return fmt.Sprintf("%s: %s works only with cgo, and this build ran with CGO_ENABLED=0 (Config.CGO is false): set magetools.Config.CGO = true (GANTRY_CGO=true), or replace it with a pure-Go package", diagnosis, strings.Join(named, ", "))
}
