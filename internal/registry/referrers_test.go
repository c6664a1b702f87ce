package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	memreg "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// emptyDigest is the digest of "{}", the OCI empty descriptor's.
	emptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	signType    = "https://sigstore.dev/cosign/sign/v1"
	sbomType    = "https://cyclonedx.org/bom"
)

// startRegistry serves an in-memory registry, with or without the
// referrers API, behind wrap (when not nil), and returns its host:port and
// a client without logins. It sets no environment variable, so tests
// using it may run in parallel.
func startRegistry(t *testing.T, api bool, wrap func(http.Handler) http.Handler) (string, Client) {
	t.Helper()
	var h http.Handler = memreg.New(memreg.Logger(log.New(io.Discard, "", 0)), memreg.WithReferrersSupport(api))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), NewWithDockerConfig(t.TempDir())
}

// pushSubject pushes a two-platform index to host/acme/svc and returns
// its digest reference and the index.
func pushSubject(t *testing.T, host string) (string, v1.ImageIndex) {
	t.Helper()
	idx := twoPlatforms(t, rev, nonroot)
	d := push(t, host+"/acme/svc:v1", idx)
	return host + "/acme/svc@" + d, idx
}

// bundle is an artifact as Gantry attaches a Sigstore bundle of predicate.
func bundle(predicate, content string) Artifact {
	return Artifact{ArtifactType: bundleType, Content: []byte(content), Annotations: map[string]string{
		"dev.sigstore.bundle.content":       "dsse-envelope",
		"dev.sigstore.bundle.predicateType": predicate,
	}}
}

// tagIndex returns the descriptors of subject's referrers tag, nil when
// there is no tag.
func tagIndex(t *testing.T, subject string) []v1.Descriptor {
	t.Helper()
	repo, digest, _ := strings.Cut(subject, "@")
	ref, err := name.NewTag(repo+":"+strings.Replace(digest, ":", "-", 1), name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("read the referrers tag of %s: %v", subject, err)
	}
	if desc.MediaType != types.OCIImageIndex {
		t.Fatalf("the referrers tag of %s is a %s", subject, desc.MediaType)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	return im.Manifests
}

// apiReferrers returns the digests the registry's referrers API lists for
// subject.
func apiReferrers(t *testing.T, subject string) []string {
	t.Helper()
	repo, digest, _ := strings.Cut(subject, "@")
	host, path, _ := strings.Cut(repo, "/")
	resp, err := http.Get("http://" + host + "/v2/" + path + "/referrers/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("referrers API of %s: %s", subject, resp.Status)
	}
	im, err := v1.ParseIndexManifest(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, d := range im.Manifests {
		digests = append(digests, d.Digest.String())
	}
	slices.Sort(digests)
	return digests
}

func mustDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func digests(descs []v1.Descriptor) []string {
	var out []string
	for _, d := range descs {
		out = append(out, d.Digest.String())
	}
	return out
}

func referrerDigests(refs []Referrer) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Digest)
	}
	return out
}

