// Package golist reads the package graph of a service's main package as
// Gantry builds it (CGO_ENABLED=0, GOWORK=off, for a target platform), with
// one `go list -deps` and no compilation, so that `mage check` can tell
// what the binary will link before anything is built: which variables a
// -X stamp can set, and which packages work only with cgo.
package golist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/run"
)

// Package is one package of the graph, as `go list -json` describes it
// with cgo off.
type Package struct {
	Dir        string
	ImportPath string
	Name       string
	// Standard is true for the standard library.
	Standard bool
	// DepOnly is false only for the main package itself.
	DepOnly bool
	Module  *struct {
		Path string
		Main bool
	}
	// GoMod is the go.mod file of the package's module (go list's
	// Module.GoMod), read apart by Decode so that Module keeps the shape
	// its readers build.
	GoMod string `json:"-"`
	// ModuleVersion is the version of the package's module as the build
	// uses it (go list's Module.Version, and " => " its replacement's path
	// and version when replaced), read apart as GoMod is: what a service's
	// inputs digest holds of go.mod and go.sum.
	ModuleVersion string `json:"-"`
	// GoFiles are the files compiled with cgo off; IgnoredGoFiles those
	// build constraints (cgo's among them) leave out.
	GoFiles        []string
	IgnoredGoFiles []string
	Error          *PackageError

	// The package's other source files, those constraints leave out, and
	// the files it embeds (//go:embed), relative to Dir.
	CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles, SwigFiles, SwigCXXFiles, SysoFiles []string
	IgnoredOtherFiles, EmbedFiles                                                                  []string
}

// PackageError is go list's error of a package: Err is go's message,
// Pos where it points (file:line:col, relative to the listing directory),
// when it points anywhere.
type PackageError struct {
	Pos string
	Err string
}

// InMainModule reports whether the package belongs to the service's own module.
func (p Package) InMainModule() bool { return p.Module != nil && p.Module.Main }

// Graph is the main package and every package it links, as Gantry builds it.
type Graph struct {
	// Packages are in go list's order: dependencies first, the main package last.
	Packages []Package
	// GOOS and GOARCH are the platform the graph was listed for.
	GOOS, GOARCH string
}

// listFields are the fields List asks go list for: fewer fields, less work.
var listFields = "Dir,ImportPath,Name,Standard,DepOnly,Module,GoFiles,IgnoredGoFiles," +
	"CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,IgnoredOtherFiles,EmbedFiles,Error"

// Command is the go list command of List: the graph of mainPackage (in
// dir) as Gantry's build compiles it, cgo off and the service's go.mod
// alone (GOWORK=off), for goos/goarch.
func Command(dir, mainPackage, goos, goarch string) run.Cmd {
	return run.Cmd{Name: "go", Dir: dir,
		Env:  []string{"CGO_ENABLED=0", "GOWORK=off", "GOOS=" + goos, "GOARCH=" + goarch},
		Args: []string{"list", "-e", "-deps", "-json=" + listFields, "--", mainPackage}}
}

// List runs Command and decodes its output. Package errors (a missing
// import, files all excluded) are in each Package, not in the error.
func List(ctx context.Context, dir, mainPackage, goos, goarch string, log *logrus.Entry) (Graph, error) {
	return list(ctx, Command(dir, mainPackage, goos, goarch), mainPackage, goos, goarch, log)
}

// ListWithCgo is List with cgo on, as a service with Config.CGO builds:
// only then does the graph hold the C files cgo compiles.
func ListWithCgo(ctx context.Context, dir, mainPackage, goos, goarch string, log *logrus.Entry) (Graph, error) {
	return list(ctx, withCgo(Command(dir, mainPackage, goos, goarch)), mainPackage, goos, goarch, log)
}

// withCgo is cmd with CGO_ENABLED=1 instead of 0.
func withCgo(cmd run.Cmd) run.Cmd {
	cmd.Env = append(slices.DeleteFunc(cmd.Env, func(e string) bool { return strings.HasPrefix(e, "CGO_ENABLED=") }), "CGO_ENABLED=1")
	return cmd
}

