package discover

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/repofile"
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

// SourceStamps finds the package-level string variables that can receive
// a version stamp, in the main package mainPkg ("./cmd", ".") of the
// module at dir, then in the packages it imports from the module whose
// path ends in "build" or "version" (pkg/build, internal/version). They
// are returned as -X names: main.version, <import path>.<name>. Only the
// source is parsed; nothing is compiled.
func SourceStamps(dir, modulePath, mainPkg string) ([]string, error) {
	root := repofile.At(dir)
	vars, imports, err := stringVars(root, mainPkg)
	if err != nil {
		return nil, err
	}
	var stamps []string
	for _, v := range vars {
		stamps = append(stamps, "main."+v)
	}
	for _, imp := range imports {
		rel, ok := strings.CutPrefix(imp, modulePath+"/")
		base := path.Base(imp)
		if !ok || !(strings.HasSuffix(base, "build") || strings.HasSuffix(base, "version")) {
			continue
		}
		vars, _, err := stringVars(root, rel)
		if err != nil {
			return nil, err
		}
		for _, v := range vars {
			stamps = append(stamps, imp+"."+v)
		}
	}
	return stamps, nil
}

// stringVars parses the package pkg (slash-separated, relative to root;
// its files for this platform, no tests) and returns its package-level
// string variables that -X can set (typed string, or untyped with a
// string literal) whose names are stamp names, and the package's imports.
func stringVars(root repofile.Dir, pkg string) (vars, imports []string, err error) {
	dir := filepath.Join(root.Path, filepath.FromSlash(pkg))
	p, err := root.GoContext().ImportDir(dir, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read the Go package in %s: %w", dir, err)
	}
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		content, err := root.Read(path.Join(pkg, name), repofile.MaxGoFile)
		if err != nil {
			return nil, nil, fmt.Errorf("not read: %w", err)
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), content, parser.SkipObjectResolution)
		if err != nil {
			return nil, nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, name), err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if _, ok := stampKind(n.Name); ok && isStringVar(vs, i) {
						vars = append(vars, n.Name)
					}
				}
			}
		}
	}
	return vars, p.Imports, nil
}

// isStringVar: -X sets a string variable that is uninitialised or
// initialised to a constant string.
func isStringVar(vs *ast.ValueSpec, i int) bool {
	if vs.Type != nil {
		id, ok := vs.Type.(*ast.Ident)
		if !ok || id.Name != "string" {
			return false
		}
		if len(vs.Values) == 0 {
			return true
		}
	}
	if i >= len(vs.Values) {
		return false
	}
	lit, ok := vs.Values[i].(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}
