// Package registrytest serves an in-memory registry on 127.0.0.1, pushes
// fixture images to it, and reads images' files, for the tests.
package registrytest

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	memreg "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RevisionLabel is the label Gantry reads the commit from.
const RevisionLabel = "org.opencontainers.image.revision"

// RequestLog records the requests a test registry answered.
type RequestLog struct {
	mu   sync.Mutex
	reqs []string // "METHOD /path?query"
}

// Wrap records every request h answers.
func (l *RequestLog) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Reset forgets the requests so far.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

// List returns the requests so far.
func (l *RequestLog) List() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

// Serve starts h on 127.0.0.1 and returns its host:port. It keeps this
// machine's docker logins out of the test (the keychain reads
// $DOCKER_CONFIG/config.json).
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// NewRegistry starts an in-memory registry and returns its host:port and
// the log of the requests it answers.
func NewRegistry(t testing.TB) (string, *RequestLog) {
	t.Helper()
	reqs := &RequestLog{}
	h := memreg.New(memreg.Logger(log.New(io.Discard, "", 0)))
	return Serve(t, reqs.Wrap(h)), reqs
}

// PlatformImage is a random image for platform whose config carries the
// revision label (when rev is not empty) and runs as user.
func PlatformImage(t testing.TB, platform, rev, user string) v1.Image {
	t.Helper()
	img, err := NewPlatformImage(platform, rev, user)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// NewPlatformImage is PlatformImage returning its error, for a fake that
// runs on a goroutine other than the test's, where t.Fatal must not be
// called.
func NewPlatformImage(platform, rev, user string) (v1.Image, error) {
	img, err := random.Image(128, 1)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.User = user
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": "svc"}
	if rev != "" {
		cf.Config.Labels[RevisionLabel] = rev
	}
	return mutate.ConfigFile(img, cf)
}

// TwoPlatforms is the index a build of rev pushes: linux/amd64 and
// linux/arm64, running as user.
func TwoPlatforms(t testing.TB, rev, user string) v1.ImageIndex {
	t.Helper()
	idx, err := NewIndex([]string{"linux/amd64", "linux/arm64"}, rev, user)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// NewIndex is an index of a NewPlatformImage for each platform.
func NewIndex(platforms []string, rev, user string) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		platform, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, err
		}
		img, err := NewPlatformImage(p, rev, user)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...), nil
}

// Push writes idx as ref and returns its digest.
func Push(t testing.TB, ref string, idx v1.ImageIndex) string {
	t.Helper()
	digest, err := WriteIndex(ref, idx)
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// WriteIndex is Push returning its error, for a fake that runs on a
// goroutine other than the test's.
func WriteIndex(ref string, idx v1.ImageIndex) (string, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// WriteImage pushes img to repo by digest, as buildx pushes a
// single-platform build, and returns its digest.
func WriteImage(repo string, img v1.Image) (string, error) {
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	r, err := name.NewDigest(repo+"@"+d.String(), name.StrictValidation)
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img); err != nil {
		return "", fmt.Errorf("push %s: %w", r, err)
	}
	return d.String(), nil
}

// Digest returns the digest ref names in the registry, or "" when the
// registry does not have it.
func Digest(t testing.TB, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("head %s: %v", ref, err)
	}
	return desc.Digest.String()
}

// Walk calls fn with each entry of an image's flattened filesystem (its
// path without "./") and a reader of its content.
func Walk(t testing.TB, img v1.Image, fn func(path string, r io.Reader)) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(strings.TrimPrefix(h.Name, "./"), tr)
	}
}

// ReadFile returns the content of a file of an image's flattened
// filesystem; path has no leading "/".
func ReadFile(t testing.TB, img v1.Image, path string) []byte {
	t.Helper()
	var data []byte
	found := false
	Walk(t, img, func(p string, r io.Reader) {
		if p != path {
			return
		}
		var err error
		if data, err = io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
		found = true
	})
	if !found {
		t.Fatalf("the image has no %s", path)
	}
	return data
}

// PushLabelled pushes as ref an index of rev for linux/amd64 and
// linux/arm64 whose images also carry the label key=value, as Gantry
// labels its builds (the inputs digest).
func PushLabelled(t testing.TB, ref, rev, key, value string) {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		img := PlatformImage(t, p, rev, "65532:65532")
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.Labels[key] = value
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		plat, _ := v1.ParsePlatform(p)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	Push(t, ref, idx)
}
