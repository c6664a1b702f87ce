// Package module inspects the Go module a service lives in: its path and
// the main packages that could be the service's binary.
package module

import (
	"errors"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

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
