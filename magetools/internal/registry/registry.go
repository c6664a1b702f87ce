// Package registry is every registry read and write Gantry makes, through
// go-containerregistry: checking what a build pushed, and adding tags to an
// index that is already there (a registry-side tag, no layers moved).
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Client talks to registries with the Docker credentials of this machine
// (what `docker login` wrote), so buildx and Gantry see the same logins.
// Transient faults (connection errors, 408, 429, 5xx) are retried by
// go-containerregistry: three tries, 1 s then 3 s apart.
type Client struct {
	options []remote.Option
}

// New returns a client bound to ctx: cancelling ctx stops every request.
func New(ctx context.Context) Client {
	return Client{options: []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithUserAgent("gantry"),
	}}
}

// Image is what a tag names now.
type Image struct {
	Digest string
	// Revision is the commit in the revision label of its first platform image.
	Revision string
}

// Lookup returns what tag names, or found == false when the tag (or the
// repository) does not exist.
func (c Client) Lookup(tag string) (img Image, found bool, err error) {
	ref, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return Image{}, false, fmt.Errorf("look up %s: %w", tag, err)
	}
	idx, err := remote.Index(ref, c.options...)
	if isNotFound(err) {
		return Image{}, false, nil
	}
	if err != nil {
		return Image{}, false, explain(fmt.Errorf("look up %s: %w", tag, err), ref.Context())
	}
	digest, err := idx.Digest()
	if err != nil {
		return Image{}, false, fmt.Errorf("look up %s: %w", tag, err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return Image{}, false, fmt.Errorf("look up %s: %w", tag, err)
	}
	img = Image{Digest: digest.String()}
	for _, d := range manifest.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue // an attestation manifest
		}
		platformImage, err := idx.Image(d.Digest)
		if err != nil {
			return Image{}, false, fmt.Errorf("look up %s: %w", tag, err)
		}
		cfg, err := platformImage.ConfigFile()
		if err != nil {
			return Image{}, false, fmt.Errorf("look up %s: %w", tag, err)
		}
		img.Revision = cfg.Config.Labels[RevisionLabel]
		break
	}
	return img, true, nil
}

// CheckPush fails, with the fix, when this machine cannot push to repo:
// the registry is unreachable, or the credentials are missing or refused.
// It runs before any build, so a bad login never leaves half a release.
func (c Client) CheckPush(repo string) error {
	r, err := name.NewRepository(repo, name.StrictValidation)
	if err != nil {
		return err
	}
	err = remote.CheckPushPermission(r.Tag("gantry-push-check"), authn.DefaultKeychain, transport.NewRetry(http.DefaultTransport))
	if err != nil {
		return explain(fmt.Errorf("cannot push to %s: %w", repo, err), r)
	}
	return nil
}

// explain adds the fix for the registry errors people meet most.
func explain(err error, repo name.Repository) error {
	host := repo.RegistryStr()
	var terr *transport.Error
	switch {
	case errors.As(err, &terr) && terr.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w; not logged in to %s: run `docker login %s` (in GitHub Actions, give the job `permissions: packages: write` and GITHUB_TOKEN)", err, host, host)
	case errors.As(err, &terr) && terr.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w; %s refused these credentials for %s: log in as an account that can push there (for GHCR, the package must grant the repository write access)", err, host, repo)
	case errors.As(err, &terr):
		return fmt.Errorf("%w; %s answered %d: try again later, or check the registry's status", err, host, terr.StatusCode)
	default:
		return fmt.Errorf("%w; is %s reachable and the image name (GANTRY_IMAGE) right?", err, host)
	}
}

func isNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}

// Expect is what a pushed index must satisfy.
type Expect struct {
	Platforms []string
	// Revision is the commit in org.opencontainers.image.revision.
	Revision string
	// NonRoot requires every platform's config to name a non-root user.
	NonRoot bool
}

// RevisionLabel is the OCI label that carries the full commit SHA.
const RevisionLabel = "org.opencontainers.image.revision"

// Verify reads the index at ref back from the registry and checks it
// against want; it returns the index digest.
func (c Client) Verify(ref string, want Expect) (string, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", ref, err)
	}
	idx, err := remote.Index(r, c.options...)
	if err != nil {
		return "", explain(fmt.Errorf("verify %s: read index: %w", ref, err), r.Context())
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", ref, err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", ref, err)
	}
	var problems []string
	for _, platform := range want.Platforms {
		desc, ok := findPlatform(manifest.Manifests, platform)
		if !ok {
			problems = append(problems, platform+" is missing from the index")
			continue
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return "", fmt.Errorf("verify %s: read %s image: %w", ref, platform, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return "", fmt.Errorf("verify %s: read %s config: %w", ref, platform, err)
		}
		if got := cfg.Config.Labels[RevisionLabel]; got != want.Revision {
			problems = append(problems, fmt.Sprintf("%s: label %s is %q, want %q", platform, RevisionLabel, got, want.Revision))
		}
		if want.NonRoot && IsRoot(cfg.Config.User) {
			problems = append(problems, fmt.Sprintf("%s: runs as root (USER %q); add `USER 65532:65532` to the stage", platform, cfg.Config.User))
		}
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("verify %s: %s", ref, strings.Join(problems, "; "))
	}
	return digest.String(), nil
}

// IsRoot reports whether an image config's User runs as root: empty (the
// default), "root" or uid 0, with or without a group.
func IsRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "" || u == "root" || u == "0"
}

func findPlatform(manifests []v1.Descriptor, platform string) (v1.Descriptor, bool) {
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return v1.Descriptor{}, false
	}
	i := slices.IndexFunc(manifests, func(d v1.Descriptor) bool {
		return d.Platform != nil && d.Platform.Satisfies(*want)
	})
	if i < 0 {
		return v1.Descriptor{}, false
	}
	return manifests[i], true
}

// Tag points tag at the manifest or index src (a digest reference or a
// tag) without moving any layer: the registry stores a second name for the
// same bytes.
func (c Client) Tag(src, tag string) error {
	srcRef, err := name.ParseReference(src, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag %s: source %s: %w", tag, src, err)
	}
	dst, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	desc, err := remote.Get(srcRef, c.options...)
	if err != nil {
		return fmt.Errorf("tag %s: read %s: %w", tag, src, err)
	}
	if err := remote.Tag(dst, desc, c.options...); err != nil {
		return explain(fmt.Errorf("tag %s: %w", tag, err), dst.Context())
	}
	return nil
}

// DigestRef returns repo@digest for the repository of a tag reference.
func DigestRef(tag, digest string) (string, error) {
	t, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return "", err
	}
	return t.Context().Digest(digest).String(), nil
}