// TestAttach: the manifest is the one cosign v3 writes, byte for byte;
// the referrers tag lists it with or without the referrers API, the API
// too where there is one, and Referrers and Content read it back.
func TestAttach(t *testing.T) {
	t.Parallel()
	for _, api := range []bool{false, true} {
		t.Run(fmt.Sprintf("referrers API %v", api), func(t *testing.T) {
			t.Parallel()
			host, c := startRegistry(t, api, nil)
			subject, idx := pushSubject(t, host)
			art := bundle(signType, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
			ctx := context.Background()

			got, err := c.Attach(ctx, subject, art)
			if err != nil {
				t.Fatalf("Attach: %v", err)
			}

			subDigest, _ := idx.Digest()
			subSize, _ := idx.Size()
			layerDigest, _, _ := v1.SHA256(bytes.NewReader(art.Content))
			want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
				`"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"` + emptyDigest + `","artifactType":"` + bundleType + `"},` +
				`"layers":[{"mediaType":"` + bundleType + `","size":` + fmt.Sprint(len(art.Content)) + `,"digest":"` + layerDigest.String() + `"}],` +
				`"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"` + signType + `"},` +
				`"subject":{"mediaType":"application/vnd.oci.image.index.v1+json","size":` + fmt.Sprint(subSize) + `,"digest":"` + subDigest.String() + `"},` +
				`"artifactType":"` + bundleType + `"}`
			wantDigest, _, _ := v1.SHA256(strings.NewReader(want))
			if got != wantDigest.String() {
				t.Errorf("Attach returned %s, want the digest of the manifest cosign writes, %s", got, wantDigest)
			}
			desc, err := remote.Get(mustDigest(t, host+"/acme/svc@"+got))
			if err != nil {
				t.Fatalf("read the artifact manifest: %v", err)
			}
			if string(desc.Manifest) != want || desc.MediaType != types.OCIManifestSchema1 {
				t.Errorf("artifact manifest (%s)\n%s\nwant\n%s", desc.MediaType, desc.Manifest, want)
			}
			for blob, content := range map[string]string{emptyDigest: "{}", layerDigest.String(): string(art.Content)} {
				l, err := remote.Layer(mustDigest(t, host+"/acme/svc@"+blob))
				if err != nil {
					t.Fatal(err)
				}
				rc, err := l.Compressed()
				if err != nil {
					t.Fatalf("blob %s: %v", blob, err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || string(b) != content {
					t.Errorf("blob %s = %q, %v; want %q", blob, b, err, content)
				}
			}

			wantTag := []v1.Descriptor{{MediaType: types.OCIManifestSchema1, Size: int64(len(want)), Digest: wantDigest,
				Annotations: art.Annotations, ArtifactType: bundleType}}
			if tag := tagIndex(t, subject); !reflect.DeepEqual(tag, wantTag) {
				t.Errorf("referrers tag lists %+v, want %+v", tag, wantTag)
			}
			if api {
				if got := apiReferrers(t, subject); !slices.Equal(got, []string{wantDigest.String()}) {
					t.Errorf("referrers API lists %q, want %s", got, wantDigest)
				}
			}

			refs, err := c.Referrers(ctx, subject)
			if err != nil {
				t.Fatalf("Referrers: %v", err)
			}
			wantRefs := []Referrer{{Digest: got, ArtifactType: bundleType, Annotations: art.Annotations}}
			if !reflect.DeepEqual(refs, wantRefs) {
				t.Errorf("Referrers = %+v, want %+v", refs, wantRefs)
			}
			content, err := c.Content(ctx, host+"/acme/svc@"+got)
			if err != nil {
				t.Fatalf("Content: %v", err)
			}
			if !bytes.Equal(content, art.Content) {
				t.Errorf("Content = %q, want %q", content, art.Content)
			}
		})
	}
}

// TestAttachAgainAndMore: attaching the same artifact twice changes
// nothing; different artifacts are all listed, sorted by digest, even
// when attached at once.
func TestAttachAgainAndMore(t *testing.T) {
	t.Parallel()
	for _, api := range []bool{false, true} {
		t.Run(fmt.Sprintf("referrers API %v", api), func(t *testing.T) {
			t.Parallel()
			host, c := startRegistry(t, api, nil)
			ctx := context.Background()

			t.Run("same artifact twice", func(t *testing.T) {
				t.Parallel()
				subject, _ := pushSubject(t, host)
				first, err := c.Attach(ctx, subject, bundle(signType, "sig"))
				if err != nil {
					t.Fatal(err)
				}
				second, err := c.Attach(ctx, subject, bundle(signType, "sig"))
				if err != nil {
					t.Fatal(err)
				}
				if first != second {
					t.Errorf("the same artifact attached twice: digests %s and %s", first, second)
				}
				if tag := digests(tagIndex(t, subject)); !slices.Equal(tag, []string{first}) {
					t.Errorf("referrers tag lists %q, want %s once", tag, first)
				}
				refs, err := c.Referrers(ctx, subject)
				if err != nil {
					t.Fatal(err)
				}
				if got := referrerDigests(refs); !slices.Equal(got, []string{first}) {
					t.Errorf("Referrers = %q, want %s once", got, first)
				}
			})

			t.Run("two artifacts", func(t *testing.T) {
				t.Parallel()
				subject, _ := pushSubject(t, host)
				sig, err := c.Attach(ctx, subject, bundle(signType, "sig"))
				if err != nil {
					t.Fatal(err)
				}
				sbom, err := c.Attach(ctx, subject, bundle(sbomType, "sbom"))
				if err != nil {
					t.Fatal(err)
				}
				want := []string{sig, sbom}
				slices.Sort(want)
				if tag := digests(tagIndex(t, subject)); !slices.Equal(tag, want) {
					t.Errorf("referrers tag lists %q, want %q in this order", tag, want)
				}
				if api {
					if got := apiReferrers(t, subject); !slices.Equal(got, want) {
						t.Errorf("referrers API lists %q, want %q", got, want)
					}
				}
				refs, err := c.Referrers(ctx, subject)
				if err != nil {
					t.Fatal(err)
				}
				if got := referrerDigests(refs); !slices.Equal(got, want) {
					t.Errorf("Referrers = %q, want %q", got, want)
				}
				for _, r := range refs {
					wantPredicate := signType
					if r.Digest == sbom {
						wantPredicate = sbomType
					}
					if p := r.Annotations["dev.sigstore.bundle.predicateType"]; p != wantPredicate || r.ArtifactType != bundleType {
						t.Errorf("referrer %s: type %s, predicate %s; want %s, %s", r.Digest, r.ArtifactType, p, bundleType, wantPredicate)
					}
				}
			})

			t.Run("eight at once", func(t *testing.T) {
				t.Parallel()
				subject, _ := pushSubject(t, host)
				var mu sync.Mutex
				var want []string
				var wg sync.WaitGroup
				for i := range 8 {
					wg.Go(func() {
						d, err := c.Attach(ctx, subject, bundle(sbomType, fmt.Sprint("sbom ", i)))
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						want = append(want, d)
						mu.Unlock()
					})
				}
				wg.Wait()
				slices.Sort(want)
				if tag := digests(tagIndex(t, subject)); !slices.Equal(tag, want) {
					t.Errorf("referrers tag lists %q, want all of %q", tag, want)
				}
			})
		})
	}
}

func TestReferrersNone(t *testing.T) {
	t.Parallel()
	for _, api := range []bool{false, true} {
		t.Run(fmt.Sprintf("referrers API %v", api), func(t *testing.T) {
			t.Parallel()
			host, c := startRegistry(t, api, nil)
			subject, _ := pushSubject(t, host)
			_, digest, _ := strings.Cut(subject, "@")
			for _, s := range []string{subject, host + "/acme/nothing-here@" + digest} {
				refs, err := c.Referrers(context.Background(), s)
				if err != nil || len(refs) != 0 {
					t.Errorf("Referrers(%s) = %+v, %v; want none, no error", s, refs, err)
				}
			}
		})
	}
}

// faulty answers the requests that match with fault, records them, and
// passes the others on to the registry.
type faulty struct {
	match func(r *http.Request) bool
	fault http.HandlerFunc
	mu    sync.Mutex
	hits  int
}

func (f *faulty) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.match(r) {
			f.mu.Lock()
			f.hits++
			f.mu.Unlock()
			f.fault(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (f *faulty) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func referrersAPIRequest(r *http.Request) bool { return strings.Contains(r.URL.Path, "/referrers/") }

func referrersTagRead(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256-")
}

func answer(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { statusHandler(code).ServeHTTP(w, r) }
}

// TestBrokenReferrersAPI: a registry whose referrers API fails as GHCR's
// has: Attach never asks it, and Referrers lists through the tag.
func TestBrokenReferrersAPI(t *testing.T) {
	t.Parallel()
	rateLimited := httptest.NewServer(answer(http.StatusTooManyRequests))
	t.Cleanup(rateLimited.Close)
	nowhere := httptest.NewServer(http.NotFoundHandler())
	nowhere.Close() // its port now refuses connections
	redirect := func(to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to+r.URL.Path, http.StatusSeeOther) }
	}
	tests := []struct {
		name  string
		fault http.HandlerFunc
	}{
		{"404", answer(http.StatusNotFound)},
		{"500", answer(http.StatusInternalServerError)},
		{"303 to nowhere", redirect(nowhere.URL)},
		{"303 to a rate-limited endpoint", redirect(rateLimited.URL)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &faulty{match: referrersAPIRequest, fault: tt.fault}
			host, c := startRegistry(t, true, f.wrap)
			subject, _ := pushSubject(t, host)
			ctx := context.Background()
			d, err := c.Attach(ctx, subject, bundle(signType, "sig"))
			if err != nil {
				t.Fatalf("Attach: %v", err)
			}
			if n := f.count(); n != 0 {
				t.Errorf("Attach asked the referrers API %d times, want never", n)
			}
			refs, err := c.Referrers(ctx, subject)
			if err != nil {
				t.Fatalf("Referrers: %v", err)
			}
			if got := referrerDigests(refs); !slices.Equal(got, []string{d}) {
				t.Errorf("Referrers = %q, want %s", got, d)
			}
			if f.count() == 0 {
				t.Error("Referrers did not ask the referrers API")
			}
		})
	}
}

// TestReferrersOneSourceFails: an unreadable referrers tag leaves the
// API's list; both failing is an error naming both.
func TestReferrersOneSourceFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("tag unreadable, API answers", func(t *testing.T) {
		t.Parallel()
		f := &faulty{match: referrersTagRead, fault: answer(http.StatusForbidden)}
		host, c := startRegistry(t, true, f.wrap)
		subject, _ := pushSubject(t, host)
		// Written directly, as the faulty tag would fail Attach.
		d := putArtifact(t, subject, [][]byte{[]byte("sig")}, nil)
		refs, err := c.Referrers(ctx, subject)
		if err != nil {
			t.Fatalf("Referrers: %v", err)
		}
		if got := referrerDigests(refs); !slices.Equal(got, []string{d}) {
			t.Errorf("Referrers = %q, want the API's %s", got, d)
		}
		if f.count() == 0 {
			t.Error("Referrers did not read the referrers tag")
		}
	})
	t.Run("both refused", func(t *testing.T) {
		t.Parallel()
		f := &faulty{match: func(r *http.Request) bool { return referrersAPIRequest(r) || referrersTagRead(r) },
			fault: answer(http.StatusForbidden)}
		host, c := startRegistry(t, true, f.wrap)
		subject, _ := pushSubject(t, host)
		_, err := c.Referrers(ctx, subject)
		checkErr(t, err, []string{"list the referrers of " + subject, "the referrers API:", "the referrers tag:", "refused these credentials"}, nil)
	})
	t.Run("tag names an image", func(t *testing.T) {
		t.Parallel()
		host, c := startRegistry(t, false, nil)
		subject, _ := pushSubject(t, host)
		tag := host + "/acme/svc:" + strings.Replace(subject[strings.Index(subject, "@")+1:], ":", "-", 1)
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, platformImage(t, "linux/amd64", rev, nonroot)); err != nil {
			t.Fatal(err)
		}
		_, err = c.Attach(ctx, subject, bundle(signType, "sig"))
		checkErr(t, err, []string{"referrers tag " + ref.String(), "not an OCI image index"}, []string{"reachable"})
		// Referrers leaves the unreadable tag out: go-containerregistry's
		// fallback read, standing in for the missing API, reads it as an
		// empty list.
		s, err := c.sessions()
		if err != nil {
			t.Fatal(err)
		}
		_, err = tagReferrers(ctx, s, mustDigest(t, subject))
		checkErr(t, err, []string{ref.String(), "not the OCI index of referrers", "delete the tag"}, nil)
	})
}

