// Package stampvars is the one answer to "which variables can -X set" for
// a service's binary, read from the main package's graph (golist.Graph,
// the packages the build links): gantry init chooses its stamps with it,
// mage check's stamp rule checks them with it, and the build leaves out a
// default stamp it says sets nothing.
//
// The linker's -X sets a package-level variable of type string that is
// uninitialised or initialised to a constant expression (the compiler
// initialises those statically; anything else is computed when the program
// starts, over what -X wrote). Each package is type-checked on its own
// (go/types, function bodies skipped); the service's own packages it
// imports are type-checked too, so that a constant of another of them
// counts, while other imports are empty, which is all a stamp needs.
package stampvars

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"path"
	"path/filepath"
	"strings"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/magetools/config"
)

// Var is a package-level variable or constant of a linked package.
type Var struct {
	// Target is how -X names it: main.<name> in the main package, else
	// <import path>.<name>.
	Target string
	// Package is the import path of its package.
	Package string
	Name    string
	Pos     token.Position
	// Problem says why -X cannot set it; "" when it can.
	Problem string
}

// Reader reads the variables of one graph's packages, each package once.
type Reader struct {
	graph golist.Graph
	main  golist.Package
	fset  *token.FileSet
	pkgs  map[string]*checked
}

// checked is one package, parsed and type-checked.
type checked struct {
	files []*ast.File
	err   error
	pkg   *types.Package
	info  *types.Info
}

// New returns the reader of g. A graph without a main package has no
// variables -X can set.
func New(g golist.Graph) *Reader {
	main, _ := g.Main()
	return &Reader{graph: g, main: main, fset: token.NewFileSet(), pkgs: map[string]*checked{}}
}

// Main is the graph's main package.
func (r *Reader) Main() golist.Package { return r.main }

// ParseError is a package of the service's own module that does not parse.
type ParseError struct {
	Package string
	// Errors are go's, first first.
	Errors scanner.ErrorList
}

// ParseErrors lists the service's own packages that do not parse: their
// variables cannot be told, so a stamp on them waits until they do.
func (r *Reader) ParseErrors() []ParseError {
	var out []ParseError
	for _, p := range r.graph.Packages {
		if !p.InMainModule() {
			continue
		}
		var list scanner.ErrorList
		if err := r.check(p).err; errors.As(err, &list) && len(list) > 0 {
			out = append(out, ParseError{Package: p.ImportPath, Errors: list})
		}
	}
	return out
}

// Check says why -X target (<import path>.<name>, main.<name>) sets
// nothing in the binary, or "" when it sets a variable. v is the
// declaration when there is one, for the message's position.
func (r *Reader) Check(target string) (v Var, problem string) {
	dot := strings.LastIndex(target, ".")
	if dot < 0 {
		return Var{}, fmt.Sprintf("%s is not <import path>.<name>", target)
	}
	pkgPath, name := target[:dot], target[dot+1:]
	p := r.main
	switch {
	case r.main.ImportPath == "":
		return Var{}, "there is no main package"
	case pkgPath == r.main.ImportPath && pkgPath != "main":
		return Var{}, fmt.Sprintf("the linker names the main package main, not %s", pkgPath)
	case pkgPath != "main":
		var linked bool
		if p, linked = r.graph.Lookup(pkgPath); !linked {
			return Var{}, fmt.Sprintf("package %s is not linked into %s", pkgPath, r.main.ImportPath)
		}
	}
	vars, err := r.Vars(p)
	if err != nil {
		return Var{}, fmt.Sprintf("cannot parse package %s: %v", p.ImportPath, err)
	}
	for _, v := range vars {
		if v.Name == name {
			if v.Problem != "" {
				return v, name + " " + v.Problem
			}
			return v, ""
		}
	}
	return Var{}, fmt.Sprintf("package %s declares no package-level variable %s", pkgPath, name)
}

// Package returns the linked package -X target names: the main package
// for main.<name>.
func (r *Reader) Package(target string) (golist.Package, bool) {
	pkgPath := target[:max(strings.LastIndex(target, "."), 0)]
	if pkgPath == "main" {
		return r.main, r.main.ImportPath != ""
	}
	return r.graph.Lookup(pkgPath)
}

