package conformance

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/repofile"
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
	s := stampSources{dir: dir, graph: g, main: main, fset: token.NewFileSet(), files: map[string][]*ast.File{}}
	// A package that does not parse would only make every stamp look
	// missing: the syntax error is the finding, and stamps wait for it.
	findings := s.parseErrors()
	if len(findings) == 0 {
		findings = s.check(cfg.Stamp)
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

// stampRole is one of the three stamps: the setting naming its variable
// and words its variables' names usually hold.
type stampRole struct {
	what, settings string
	words          []string
}

var (
	versionRole = stampRole{"version", "Config.Stamp.Version or GANTRY_STAMP_VERSION", []string{"version"}}
	commitRole  = stampRole{"commit", "Config.Stamp.Commit or GANTRY_STAMP_COMMIT", []string{"commit", "revision", "sha"}}
	dateRole    = stampRole{"date", "Config.Stamp.Date or GANTRY_STAMP_DATE", []string{"date", "time", "built"}}
)

// stampSources finds the variables of the graph's packages, parsing each
// package once.
type stampSources struct {
	dir   string
	graph golist.Graph
	main  golist.Package
	fset  *token.FileSet
	files map[string][]*ast.File
}

func (s stampSources) parsed(p golist.Package) ([]*ast.File, error) {
	if files, ok := s.files[p.ImportPath]; ok {
		return files, nil
	}
	files, err := golist.ParseFiles(s.fset, p)
	s.files[p.ImportPath] = files
	return files, err
}

// parseErrors reports the service's own packages that do not parse, each
// at the first error of its first broken file, with go's message.
func (s stampSources) parseErrors() []Finding {
	var findings []Finding
	for _, p := range s.graph.Packages {
		if !p.InMainModule() {
			continue
		}
		_, err := s.parsed(p)
		var list scanner.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			continue
		}
		first := list[0]
		msg := fmt.Sprintf("package %s does not parse: %s:%d:%d: %s", p.ImportPath, filepath.Base(first.Pos.Filename), first.Pos.Line, first.Pos.Column, first.Msg)
		if len(list) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(list)-1)
		}
		findings = append(findings, Finding{Severity: Error, Rule: RulePackages, Path: relTo(s.dir, first.Pos.Filename), Line: first.Pos.Line,
			Message: msg, Fix: fmt.Sprintf("fix the syntax error (`go vet %s` shows it), then run check again: the stamps are checked once the package parses", p.ImportPath)})
	}
	return findings
}

// check applies the stamp rule: each -X target Gantry passes (a stamp
// switched off with "-" is empty by now) must be a package-level string
// variable of a package the binary links, or the linker ignores it and the
// binary never learns its version.
func (s stampSources) check(stamp config.Stamp) []Finding {
	var findings []Finding
	for _, st := range []struct {
		target string
		role   stampRole
	}{{stamp.Version, versionRole}, {stamp.Commit, commitRole}, {stamp.Date, dateRole}} {
		if st.target == "" {
			continue
		}
		if f, bad := s.checkTarget(st.target, st.role); bad {
			findings = append(findings, f)
		}
	}
	return findings
}

func (s stampSources) checkTarget(target string, role stampRole) (Finding, bool) {
	dot := strings.LastIndex(target, ".")
	pkgPath, name := target[:dot], target[dot+1:]
	f := Finding{Severity: Error, Rule: RuleStamp, Path: relTo(s.dir, s.main.Dir), Fix: s.fix(role)}
	prefix := fmt.Sprintf("-X %s (%s) sets nothing, so the binary will not know its %s: ", target, role.settings, role.what)
	pkg := s.main
	switch {
	case pkgPath == s.main.ImportPath:
		f.Message = prefix + fmt.Sprintf("the linker names the main package main, not %s", pkgPath)
		f.Fix = fmt.Sprintf("set %s to main.%s", role.settings, name)
		return f, true
	case pkgPath != "main":
		var linked bool
		if pkg, linked = s.graph.Lookup(pkgPath); !linked {
			f.Message = prefix + fmt.Sprintf("package %s is not linked into %s", pkgPath, s.main.ImportPath)
			return f, true
		}
		f.Path = relTo(s.dir, pkg.Dir)
	}
	files, err := s.parsed(pkg)
	if err != nil {
		f.Message = prefix + fmt.Sprintf("cannot parse package %s: %v", pkg.ImportPath, err)
		return f, true
	}
	v, found := lookupVar(files, name)
	if !found {
		f.Message = prefix + fmt.Sprintf("package %s has no package-level variable %s", pkgPath, name)
		return f, true
	}
	if v.problem == "" {
		return Finding{}, false
	}
	pos := s.fset.Position(v.pos)
	f.Path, f.Line = relTo(s.dir, pos.Filename), pos.Line
	f.Message = prefix + fmt.Sprintf("%s %s", name, v.problem)
	return f, true
}

