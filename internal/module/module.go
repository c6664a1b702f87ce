// Package module inspects the Go module a service lives in: its path, the
// main packages that could be the service's binary, and the service name
// they give. The targets' configuration and gantry init both decide with
// it, so they always decide alike.
package module

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/mod/modfile"
	modpath "golang.org/x/mod/module"

	"github.com/gantry-build/gantry/internal/reference"
	"github.com/gantry-build/gantry/internal/repofile"
)

// Module is what the targets and gantry init read of a service's module.
type Module struct {
	// Path is the module path from go.mod.
	Path string
	// MainCandidates lists the module's main packages among ".", ./cmd
	// and ./cmd/*, as ".", "./cmd" or "./cmd/x".
	MainCandidates []string
}

// Read reads the module at dir.
func Read(dir string) (Module, error) {
	path, err := Path(dir)
	if err != nil {
		return Module{}, err
	}
	mains, err := MainPackages(dir)
	if err != nil {
		return Module{}, err
	}
	return Module{Path: path, MainCandidates: mains}, nil
}

// Named is a main package and where it was learnt: a build file naming
// it, or the module's layout.
type Named struct {
	Package string
	// Source says where it comes from, for the reports of gantry init and
	// mage -v: ".goreleaser.yaml builds[0].main", "the module root is
	// package main".
	Source string
}

// DecideMain picks the service's main package: the first of named (what
// the repository's build files name, in the order the caller trusts
// them), else from the layout: "." when the module root is package main,
// else ./cmd when it is, else the single ./cmd/<name>. The targets'
// configuration and gantry init both decide with it. The error says what
// was found; callers add how their user chooses (a variable, a flag).
func DecideMain(named []Named, candidates []string) (Named, error) {
	if len(named) > 0 {
		return named[0], nil
	}
	switch {
	case slices.Contains(candidates, "."):
		return Named{".", "the module root is package main"}, nil
	case slices.Contains(candidates, "./cmd"):
		return Named{"./cmd", "./cmd is package main"}, nil
	}
	// What is left are the ./cmd/<name> (MainPackages finds no others).
	cmds := candidates
	switch len(cmds) {
	case 1:
		return Named{cmds[0], "the only main package under ./cmd"}, nil
	case 0:
		return Named{}, errors.New("no main package found: neither the module root nor ./cmd is package main, there is no ./cmd/<name> with one, and no .goreleaser.yaml, Dockerfile or Makefile names one")
	default:
		return Named{}, fmt.Errorf("several main packages found (%s) and no .goreleaser.yaml, Dockerfile or Makefile names one", strings.Join(cmds, ", "))
	}
}

// ServiceName is the default service name: named like the binary `go
// build` makes (the main package's base name, or the module's last element
// without a /vN suffix for the root and for ./cmd, whose name "cmd" names
// nothing), lower-cased, since it names a local image.
func ServiceName(mainPackage, modulePath string) string {
	clean := path.Clean(filepath.ToSlash(mainPackage))
	if base := path.Base(clean); base != "." && base != "/" && clean != "cmd" && clean != modulePath+"/cmd" {
		return strings.ToLower(base)
	}
	prefix, _, _ := modpath.SplitPathVersion(modulePath)
	return strings.ToLower(prefix[strings.LastIndex(prefix, "/")+1:])
}

// MaxServiceName bounds the service name: it names the binary Build
// writes (with a "-dev-<os>-<arch>.exe" suffix, under the 255 bytes a file
// name may have) and the image's last path component (the whole
// repository name may have 255 characters, registry and owner included).
const MaxServiceName = 128

// CheckServiceName returns an error unless name can name the service: it
// is the local image name of `mage image`, so an image name component,
// and a file name of `mage build`, so at most MaxServiceName long.
func CheckServiceName(name string) error {
	if len(name) > MaxServiceName {
		return fmt.Errorf("service name %.20q... is %d characters long; a service name may have at most %d: choose a shorter one", name, len(name), MaxServiceName)
	}
	if err := reference.CheckComponent(name); err != nil {
		return fmt.Errorf("service name %w", err)
	}
	return nil
}

// CheckMainPackage returns an error unless pkg names one package inside
// the module, as go build takes it: "." or ./<dir>, or an import path.
// It goes on go's command line and into the Dockerfile's MAIN_PACKAGE, so
// nothing that go would read as a flag or a pattern passes.
func CheckMainPackage(pkg string) error {
	const fix = "give the main package as . or ./cmd/<name>, relative to the module root"
	switch {
	case strings.HasPrefix(pkg, "-"):
		return fmt.Errorf("main package %q starts with '-', which go reads as a flag; %s", pkg, fix)
	case strings.Contains(pkg, "..."):
		return fmt.Errorf("main package %q is a pattern of several packages; %s", pkg, fix)
	case strings.ContainsFunc(pkg, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' }):
		return fmt.Errorf("main package %q holds a space, a control character or a backslash; %s", pkg, fix)
	case pkg == "." || strings.HasPrefix(pkg, "./"):
		if clean := path.Clean(pkg); clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("main package %q lies outside the module; %s", pkg, fix)
		}
	default:
		if err := modpath.CheckImportPath(pkg); err != nil {
			return fmt.Errorf("main package %q is neither ./<dir> nor an import path (%v); %s", pkg, err, fix)
		}
	}
	return nil
}