// putArtifact pushes an artifact manifest with these layers (declared
// with sizes, when not nil) whose subject is subject, and returns its
// digest.
func putArtifact(t *testing.T, subject string, layers [][]byte, sizes []int64) string {
	t.Helper()
	sub, err := name.NewDigest(subject)
	if err != nil {
		t.Fatal(err)
	}
	subDesc, err := remote.Head(sub)
	if err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: bundleType,
		Config:  v1.Descriptor{MediaType: types.OCIEmptyJSON, Digest: v1.Hash{Algorithm: "sha256", Hex: emptyDigest[7:]}, Size: 2},
		Subject: subDesc}
	for i, content := range append([][]byte{[]byte("{}")}, layers...) {
		l := static.NewLayer(content, bundleType)
		if err := remote.WriteLayer(sub.Context(), l); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			continue
		}
		d, _ := l.Digest()
		size := int64(len(content))
		if sizes != nil {
			size = sizes[i-1]
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: bundleType, Digest: d, Size: size})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf(raw)
	if err := remote.Put(sub.Context().Digest(d.String()), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestContent(t *testing.T) {
	t.Parallel()
	host, c := startRegistry(t, false, nil)
	subject, idx := pushSubject(t, host)
	repo := host + "/acme/svc@"
	atLimit := bytes.Repeat([]byte("a"), maxArtifact)
	over := append(bytes.Repeat([]byte("b"), maxArtifact), 'b')
	idxDigest, _ := idx.Digest()

	tests := []struct {
		name    string
		ref     func(t *testing.T) string
		want    []byte
		wantErr []string
	}{
		{name: "at the limit", ref: func(t *testing.T) string {
			d, err := c.Attach(context.Background(), subject, Artifact{ArtifactType: bundleType, Content: atLimit})
			if err != nil {
				t.Fatal(err)
			}
			return repo + d
		}, want: atLimit},
		{name: "over the limit", ref: func(t *testing.T) string { return repo + putArtifact(t, subject, [][]byte{over}, nil) },
			wantErr: []string{"its layer is 4194305 bytes, over the 4194304-byte limit"}},
		{name: "over the limit, manifest says less", ref: func(t *testing.T) string {
			return repo + putArtifact(t, subject, [][]byte{over}, []int64{10})
		}, wantErr: []string{"over the 4194304-byte limit (the manifest says 10 bytes)"}},
		{name: "two layers", ref: func(t *testing.T) string {
			return repo + putArtifact(t, subject, [][]byte{[]byte("x"), []byte("y")}, nil)
		}, wantErr: []string{"it has 2 layers, want the 1"}},
		{name: "an index", ref: func(t *testing.T) string { return repo + idxDigest.String() },
			wantErr: []string{"not an artifact manifest"}},
		{name: "missing", ref: func(t *testing.T) string { return repo + emptyDigest },
			wantErr: []string{"not in the registry", "referrers"}},
		{name: "by tag", ref: func(t *testing.T) string { return host + "/acme/svc:v1" },
			wantErr: []string{"name it by digest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref := tt.ref(t)
			got, err := c.Content(context.Background(), ref)
			if tt.wantErr != nil {
				checkErr(t, err, append([]string{"read artifact " + ref}, tt.wantErr...), nil)
				return
			}
			if err != nil {
				t.Fatalf("Content(%s): %v", ref, err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Content(%s): %d bytes, not the %d attached", ref, len(got), len(tt.want))
			}
		})
	}
}

func TestAttachErrors(t *testing.T) {
	t.Parallel()
	host, c := startRegistry(t, false, nil)
	subject, _ := pushSubject(t, host)
	_, digest, _ := strings.Cut(subject, "@")
	unreachable := httptest.NewServer(http.NotFoundHandler())
	unreachable.Close()
	tests := []struct {
		name    string
		subject string
		art     Artifact
		wantErr []string
	}{
		{"no type", subject, Artifact{Content: []byte("x")}, []string{"no type", "set ArtifactType"}},
		{"empty", subject, Artifact{ArtifactType: bundleType}, []string{"the artifact is empty"}},
		{"over the limit", subject, Artifact{ArtifactType: bundleType, Content: make([]byte, maxArtifact+1)},
			[]string{"4194305 bytes, over the 4194304-byte limit"}},
		{"subject by tag", host + "/acme/svc:v1", bundle(signType, "x"), []string{"name it by digest"}},
		{"subject missing", host + "/acme/svc@" + emptyDigest, bundle(signType, "x"), []string{"push the image before attaching"}},
		{"registry unreachable", strings.TrimPrefix(unreachable.URL, "http://") + "/acme/svc@" + digest, bundle(signType, "x"),
			[]string{"read the subject", "reachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := c.Attach(context.Background(), tt.subject, tt.art)
			checkErr(t, err, append([]string{"attach " + tt.art.ArtifactType + " to " + tt.subject}, tt.wantErr...), nil)
			if d != "" {
				t.Errorf("Attach returned %q with an error", d)
			}
		})
	}
	if tag := tagIndex(t, subject); tag != nil {
		t.Errorf("failed attaches wrote the referrers tag: %+v", tag)
	}
}

func TestImage(t *testing.T) {
	t.Parallel()
	host, c := startRegistry(t, false, nil)
	subject, idx := pushSubject(t, host)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range im.Manifests {
		ref := host + "/acme/svc@" + d.Digest.String()
		img, err := c.Image(ctx, ref)
		if err != nil {
			t.Fatalf("Image(%s): %v", ref, err)
		}
		if got, _ := img.Digest(); got != d.Digest {
			t.Errorf("Image(%s) has digest %s", ref, got)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != d.Platform.Architecture {
			t.Errorf("Image(%s) is for %s, want %s", ref, cfg.Architecture, d.Platform.Architecture)
		}
		want, _ := idx.Image(d.Digest)
		if got, want := layerBytes(t, img), layerBytes(t, want); !bytes.Equal(got, want) {
			t.Errorf("Image(%s): its layer differs from the one pushed", ref)
		}
	}
	t.Run("an index", func(t *testing.T) {
		t.Parallel()
		_, err := c.Image(ctx, subject)
		checkErr(t, err, []string{"read image " + subject, "not a platform image"}, nil)
	})
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		_, err := c.Image(ctx, host+"/acme/svc@"+emptyDigest)
		checkErr(t, err, []string{"not in the registry"}, nil)
	})
}

// layerBytes returns the first layer of img as stored.
func layerBytes(t *testing.T, img v1.Image) []byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v (%d)", err, len(layers))
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReferrersHandshakePerScope: attaching, listing and reading share
// the client's sessions: one token handshake per scope.
func TestReferrersHandshakePerScope(t *testing.T) {
	t.Parallel()
	reg := memreg.New(memreg.Logger(log.New(io.Discard, "", 0)), memreg.WithReferrersSupport(true))
	open := httptest.NewServer(reg)
	t.Cleanup(open.Close)
	auth := &tokenAuth{registry: reg, scopes: map[string]int{}}
	authed := httptest.NewServer(auth)
	t.Cleanup(authed.Close)
	openHost, host := strings.TrimPrefix(open.URL, "http://"), strings.TrimPrefix(authed.URL, "http://")
	d := push(t, openHost+"/acme/svc:v1", twoPlatforms(t, rev, nonroot))
	subject := host + "/acme/svc@" + d

	c := NewWithDockerConfig(t.TempDir())
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, predicate := range []string{signType, sbomType} {
		wg.Go(func() {
			a, err := c.Attach(ctx, subject, bundle(predicate, predicate))
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.Content(ctx, host+"/acme/svc@"+a); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if refs, err := c.Referrers(ctx, subject); err != nil || len(refs) != 2 {
		t.Errorf("Referrers = %+v, %v; want the two attached", refs, err)
	}
	want := map[string]int{"repository:acme/svc:pull": 1, "repository:acme/svc:push,pull": 1}
	if got := auth.handshakes(); !maps.Equal(got, want) {
		t.Errorf("token handshakes by scope = %v, want %v", got, want)
	}
}

func TestSkipReferrersProbe(t *testing.T) {
	t.Parallel()
	const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	tests := []struct {
		method, path string
		answered     bool // by skipReferrersProbe, not passed on
	}{
		{"GET", "/v2/acme/svc/referrers/" + digest, true},
		{"GET", "/v2/svc/referrers/" + digest, true},
		{"GET", "/v2/acme/referrers/svc/referrers/" + digest, true},
		{"HEAD", "/v2/acme/svc/referrers/" + digest, false},
		{"GET", "/v2/acme/svc/referrers/latest", false},
		{"GET", "/v2/referrers/" + digest, false},
		{"GET", "/v2/acme/referrers/manifests/" + digest, false},
		{"GET", "/v2/acme/svc/manifests/sha256-" + digest[7:], false},
		{"PUT", "/v2/acme/svc/manifests/" + digest, false},
		{"GET", "/v3/acme/svc/referrers/" + digest, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			passed := false
			next := roundTripFunc(func(*http.Request) (*http.Response, error) {
				passed = true
				return nil, errors.New("passed on")
			})
			req := httptest.NewRequest(tt.method, "http://registry.example"+tt.path, nil)
			resp, err := skipReferrersProbe{next}.RoundTrip(req)
			if passed == tt.answered {
				t.Fatalf("passed on = %v, want %v", passed, !tt.answered)
			}
			if tt.answered && (err != nil || resp.StatusCode != http.StatusNotFound) {
				t.Errorf("answer = %v, %v; want 404", resp, err)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMergeReferrers(t *testing.T) {
	t.Parallel()
	h := func(c byte) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(c), 64)} }
	tag := []v1.Descriptor{{Digest: h('b'), ArtifactType: bundleType, Annotations: map[string]string{"from": "tag"}}}
	api := []v1.Descriptor{
		{Digest: h('c'), ArtifactType: "application/vnd.oci.empty.v1+json"},
		{Digest: h('b'), ArtifactType: "application/vnd.oci.empty.v1+json", Annotations: map[string]string{"from": "api"}},
		{Digest: h('a'), ArtifactType: bundleType},
	}
	got := mergeReferrers(tag, api)
	want := []Referrer{
		{Digest: h('a').String(), ArtifactType: bundleType},
		{Digest: h('b').String(), ArtifactType: bundleType, Annotations: map[string]string{"from": "tag"}},
		{Digest: h('c').String(), ArtifactType: "application/vnd.oci.empty.v1+json"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeReferrers = %+v, want %+v", got, want)
	}
	if got := mergeReferrers(nil, nil); got == nil || len(got) != 0 {
		t.Errorf("mergeReferrers of nothing = %#v, want an empty list", got)
	}
}