// ListWithout is List (ListWithCgo with cgo) as if the files deleted
// (absolute paths) were not there, through go's -overlay: how the graph
// lists in a fresh checkout that lacks them.
func ListWithout(ctx context.Context, dir, mainPackage, goos, goarch string, cgo bool, deleted []string, log *logrus.Entry) (Graph, error) {
	replace := map[string]string{}
	for _, f := range deleted {
		replace[f] = "" // an empty replacement deletes the file
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": replace})
	if err != nil {
		return Graph{}, err
	}
	f, err := os.CreateTemp("", "gantry-overlay-*.json")
	if err != nil {
		return Graph{}, fmt.Errorf("write go's overlay: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(overlay); err != nil {
		f.Close()
		return Graph{}, fmt.Errorf("write go's overlay: %w", err)
	}
	if err := f.Close(); err != nil {
		return Graph{}, fmt.Errorf("write go's overlay: %w", err)
	}
	cmd := Command(dir, mainPackage, goos, goarch)
	if cgo {
		cmd = withCgo(cmd)
	}
	cmd.Args = slices.Insert(cmd.Args, 1, "-overlay="+f.Name())
	return list(ctx, cmd, mainPackage, goos, goarch, log)
}

func list(ctx context.Context, cmd run.Cmd, mainPackage, goos, goarch string, log *logrus.Entry) (Graph, error) {
	cmd.Log = log
	out, err := run.Output(ctx, cmd)
	if err != nil {
		return Graph{}, fmt.Errorf("list the packages of %s: %w", mainPackage, err)
	}
	pkgs, err := Decode(strings.NewReader(out))
	if err != nil {
		return Graph{}, fmt.Errorf("list the packages of %s: %w", mainPackage, err)
	}
	return Graph{Packages: pkgs, GOOS: goos, GOARCH: goarch}, nil
}

// Decode reads the stream of JSON objects that go list -json writes.
func Decode(r io.Reader) ([]Package, error) {
	var pkgs []Package
	dec := json.NewDecoder(r)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		var p Package
		var module struct {
			Module *struct {
				GoMod, Version string
				Replace        *struct{ Path, Version string }
			}
		}
		if err == nil {
			err = json.Unmarshal(raw, &p)
		}
		if err == nil {
			err = json.Unmarshal(raw, &module)
		}
		if err != nil {
			return nil, fmt.Errorf("read go list's output: %w", err)
		}
		if module.Module != nil {
			p.GoMod = module.Module.GoMod
			p.ModuleVersion = module.Module.Version
			if r := module.Module.Replace; r != nil {
				p.ModuleVersion += " => " + r.Path + " " + r.Version
			}
		}
		pkgs = append(pkgs, p)
	}
}

// Main returns the main package: the one listed not only as a dependency.
func (g Graph) Main() (Package, bool) {
	i := slices.IndexFunc(g.Packages, func(p Package) bool { return !p.DepOnly })
	if i < 0 {
		return Package{}, false
	}
	return g.Packages[i], true
}

// Lookup returns the package with the import path path.
func (g Graph) Lookup(path string) (Package, bool) {
	i := slices.IndexFunc(g.Packages, func(p Package) bool { return p.ImportPath == path })
	if i < 0 {
		return Package{}, false
	}
	return g.Packages[i], true
}

// SourceFiles lists, as absolute paths, every file outside the standard
// library that a build of the graph reads: each package's files for any
// platform and with cgo on or off (constraints decide per build; the
// image builds several platforms), the files it embeds, and each module's
// go.mod.
func (g Graph) SourceFiles() []string {
	var files []string
	for _, p := range g.Packages {
		if p.Standard {
			continue
		}
		files = append(files, p.Files()...)
		if p.GoMod != "" {
			files = append(files, p.GoMod)
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// Files are the paths of the files a build of p can read, for any
// platform and with cgo on or off, and those it embeds.
func (p Package) Files() []string {
	var files []string
	for _, names := range [][]string{p.GoFiles, p.IgnoredGoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles,
		p.SFiles, p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.IgnoredOtherFiles, p.EmbedFiles} {
		for _, name := range names {
			files = append(files, filepath.Join(p.Dir, name))
		}
	}
	return files
}

// ParseFiles parses the files p compiles with cgo off.
func ParseFiles(fset *token.FileSet, p Package) ([]*ast.File, error) {
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// CgoNeed is a package that works only with cgo, and why.
type CgoNeed struct {
	ImportPath string
	// CgoFiles are the files that import "C", left out with cgo off.
	CgoFiles []string
	// Stub is set when the package builds with cgo off, but only from
	// files built for that case (a `!cgo` constraint) that say it needs
	// cgo: the file and the string that says so, as go-sqlite3's
	// static_mock.go fails every call with "Binary was compiled with
	// 'CGO_ENABLED=0', go-sqlite3 requires cgo to work".
	StubFile, Stub string
}

// NeedCgo lists the packages of g, outside the standard library (whose
// fallbacks are real), that work only with cgo: they have files importing
// "C" for this platform, and with cgo off either no Go file is left (the
// build fails: "build constraints exclude all Go files") or the files
// built instead are a stub saying it needs cgo (the build succeeds and the
// program fails when it runs). A package whose cgo-off files are a real
// fallback is not listed.
func (g Graph) NeedCgo() []CgoNeed {
	withCgo := build.Default
	withCgo.GOOS, withCgo.GOARCH, withCgo.CgoEnabled = g.GOOS, g.GOARCH, true
	var needs []CgoNeed
	for _, p := range g.Packages {
		if p.Standard {
			continue
		}
		need := CgoNeed{ImportPath: p.ImportPath}
		for _, name := range p.IgnoredGoFiles {
			if match, err := withCgo.MatchFile(p.Dir, name); err == nil && match && importsC(filepath.Join(p.Dir, name)) {
				need.CgoFiles = append(need.CgoFiles, name)
			}
		}
		if len(need.CgoFiles) == 0 {
			continue
		}
		if len(p.GoFiles) == 0 {
			needs = append(needs, need)
			continue
		}
		for _, name := range p.GoFiles {
			if match, err := withCgo.MatchFile(p.Dir, name); err != nil || match {
				continue // built with cgo on too: not a replacement for the cgo files
			}
			if s := saysNeedsCgo(filepath.Join(p.Dir, name)); s != "" {
				need.StubFile, need.Stub = name, s
				needs = append(needs, need)
				break
			}
		}
	}
	return needs
}

// importsC reports whether the Go file at path imports "C".
func importsC(path string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(f.Imports, func(s *ast.ImportSpec) bool { return s.Path.Value == `"C"` })
}

// saysNeedsCgo returns the first string literal of the Go file at path that
// mentions cgo (CGO_ENABLED, "requires cgo"), or "": a file built only
// without cgo has no reason to mention it unless it is a stub.
func saysNeedsCgo(path string) string {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return ""
	}
	found := ""
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if found != "" || !ok || lit.Kind != token.STRING {
			return found == ""
		}
		if s, err := strconv.Unquote(lit.Value); err == nil && strings.Contains(strings.ToLower(s), "cgo") {
			found = s
		}
		return false
	})
	return found
}
