// Package registry is every registry read and write Gantry makes, through
// go-containerregistry: checking what a build pushed, adding tags to an
// index that is already there (a registry-side tag, no layers moved), and
// attaching artifacts to it as OCI referrers, and reading them back.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/gantry-build/gantry/internal/imageuser"
)

// Client talks to registries with the Docker credentials of this machine
// (what `docker login` wrote), so buildx and Gantry see the same logins.
// Transient faults (connection errors, 408, 429, 5xx) are retried: three
// tries, 1 s then 3 s apart, as go-containerregistry does by default.
// A Client and its copies are safe for concurrent use, and share their
// token handshakes.
type Client struct {
	keychain authn.Keychain
	// pushCheck is the transport of CheckPush, which go-containerregistry
	// has no options-taking call for: it retries as remote's calls do.
	pushCheck http.RoundTripper
	// sessions opens the client's sessions on first use.
	sessions func() (sessions, error)
	// attaching serialises Attach per subject: each attach rewrites the
	// subject's referrers tag, and two at once would lose one's entry.
	attaching *keyedMutex
}

// sessions keep one authenticated transport per repository and scope,
// made by the first call that needs it and reused by every later one
// (concurrent ones too), so a publish does one token handshake per scope
// instead of one per call: the puller's pull scope for reads, the
// pusher's push scope for tags and referrers. The pusher never asks a
// registry's referrers API (see skipReferrersProbe), so every referrer it
// writes is also listed in the referrers tag.
type sessions struct {
	puller *remote.Puller
	pusher *remote.Pusher
}

// retryBackoff and retryStatusCodes are go-containerregistry's defaults
// for remote's calls, spelled out for the push check.
var (
	retryBackoff     = transport.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3}
	retryStatusCodes = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
)

// New returns a client with this machine's Docker credentials: the Docker
// configuration DOCKER_CONFIG names, else ~/.docker (or Podman's).
func New() Client { return newClient(authn.DefaultKeychain) }

// NewWithDockerConfig returns a client reading its credentials from the
// Docker configuration in dir (Login's private one), whatever this
// process's DOCKER_CONFIG says, as docker does with that DOCKER_CONFIG:
// config.json's auths, credsStore and credHelpers.
func NewWithDockerConfig(dir string) Client { return newClient(configKeychain(dir)) }

func newClient(keychain authn.Keychain) Client {
	return Client{
		keychain: keychain,
		pushCheck: transport.NewUserAgent(transport.NewRetry(http.DefaultTransport,
			transport.WithRetryBackoff(retryBackoff), transport.WithRetryStatusCodes(retryStatusCodes...)), "gantry"),
		attaching: &keyedMutex{},
		sessions: sync.OnceValues(func() (sessions, error) {
			opts := []remote.Option{remote.WithAuthFromKeychain(keychain), remote.WithUserAgent("gantry")}
			puller, err := remote.NewPuller(opts...)
			if err != nil {
				return sessions{}, fmt.Errorf("open registry session: %w", err)
			}
			pusher, err := remote.NewPusher(append(opts, remote.WithTransport(skipReferrersProbe{remote.DefaultTransport}))...)
			if err != nil {
				return sessions{}, fmt.Errorf("open registry session: %w", err)
			}
			return sessions{puller, pusher}, nil
		}),
	}
}

// configKeychain reads the Docker configuration in its directory; it
// looks a resource up as authn.DefaultKeychain does.
type configKeychain string

func (dir configKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	cf, err := dockerconfig.Load(string(dir))
	if err != nil {
		return nil, fmt.Errorf("read the Docker configuration in %s: %w", string(dir), err)
	}
	for _, key := range []string{target.String(), target.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		cfg, err := cf.GetAuthConfig(key)
		if err != nil {
			return nil, fmt.Errorf("read the credentials for %s in %s: %w", key, string(dir), err)
		}
		auth := authn.AuthConfig{Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
			IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken}
		if auth != (authn.AuthConfig{}) {
			return authn.FromConfig(auth), nil
		}
	}
	return authn.Anonymous, nil
}

