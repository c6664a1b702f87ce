package registry

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PlatformManifest is one platform's image manifest in a repository, as
// an index lists it, with what its config says.
type PlatformManifest struct {
	MediaType string
	Digest    string
	Size      int64
	// Platform is the config's os/arch[/variant].
	Platform string
	// Revision is the config's revision label (RevisionLabel).
	Revision string
}

// ReadPlatformManifest reads the image manifest ref (a digest reference)
// names: a platform's image, as a single-platform build pushes it.
func (c Client) ReadPlatformManifest(ctx context.Context, ref string) (PlatformManifest, error) {
	r, err := name.NewDigest(ref, name.StrictValidation)
	if err != nil {
		return PlatformManifest{}, fmt.Errorf("read %s: %w", ref, err)
	}
	s, err := c.sessions()
	if err != nil {
		return PlatformManifest{}, err
	}
	desc, err := s.puller.Get(ctx, r)
	if err != nil {
		return PlatformManifest{}, explain(fmt.Errorf("read %s: %w", ref, err), r.Context())
	}
	if !desc.MediaType.IsImage() {
		return PlatformManifest{}, fmt.Errorf("read %s: it is a %s, not one platform's image manifest", ref, desc.MediaType)
	}
	img, err := desc.Image()
	if err != nil {
		return PlatformManifest{}, fmt.Errorf("read %s: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return PlatformManifest{}, fmt.Errorf("read %s: config: %w", ref, err)
	}
	p := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	return PlatformManifest{MediaType: string(desc.MediaType), Digest: desc.Digest.String(), Size: desc.Size,
		Platform: p.String(), Revision: cfg.Config.Labels[RevisionLabel]}, nil
}

// The index as BuildKit writes it (exporter/containerimage: the OCI
// image-spec structs, json.MarshalIndent with two spaces, no newline at
// the end). go-containerregistry's v1.IndexManifest writes a descriptor's
// size before its digest, and compactly: the same index in other bytes,
// under another digest. The fields are BuildKit's, in its order.
type (
	buildkitIndex struct {
		SchemaVersion int                  `json:"schemaVersion"`
		MediaType     string               `json:"mediaType"`
		Manifests     []buildkitDescriptor `json:"manifests"`
	}
	buildkitDescriptor struct {
		MediaType string           `json:"mediaType"`
		Digest    string           `json:"digest"`
		Size      int64            `json:"size"`
		Platform  buildkitPlatform `json:"platform"`
	}
	buildkitPlatform struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant,omitempty"`
	}
)

// IndexJSON returns the OCI index of manifests, in their order, byte for
// byte as BuildKit pushes a multi-platform build without attestations of
// the same platform images, so that its digest is that build's. Each
// manifest's platform is the one it was built for (os/arch[/variant]),
// normalised as BuildKit does (containerd's platforms.Normalize): arm64's
// v8 and amd64's v1 are the default variants, and left out.
func IndexJSON(manifests []PlatformManifest, platforms []string) ([]byte, error) {
	if len(manifests) != len(platforms) {
		return nil, fmt.Errorf("index of %d manifests for %d platforms", len(manifests), len(platforms))
	}
	idx := buildkitIndex{SchemaVersion: 2, MediaType: string(types.OCIImageIndex)}
	for i, m := range manifests {
		p, err := v1.ParsePlatform(platforms[i])
		if err != nil {
			return nil, err
		}
		if (p.Architecture == "arm64" && p.Variant == "v8") || (p.Architecture == "amd64" && p.Variant == "v1") {
			p.Variant = ""
		}
		idx.Manifests = append(idx.Manifests, buildkitDescriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size,
			Platform: buildkitPlatform{Architecture: p.Architecture, OS: p.OS, Variant: p.Variant}})
	}
	return json.MarshalIndent(idx, "", "  ")
}

// rawIndex is an index's bytes, for the pusher.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// PushIndex pushes the index of manifests (IndexJSON) to repo by digest,
// with no tag, and returns its digest. The manifests must be in repo.
func (c Client) PushIndex(ctx context.Context, repo string, manifests []PlatformManifest, platforms []string) (string, error) {
	raw, err := IndexJSON(manifests, platforms)
	if err != nil {
		return "", fmt.Errorf("push an index to %s: %w", repo, err)
	}
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(raw))
	ref, err := name.NewDigest(repo+"@"+digest, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("push an index to %s: %w", repo, err)
	}
	s, err := c.sessions()
	if err != nil {
		return "", err
	}
	if err := s.pusher.Put(ctx, ref, rawIndex(raw)); err != nil {
		return "", explain(fmt.Errorf("push the index %s: %w", ref, err), ref.Context())
	}
	return digest, nil
}