// Path returns the module path declared in dir/go.mod.
func Path(dir string) (string, error) {
	data, err := repofile.At(dir).Read("go.mod", repofile.MaxBuildFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read go.mod: %w; run Gantry at the root of the service's Go module", err)
	}
	if err != nil {
		return "", fmt.Errorf("not read: %w", err)
	}
	path := modfile.ModulePath(data)
	if path == "" {
		return "", fmt.Errorf("%s/go.mod declares no module path; add a `module` line", dir)
	}
	return path, nil
}

// MainPackages lists "." when the module root is package main, ./cmd when
// it is, and every ./cmd/<name> that is, honouring build constraints.
func MainPackages(dir string) ([]string, error) {
	var mains []string
	if IsMain(dir, ".") {
		mains = append(mains, ".")
	}
	if IsMain(dir, "./cmd") {
		mains = append(mains, "./cmd")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list cmd/: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && IsMain(dir, "./cmd/"+e.Name()) {
			mains = append(mains, "./cmd/"+e.Name())
		}
	}
	sort.Strings(mains)
	return mains, nil
}

// IsMain reports whether pkg ("." or "./<dir>") in the module at dir is
// package main, honouring build constraints. Its files are read through
// repofile: one that is a named pipe or leads out of the repository makes
// it no main package.
func IsMain(dir, pkg string) bool {
	p, err := repofile.At(dir).GoContext().ImportDir(filepath.Join(dir, filepath.FromSlash(pkg)), 0)
	return err == nil && p.Name == "main" && len(p.GoFiles)+len(p.CgoFiles) > 0
}

// GitHubRepo returns "owner/repo" of a github.com/owner/repo[/...] module
// path, the last fallback for the image name; "" for other hosts.
func GitHubRepo(modulePath string) string {
	parts := strings.Split(modulePath, "/")
	if len(parts) < 3 || parts[0] != "github.com" {
		return ""
	}
	return parts[1] + "/" + parts[2]
}

// Replace is a replace directive of go.mod that points at a directory.
type Replace struct {
	// Directive is the line as go.mod says it: "replace example.com/lib => ../lib".
	Directive string
	Line      int
	// Dir is the directory it points at, resolved from the module root.
	Dir string
}

// ReplacesOutside lists the replace directives of dir/go.mod that point at
// a directory outside root (the repository): a fresh checkout of the
// commit, as CI makes, has no such directory and cannot build the service.
// A directory inside that is a link leading out counts as outside. A
// module with a vendor directory builds from vendor/, not from the
// replacement, so none is listed. Both `mage check` and publishing refuse
// them.
func ReplacesOutside(dir, root string) ([]Replace, error) {
	path := filepath.Join(dir, "go.mod")
	data, err := repofile.At(dir).Read("go.mod", repofile.MaxBuildFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // nothing is replaced; go names the missing go.mod when it builds
	}
	if err != nil {
		return nil, fmt.Errorf("read go.mod: %w", err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vendor", "modules.txt")); err == nil {
		return nil, nil
	}
	var outside []Replace
	for _, r := range f.Replace {
		if r.New.Version != "" || !modfile.IsDirectoryPath(r.New.Path) {
			continue
		}
		target := r.New.Path
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, filepath.FromSlash(target))
		}
		if Within(root, target) && withinResolved(root, target) {
			continue
		}
		old := r.Old.Path
		if r.Old.Version != "" {
			old += " " + r.Old.Version
		}
		outside = append(outside, Replace{Directive: "replace " + old + " => " + r.New.Path, Line: r.Syntax.Start.Line, Dir: target})
	}
	return outside, nil
}

// ReplaceFix is what to do with a replace directive ReplacesOutside lists.
const ReplaceFix = "vendor it (go mod vendor, and commit vendor/), publish the module and require a released version of it, or move the module inside the repository and point the replace there"

// Within reports whether path is root or below it, as written.
func Within(root, path string) bool {
	absRoot, err1 := filepath.Abs(root)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(absRoot, absPath)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// withinResolved is Within with symbolic links followed; a path that does
// not exist is judged as written.
func withinResolved(root, path string) bool {
	realRoot, errRoot := filepath.EvalSymlinks(root)
	realPath, errPath := filepath.EvalSymlinks(path)
	return errRoot != nil || errPath != nil || Within(realRoot, realPath)
}
