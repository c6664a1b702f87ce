package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is a referrer Gantry attaches to an image digest: one layer (a
// Sigstore bundle) and an empty config, as cosign v3 writes it
// (pkg/oci/remote/write.go, WriteReferrer): an OCI manifest whose config
// is the 2-byte "{}" blob of media type application/vnd.oci.empty.v1+json
// carrying the artifact type, with the artifact type at the top level too,
// the subject's descriptor, and the annotations.
type Artifact struct {
	// ArtifactType is the artifact's type and its layer's media type,
	// e.g. application/vnd.dev.sigstore.bundle.v0.3+json.
	ArtifactType string
	// Content is the layer, at most 4 MiB (maxArtifact).
	Content []byte
	// Annotations are the manifest's, e.g.
	// dev.sigstore.bundle.content=dsse-envelope and
	// dev.sigstore.bundle.predicateType=<type>. The same artifact type,
	// content and annotations make the same manifest, and so the same
	// digest.
	Annotations map[string]string
}

// Referrer is one artifact attached to a digest.
type Referrer struct {
	Digest, ArtifactType string
	Annotations          map[string]string
}

// maxArtifact is the largest artifact layer Gantry writes or reads: an
// SBOM of a big service fits; anything larger is not one of Gantry's.
const maxArtifact = 4 << 20

// emptyConfig is the OCI empty descriptor's blob, the config of an
// artifact that has none.
var emptyConfig = []byte("{}")

// Attach pushes a as a referrer of subject (repo@sha256:...) and returns
// the digest of its manifest. Attaching the same artifact again changes
// nothing and returns the same digest.
//
// It works on every registry, and always lists the referrer in the
// subject's referrers tag (sha256-<hex>, an OCI index of its referrers,
// sorted by digest) as well, even where the registry has a referrers API:
// GHCR's has been unreliable (404s, 303s to a rate-limited endpoint), and
// with both, Referrers finds it through either. go-containerregistry
// keeps that tag up to date itself when a registry has no referrers API,
// so the client's pusher is told no registry has one (skipReferrersProbe):
// a registry that has one indexes the manifest on its own when it is
// pushed, and the flaky API is never on the write path.
//
// Attach calls on one Client (and its copies) for one subject run one at a
// time, as each rewrites the tag; separate processes attaching to the same
// subject at the same moment can still lose one's tag entry (registries
// offer no conditional manifest PUT), though not its manifest.
func (c Client) Attach(ctx context.Context, subject string, a Artifact) (string, error) {
	fail := func(err error) error { return fmt.Errorf("attach %s to %s: %w", a.ArtifactType, subject, err) }
	switch {
	case a.ArtifactType == "":
		return "", fail(errors.New("the artifact has no type: set ArtifactType to its layer's media type (application/vnd.dev.sigstore.bundle.v0.3+json for a Sigstore bundle)"))
	case len(a.Content) == 0:
		return "", fail(errors.New("the artifact is empty: give it its content"))
	case len(a.Content) > maxArtifact:
		return "", fail(fmt.Errorf("the artifact is %d bytes, over the %d-byte limit that Content reads back", len(a.Content), maxArtifact))
	}
	sub, err := parseDigest(subject)
	if err != nil {
		return "", fail(err)
	}
	s, err := c.sessions()
	if err != nil {
		return "", fail(err)
	}
	subDesc, err := s.puller.Head(ctx, sub)
	if isNotFound(err) {
		return "", fail(fmt.Errorf("the subject is not in the registry: push the image before attaching to it: %w", err))
	}
	if err != nil {
		return "", explainIO(fail(fmt.Errorf("read the subject: %w", err)), sub.Context())
	}
	layer := static.NewLayer(a.Content, types.MediaType(a.ArtifactType))
	config := static.NewLayer(emptyConfig, types.OCIEmptyJSON)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIEmptyJSON, ArtifactType: a.ArtifactType, Digest: digestOf(emptyConfig), Size: int64(len(emptyConfig))},
		Layers:        []v1.Descriptor{{MediaType: types.MediaType(a.ArtifactType), Digest: digestOf(a.Content), Size: int64(len(a.Content))}},
		Annotations:   a.Annotations,
		Subject:       &v1.Descriptor{MediaType: subDesc.MediaType, Digest: subDesc.Digest, Size: subDesc.Size},
		ArtifactType:  a.ArtifactType,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", fail(err)
	}
	digest := digestOf(raw)

	for _, blob := range []v1.Layer{config, layer} {
		if err := s.pusher.Upload(ctx, sub.Context(), blob); err != nil {
			return "", explainIO(fail(fmt.Errorf("upload a blob: %w", err)), sub.Context())
		}
	}
	unlock := c.attaching.lock(sub.String())
	defer unlock()
	// Put, unlike Push, writes a manifest the registry already has, and so
	// also brings the referrers tag up to date when an earlier Attach
	// stopped between the two.
	if err := s.pusher.Put(ctx, sub.Context().Digest(digest.String()), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		return "", explainIO(fail(fmt.Errorf("push the manifest %s or its referrers tag %s: %w", digest, referrersTag(sub), err)), sub.Context())
	}
	return digest.String(), nil
}

