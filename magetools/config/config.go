// Package config holds Gantry's configuration: one struct whose zero value
// means "use the default". A service changes fields in its magefile's init();
// the environment (GANTRY_*) overrides both, so CI can change a setting
// without a commit. Resolve fills in every default at call time.
package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/reference"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/workflow"
)

// Config is the whole of Gantry's configuration. Every field documents its
// default and its environment variable; README.md has the same table.
type Config struct {
	// Service is the service's name: the binary under bin/, the image title
	// label and the local image name of `mage image`.
	// Default: the base name of MainPackage, or of the module path (without
	// a /vN suffix) when the main package is the module root or ./cmd,
	// lower-cased. gantry init sets it from .goreleaser.yaml's binary or
	// project_name when there is one. Env: GANTRY_SERVICE.
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
	// Default: the one .goreleaser.yaml's builds[0].main names, else a
	// Dockerfile's go build, else the Makefile's; else "." when the root
	// is a main package, else ./cmd when it is, else the single
	// ./cmd/<name>; several are an error (list them in Services instead).
	// Env: GANTRY_MAIN.
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

	// Dockerfile is the path of the service's Dockerfile, relative to Dir
	// and inside the git repository (so that the commit rebuilds the
	// image); an absolute path is refused. "embedded" (EmbeddedDockerfile)
	// chooses Gantry's own even when docker/Dockerfile exists (a
	// Dockerfile of the service's that is not written for Gantry).
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

	// BuildArgs are extra Dockerfile build arguments (KEY -> VALUE). A key
	// is an ARG name; MAIN_PACKAGE, GO_LDFLAGS and SOURCE_DATE_EPOCH are
	// Gantry's own. Default: none. Env: GANTRY_BUILD_ARGS (comma-separated
	// KEY=VALUE, added to those set in code, replacing equal keys; a value
	// there cannot hold a comma: set such a value here).
	BuildArgs map[string]string

	// Attestations adds SBOM and provenance attestations (mode=max) to
	// pushed images. Default: false: the index holds only the platform
	// images and its digest is reproducible. Env: GANTRY_ATTESTATIONS.
	Attestations bool

	// Signing is how Publish and Release sign what they push, each image
	// with an SBOM per platform and SLSA provenance attached by digest
	// (README, "Verifying an image"): "keyless" signs with the GitHub
	// Actions workflow's OIDC identity (a Fulcio certificate, logged in
	// Rekor; the publish job needs `permissions: id-token: write`, which
	// `mage check` looks for), "key" with SigningKey, "off" attaches
	// nothing. Default: "key" when SigningKey is set, else "keyless" in
	// GitHub Actions, else "off" (SigningFor). Env: GANTRY_SIGNING.
	Signing string

	// SigningKey is the path of a cosign private key (`cosign
	// generate-key-pair`; its password in COSIGN_PASSWORD), for CI outside
	// GitHub Actions. Key signatures are not logged in Rekor. Default:
	// none. Env: GANTRY_SIGNING_KEY.
	SigningKey string

	// VerifyKey is the path of the public key (cosign.pub) that `mage
	// verify` trusts. Default: none: the public key of SigningKey when
	// that is set, else the keyless identity of Workflow. Env:
	// GANTRY_VERIFY_KEY.
	VerifyKey string

	// Workflow is the workflow file, relative to the repository root,
	// whose keyless signatures verification trusts, on the publishing
	// branch and on v* tags. Default: the running workflow in GitHub
	// Actions (GITHUB_WORKFLOW_REF), else DefaultWorkflow, or for a
	// service in a subdirectory of its repository (Dir below the
	// repository root) .github/workflows/publish-ghcr-<Service>.yml, where
	// gantry init writes its workflow. Env: GANTRY_WORKFLOW.
	Workflow string

	// AllowReleaseOverwrite lets Release replace a <version> tag that
	// already names an image of another commit. Default: false: a release
	// version is immutable. Env: GANTRY_ALLOW_RELEASE_OVERWRITE.
	AllowReleaseOverwrite bool

	// ReleaseRebuild makes Release build the prod image of a v* tag, so
	// that its binary reports the release version, instead of promoting
	// the image the push to the publishing branch built of the same
	// commit, whose binary reports <branch>-<short sha>. Promotion ships
	// the very bytes that ran on that branch, in about a second; a
	// rebuild takes a build and ships new bytes of the same source.
	// Default: false (promotion). Env: GANTRY_RELEASE_REBUILD.
	ReleaseRebuild bool

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

	// Shard splits a publish across jobs, for a matrix of native runners
	// (gantry init -matrix): a platform of Platforms makes `mage ci` build
	// and push that platform's prod and dev images by digest, tag nothing
	// and write their digests to a shard file in ShardDir; ShardFinalize
	// makes it read the shard files, assemble each image's index (the
	// very index one runner would push), push it, and then verify, attest,
	// tag and move tags as a publish does. Only pushes are sharded: a pull
	// request builds as usual. Default: none (one job does it all). Env:
	// GANTRY_SHARD.
	Shard string

	// ShardDir is where a platform job writes its shard file
	// (gantry-shard-<os>-<arch>.json) and where finalize reads them (the
	// workflow's artifacts, downloaded). Default: $RUNNER_TEMP/gantry-shards
	// in GitHub Actions, else gantry-shards in the temporary directory.
	// Env: GANTRY_SHARD_DIR.
	ShardDir string

	// Stamp names the string variables that receive version information
	// through -ldflags -X.
	Stamp Stamp

	// Tags are Go build tags, for every build of the service (go build
	// -tags). Default: none. Env: GANTRY_TAGS (comma-separated).
	Tags []string

	// LDFlags are linker flags added after Gantry's own (-s -w, the
	// stamps), one flag per element, e.g. "-extldflags=-static".
	// Default: none. Env: GANTRY_LDFLAGS (space-separated).
	LDFlags []string

	// CGO builds with cgo. The binaries are linked statically (with the
	// netgo and osusergo tags, so that no C library is needed at run
	// time), so the static runtime image still fits them. In the image
	// build, Debian's C cross-compiler for each target platform runs on
	// the build platform: no emulation. Default: false (CGO_ENABLED=0).
	// Env: GANTRY_CGO.
	CGO bool

	// Args are the images' default arguments (CMD): what `docker run
	// <image>` passes to the service. Only for Gantry's embedded
	// Dockerfile: a service's own Dockerfile writes its own CMD.
	// Default: none. Env: GANTRY_ARGS (space-separated: an argument with
	// a space in it is set here).
	Args []string

	// Ports are the ports the images expose (EXPOSE), as PORT or
	// PORT/PROTOCOL: "8080", "53/udp". Only for Gantry's embedded
	// Dockerfile, as Args. Default: none. Env: GANTRY_PORTS
	// (comma-separated).
	Ports []string

	// Prepare is a command (program and arguments; no shell) run in Dir
	// before any build, to generate inputs that are not committed, such
	// as a web UI the binary embeds: {"go", "generate", "./web"} or
	// {"make", "ui"}. What it writes must be ignored by git (publishing
	// refuses a dirty tree) and not by .dockerignore (the image build
	// needs it). Default: none. Env: GANTRY_PREPARE (space-separated).
	Prepare []string

	// GOOS and GOARCH are the target platform of Build and BuildDev, which
	// add -<os>-<arch> to the binary's name when it is not this machine's.
	// They are Gantry's own variables because GOOS and GOARCH in mage's
	// environment also retarget the mage binary that `go tool mage` builds.
	// Default: this machine's (Facts.HostGOOS, HostGOARCH), whatever
	// platform the mage binary runs as. Env: GANTRY_GOOS, GANTRY_GOARCH.
	GOOS   string
	GOARCH string

	// Services are the services of a repository that builds several, one
	// image each, from main packages of the one Go module in Dir (see
	// Service and ResolveServices). The fields above are shared; each
	// Service overrides its own. With Services, Service and MainPackage
	// stay unset, GANTRY_SERVICE and GANTRY_MAIN are refused, and Image
	// (GANTRY_IMAGE) is the repository the services' default images are
	// under. Default: none: the repository is one service, configured by
	// the fields above. Env: none (GANTRY_SERVICES selects some of them).
	Services []Service

	// BuildAll builds every service on a push to the publishing branch,
	// not only those whose inputs changed since the image their moving
	// tag names (README, "Several services"): to pick up a new base image
	// under the same tag. Only with Services. Default: false. Env:
	// GANTRY_BUILD_ALL.
	BuildAll bool
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
	// Defaulted is set by Resolve, not by the service: the fields that took
	// their default because nothing set them. A default stamp whose
	// variable the binary lacks is left out of the build with a warning (a
	// minimal service declares none), while one the team set is an error.
	Defaulted StampFields
}

