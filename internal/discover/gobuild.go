package discover

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/mattn/go-shellwords"
)

// GoBuild is what one build of the service's binary says: a goreleaser
// build, or a `go build` command in a Dockerfile or a Makefile.
type GoBuild struct {
	// Source is where it is written: ".goreleaser.yaml builds[0]",
	// "Dockerfile line 12", "Makefile line 7".
	Source string
	// Package is the package built, as written ("./cmd/api", "." or an
	// import path); "" when none is named.
	Package string
	// Binary is the name of the binary it writes (goreleaser's binary, go
	// build's -o); "" when not said.
	Binary string
	// Stamps are the -X targets of its -ldflags, as <import path>.<name>.
	Stamps []string
	// LDFlags are the other flags of its -ldflags: neither -s, -w nor -X,
	// each as one word (-extldflags=-static), templates and variables as
	// written.
	LDFlags []string
	// Tags are its build tags (-tags, goreleaser's tags).
	Tags []string
	// Env are the KEY=VALUE its command is run with (CGO_ENABLED=1).
	Env []string
	// Inherited are the variables set for the command around it: the
	// Dockerfile stage's ENV and ARG, the Makefile's export. Env wins.
	Inherited []Var
	// fields: Source names a YAML node, so a field's source is
	// Source + "." + field.
	fields bool
}

// From says where a field of the build is written: for goreleaser the
// field itself (".goreleaser.yaml builds[0].main"), else the line.
func (b GoBuild) From(field string) string {
	if b.fields {
		return b.Source + "." + field
	}
	return b.Source
}

// Var is an environment variable set for a build, and where.
type Var struct {
	Name, Value, Source string
}

// CGO returns the CGO_ENABLED the build runs with, quotes removed, and
// where it is set; Value is "" when nothing sets it.
func (b GoBuild) CGO() Fact {
	const name = "CGO_ENABLED"
	for _, kv := range b.Env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return Fact{strings.Trim(v, `"'`), b.From("env")}
		}
	}
	for _, v := range slices.Backward(b.Inherited) {
		if v.Name == name {
			return Fact{strings.Trim(v.Value, `"'`), v.Source}
		}
	}
	return Fact{}
}

// goBuildValueFlags are the flags of `go build` that take the next
// argument as their value when not written -flag=value.
var goBuildValueFlags = map[string]bool{
	"-o": true, "-ldflags": true, "-tags": true, "-gcflags": true, "-asmflags": true, "-gccgoflags": true,
	"-mod": true, "-modfile": true, "-p": true, "-pkgdir": true, "-buildmode": true, "-compiler": true,
	"-installsuffix": true, "-overlay": true, "-pgo": true, "-toolexec": true, "-C": true, "-covermode": true,
	"-coverpkg": true, "-exec": true,
}

// shellCommands splits a shell line into its simple commands (split at
// ;, &&, ||, | and redirections), each as words with quotes removed.
// Variables are left as written ($VERSION).
func shellCommands(line string) ([][]string, error) {
	var cmds [][]string
	rest := []rune(line)
	for len(rest) > 0 {
		p := shellwords.NewParser()
		words, err := p.Parse(string(rest))
		if err != nil {
			return nil, err
		}
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		if p.Position < 0 {
			break
		}
		rest = rest[p.Position+1:]
	}
	return cmds, nil
}

