// Package module inspects the Go module a service lives in: its path, the
// main packages that could be the service's binary, and the service name
// they give. The targets' configuration and gantry init both decide with
// it, so they always decide alike.
package module

import (
	"errors"
	"fmt"
	"go/build"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/mod/modfile"
	modpath "golang.org/x/mod/module"

	"github.com/gantry-build/gantry/internal/reference"
)

// Module is what the targets and gantry init read of a service's module.
type Module struct {
	// Path is the module path from go.mod.
	Path string
	// MainCandidates lists the module's main packages among "." and
	// ./cmd/*, as "./cmd/x" or ".".
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

// PickMain returns the one main package among candidates. The error says
// what was found; callers add how their user chooses (a variable, a flag).
func PickMain(candidates []string) (string, error) {
	switch len(candidates) {
	case 1:
		return candidates[0], nil
	case 0:
		return "", errors.New("no main package found: the module root is not package main and there is no ./cmd/<name> with one")
	default:
		return "", fmt.Errorf("several main packages found (%s)", strings.Join(candidates, ", "))
	}
}

// ServiceName is the default service name: named like the binary `go
// build` makes (the main package's base name, or the module's last element
// without a /vN suffix for the root), lower-cased, since it names a local
// image.
func ServiceName(mainPackage, modulePath string) string {
	if base := filepath.Base(filepath.Clean(mainPackage)); base != "." && base != "/" {
		return strings.ToLower(base)
	}
	prefix, _, _ := modpath.SplitPathVersion(modulePath)
	return strings.ToLower(prefix[strings.LastIndex(prefix, "/")+1:])
}

// CheckServiceName returns an error unless name can name the service: it
// is the local image name of `mage image`, so an image name component.
func CheckServiceName(name string) error {
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
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read go.mod: %w; run Gantry at the root of the service's Go module", err)
	}
	path := modfile.ModulePath(data)
	if path == "" {
		return "", fmt.Errorf("%s/go.mod declares no module path; add a `module` line", dir)
	}
	return path, nil
}

// MainPackages lists "." when the module root is package main, and every
// ./cmd/<name> that is, honouring build constraints.
func MainPackages(dir string) ([]string, error) {
	var mains []string
	if isMain(dir) {
		mains = append(mains, ".")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list cmd/: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && isMain(filepath.Join(dir, "cmd", e.Name())) {
			mains = append(mains, "./cmd/"+e.Name())
		}
	}
	sort.Strings(mains)
	return mains, nil
}

func isMain(dir string) bool {
	pkg, err := build.ImportDir(dir, 0)
	return err == nil && pkg.Name == "main" && len(pkg.GoFiles)+len(pkg.CgoFiles) > 0
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