// fix names the variables of the service's own packages that the stamp
// could set, or says how to declare one.
func (s stampSources) fix(role stampRole) string {
	var found []string
	for _, p := range s.graph.Packages {
		if !p.InMainModule() || p.Error != nil {
			continue
		}
		files, err := s.parsed(p)
		if err != nil {
			continue
		}
		qualifier := p.ImportPath
		if p.ImportPath == s.main.ImportPath {
			qualifier = "main"
		}
		for _, v := range packageVars(files) {
			lower := strings.ToLower(v.name)
			if v.problem == "" && slices.ContainsFunc(role.words, func(w string) bool { return strings.Contains(lower, w) }) {
				found = append(found, qualifier+"."+v.name)
			}
		}
	}
	switch len(found) {
	case 0:
		return fmt.Sprintf("declare `var %s string` in the main package (or a package it imports) and set %s to it (e.g. main.%s); or set it to - to switch the stamp off", role.what, role.settings, role.what)
	case 1:
		return fmt.Sprintf("found %s; set %s to it", found[0], role.settings)
	}
	return fmt.Sprintf("found %s; set %s to the one meant", strings.Join(found, ", "), role.settings)
}

// packageVar is a package-level variable and, when -X cannot set it, why.
type packageVar struct {
	name    string
	pos     token.Pos
	problem string
}

// lookupVar finds the package-level variable or constant name.
func lookupVar(files []*ast.File, name string) (packageVar, bool) {
	vars := packageVars(files)
	i := slices.IndexFunc(vars, func(v packageVar) bool { return v.name == name })
	if i < 0 {
		return packageVar{}, false
	}
	return vars[i], true
}

// packageVars lists the package-level variables and constants of files.
// The linker's -X sets a variable of type string that is uninitialised or
// initialised to a constant string expression: a constant, another type or
// a function call in the initialiser gets a problem.
func packageVars(files []*ast.File) []packageVar {
	var vars []packageVar
	for _, f := range files {
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || (gen.Tok != token.VAR && gen.Tok != token.CONST) {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					var init ast.Expr
					if i < len(vs.Values) {
						init = vs.Values[i]
					}
					vars = append(vars, packageVar{name: id.Name, pos: id.Pos(), problem: stampProblem(gen.Tok, vs.Type, init)})
				}
			}
		}
	}
	return vars
}

// stampProblem says why -X cannot set a declaration, or "".
func stampProblem(tok token.Token, typ, init ast.Expr) string {
	switch {
	case tok == token.CONST:
		return "is a constant; -X sets only variables: declare it with var"
	case typ != nil && !isIdent(typ, "string"):
		return fmt.Sprintf("has type %s; -X sets only variables of type string", types.ExprString(typ))
	case init != nil && hasCall(init):
		return "is initialised by a function call, which -X cannot replace: initialise it to a string constant or not at all"
	case typ == nil && !isStringConstant(init):
		return "has no type and an initialiser that is not a string literal, so its type is not plainly string: give it the type string"
	}
	return ""
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// isStringConstant reports whether e is a string literal or a sum of them.
func isStringConstant(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.ParenExpr:
		return isStringConstant(e.X)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && isStringConstant(e.X) && isStringConstant(e.Y)
	}
	return false
}

func hasCall(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if _, ok := n.(*ast.CallExpr); ok {
			found = true
		}
		return !found
	})
	return found
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