// goBuildCommand reads a simple command: when it runs `go build`
// (after VAR=value assignments, or as `$(GO) build`), the GoBuild it
// describes; ok is false for any other command.
func goBuildCommand(words []string, source string) (b GoBuild, ok bool, err error) {
	b.Source = source
	i := 0
	for ; i < len(words) && isAssignment(words[i]); i++ {
		b.Env = append(b.Env, words[i])
	}
	if i+1 >= len(words) || !isGoCommand(words[i]) || words[i+1] != "build" {
		return GoBuild{}, false, nil
	}
	args := words[i+2:]
	var pkgs []string
	for j := 0; j < len(args); j++ {
		if arg := args[j]; !strings.HasPrefix(arg, "-") || arg == "-" {
			pkgs = append(pkgs, arg)
			continue
		}
		var name, value string
		var hasValue bool
		name, value, hasValue, j = readFlag(args, j, goBuildValueFlags)
		if !hasValue {
			continue
		}
		switch name {
		case "-o":
			b.Binary = path.Base(value)
		case "-tags":
			b.Tags = append(b.Tags, splitTags(value)...)
		case "-ldflags":
			stamps, others, err := parseLDFlags(value)
			if err != nil {
				return GoBuild{}, false, fmt.Errorf("%s: -ldflags: %w", source, err)
			}
			b.Stamps = append(b.Stamps, stamps...)
			b.LDFlags = append(b.LDFlags, others...)
		}
	}
	// go build file.go builds the package of the file's directory.
	for _, p := range pkgs {
		if strings.HasSuffix(p, ".go") {
			p = path.Dir(p)
			if p != "." && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") {
				p = "./" + p
			}
		}
		if b.Package == "" {
			b.Package = p
		}
	}
	return b, true, nil
}

// readFlag reads the flag args[i] as Go's flag package does: its name
// (--flag as -flag) and its value, written -flag=value or, for a flag of
// takesValue, as the next argument; last is the index of the last
// argument read.
func readFlag(args []string, i int, takesValue map[string]bool) (name, value string, hasValue bool, last int) {
	name, value, hasValue = strings.Cut(args[i], "=")
	if strings.HasPrefix(name, "--") {
		name = name[1:]
	}
	if !hasValue && takesValue[name] && i+1 < len(args) {
		return name, args[i+1], true, i + 1
	}
	return name, value, hasValue, i
}

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func isAssignment(word string) bool {
	name, _, ok := strings.Cut(word, "=")
	return ok && variableName.MatchString(name)
}

// isGoCommand: go, /usr/local/go/bin/go, or a make variable for it.
func isGoCommand(word string) bool {
	switch word {
	case "$(GO)", "${GO}", "$(GOCMD)", "${GOCMD}", "$GO":
		return true
	}
	return path.Base(word) == "go"
}

func splitTags(value string) []string {
	return strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' })
}

// linkValueFlags are the flags of `go tool link` that take a value, which
// may be the next word (-extldflags "-static"); the others are booleans.
var linkValueFlags = map[string]bool{
	"-B": true, "-D": true, "-E": true, "-H": true, "-I": true, "-L": true, "-R": true, "-T": true, "-X": true,
	"-benchmark": true, "-benchmarkprofile": true, "-buildid": true, "-buildmode": true, "-capturehostobjs": true,
	"-cpuprofile": true, "-debugtextsize": true, "-debugtramp": true, "-extar": true, "-extld": true,
	"-extldflags": true, "-fipso": true, "-funcalign": true, "-importcfg": true, "-installsuffix": true, "-k": true,
	"-libgcc": true, "-linkmode": true, "-memprofile": true, "-memprofilerate": true, "-o": true, "-pluginpath": true,
	"-r": true, "-randlayout": true, "-strictdups": true, "-tmpdir": true,
}

// parseLDFlags reads an -ldflags value: "-s -w -X github.com/acme/svc/pkg/build.version=1.2
// -extldflags '-static'" gives the -X target github.com/acme/svc/pkg/build.version,
// and the other flags but -s and -w, one word each: -extldflags=-static.
func parseLDFlags(ldflags string) (stamps, others []string, err error) {
	words, err := shellwords.Parse(ldflags)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < len(words); i++ {
		var name, value string
		var hasValue bool
		name, value, hasValue, i = readFlag(words, i, linkValueFlags)
		switch {
		case name == "-X":
			if target, _, ok := strings.Cut(value, "="); ok && strings.Contains(target, ".") {
				stamps = append(stamps, target)
			}
		case name == "-s" || name == "-w":
		case hasValue:
			others = append(others, name+"="+value)
		default:
			others = append(others, name)
		}
	}
	return stamps, others, nil
}

// goBuilds returns the go build commands among commands, each with its
// source.
func goBuilds(commands [][]string, source string) ([]GoBuild, error) {
	var builds []GoBuild
	for _, words := range commands {
		b, ok, err := goBuildCommand(words, source)
		if err != nil {
			return nil, err
		}
		if ok {
			builds = append(builds, b)
		}
	}
	return builds, nil
}
