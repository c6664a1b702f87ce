// Package inputs is what a service's images are built from, as one
// digest: the files its build compiles and embeds, the versions of the
// modules it links, its Dockerfile and the settings that change the
// bytes, never the commit itself. Publish records it on the image (Label);
// a push to the publishing branch does not rebuild a service whose digest
// equals the one its moving tags' images carry (Decide): affected-only
// builds of a repository of several services (README, "Several services").
package inputs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/registry"
)

// Label is the image label that carries the inputs digest. Equal inputs
// give an equal label, so two builds of one commit stay equal.
const Label = registry.InputsLabel

// Inputs collects the entries of a digest; the zero value is empty.
type Inputs struct {
	entries []string
}

// add records one entry, JSON-encoded so that no name or value can be
// read as another entry.
func (in *Inputs) add(kind, name, value string) {
	b, _ := json.Marshal([]string{kind, name, value}) //nolint:errchkjson // strings always encode
	in.entries = append(in.entries, string(b))
}

// File records a file by its name and the SHA-256 of its content.
func (in *Inputs) File(name string, content []byte) {
	sum := sha256.Sum256(content)
	in.add("file", name, hex.EncodeToString(sum[:]))
}

// Setting records a setting that changes what is built.
func (in *Inputs) Setting(key, value string) { in.add("setting", key, value) }

// Digest is sha256:<hex> of the entries, whatever order they came in.
func (in Inputs) Digest() string {
	entries := slices.Clone(in.entries)
	slices.Sort(entries)
	sum := sha256.Sum256([]byte(strings.Join(slices.Compact(entries), "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// AddGraph records what a build of g reads outside the standard library:
// every file of each package (for any platform, cgo on or off, and what
// it embeds; golist.Graph.SourceFiles), named by its path relative to
// root when it lies in the repository, else by import path (the module
// cache is elsewhere on each machine); the version of each module a
// package belongs to (the part of go.mod and go.sum the service uses);
// and of the main module's go.mod only the lines that change how
// everything compiles (go, toolchain, godebug). A file that cannot be read
// is an error: the digest would not say what was built.
func (in *Inputs) AddGraph(g golist.Graph, root string) error {
	for _, p := range g.Packages {
		if p.Standard {
			continue
		}
		for _, path := range p.Files() {
			content, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("inputs of %s: %w", p.ImportPath, err)
			}
			name := strings.TrimPrefix(filepath.ToSlash(path), filepath.ToSlash(p.Dir)+"/")
			in.File(nameOf(root, path, p.ImportPath+"/"+name), content)
		}
		if p.Module == nil {
			continue
		}
		if !p.Module.Main {
			in.add("module", p.Module.Path, p.ModuleVersion)
			continue
		}
		if p.GoMod != "" {
			if err := in.addMainGoMod(p.GoMod, root); err != nil {
				return err
			}
		}
	}
	return nil
}

// addMainGoMod records the go, toolchain and godebug lines of the main
// module's go.mod: its requirements count through the module versions of
// the packages linked, so that a requirement another service alone uses
// changes nothing here.
func (in *Inputs) addMainGoMod(path, root string) error {
	content, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	f, err := modfile.ParseLax(path, content, nil)
	if err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	name := nameOf(root, path, "go.mod")
	if f.Go != nil {
		in.add("go.mod", name, "go "+f.Go.Version)
	}
	if f.Toolchain != nil {
		in.add("go.mod", name, "toolchain "+f.Toolchain.Name)
	}
	for _, d := range f.Godebug {
		in.add("go.mod", name, "godebug "+d.Key+"="+d.Value)
	}
	return nil
}

// nameOf is path relative to root when it lies there, else other.
func nameOf(root, path, other string) string {
	if root != "" && module.Within(root, path) {
		if rel, err := filepath.Rel(root, path); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return other
}

// Current is what one of a service's moving tags names now.
type Current struct {
	Tag   string
	Found bool
	// Revision and Inputs are the image's revision and Label.
	Revision, Inputs string
}

// Decision says whether a service is built, and why.
type Decision struct {
	Skip   bool
	Reason string
}

// Decide builds a service unless every moving tag of its plan names an
// image whose inputs digest is digest: then nothing it is built from
// changed since, and the tags stay where they are. An empty digest (not
// computed) always builds.
func Decide(digest string, current []Current) Decision {
	if digest == "" {
		return Decision{Reason: "its inputs are not known"}
	}
	if len(current) == 0 {
		return Decision{Reason: "the plan moves no tag to compare with"}
	}
	for _, c := range current {
		switch {
		case !c.Found:
			return Decision{Reason: c.Tag + " does not exist yet"}
		case c.Inputs == "":
			return Decision{Reason: fmt.Sprintf("%s names an image without the %s label (built before affected-only builds, or not by Gantry)", c.Tag, Label)}
		case c.Inputs != digest:
			return Decision{Reason: fmt.Sprintf("its inputs changed since %s (commit %.12s)", c.Tag, c.Revision)}
		}
	}
	return Decision{Skip: true, Reason: fmt.Sprintf("nothing it is built from changed since %s (commit %.12s): not rebuilt, its tags stay where they are", current[0].Tag, current[0].Revision)}
}
