package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gantry-build/gantry/internal/dockerfile"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/internal/supplychain"
)

// SupplyChain attaches an image's signature, SBOMs and provenance, and
// verifies them: supplychain.Attester, or a fake in tests.
type SupplyChain interface {
	Attest(ctx context.Context, img supplychain.Image, ref string, build provenance.Build) error
	Verify(ctx context.Context, img supplychain.Image, ref string) (supplychain.Report, error)
}

// attest gives res's image what lets a deployer verify it, and verifies
// it as a deployer would, before any tag names it:
//   - a build gets an SBOM per platform, provenance and a signature for
//     this run's ref;
//   - a re-run's image (its tag held this commit) must already have them:
//     Publish tags only what it has attested, so one that lacks them was
//     not published by this process, or was changed since, and Gantry
//     does not sign what it did not build;
//   - a release's promoted image must have main's, and gets a signature
//     for the release tag beside main's.
//
// It returns the checks that passed; a failed check is an error. With
// signing off it does nothing.
func (r Run) attest(ctx context.Context, res Result) ([]supplychain.Check, error) {
	if r.SupplyChain == nil {
		return nil, nil
	}
	img := supplychain.Image{Repo: r.Config.Image, Digest: res.Digest, Commit: r.Event.Commit}
	switch res.How {
	case Promoted:
		if err := r.verifyChain(ctx, img, "", "the image built on "+r.Config.PublishBranch); err != nil {
			return nil, err
		}
		if err := r.SupplyChain.Attest(ctx, img, r.Event.Ref, provenance.Build{}); err != nil {
			return nil, err
		}
	case Built:
		build, err := r.provenance(ctx, res)
		if err != nil {
			return nil, err
		}
		if err := r.SupplyChain.Attest(ctx, img, r.Event.Ref, build); err != nil {
			return nil, err
		}
	}
	report, err := r.SupplyChain.Verify(ctx, img, r.Event.Ref)
	if err != nil {
		return nil, err
	}
	if err := report.Err(); err != nil {
		if res.How == Reused {
			return nil, fmt.Errorf("%w; the tag %s held this commit already, but Publish tags only what it has signed and attested, so this image was not published by this process or was changed since: delete the tag and re-run, which rebuilds the same bytes", err, res.Image.Immutable()[0])
		}
		return nil, err
	}
	r.log(res.Image).WithField("digest", res.Digest).Info("verified: signature, provenance and an SBOM per platform")
	return report.Checks, nil
}

// verifyChain fails unless img's supply chain verifies, signed for ref
// (any trusted ref when empty); what names the image in the error.
func (r Run) verifyChain(ctx context.Context, img supplychain.Image, ref, what string) error {
	report, err := r.SupplyChain.Verify(ctx, img, ref)
	if err != nil {
		return err
	}
	if err := report.Err(); err != nil {
		return fmt.Errorf("%s does not verify, so the release cannot promote it: %w; release a new commit, or set GANTRY_RELEASE_REBUILD=true to build the release", what, err)
	}
	return nil
}

