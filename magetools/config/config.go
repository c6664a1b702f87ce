// Package config holds Gantry's configuration: one struct whose zero value
// means "use the default". A service changes fields in its magefile's init();
// the environment (GANTRY_*) overrides both, so CI can change a setting
// without a commit. Resolve fills in every default at call time.
package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/module"
)

// Config is the whole of Gantry's configuration. Every field documents its
// default and its environment variable; README.md has the same table.
type Config struct {
	// Service is the service's name: the binary under bin/, the image title
	// label and the local image name of `mage image`.
	// Default: the base name of MainPackage, or of the module path when the
	// main package is the module root, lower-cased. Env: GANTRY_SERVICE.
	Service string

	// Description goes into org.opencontainers.image.description.
	// Default: none. Env: GANTRY_DESCRIPTION.
	Description string

	// License is the SPDX expression for org.opencontainers.image.licenses.
	// Default: none (the label is left out). Env: GANTRY_LICENSE.
	License string

	// Dir is the service's Go module root and the build context, relative
	// to where mage runs (a service in a sub-folder of a monorepo).
	// Default: ".". Env: GANTRY_DIR.
	Dir string

	// MainPackage is the Go package to build, relative to the module root.
	// Default: "." when the root is a main package, else the single
	// ./cmd/<name>; several candidates are an error. Env: GANTRY_MAIN.
	MainPackage string

	// Registry is the registry host of the default Image.
	// Default: "ghcr.io". Env: GANTRY_REGISTRY.
	Registry string

	// Image is the image repository, without a tag.
	// Default: Registry/<owner>/<repo> from GITHUB_REPOSITORY, else from
	// the origin remote (https or ssh form), else from a github.com module
	// path; always lower-cased. Env: GANTRY_IMAGE.
	Image string

	// Platforms are built and pushed on the publishing branch and on tags.
	// Default: linux/amd64, linux/arm64. Env: GANTRY_PLATFORMS (comma-separated).
	Platforms []string

	// PullRequestPlatforms are built (never pushed) for pull requests.
	// Default: linux/amd64. Env: GANTRY_PR_PLATFORMS (comma-separated).
	PullRequestPlatforms []string

	// PublishBranch is the branch whose pushes publish images.
	// Default: "main". Env: GANTRY_PUBLISH_BRANCH.
	PublishBranch string

	// BuildOtherRefs builds (never pushes) both targets on the pull-request
	// platforms for pushes to other branches and non-release tags.
	// Default: false (other refs do nothing). Env: GANTRY_BUILD_OTHER_REFS.
	BuildOtherRefs bool

	// Dockerfile is the path of the service's Dockerfile, relative to Dir.
	// Default: docker/Dockerfile when it exists, else the Dockerfile
	// embedded in Gantry. Env: GANTRY_DOCKERFILE.
	Dockerfile string

	// ProdStage and DevStage name the Dockerfile targets.
	// Defaults: "prod" and "dev". Env: GANTRY_PROD_STAGE, GANTRY_DEV_STAGE.
	ProdStage string
	DevStage  string

	// ShortSHALength is the number of hex digits of the commit in <sha> tags.
	// Default: 7. Env: GANTRY_SHORT_SHA_LENGTH.
	ShortSHALength int

	// BuildArgs are extra Dockerfile build arguments (KEY -> VALUE).
	// Default: none. Env: GANTRY_BUILD_ARGS (comma-separated KEY=VALUE,
	// added to those set in code, replacing equal keys).
	BuildArgs map[string]string

	// Attestations adds SBOM and provenance attestations (mode=max) to
	// pushed images. Default: false: the index holds only the platform
	// images and its digest is reproducible. Env: GANTRY_ATTESTATIONS.
	Attestations bool

	// AllowReleaseOverwrite lets Release replace a <version> tag that
	// already names an image of another commit. Default: false: a release
	// version is immutable. Env: GANTRY_ALLOW_RELEASE_OVERWRITE.
	AllowReleaseOverwrite bool

	// Cache is where builds import and export BuildKit's cache, one scope
	// per target (<service>-prod, <service>-dev): "gha", "registry:<repo>"
	// (a tag per scope), "local:<dir>" (a directory per scope) or "none".
	// Main and tag builds write it; pull requests only read it.
	// Default: gha in GitHub Actions with the cache token, else none (the
	// builder's own cache). Env: GANTRY_CACHE.
	Cache string

	// NoCache builds without BuildKit's cache (buildx --no-cache).
	// Default: false. Env: GANTRY_NO_CACHE.
	NoCache bool

	// Stamp names the string variables that receive version information
	// through -ldflags -X.
	Stamp Stamp
}