// Settable lists the variables -X can set in the service's own packages
// that the binary links, the main package's first, each package's in the
// order declared.
func (r *Reader) Settable() []Var {
	var out []Var
	pkgs := []golist.Package{r.main}
	for _, p := range r.graph.Packages {
		if p.InMainModule() && p.ImportPath != r.main.ImportPath {
			pkgs = append(pkgs, p)
		}
	}
	for _, p := range pkgs {
		if p.ImportPath == "" || p.Error != nil {
			continue
		}
		vars, _ := r.Vars(p)
		for _, v := range vars {
			if v.Problem == "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// Vars lists the package-level variables and constants of p, each with
// why -X cannot set it; the error is the package's parse error.
func (r *Reader) Vars(p golist.Package) ([]Var, error) {
	c := r.check(p)
	if c.err != nil {
		return nil, c.err
	}
	qualifier := p.ImportPath
	if p.ImportPath == r.main.ImportPath {
		qualifier = "main"
	}
	var vars []Var
	for _, f := range c.files {
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || (gen.Tok != token.VAR && gen.Tok != token.CONST) {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if id.Name == "_" {
						continue
					}
					var init ast.Expr
					switch {
					case i < len(vs.Values):
						init = vs.Values[i]
					case len(vs.Values) == 1: // var a, b = f()
						init = vs.Values[0]
					}
					vars = append(vars, Var{Target: qualifier + "." + id.Name, Package: p.ImportPath, Name: id.Name,
						Pos: r.fset.Position(id.Pos()), Problem: c.problem(gen.Tok, id, vs.Type, init)})
				}
			}
		}
	}
	return vars, nil
}

// problem says why -X cannot set the declaration of id, or "".
func (c *checked) problem(tok token.Token, id *ast.Ident, typ, init ast.Expr) string {
	if tok == token.CONST {
		return "is a constant; -X sets only variables: declare it with var"
	}
	obj := c.info.Defs[id]
	var t types.Type = types.Typ[types.Invalid]
	if obj != nil {
		t = obj.Type()
	}
	valid := t != types.Typ[types.Invalid]
	if valid && !types.Identical(t, types.Typ[types.String]) {
		return fmt.Sprintf("has type %s; -X sets only variables of type string", types.TypeString(t, (*types.Package).Name))
	}
	if typ != nil && !valid {
		return fmt.Sprintf("has type %s, which is not string", types.ExprString(typ))
	}
	if init == nil {
		return ""
	}
	if tv, ok := c.info.Types[init]; ok && tv.Value != nil {
		return "" // a constant expression: initialised statically
	}
	switch {
	case hasCall(init):
		return "is initialised by a function call, which -X cannot replace: initialise it to a string constant or not at all"
	case !valid:
		return fmt.Sprintf("is initialised from %s, which Gantry cannot tell is a string constant (it is another module's): initialise it to a string literal or not at all", types.ExprString(init))
	}
	return fmt.Sprintf("is initialised from %s, which is not a constant and is computed when the program starts, over what -X sets: initialise it to a string constant or not at all", types.ExprString(init))
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

// check parses and type-checks p, once.
func (r *Reader) check(p golist.Package) *checked {
	if c, ok := r.pkgs[p.ImportPath]; ok {
		return c
	}
	c := &checked{}
	r.pkgs[p.ImportPath] = c
	if c.files, c.err = r.parse(p); c.err != nil {
		return c
	}
	c.info = &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{
		IgnoreFuncBodies: true,
		FakeImportC:      true,
		Importer:         importer(r.importPackage),
		// Errors are expected (other modules' packages are empty) and
		// leave the expressions they touch invalid, which problem says.
		Error: func(error) {},
	}
	c.pkg, _ = conf.Check(p.ImportPath, r.fset, c.files, c.info)
	return c
}

// parse parses the files p compiles. The service's own are read as
// repofile reads its files (regular files, no link leading out of the
// repository, up to MaxGoFile); the others are the go command's.
func (r *Reader) parse(p golist.Package) ([]*ast.File, error) {
	if !p.InMainModule() {
		return golist.ParseFiles(r.fset, p)
	}
	dir := repofile.At(p.Dir)
	var files []*ast.File
	for _, name := range p.GoFiles {
		content, err := dir.Read(name, repofile.MaxGoFile)
		if err != nil {
			return nil, fmt.Errorf("not read: %w", err)
		}
		f, err := parser.ParseFile(r.fset, filepath.Join(p.Dir, name), content, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// importPackage gives the type-checker the service's own packages,
// checked, and every other one empty.
func (r *Reader) importPackage(importPath string) (*types.Package, error) {
	if importPath == "unsafe" {
		return types.Unsafe, nil
	}
	p, ok := r.graph.Lookup(importPath)
	if ok && p.InMainModule() {
		if c := r.check(p); c.pkg != nil {
			return c.pkg, nil
		}
	}
	name := path.Base(importPath)
	if ok && p.Name != "" {
		name = p.Name
	}
	empty := types.NewPackage(importPath, name)
	empty.MarkComplete()
	return empty, nil
}

type importer func(string) (*types.Package, error)

func (f importer) Import(path string) (*types.Package, error) { return f(path) }

// Stamp is one of the three stamps of the configuration.
type Stamp struct {
	// Field is Config.Stamp's field: Version, Commit, Date.
	Field string
	// Target is its -X target, "" when switched off.
	Target string
	// Default: nothing set it, so it took its default (main.<field>).
	Default bool
}

// Stamps are s's stamps, in the order Version, Commit, Date.
func Stamps(s config.Stamp) []Stamp {
	return []Stamp{
		{"Version", s.Version, s.Defaulted.Version},
		{"Commit", s.Commit, s.Defaulted.Commit},
		{"Date", s.Date, s.Defaulted.Date},
	}
}

// Settings names the settings of the stamp, for messages.
func (s Stamp) Settings() string {
	return fmt.Sprintf("Config.Stamp.%s or GANTRY_STAMP_%s", s.Field, strings.ToUpper(s.Field))
}

// Skipped is a default stamp the build leaves out, and why.
type Skipped struct {
	Stamp
	Problem string
}

// Effective returns the stamps a build of the graph passes: s without the
// default stamps whose variable -X cannot set (a service that declares no
// version variable still builds), each in skipped with why. A stamp the
// team set that sets nothing is an error naming the fix: the binary would
// not know what the team asked it to.
func (r *Reader) Effective(s config.Stamp) (effective config.Stamp, skipped []Skipped, err error) {
	effective = s
	fields := map[string]*string{"Version": &effective.Version, "Commit": &effective.Commit, "Date": &effective.Date}
	var errs []error
	for _, st := range Stamps(s) {
		if st.Target == "" {
			continue
		}
		_, problem := r.Check(st.Target)
		switch {
		case problem == "":
		case st.Default:
			*fields[st.Field] = ""
			skipped = append(skipped, Skipped{st, problem})
		default:
			errs = append(errs, fmt.Errorf("-X %s (%s) sets nothing: %s; set it to a string variable the binary links, or to - to switch the stamp off (mage check names the candidates)", st.Target, st.Settings(), problem))
		}
	}
	return effective, skipped, errors.Join(errs...)
}
