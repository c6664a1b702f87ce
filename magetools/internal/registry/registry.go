// Package registry is every registry read and write Gantry makes, through
// go-containerregistry: checking what a build pushed, and adding tags to an
// index that is already there (a registry-side tag, no layers moved).
package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client talks to registries with the Docker credentials of this machine
// (what `docker login` wrote), so buildx and Gantry see the same logins.
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
		return "", fmt.Errorf("verify %s: read index: %w", ref, err)
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
		return fmt.Errorf("tag %s: %w", tag, err)
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