// Stamp names package-qualified string variables (e.g. "main.version").
// An empty field takes its default; "-" switches that stamp off.
type Stamp struct {
	// Version receives the release version on a tag, else
	// <branch>-<short sha> (with -dirty for an unclean tree).
	// Default: "main.version". Env: GANTRY_STAMP_VERSION ("-": off).
	Version string
	// Commit receives the full commit SHA.
	// Default: "main.commit". Env: GANTRY_STAMP_COMMIT ("-": off).
	Commit string
	// Date receives the commit time, RFC 3339 in UTC.
	// Default: "main.date". Env: GANTRY_STAMP_DATE ("-": off).
	Date string
}

// Defaults that need no look-up.
const (
	DefaultRegistry       = "ghcr.io"
	DefaultPublishBranch  = "main"
	DefaultProdStage      = "prod"
	DefaultDevStage       = "dev"
	DefaultShortSHALength = 7
	DefaultDockerfile     = "docker/Dockerfile"
)

// DefaultPlatforms and DefaultPullRequestPlatforms are the platform sets of
// the tag table in SPEC.md.
var (
	DefaultPlatforms            = []string{"linux/amd64", "linux/arm64"}
	DefaultPullRequestPlatforms = []string{"linux/amd64"}
)

// Lookup reads one environment variable; os.LookupEnv in production, a map
// in tests.
type Lookup func(key string) (string, bool)

// ServiceDir returns Dir with GANTRY_DIR applied: where to look for the
// facts that Resolve needs.
func (c Config) ServiceDir(env Lookup) string {
	if v, ok := env("GANTRY_DIR"); ok && v != "" {
		return v
	}
	if c.Dir == "" {
		return "."
	}
	return c.Dir
}

// Facts are what Resolve needs to know about the repository to fill in
// the defaults that depend on it. Keeping them out of Resolve keeps it pure.
type Facts struct {
	// Dir is the service's module root (Config.ServiceDir) as a path.
	Dir string
	// ModulePath is the module path from go.mod.
	ModulePath string
	// MainCandidates lists the module's main packages among "." and
	// ./cmd/*, as "./cmd/x" or ".".
	MainCandidates []string
	// OwnerRepo is "owner/repo" from GITHUB_REPOSITORY, the origin remote
	// or a github.com module path; empty when none is known.
	OwnerRepo string
}

// Resolve returns a copy of c with the environment applied over it and
// every remaining default filled in, or an error naming the bad setting and
// how to fix it.
func (c Config) Resolve(env Lookup, facts Facts) (Config, error) {
	r := c
	r.BuildArgs = maps.Clone(c.BuildArgs)
	r.Dir = c.ServiceDir(env)
	if err := r.applyEnv(env); err != nil {
		return Config{}, err
	}

	if r.MainPackage == "" {
		main, err := module.PickMain(facts.MainCandidates)
		if err != nil {
			return Config{}, fmt.Errorf("%w; set GANTRY_MAIN or Config.MainPackage (e.g. ./cmd/server)", err)
		}
		r.MainPackage = main
	}
	if r.Service == "" {
		r.Service = module.ServiceName(r.MainPackage, facts.ModulePath)
	}
	setDefault(&r.Registry, DefaultRegistry)
	if r.Image == "" {
		if facts.OwnerRepo == "" {
			return Config{}, fmt.Errorf("cannot tell the image repository: GITHUB_REPOSITORY is not set, the git remote \"origin\" is not a GitHub-style URL and the module path is not on github.com; set GANTRY_IMAGE (e.g. ghcr.io/acme/svc) or Config.Image in the magefile")
		}
		r.Image = r.Registry + "/" + facts.OwnerRepo
	}
	r.Image = strings.ToLower(r.Image)
	if len(r.Platforms) == 0 {
		r.Platforms = append([]string(nil), DefaultPlatforms...)
	}
	if len(r.PullRequestPlatforms) == 0 {
		r.PullRequestPlatforms = append([]string(nil), DefaultPullRequestPlatforms...)
	}
	setDefault(&r.PublishBranch, DefaultPublishBranch)
	setDefault(&r.ProdStage, DefaultProdStage)
	setDefault(&r.DevStage, DefaultDevStage)
	if r.ShortSHALength == 0 {
		r.ShortSHALength = DefaultShortSHALength
	}
	if r.Dockerfile == "" && fileExists(filepath.Join(facts.Dir, DefaultDockerfile)) {
		r.Dockerfile = DefaultDockerfile
	}
	for field, def := range map[*string]string{&r.Stamp.Version: "main.version", &r.Stamp.Commit: "main.commit", &r.Stamp.Date: "main.date"} {
		switch *field {
		case "":
			*field = def
		case "-":
			*field = ""
		}
	}
	return r, r.validate()
}