// Referrers lists the artifacts attached to subject (repo@sha256:...),
// sorted by digest: those the registry's referrers API names and those in
// the referrers tag, each once (the tag's entry first, as Gantry wrote
// it). A subject with none has an empty list.
//
// When one of the two fails, the list is what the other has, without an
// error: Attach writes both, and GHCR's API fails often enough that
// failing with it would make signed images look unreadable. There is an
// error only when both fail. (The client has no logger to report the
// other failure to.) A registry without the API counts as answering: its
// list is the tag's, as go-containerregistry reads it, which takes a tag
// naming something other than an index for an empty list (Attach reports
// that tag).
func (c Client) Referrers(ctx context.Context, subject string) ([]Referrer, error) {
	sub, err := parseDigest(subject)
	if err != nil {
		return nil, fmt.Errorf("list the referrers of %s: %w", subject, err)
	}
	s, err := c.sessions()
	if err != nil {
		return nil, fmt.Errorf("list the referrers of %s: %w", subject, err)
	}
	fromTag, tagErr := tagReferrers(ctx, s, sub)
	var fromAPI []v1.Descriptor
	idx, apiErr := remote.Referrers(sub, remote.Reuse(s.puller), remote.WithContext(ctx))
	if apiErr == nil {
		var im *v1.IndexManifest
		if im, apiErr = idx.IndexManifest(); apiErr == nil {
			fromAPI = im.Manifests
		}
	}
	if tagErr != nil && apiErr != nil {
		return nil, explainIO(fmt.Errorf("list the referrers of %s: the referrers API: %w; the referrers tag: %w", subject, apiErr, tagErr), sub.Context())
	}
	return mergeReferrers(fromTag, fromAPI), nil
}

// tagReferrers returns the descriptors in subject's referrers tag; none
// when there is no tag.
func tagReferrers(ctx context.Context, s sessions, sub name.Digest) ([]v1.Descriptor, error) {
	tag := referrersTag(sub)
	desc, err := s.puller.Get(ctx, tag)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tag, err)
	}
	if desc.MediaType != types.OCIImageIndex {
		return nil, fmt.Errorf("%s is a %s, not the OCI index of referrers that tag must name: delete the tag, then attach again", tag, desc.MediaType)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tag, err)
	}
	return im.Manifests, nil
}

// mergeReferrers returns the referrers that lists name, each digest once
// (its first entry), sorted by digest.
func mergeReferrers(lists ...[]v1.Descriptor) []Referrer {
	seen := map[v1.Hash]bool{}
	out := []Referrer{}
	for _, list := range lists {
		for _, d := range list {
			if seen[d.Digest] {
				continue
			}
			seen[d.Digest] = true
			out = append(out, Referrer{Digest: d.Digest.String(), ArtifactType: d.ArtifactType, Annotations: d.Annotations})
		}
	}
	slices.SortFunc(out, func(a, b Referrer) int { return strings.Compare(a.Digest, b.Digest) })
	return out
}