// StampFields marks some of Stamp's fields.
type StampFields struct{ Version, Commit, Date bool }

// Defaults that need no look-up.
const (
	DefaultRegistry       = "ghcr.io"
	DefaultPublishBranch  = "main"
	DefaultProdStage      = "prod"
	DefaultDevStage       = "dev"
	DefaultShortSHALength = 7
	DefaultDockerfile     = "docker/Dockerfile"
	DefaultWorkflow       = ".github/workflows/publish-ghcr.yml"
	// ShardFinalize as Config.Shard makes `mage ci` the finalize job of a
	// sharded publish.
	ShardFinalize = "finalize"
	// EmbeddedDockerfile as Config.Dockerfile chooses Gantry's embedded
	// Dockerfile whatever files the service has.
	EmbeddedDockerfile = "embedded"
)

// The values of Config.Signing.
const (
	SigningKeyless = "keyless"
	SigningKey     = "key"
	SigningOff     = "off"
)

// DefaultPlatforms and DefaultPullRequestPlatforms return the platform
// sets of README's tag table (Tag rules), a new slice on each call: a
// package variable could be changed by any code in the process.
func DefaultPlatforms() []string { return []string{"linux/amd64", "linux/arm64"} }

func DefaultPullRequestPlatforms() []string { return []string{"linux/amd64"} }

