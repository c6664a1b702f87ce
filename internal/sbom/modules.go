package sbom

import (
	"bytes"
	"cmp"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Modules returns the Go modules an SBOM written by JSON lists: what its
// main module depends on, not the main module itself, sorted by path.
func Modules(sbomJSON []byte) ([]Module, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(sbomJSON), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("decode the CycloneDX SBOM: %w", err)
	}
	byRef := map[string]cdx.Component{}
	var mains []string
	if bom.Components != nil {
		for _, c := range *bom.Components {
			byRef[c.BOMRef] = c
			if c.Type == cdx.ComponentTypeApplication && strings.HasPrefix(c.BOMRef, "golang:") {
				mains = append(mains, c.BOMRef)
			}
		}
	}
	if len(mains) != 1 {
		return nil, fmt.Errorf("the SBOM has %d Go main modules, want 1: is it an SBOM this package wrote?", len(mains))
	}
	var refs []string
	if bom.Dependencies != nil {
		for _, d := range *bom.Dependencies {
			if d.Ref == mains[0] && d.Dependencies != nil {
				refs = append(refs, *d.Dependencies...)
			}
		}
	}
	out := []Module{}
	for _, r := range refs {
		c, ok := byRef[r]
		if !ok {
			return nil, fmt.Errorf("the SBOM's main module depends on %s, which it does not list as a component: the SBOM is damaged", r)
		}
		m := Module{Path: c.Name, Version: c.Version}
		if c.Hashes != nil {
			for _, h := range *c.Hashes {
				if h.Algorithm != cdx.HashAlgoSHA256 {
					continue
				}
				sum, err := sumOf(h.Value)
				if err != nil {
					return nil, fmt.Errorf("module %s %s: %w", c.Name, c.Version, err)
				}
				m.Sum = sum
			}
		}
		out = append(out, m)
	}
	sortModules(out)
	return out, nil
}

// BinaryModules returns the modules of a binary's build info as Modules
// returns an SBOM's: the module actually compiled (the replacement, when
// replaced), sorted by path.
func BinaryModules(info *debug.BuildInfo) []Module {
	out := []Module{}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		out = append(out, Module{Path: d.Path, Version: d.Version, Sum: d.Sum})
	}
	sortModules(out)
	return out
}

func sortModules(ms []Module) {
	slices.SortFunc(ms, func(a, b Module) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Sum, b.Sum))
	})
}

// Diff names how the modules of an SBOM and of a binary differ, one line a
// difference, sorted by module path; it is empty when they are equal.
func Diff(sbom, binary []Module) []string {
	inSBOM, inBinary := byPath(sbom), byPath(binary)
	var paths []string
	for p := range inSBOM {
		paths = append(paths, p)
	}
	for p := range inBinary {
		if _, ok := inSBOM[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var out []string
	for _, p := range paths {
		s, inS := inSBOM[p]
		b, inB := inBinary[p]
		switch {
		case !inS:
			out = append(out, fmt.Sprintf("missing from the SBOM: %s %s", p, b.Version))
		case !inB:
			out = append(out, fmt.Sprintf("not in the binary: %s %s", p, s.Version))
		case s.Version != b.Version:
			out = append(out, fmt.Sprintf("%s %s in the SBOM, %s in the binary", p, s.Version, b.Version))
		case s.Sum != b.Sum:
			out = append(out, fmt.Sprintf("%s %s: sum %s in the SBOM, %s in the binary", p, s.Version, s.Sum, b.Sum))
		}
	}
	return out
}

// byPath indexes modules by path; a binary holds one version of a module.
func byPath(ms []Module) map[string]Module {
	out := make(map[string]Module, len(ms))
	for _, m := range ms {
		out[m.Path] = m
	}
	return out
}