// Content returns the single layer of the artifact at ref
// (repo@sha256:...), at most maxArtifact bytes.
func (c Client) Content(ctx context.Context, ref string) ([]byte, error) {
	fail := func(err error) error { return fmt.Errorf("read artifact %s: %w", ref, err) }
	desc, d, s, err := c.imageManifest(ctx, ref, fail, "take the digest from the subject's referrers", "an artifact manifest: take the digest from the subject's referrers")
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fail(err)
	}
	if len(m.Layers) != 1 {
		return nil, fail(fmt.Errorf("it has %d layers, want the 1 of an artifact Gantry attaches", len(m.Layers)))
	}
	if size := m.Layers[0].Size; size > maxArtifact {
		return nil, fail(fmt.Errorf("its layer is %d bytes, over the %d-byte limit", size, maxArtifact))
	}
	layer, err := s.puller.Layer(ctx, d.Context().Digest(m.Layers[0].Digest.String()))
	if err != nil {
		return nil, explainIO(fail(err), d.Context())
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, explainIO(fail(err), d.Context())
	}
	defer rc.Close()
	// The manifest's size is the writer's word: the limit holds whatever
	// the registry sends. Reading to the end checks the digest.
	b, err := io.ReadAll(io.LimitReader(rc, maxArtifact+1))
	if err != nil {
		return nil, explainIO(fail(err), d.Context())
	}
	if len(b) > maxArtifact {
		return nil, fail(fmt.Errorf("its layer is over the %d-byte limit (the manifest says %d bytes)", maxArtifact, m.Layers[0].Size))
	}
	return b, nil
}

// imageManifest gets the image manifest ref (repo@sha256:...) names, with
// the session it was read through: for Content and Image, whose fail
// wraps the errors; fix says what to do when it is missing, want what it
// should have been when it is an index.
func (c Client) imageManifest(ctx context.Context, ref string, fail func(error) error, fix, want string) (*remote.Descriptor, name.Digest, sessions, error) {
	d, err := parseDigest(ref)
	if err != nil {
		return nil, d, sessions{}, fail(err)
	}
	s, err := c.sessions()
	if err != nil {
		return nil, d, s, fail(err)
	}
	desc, err := s.puller.Get(ctx, d)
	if isNotFound(err) {
		return nil, d, s, fail(fmt.Errorf("not in the registry: %s: %w", fix, err))
	}
	if err != nil {
		return nil, d, s, explainIO(fail(err), d.Context())
	}
	if !desc.MediaType.IsImage() {
		return nil, d, s, fail(fmt.Errorf("it is a %s, not %s", desc.MediaType, want))
	}
	return desc, d, s, nil
}

// Image returns the platform image at ref (repo@sha256:<platform
// manifest>), read lazily through the client's session: its layers are
// fetched when read, with ctx, which must stay live until then.
func (c Client) Image(ctx context.Context, ref string) (v1.Image, error) {
	fail := func(err error) error { return fmt.Errorf("read image %s: %w", ref, err) }
	desc, _, _, err := c.imageManifest(ctx, ref, fail, "check the digest", "a platform image: name one of its platform manifests' digests")
	if err != nil {
		return nil, err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fail(err)
	}
	return img, nil
}

// explainIO adds explain's fix to the errors of talking to the registry,
// and leaves the others (a tag of the wrong kind, a digest mismatch)
// alone: explain's "is the registry reachable?" would mislead there.
func explainIO(err error, repo name.Repository) error {
	var terr *transport.Error
	var nerr net.Error
	if errors.As(err, &terr) || errors.As(err, &nerr) {
		return explain(err, repo)
	}
	return err
}

// parseDigest parses a repo@sha256:... reference.
func parseDigest(ref string) (name.Digest, error) {
	d, err := name.NewDigest(ref, name.StrictValidation)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%w: name it by digest, as registry/repository@sha256:<hex>", err)
	}
	return d, nil
}

// referrersTag is the tag of the referrers tag schema for d:
// sha256-<hex>.
func referrersTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
}

func digestOf(b []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(b)) // reading a byte slice cannot fail
	return h
}

// rawManifest is a manifest to push as these bytes.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// skipReferrersProbe answers, itself, go-containerregistry's question to a
// registry after pushing a manifest with a subject (GET
// /v2/<name>/referrers/<digest>): 404, no referrers API. The library then
// adds the manifest to the subject's referrers tag, which it otherwise
// does only where the API is missing. Every other request goes to next.
type skipReferrersProbe struct{ next http.RoundTripper }

func (t skipReferrersProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !isReferrersPath(req.URL.Path) {
		return t.next.RoundTrip(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		Status: "404 Not Found", StatusCode: http.StatusNotFound,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req,
	}, nil
}

// isReferrersPath reports whether path is /v2/<name>/referrers/<digest>.
func isReferrersPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, "/referrers/")
	if i <= 0 {
		return false
	}
	digest := rest[i+len("/referrers/"):]
	_, err := v1.NewHash(digest)
	return err == nil
}

// keyedMutex is a mutex per key.
type keyedMutex struct{ m sync.Map }

// lock locks key's mutex and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	v, _ := k.m.LoadOrStore(key, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}