// provenance describes the build of res for its SLSA provenance: the
// source, the Dockerfile, the base images by digest, the build arguments
// Gantry set and, in GitHub Actions, the workflow run.
func (r Run) provenance(ctx context.Context, res Result) (provenance.Build, error) {
	name, content, err := r.dockerfileSource()
	if err != nil {
		return provenance.Build{}, err
	}
	if name != provenance.EmbeddedDockerfile {
		if name, err = r.repoPath(ctx, name); err != nil {
			return provenance.Build{}, err
		}
	}
	sum := sha256.Sum256(content)
	args := r.BuildOptions().BuildArgs()
	maps.Copy(args, r.Config.BuildArgs)
	// What provenance records of the build arguments: never a secret.
	recorded := maps.Clone(args)
	for k := range recorded {
		if run.SecretName(k) {
			recorded[k] = "***"
		}
	}
	b := provenance.Build{
		Repository:    r.sourceRepository(),
		Commit:        r.Event.Commit,
		Ref:           r.Event.Ref,
		Target:        res.Image.Target,
		Platforms:     res.Image.Platforms,
		Dockerfile:    provenance.Dockerfile{Path: name, Digest: "sha256:" + hex.EncodeToString(sum[:])},
		BuildArgs:     recorded,
		Builder:       r.builderID(),
		Invocation:    r.invocation(),
		Finished:      time.Now().UTC(),
		GantryVersion: gantryVersion(),
	}
	file, err := dockerfile.Parse(content)
	if err != nil {
		return provenance.Build{}, fmt.Errorf("read %s for the provenance: %w", name, err)
	}
	for _, image := range file.Images(args) {
		digest, err := r.Registry.Resolve(ctx, image)
		if err != nil {
			return provenance.Build{}, fmt.Errorf("resolve the base image %s for the provenance: %w", image, err)
		}
		b.BaseImages = append(b.BaseImages, provenance.Dependency{URI: image, Digest: digest})
	}
	return b, nil
}

// repoPath returns the path from the repository's root of rel, a path
// from the service directory: provenance names files as the repository
// holds them (a service in a subdirectory, or a Dockerfile above it).
func (r Run) repoPath(ctx context.Context, rel string) (string, error) {
	root, err := git.Repo{Dir: r.Config.Dir}.TopLevel(ctx)
	if err != nil {
		return "", fmt.Errorf("find the repository of %s: %w", r.Config.Dir, err)
	}
	dir, err := filepath.EvalSymlinks(r.Config.Dir)
	if err == nil {
		dir, err = filepath.Abs(dir)
	}
	if err != nil {
		return "", fmt.Errorf("find the service directory %s: %w", r.Config.Dir, err)
	}
	path, err := filepath.Rel(root, filepath.Join(dir, rel))
	if err != nil || path == ".." || strings.HasPrefix(path, "../") {
		return "", fmt.Errorf("the Dockerfile %s is outside the repository %s, so provenance cannot name it by the commit: move it into the repository (GANTRY_DOCKERFILE, Config.Dockerfile)", rel, root)
	}
	return filepath.ToSlash(path), nil
}

// sourceRepository is the URL of the source repository.
func (r Run) sourceRepository() string {
	if r.Event.Repository == "" {
		return ""
	}
	return r.server() + "/" + r.Event.Repository
}

// server is GitHub's URL (GITHUB_SERVER_URL on GitHub Enterprise).
func (r Run) server() string {
	if s := r.Getenv("GITHUB_SERVER_URL"); s != "" {
		return s
	}
	return "https://github.com"
}

// builderID names what ran the build: the workflow at its ref in GitHub
// Actions (as its keyless certificate does), else Gantry at its version.
func (r Run) builderID() string {
	if ref := r.Getenv("GITHUB_WORKFLOW_REF"); r.inActions() && ref != "" {
		return r.server() + "/" + ref
	}
	return "https://github.com/gantry-build/gantry@" + gantryVersion()
}

// gantryVersion is the version of the Gantry module in this binary (the
// service's mage binary), or "devel" when it is built from Gantry's own
// checkout.
func gantryVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	for _, m := range append([]*debug.Module{&info.Main}, info.Deps...) {
		if m.Path == "github.com/gantry-build/gantry" && m.Version != "" && m.Version != "(devel)" {
			return m.Version
		}
	}
	return "devel"
}

// invocation is the URL of this workflow run's attempt, in GitHub Actions.
func (r Run) invocation() string {
	id, attempt := r.Getenv("GITHUB_RUN_ID"), r.Getenv("GITHUB_RUN_ATTEMPT")
	if !r.inActions() || id == "" || r.Event.Repository == "" {
		return ""
	}
	u := fmt.Sprintf("%s/%s/actions/runs/%s", r.server(), r.Event.Repository, id)
	if attempt != "" {
		u += "/attempts/" + attempt
	}
	return u
}