// SigningFor is the signing mode of a run in GitHub Actions (inActions)
// or elsewhere: Signing, or by default key when SigningKey names one,
// keyless in Actions, where the workflow's OIDC identity can sign, and off
// elsewhere, where there is no such identity. mage check asks it for the
// workflow, which runs in Actions whatever machine checks it.
func (c Config) SigningFor(inActions bool) string {
	switch {
	case c.Signing != "":
		return c.Signing
	case c.SigningKey != "":
		return SigningKey
	case inActions:
		return SigningKeyless
	}
	return SigningOff
}

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
	// MainCandidates lists the module's main packages among ".", ./cmd
	// and ./cmd/*, as ".", "./cmd" or "./cmd/x".
	MainCandidates []string
	// NamedMains are the main packages the repository's build files name
	// (.goreleaser.yaml, a Dockerfile's or the Makefile's go build), most
	// trusted first; internal/discover reads them. The first wins over
	// MainCandidates.
	NamedMains []module.Named
	// OwnerRepo is "owner/repo" from GITHUB_REPOSITORY, the origin remote
	// or a github.com module path; empty when none is known.
	OwnerRepo string
	// OwnerRepoTried says where OwnerRepo was looked for and why each
	// place gave nothing, for the error when it is empty.
	OwnerRepoTried string
	// RepoRoot is the top of the git checkout that holds Dir: the
	// Dockerfile must lie inside it. Empty when unknown; Dir bounds it then.
	RepoRoot string
	// HostGOOS and HostGOARCH are this machine's platform as the go
	// command reports it (GOHOSTOS, GOHOSTARCH): the default of GOOS and
	// GOARCH. Not runtime's, which is the mage binary's own and may be
	// another platform's, run under emulation.
	HostGOOS, HostGOARCH string
}

// serviceDirInRepo is Dir relative to RepoRoot, slash-separated: "." for
// a service at its repository's root, or when either is unknown.
func (f Facts) serviceDirInRepo() string {
	if f.RepoRoot == "" {
		return "."
	}
	return repofile.DirInRepo(f.RepoRoot, f.Dir)
}