func (r *Config) applyEnv(env Lookup) error {
	strs := map[string]*string{
		"GANTRY_SERVICE":        &r.Service,
		"GANTRY_DESCRIPTION":    &r.Description,
		"GANTRY_LICENSE":        &r.License,
		"GANTRY_MAIN":           &r.MainPackage,
		"GANTRY_REGISTRY":       &r.Registry,
		"GANTRY_IMAGE":          &r.Image,
		"GANTRY_PUBLISH_BRANCH": &r.PublishBranch,
		"GANTRY_DOCKERFILE":     &r.Dockerfile,
		"GANTRY_CACHE":          &r.Cache,
		"GANTRY_PROD_STAGE":     &r.ProdStage,
		"GANTRY_DEV_STAGE":      &r.DevStage,
		"GANTRY_STAMP_VERSION":  &r.Stamp.Version,
		"GANTRY_STAMP_COMMIT":   &r.Stamp.Commit,
		"GANTRY_STAMP_DATE":     &r.Stamp.Date,
	}
	for key, field := range strs {
		if v, ok := env(key); ok && v != "" {
			*field = v
		}
	}
	if v, ok := env("GANTRY_PLATFORMS"); ok && v != "" {
		r.Platforms = splitList(v)
	}
	if v, ok := env("GANTRY_PR_PLATFORMS"); ok && v != "" {
		r.PullRequestPlatforms = splitList(v)
	}
	for key, field := range map[string]*bool{
		"GANTRY_BUILD_OTHER_REFS":        &r.BuildOtherRefs,
		"GANTRY_ATTESTATIONS":            &r.Attestations,
		"GANTRY_ALLOW_RELEASE_OVERWRITE": &r.AllowReleaseOverwrite,
		"GANTRY_NO_CACHE":                &r.NoCache,
	} {
		if v, ok := env(key); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%q is not a boolean; use true or false", key, v)
			}
			*field = b
		}
	}
	if v, ok := env("GANTRY_SHORT_SHA_LENGTH"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4 || n > 40 {
			return fmt.Errorf("GANTRY_SHORT_SHA_LENGTH=%q is not a number from 4 to 40; use e.g. 7 or 12", v)
		}
		r.ShortSHALength = n
	}
	if v, ok := env("GANTRY_BUILD_ARGS"); ok && v != "" {
		if r.BuildArgs == nil {
			r.BuildArgs = map[string]string{}
		}
		for _, kv := range splitList(v) {
			key, value, found := strings.Cut(kv, "=")
			if !found || key == "" {
				return fmt.Errorf("GANTRY_BUILD_ARGS entry %q is not KEY=VALUE; write e.g. GANTRY_BUILD_ARGS=GO_IMAGE=golang:1.26,CGO=0", kv)
			}
			r.BuildArgs[key] = value
		}
	}
	return nil
}

func (r Config) validate() error {
	if r.ShortSHALength < 4 || r.ShortSHALength > 40 {
		return fmt.Errorf("short SHA length %d is out of range; set GANTRY_SHORT_SHA_LENGTH or Config.ShortSHALength to a value from 4 to 40", r.ShortSHALength)
	}
	for _, set := range [][]string{r.Platforms, r.PullRequestPlatforms} {
		for _, p := range set {
			if err := checkPlatform(p); err != nil {
				return err
			}
		}
	}
	if err := module.CheckServiceName(r.Service); err != nil {
		return fmt.Errorf("%w (GANTRY_SERVICE, Config.Service)", err)
	}
	if _, err := buildx.ParseCache(r.Cache); err != nil {
		return err
	}
	if r.ProdStage == r.DevStage {
		return fmt.Errorf("the prod and dev stages are both %q; give them different names (GANTRY_PROD_STAGE, GANTRY_DEV_STAGE)", r.ProdStage)
	}
	return nil
}

// knownPlatforms are the linux platforms that both Go and BuildKit build
// for, spelled as buildx expects them.
var knownPlatforms = map[string]bool{
	"linux/amd64": true, "linux/arm64": true, "linux/arm/v6": true, "linux/arm/v7": true,
	"linux/386": true, "linux/ppc64le": true, "linux/s390x": true, "linux/riscv64": true,
	"linux/mips64le": true, "linux/loong64": true,
}

func checkPlatform(p string) error {
	if !knownPlatforms[p] {
		return fmt.Errorf("unknown platform %q; use os/arch such as linux/amd64 or linux/arm64 (GANTRY_PLATFORMS, GANTRY_PR_PLATFORMS, Config.Platforms)", p)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