// Image is what a tag names now.
type Image struct {
	Digest string
	// Revision is the commit in the revision label of its first platform image.
	Revision string
	// Inputs is the inputs digest in the InputsLabel of its first
	// platform image (internal/inputs).
	Inputs string
}

// Lookup returns what tag (or a digest reference) names, or found == false
// when the tag (or the repository) does not exist.
func (c Client) Lookup(ctx context.Context, tag string) (img Image, found bool, err error) {
	ref, err := name.ParseReference(tag, name.StrictValidation)
	if err != nil {
		return Image{}, false, fmt.Errorf("look up %s: %w", tag, err)
	}
	digest, images, err := c.platformImages(ctx, ref)
	if isNotFound(err) {
		return Image{}, false, nil
	}
	if err != nil {
		return Image{}, false, explain(fmt.Errorf("look up %s: %w", tag, err), ref.Context())
	}
	img = Image{Digest: digest}
	if len(images) > 0 {
		cfg, err := images[0].image.ConfigFile()
		if err != nil {
			return Image{}, false, fmt.Errorf("look up %s: %w", tag, err)
		}
		img.Revision, img.Inputs = cfg.Config.Labels[RevisionLabel], cfg.Config.Labels[InputsLabel]
	}
	return img, true, nil
}

// imageForPlatform is one platform's image of what a reference names.
type imageForPlatform struct {
	platform v1.Platform
	image    v1.Image
}

// platformImages returns the digest that ref names and its platform
// images: those of an index (attestation manifests, of platform
// unknown/unknown, left out), or the one image of a single-platform build,
// which buildx pushes as a plain manifest.
func (c Client) platformImages(ctx context.Context, ref name.Reference) (string, []imageForPlatform, error) {
	s, err := c.sessions()
	if err != nil {
		return "", nil, err
	}
	desc, err := s.puller.Get(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	if desc.MediaType.IsImage() {
		img, err := desc.Image()
		if err != nil {
			return "", nil, err
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return "", nil, err
		}
		p := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
		return desc.Digest.String(), []imageForPlatform{{p, img}}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return "", nil, err
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return "", nil, err
	}
	var images []imageForPlatform
	for _, d := range manifest.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return "", nil, err
		}
		images = append(images, imageForPlatform{*d.Platform, img})
	}
	return desc.Digest.String(), images, nil
}

// Manifest is one platform's manifest of an index.
type Manifest struct {
	// Platform is os/arch[/variant]; Digest the manifest's.
	Platform, Digest string
}

// Manifests returns the platform manifests of what ref names, as
// platformImages finds them.
func (c Client) Manifests(ctx context.Context, ref string) ([]Manifest, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("read the platforms of %s: %w", ref, err)
	}
	_, images, err := c.platformImages(ctx, r)
	if err != nil {
		return nil, explain(fmt.Errorf("read the platforms of %s: %w", ref, err), r.Context())
	}
	manifests := make([]Manifest, len(images))
	for i, img := range images {
		digest, err := img.image.Digest()
		if err != nil {
			return nil, fmt.Errorf("read the platforms of %s: %w", ref, err)
		}
		manifests[i] = Manifest{Platform: img.platform.String(), Digest: digest.String()}
	}
	return manifests, nil
}

// Resolve returns the digest that ref (a tag or a digest reference) names,
// with a HEAD request where the registry answers one.
func (c Client) Resolve(ctx context.Context, ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		return d.DigestStr(), nil
	}
	s, err := c.sessions()
	if err != nil {
		return "", err
	}
	desc, err := s.puller.Head(ctx, r)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, err)
	}
	return desc.Digest.String(), nil
}