// ErrNoImage is wrapped by Resolve's error when nothing names the image
// repository. The Config returned with it is resolved and valid apart from
// Image, so that a target that needs no image (check) can go on.
var ErrNoImage = errors.New("cannot tell the image repository")

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
		main, err := module.DecideMain(facts.NamedMains, facts.MainCandidates)
		if err != nil {
			return Config{}, fmt.Errorf("%w; set GANTRY_MAIN or Config.MainPackage (e.g. ./cmd/server), or, to build each, list them in Config.Services (gantry init writes it)", err)
		}
		r.MainPackage = main.Package
	}
	if r.Service == "" {
		r.Service = module.ServiceName(r.MainPackage, facts.ModulePath)
	}
	setDefault(&r.Registry, DefaultRegistry)
	if err := reference.CheckDomain(r.Registry); err != nil {
		return Config{}, fmt.Errorf("%w (GANTRY_REGISTRY, Config.Registry)", err)
	}
	if r.Image == "" && facts.OwnerRepo != "" {
		r.Image = r.Registry + "/" + facts.OwnerRepo
	}
	r.Image = strings.ToLower(r.Image)
	if len(r.Platforms) == 0 {
		r.Platforms = DefaultPlatforms()
	}
	if len(r.PullRequestPlatforms) == 0 {
		r.PullRequestPlatforms = DefaultPullRequestPlatforms()
	}
	setDefault(&r.PublishBranch, DefaultPublishBranch)
	setDefault(&r.ProdStage, DefaultProdStage)
	setDefault(&r.DevStage, DefaultDevStage)
	if r.ShortSHALength == 0 {
		r.ShortSHALength = DefaultShortSHALength
	}
	switch {
	case r.Dockerfile == EmbeddedDockerfile:
		r.Dockerfile = ""
	case r.Dockerfile == "" && fileExists(filepath.Join(facts.Dir, DefaultDockerfile)):
		r.Dockerfile = DefaultDockerfile
	}
	r.Stamp.Defaulted = StampFields{}
	for _, f := range []struct {
		field     *string
		def       string
		defaulted *bool
	}{
		{&r.Stamp.Version, "main.version", &r.Stamp.Defaulted.Version},
		{&r.Stamp.Commit, "main.commit", &r.Stamp.Defaulted.Commit},
		{&r.Stamp.Date, "main.date", &r.Stamp.Defaulted.Date},
	} {
		switch *f.field {
		case "":
			*f.field, *f.defaulted = f.def, true
		case "-":
			*f.field = ""
		}
	}
	setDefault(&r.GOOS, facts.HostGOOS)
	setDefault(&r.GOARCH, facts.HostGOARCH)
	if r.Workflow == "" {
		// owner/repo/.github/workflows/x.yml@refs/heads/main
		running, _ := env("GITHUB_WORKFLOW_REF")
		if _, path, ok := strings.Cut(strings.SplitN(running, "@", 2)[0], "/.github/"); ok {
			r.Workflow = ".github/" + path
		}
	}
	// Outside Actions, the workflow gantry init writes for the service:
	// one of its own when it is in a subdirectory of its repository.
	setDefault(&r.Workflow, workflow.PathFor(facts.serviceDirInRepo(), r.Service))
	if r.ShardDir == "" {
		tmp, _ := env("RUNNER_TEMP")
		if tmp == "" {
			tmp = os.TempDir()
		}
		r.ShardDir = filepath.Join(tmp, "gantry-shards")
	}
	if err := r.validate(facts); err != nil {
		return Config{}, err
	}
	if err := r.checkShard(); err != nil {
		return Config{}, err
	}
	if r.Image == "" {
		tried := facts.OwnerRepoTried
		if tried == "" {
			tried = "nothing names the GitHub repository"
		}
		return r, fmt.Errorf("%w: %s; set GANTRY_IMAGE (e.g. ghcr.io/acme/svc) or Config.Image in the magefile", ErrNoImage, tried)
	}
	return r, nil
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
		"GANTRY_SHARD":          &r.Shard,
		"GANTRY_SHARD_DIR":      &r.ShardDir,
		"GANTRY_PROD_STAGE":     &r.ProdStage,
		"GANTRY_DEV_STAGE":      &r.DevStage,
		"GANTRY_STAMP_VERSION":  &r.Stamp.Version,
		"GANTRY_STAMP_COMMIT":   &r.Stamp.Commit,
		"GANTRY_STAMP_DATE":     &r.Stamp.Date,
		"GANTRY_GOOS":           &r.GOOS,
		"GANTRY_GOARCH":         &r.GOARCH,
		"GANTRY_SIGNING":        &r.Signing,
		"GANTRY_SIGNING_KEY":    &r.SigningKey,
		"GANTRY_VERIFY_KEY":     &r.VerifyKey,
		"GANTRY_WORKFLOW":       &r.Workflow,
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
	for key, field := range map[string]*[]string{"GANTRY_TAGS": &r.Tags, "GANTRY_PORTS": &r.Ports} {
		if v, ok := env(key); ok && v != "" {
			*field = splitList(v)
		}
	}
	for key, field := range map[string]*[]string{"GANTRY_LDFLAGS": &r.LDFlags, "GANTRY_ARGS": &r.Args, "GANTRY_PREPARE": &r.Prepare} {
		if v, ok := env(key); ok && v != "" {
			*field = strings.Fields(v)
		}
	}
	for key, field := range map[string]*bool{
		"GANTRY_BUILD_OTHER_REFS":        &r.BuildOtherRefs,
		"GANTRY_ATTESTATIONS":            &r.Attestations,
		"GANTRY_ALLOW_RELEASE_OVERWRITE": &r.AllowReleaseOverwrite,
		"GANTRY_NO_CACHE":                &r.NoCache,
		"GANTRY_CGO":                     &r.CGO,
		"GANTRY_RELEASE_REBUILD":         &r.ReleaseRebuild,
		"GANTRY_BUILD_ALL":               &r.BuildAll,
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
				return fmt.Errorf("GANTRY_BUILD_ARGS entry %q is not KEY=VALUE; write e.g. GANTRY_BUILD_ARGS=GO_IMAGE=golang:1.26,CGO=0 (entries are separated by commas, so a value there cannot hold one: set such a value in Config.BuildArgs in the magefile's init())", kv)
			}
			r.BuildArgs[key] = value
		}
	}
	return nil
}

