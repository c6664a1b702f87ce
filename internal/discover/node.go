package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gantry-build/gantry/internal/repofile"
)

// PackageJSON is what a package.json says about building a web UI.
type PackageJSON struct {
	// Dir is its directory, relative to the service's, slash-separated
	// ("ui", or "." for the service's own).
	Dir string
	// Build is its "build" script; "" without one.
	Build string
	// Yarn is true when a yarn.lock lies beside it: the team builds with yarn.
	Yarn bool
}

// ParsePackageJSON reads the "build" script of a package.json.
func ParsePackageJSON(content []byte) (string, error) {
	var p struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(content, &p); err != nil {
		return "", err
	}
	return p.Scripts["build"], nil
}

// ReadPackageJSON reads the package.json in the directory rel of the
// service at dir; ok is false when there is none.
func ReadPackageJSON(dir, rel string) (p PackageJSON, ok bool, err error) {
	root := repofile.At(dir)
	content, err := root.Read(path.Join(rel, "package.json"), repofile.MaxBuildFile)
	if errors.Is(err, fs.ErrNotExist) {
		return PackageJSON{}, false, nil
	}
	if err != nil {
		return PackageJSON{}, false, err
	}
	p.Dir = path.Clean(rel)
	if p.Build, err = ParsePackageJSON(content); err != nil {
		return PackageJSON{}, false, fmt.Errorf("%s: %w", path.Join(rel, "package.json"), err)
	}
	p.Yarn, err = root.Exists(path.Join(rel, "yarn.lock"))
	return p, err == nil, err
}

// outputFlags are the flags of web build tools naming where they write
// (vite's --outDir, babel's --out-dir, parcel's --dist-dir, ...).
var outputFlags = []string{"--outDir", "--outdir", "--out-dir", "--output-dir", "--output-path", "--dist-dir", "--output", "-o"}

// defaultOutputs are where the usual tools write without such a flag.
var defaultOutputs = []struct{ command, dir string }{{"vite build", "dist"}, {"react-scripts build", "build"}}

// OutputDir is the directory the build script writes, relative to the
// service ("ui/build"): its output flag's, else the default of the tool
// it runs; "" when it does not tell.
func (p PackageJSON) OutputDir() string {
	words := strings.Fields(p.Build)
	for i, w := range words {
		for _, flag := range outputFlags {
			value, ok := strings.CutPrefix(w, flag+"=")
			if w == flag && i+1 < len(words) {
				value, ok = words[i+1], true
			}
			if ok && value != "" {
				return path.Join(p.Dir, strings.Trim(value, `"'`))
			}
		}
	}
	for _, d := range defaultOutputs {
		if strings.Contains(p.Build, d.command) {
			return path.Join(p.Dir, d.dir)
		}
	}
	return ""
}

// Command runs the build script from the service's directory, with the
// tool the team uses: yarn when a yarn.lock says so, else npm.
func (p PackageJSON) Command() []string {
	if p.Yarn {
		return []string{"yarn", "--cwd", p.Dir, "build"}
	}
	return []string{"npm", "--prefix", p.Dir, "run", "build"}
}