// CheckPush fails, with the fix, when this machine cannot push to repo:
// the registry is unreachable, or the credentials are missing or refused.
// It runs before any build, so a bad login never leaves half a release.
func (c Client) CheckPush(ctx context.Context, repo string) error {
	r, err := name.NewRepository(repo, name.StrictValidation)
	if err != nil {
		return err
	}
	if err := c.startUpload(ctx, r); err != nil {
		return explain(fmt.Errorf("cannot push to %s: %w", repo, err), r)
	}
	return nil
}

// startUpload starts a blob upload to repo and cancels it: only a push
// can tell whether the credentials may push (a token handshake is not
// enough on every registry). It is remote.CheckPushPermission with a
// context and the client's retrying transport, and stricter about where
// it sends requests: only to the registry's own scheme and host:port.
func (c Client) startUpload(ctx context.Context, repo name.Repository) error {
	auth, err := authn.Resolve(ctx, c.keychain, repo)
	if err != nil {
		return fmt.Errorf("read credentials: %w", err)
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, c.pushCheck, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return err
	}
	uploads := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/uploads/"}
	client := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, &uploads) {
			return fmt.Errorf("%s redirected the push check to %s, away from the registry: refused", repo.RegistryStr(), req.URL.Redacted())
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploads.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return err
	}
	// The upload reserves space on some registries: give it back, best
	// effort. A Location on another host gets nothing, not even the
	// DELETE: the check has its answer, and that host is not the registry
	// the credentials are for.
	if loc, err := resp.Location(); err == nil && sameOrigin(loc, &uploads) {
		if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc.String(), nil); err == nil {
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
	return nil
}

// sameOrigin reports whether u has the scheme and host:port of registry.
func sameOrigin(u, registry *url.URL) bool {
	return u.Scheme == registry.Scheme && u.Host == registry.Host
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

// InputsLabel is the label that carries a service's inputs digest
// (internal/inputs): equal on two images built from the same inputs.
const InputsLabel = "io.github.gantry-build.inputs"

// Verify reads what ref names back from the registry and checks it
// against want; it returns its digest.
func (c Client) Verify(ctx context.Context, ref string, want Expect) (string, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", ref, err)
	}
	digest, images, err := c.platformImages(ctx, r)
	if err != nil {
		return "", explain(fmt.Errorf("verify %s: read index: %w", ref, err), r.Context())
	}
	var problems []string
	for _, platform := range want.Platforms {
		wanted, err := v1.ParsePlatform(platform)
		if err != nil {
			return "", fmt.Errorf("verify %s: %w", ref, err)
		}
		i := slices.IndexFunc(images, func(p imageForPlatform) bool { return p.platform.Satisfies(*wanted) })
		if i < 0 {
			problems = append(problems, platform+" is missing from the index")
			continue
		}
		cfg, err := images[i].image.ConfigFile()
		if err != nil {
			return "", fmt.Errorf("verify %s: read %s config: %w", ref, platform, err)
		}
		if got := cfg.Config.Labels[RevisionLabel]; got != want.Revision {
			problems = append(problems, fmt.Sprintf("%s: label %s is %q, want %q", platform, RevisionLabel, got, want.Revision))
		}
		if want.NonRoot && imageuser.IsRoot(cfg.Config.User) {
			problems = append(problems, fmt.Sprintf("%s: runs as root (USER %q); add `USER 65532:65532` to the stage", platform, cfg.Config.User))
		}
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("verify %s: %s", ref, strings.Join(problems, "; "))
	}
	return digest, nil
}

// Tag points tag at the manifest or index src (a digest reference or a
// tag) without moving any layer: the registry stores a second name for the
// same bytes.
func (c Client) Tag(ctx context.Context, src, tag string) error {
	srcRef, err := name.ParseReference(src, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag %s: source %s: %w", tag, src, err)
	}
	dst, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	s, err := c.sessions()
	if err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	desc, err := s.puller.Get(ctx, srcRef)
	if err != nil {
		return fmt.Errorf("tag %s: read %s: %w", tag, src, err)
	}
	// Put writes the manifest alone, as remote.Tag does.
	if err := s.pusher.Put(ctx, dst, desc); err != nil {
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