// validate refuses every setting that is not what it claims to be, before
// anything reaches a command line: most of these become arguments of go or
// docker, where a value starting with '-' is a flag and a space another
// argument.
func (r Config) validate(facts Facts) error {
	if r.ShortSHALength < 4 || r.ShortSHALength > 40 {
		return fmt.Errorf("short SHA length %d is out of range; set GANTRY_SHORT_SHA_LENGTH or Config.ShortSHALength to a value from 4 to 40", r.ShortSHALength)
	}
	for _, set := range []struct {
		platforms []string
		names     string
	}{{r.Platforms, "GANTRY_PLATFORMS, Config.Platforms"}, {r.PullRequestPlatforms, "GANTRY_PR_PLATFORMS, Config.PullRequestPlatforms"}} {
		for i, p := range set.platforms {
			if err := checkPlatform(p); err != nil {
				return err
			}
			if slices.Contains(set.platforms[:i], p) {
				return fmt.Errorf("platform %q is listed twice (%s); list each platform once", p, set.names)
			}
		}
	}
	// The main package first: the default service name comes from it.
	if err := module.CheckMainPackage(r.MainPackage); err != nil {
		return fmt.Errorf("%w (GANTRY_MAIN, Config.MainPackage)", err)
	}
	if err := module.CheckServiceName(r.Service); err != nil {
		return fmt.Errorf("%w (GANTRY_SERVICE, Config.Service)", err)
	}
	if strings.HasPrefix(r.Dir, "-") {
		return fmt.Errorf("service directory %q starts with '-', which docker reads as a flag; write ./%s (GANTRY_DIR, Config.Dir)", r.Dir, r.Dir)
	}
	if r.Image != "" {
		if err := reference.CheckRepository(r.Image); err != nil {
			return fmt.Errorf("%w; set GANTRY_IMAGE or Config.Image to a repository such as ghcr.io/acme/svc, without a tag", err)
		}
	}
	if err := CheckPublishBranch(r.PublishBranch); err != nil {
		return err
	}
	for _, stage := range []struct{ name, vars string }{{r.ProdStage, "GANTRY_PROD_STAGE, Config.ProdStage"}, {r.DevStage, "GANTRY_DEV_STAGE, Config.DevStage"}} {
		if !stageName.MatchString(stage.name) {
			return fmt.Errorf("stage name %q is not a Dockerfile stage name: a letter, then letters, digits, '_', '.' or '-' (%s)", stage.name, stage.vars)
		}
	}
	if _, err := buildx.ParseCache(r.Cache); err != nil {
		return err
	}
	if !slices.Contains([]string{"", SigningKeyless, SigningKey, SigningOff}, r.Signing) {
		return fmt.Errorf("signing %q is not keyless, key or off; set GANTRY_SIGNING (Config.Signing) to one of them, or leave it unset for keyless in GitHub Actions", r.Signing)
	}
	if r.Signing == SigningKey && r.SigningKey == "" {
		return fmt.Errorf("signing is %q but no key is named; set GANTRY_SIGNING_KEY (Config.SigningKey) to a cosign private key (cosign generate-key-pair), or GANTRY_SIGNING=keyless in GitHub Actions", r.Signing)
	}
	if strings.EqualFold(r.ProdStage, r.DevStage) {
		return fmt.Errorf("the prod and dev stages are both %q; give them different names (GANTRY_PROD_STAGE, GANTRY_DEV_STAGE)", r.ProdStage)
	}
	for _, v := range []struct{ name, vars string }{
		{r.Stamp.Version, "GANTRY_STAMP_VERSION, Config.Stamp.Version"},
		{r.Stamp.Commit, "GANTRY_STAMP_COMMIT, Config.Stamp.Commit"},
		{r.Stamp.Date, "GANTRY_STAMP_DATE, Config.Stamp.Date"},
	} {
		if v.name != "" && !stampVariable.MatchString(v.name) {
			return fmt.Errorf("stamp variable %q is not a package-qualified variable name such as main.version or example.com/svc/internal/build.Version (%s; \"-\" switches the stamp off)", v.name, v.vars)
		}
	}
	for key := range r.BuildArgs {
		if err := checkBuildArg(key); err != nil {
			return err
		}
	}
	for _, v := range []struct{ value, vars string }{{r.Description, "GANTRY_DESCRIPTION, Config.Description"}, {r.License, "GANTRY_LICENSE, Config.License"}} {
		if strings.ContainsFunc(v.value, unicode.IsControl) {
			return fmt.Errorf("%q holds a control character (a new line?); write it on one line (%s)", v.value, v.vars)
		}
	}
	if err := checkGoPlatform(r.GOOS, r.GOARCH); err != nil {
		return err
	}
	if err := r.checkBuildOptions(); err != nil {
		return err
	}
	return checkDockerfile(r.Dockerfile, facts)
}

