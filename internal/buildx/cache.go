package buildx

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Cache is where builds import and export BuildKit's cache: the
// GANTRY_CACHE setting (Config.Cache), parsed.
type Cache struct {
	// Kind is "gha", "registry", "local" or "none"; "" is the default:
	// gha in GitHub Actions with the cache token, else none.
	Kind string
	// Location is the registry repository (registry) or the directory
	// (local) holding one cache per scope.
	Location string
}

// ParseCache reads a cache setting: "gha", "registry:<repository>",
// "local:<directory>", "none", or "" for the default.
func ParseCache(s string) (Cache, error) {
	kind, location, _ := strings.Cut(s, ":")
	switch {
	case s == "":
		return Cache{}, nil
	case s == "gha" || s == "none":
		return Cache{Kind: s}, nil
	case (kind == "registry" || kind == "local") && location != "" && !strings.ContainsAny(location, ",\"\n"):
		if kind == "registry" && strings.ContainsAny(location[strings.LastIndex(location, "/")+1:], ":@") {
			return Cache{}, fmt.Errorf("cache %q: give the repository without a tag or digest (Gantry adds a tag per target), e.g. registry:ghcr.io/acme/api-cache", s)
		}
		return Cache{Kind: kind, Location: location}, nil
	}
	return Cache{}, fmt.Errorf("cache %q is not gha, registry:<repository>, local:<directory> or none; set GANTRY_CACHE (Config.Cache) to e.g. registry:ghcr.io/acme/api-cache", s)
}

// Mode is how much of a build's cache an export writes: BuildKit's
// mode=max or mode=min.
type Mode string

const (
	// Max writes the layers of every stage: a fresh builder needs them
	// to skip the stages that compile in the image (the toolchain,
	// cgo's C cross-compilers, a Dockerfile's own module layer).
	Max Mode = "max"
	// Min writes the image's own layers, and of the stages they are
	// copied from only the cache keys: a fresh builder matches the
	// image's layers by those keys, without the stages' layers, as long
	// as the stages are unchanged.
	Min Mode = "min"
)

// Flags returns the --cache-from and --cache-to values of one scope (a
// tag of the registry repository, a subdirectory of the local one).
// Without write the cache is only read: pull requests must not poison
// what main builds from; with it, the export writes mode's share.
func (c Cache) Flags(scope string, write bool, mode Mode) (from, to []string) {
	switch c.Kind {
	case "gha":
		from = []string{"type=gha,scope=" + scope}
		to = []string{"type=gha,mode=" + string(mode) + ",scope=" + scope}
	case "registry":
		ref := c.Location + ":" + scope
		from = []string{"type=registry,ref=" + ref}
		to = []string{"type=registry,mode=" + string(mode) + ",image-manifest=true,oci-mediatypes=true,ref=" + ref}
	case "local":
		dir := filepath.Join(c.Location, scope)
		from = []string{"type=local,src=" + dir}
		to = []string{"type=local,mode=" + string(mode) + ",dest=" + dir}
	default:
		return nil, nil
	}
	if !write {
		to = nil
	}
	return from, to
}