// checkBuildOptions refuses tags, linker flags, ports and arguments that
// would not reach go or the Dockerfile as the one word each claims to be.
func (r Config) checkBuildOptions() error {
	for _, check := range []struct {
		values []string
		check  func(string) error
	}{{r.Tags, CheckTag}, {r.LDFlags, CheckLDFlag}, {r.Ports, CheckPort}, {r.Args, CheckArg}} {
		for _, v := range check.values {
			if err := check.check(v); err != nil {
				return err
			}
		}
	}
	if i := slices.IndexFunc(r.LDFlags, IsCgoLinkFlag); i >= 0 && r.CGO {
		return fmt.Errorf("linker flag %q is Gantry's with cgo: it links statically (%s) so that the binary runs on the static runtime image; remove it from GANTRY_LDFLAGS or Config.LDFlags", r.LDFlags[i], strings.Join(CgoLinkFlags, " "))
	}
	if (len(r.Args) > 0 || len(r.Ports) > 0) && r.Dockerfile != "" {
		return fmt.Errorf("Config.Args and Config.Ports (GANTRY_ARGS, GANTRY_PORTS) set the CMD and EXPOSE of Gantry's embedded Dockerfile, but the service builds with %s: write CMD and EXPOSE in its prod and dev stages and unset them, or set Config.Dockerfile = %q to use Gantry's", r.Dockerfile, EmbeddedDockerfile)
	}
	if len(r.Prepare) > 0 && strings.HasPrefix(r.Prepare[0], "-") {
		return fmt.Errorf("prepare command %q starts with '-'; its first word is the program to run, e.g. go generate ./web (GANTRY_PREPARE, Config.Prepare)", strings.Join(r.Prepare, " "))
	}
	return nil
}

// CheckTag refuses a word that is not a Go build tag (Config.Tags).
func CheckTag(tag string) error {
	if !buildTag.MatchString(tag) {
		return fmt.Errorf("build tag %q is not a Go build tag: letters, digits, '_' and '.' (GANTRY_TAGS, Config.Tags)", tag)
	}
	return nil
}

// CheckLDFlag refuses a linker flag that would not reach the linker as the
// one flag it claims to be, or that is not one a service may add
// (Config.LDFlags). It is an allow-list: the linker has flags that
// override Gantry's own (the -X stamps, -s -w, -o, -H, -buildmode) or
// write files (-cpuprofile), in several spellings (--X, -s=false), and
// new ones come with Go releases; a flag not listed here could undo what
// the log says of the binary.
func CheckLDFlag(flag string) error {
	if !strings.HasPrefix(flag, "-") || strings.ContainsFunc(flag, func(c rune) bool { return unicode.IsSpace(c) || strings.ContainsRune(`"'\$`+"`", c) }) {
		return fmt.Errorf("linker flag %q is not one flag: write each as one word starting with '-', without spaces or quotes, e.g. -extldflags=-static (GANTRY_LDFLAGS, Config.LDFlags)", flag)
	}
	name, hasValue := linkerFlagName(flag)
	takesValue, allowed := addableLinkerFlags[name]
	if !allowed {
		why := "it is not one of the linker flags a service may add"
		if own, ok := gantryLinkerFlags[name]; ok {
			why = own
		}
		return fmt.Errorf("linker flag %q is refused: %s; the flags a service may add are %s (GANTRY_LDFLAGS, Config.LDFlags)", flag, why, addableLinkerFlagList())
	}
	if takesValue && !hasValue {
		return fmt.Errorf("linker flag %q takes a value: write it with '=' in one word, e.g. -%s=VALUE (GANTRY_LDFLAGS, Config.LDFlags)", flag, name)
	}
	return nil
}

// addableLinkerFlags are the linker flags (go tool link) a service may add,
// by name, and whether each takes a value, which must then follow '=' in
// the same word: a bare -r would take the next flag as its value.
var addableLinkerFlags = map[string]bool{
	"B": true, "bindnow": false, "buildid": true, "checklinkname": false, "compressdwarf": false,
	"extar": true, "extld": true, "extldflags": true, "libgcc": true, "linkmode": true, "r": true, "strictdups": true,
}

// gantryLinkerFlags say why the linker flags Gantry sets or decides are
// refused in Config.LDFlags.
var gantryLinkerFlags = map[string]string{
	"X":         "the -X stamps are Gantry's, so that the binary reports the commit the log names: choose their variables with Config.Stamp (GANTRY_STAMP_VERSION, GANTRY_STAMP_COMMIT, GANTRY_STAMP_DATE)",
	"s":         "Gantry strips the prod binary (-s -w) and keeps the debug binary's symbols (buildDev, the dev image)",
	"w":         "Gantry strips the prod binary (-s -w) and keeps the debug binary's symbols (buildDev, the dev image)",
	"o":         "Gantry names the output (bin/<service>, the image's /usr/local/bin/service)",
	"H":         "the binary's format follows the platform Gantry builds for (GANTRY_GOOS/GANTRY_GOARCH, Config.Platforms)",
	"buildmode": "Gantry builds an executable for the platform it names (GANTRY_GOOS/GANTRY_GOARCH, Config.Platforms)",
}

// CgoLinkFlags link a cgo build statically (the static runtime image
// has no C library); with Config.CGO they are Gantry's, and Config.LDFlags
// may not set -linkmode or -extldflags.
var CgoLinkFlags = []string{"-linkmode=external", "-extldflags=-static"}

// IsCgoLinkFlag reports whether flag sets what CgoLinkFlags set, in any
// spelling (--linkmode, -extldflags=...).
func IsCgoLinkFlag(flag string) bool {
	name, _ := linkerFlagName(flag)
	return slices.ContainsFunc(CgoLinkFlags, func(own string) bool { return strings.HasPrefix(own, "-"+name+"=") })
}

// linkerFlagName is the name of a linker flag as Go's flag package reads
// it (-name, --name, -name=value), and whether it holds a value.
func linkerFlagName(flag string) (name string, hasValue bool) {
	name, _, hasValue = strings.Cut(strings.TrimPrefix(strings.TrimPrefix(flag, "-"), "-"), "=")
	return name, hasValue
}

func addableLinkerFlagList() string {
	names := slices.Sorted(maps.Keys(addableLinkerFlags))
	for i, n := range names {
		names[i] = "-" + n
	}
	return strings.Join(names, ", ")
}

// CheckPort refuses what EXPOSE does not take as one port (Config.Ports).
func CheckPort(port string) error {
	if !exposedPort.MatchString(port) {
		return fmt.Errorf("port %q is not PORT or PORT/PROTOCOL, e.g. 8080 or 53/udp (GANTRY_PORTS, Config.Ports)", port)
	}
	if n, _ := strconv.Atoi(strings.SplitN(port, "/", 2)[0]); n < 1 || n > 65535 {
		return fmt.Errorf("port %q is out of range; use 1 to 65535 (GANTRY_PORTS, Config.Ports)", port)
	}
	return nil
}

// CheckArg refuses an argument the Dockerfile's CMD line cannot hold
// (Config.Args).
func CheckArg(arg string) error {
	if strings.ContainsFunc(arg, unicode.IsControl) {
		return fmt.Errorf("argument %q holds a control character (a new line?) (GANTRY_ARGS, Config.Args)", arg)
	}
	return nil
}

var (
	// stageName is what BuildKit accepts as a stage name (it compares
	// them lower-cased).
	stageName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)
	// stampVariable is an import path, a dot and a Go identifier: what
	// `go build -ldflags "-X name=value"` takes, and nothing that could
	// end the flag or start another.
	stampVariable = regexp.MustCompile(`^[A-Za-z0-9_~][A-Za-z0-9_.~/-]*\.[A-Za-z_][A-Za-z0-9_]*$`)
	// buildArgName is a Dockerfile ARG name.
	buildArgName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// buildTag is a word of go build -tags.
	buildTag = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	// exposedPort is what EXPOSE takes for one port.
	exposedPort = regexp.MustCompile(`^[0-9]{1,5}(/(tcp|udp|sctp))?$`)
)

// gantryBuildArgs are the build arguments Gantry sets itself, from
// settings that are validated on their own (GANTRY_MAIN, Stamp, the commit).
var gantryBuildArgs = []string{"MAIN_PACKAGE", "GO_LDFLAGS", "GO_TAGS", "CGO_ENABLED", "SOURCE_DATE_EPOCH"}

func checkBuildArg(key string) error {
	if !buildArgName.MatchString(key) {
		return fmt.Errorf("build argument name %q is not an ARG name: a letter or '_', then letters, digits or '_' (Config.BuildArgs, GANTRY_BUILD_ARGS)", key)
	}
	if slices.Contains(gantryBuildArgs, key) {
		return fmt.Errorf("build argument %s is set by Gantry (from Config.MainPackage, Stamp, LDFlags, Tags, CGO and the commit); remove it from Config.BuildArgs and GANTRY_BUILD_ARGS and change those settings instead", key)
	}
	return nil
}

// CheckPublishBranch refuses a publishing branch that is no branch name,
// or whose moving tag would be "latest"; plan.CheckPublishBranch refuses
// the moving tags of the form of an immutable one.
func CheckPublishBranch(branch string) error {
	if err := event.CheckRefName("refs/heads/" + branch); err != nil {
		return fmt.Errorf("publishing branch %q is not a branch name (%v); set GANTRY_PUBLISH_BRANCH or Config.PublishBranch to the branch that publishes, e.g. main", branch, err)
	}
	if reference.IsLatest(branch) {
		return fmt.Errorf("publishing branch %q would push the tag %q, and Gantry never pushes latest (every reference names an explicit version); publish from another branch, e.g. main (GANTRY_PUBLISH_BRANCH, Config.PublishBranch)", branch, branch)
	}
	return nil
}

// checkDockerfile refuses a Dockerfile path that is absolute or leads out
// of the repository: the image must be rebuildable from the commit alone.
func checkDockerfile(dockerfile string, facts Facts) error {
	if dockerfile == "" {
		return nil
	}
	if filepath.IsAbs(dockerfile) {
		return fmt.Errorf("Dockerfile %q is an absolute path; give it relative to the service directory %s, inside the repository (GANTRY_DOCKERFILE, Config.Dockerfile), e.g. docker/Dockerfile", dockerfile, facts.Dir)
	}
	root := facts.RepoRoot
	if root == "" {
		root = facts.Dir
	}
	path := filepath.Join(facts.Dir, dockerfile)
	if !module.Within(root, path) {
		return fmt.Errorf("Dockerfile %q lies outside the repository %s, so the image could not be rebuilt from the commit; move it into the repository and give its path relative to %s (GANTRY_DOCKERFILE, Config.Dockerfile)", dockerfile, root, facts.Dir)
	}
	// A symbolic link inside may still point outside.
	realRoot, errRoot := filepath.EvalSymlinks(root)
	realPath, errPath := filepath.EvalSymlinks(path)
	if errRoot == nil && errPath == nil && !module.Within(realRoot, realPath) {
		return fmt.Errorf("Dockerfile %q is a link to %s, outside the repository %s, so the image could not be rebuilt from the commit; commit the Dockerfile itself (GANTRY_DOCKERFILE, Config.Dockerfile)", dockerfile, realPath, root)
	}
	return nil
}

// goOS and goArch are the values of GOOS and GOARCH that Go knows
// (`go tool dist list`).
var (
	goOS   = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js", "linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"}
	goArch = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm"}
)

func checkGoPlatform(goos, goarch string) error {
	if !slices.Contains(goOS, goos) {
		return fmt.Errorf("GOOS %q is not an operating system Go builds for; set GANTRY_GOOS or Config.GOOS to one of %s", goos, strings.Join(goOS, ", "))
	}
	if !slices.Contains(goArch, goarch) {
		return fmt.Errorf("GOARCH %q is not an architecture Go builds for; set GANTRY_GOARCH or Config.GOARCH to one of %s", goarch, strings.Join(goArch, ", "))
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

// checkShard refuses a Shard that is neither finalize nor a platform of
// Platforms: a platform job of another platform would push an image no
// finalize expects.
func (r Config) checkShard() error {
	if r.Shard == "" || r.Shard == ShardFinalize || slices.Contains(r.Platforms, r.Shard) {
		return nil
	}
	return fmt.Errorf("GANTRY_SHARD=%q (Config.Shard) is neither %q nor one of the platforms (%s); set it to the platform the job builds (the workflow's matrix.platform), or to %s in the job that needs them all",
		r.Shard, ShardFinalize, strings.Join(r.Platforms, ", "), ShardFinalize)
}
