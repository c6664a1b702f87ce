package registry

import (
	"context"
	"encoding/base64"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-build/gantry/internal/registrytest"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	rev      = "0123456789abcdef0123456789abcdef01234567"
	otherRev = "fedcba9876543210fedcba9876543210fedcba98"
	nonroot  = "65532:65532"
)

// The registry fixtures of every test here.
var (
	newRegistry   = registrytest.NewRegistry
	serve         = registrytest.Serve
	platformImage = registrytest.PlatformImage
	twoPlatforms  = registrytest.TwoPlatforms
	push          = registrytest.Push
)

// isolate keeps this machine's docker logins out of the test: the
// keychain reads $DOCKER_CONFIG/config.json.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	isolate(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// entry is one manifest of a fixture index.
type entry struct {
	platform string // os/arch[/variant]; "" for no platform
	img      v1.Image
	annot    map[string]string
}

// index builds an OCI index of entries.
func index(t *testing.T, entries ...entry) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, e := range entries {
		d := v1.Descriptor{Annotations: e.annot}
		if e.platform != "" {
			p, err := v1.ParsePlatform(e.platform)
			if err != nil {
				t.Fatal(err)
			}
			d.Platform = p
		}
		adds = append(adds, mutate.IndexAddendum{Add: e.img, Descriptor: d})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// attestation is an attestation-like manifest, as BuildKit adds with
// provenance: platform unknown/unknown and no labels.
func attestation(t *testing.T, of v1.Image) entry {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := of.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return entry{platform: "unknown/unknown", img: img, annot: map[string]string{
		"vnd.docker.reference.digest": d.String(),
		"vnd.docker.reference.type":   "attestation-manifest",
	}}
}

// resolve returns the digest ref names in the registry, which must have it.
func resolve(t *testing.T, ref string) string {
	t.Helper()
	d := registrytest.Digest(t, ref)
	if d == "" {
		t.Fatalf("resolve %s: not in the registry", ref)
	}
	return d
}

func checkErr(t *testing.T, err error, want []string, notWant []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", want)
	}
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	for _, s := range notWant {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q mentions %q", err, s)
		}
	}
}

func TestVerify(t *testing.T) {
	host, _ := newRegistry(t)
	repo := host + "/acme/svc"
	both := []string{"linux/amd64", "linux/arm64"}

	tests := []struct {
		name    string
		idx     func(t *testing.T) v1.ImageIndex
		want    Expect
		wantErr []string
		notWant []string
	}{
		{
			name: "ok",
			idx:  func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, nonroot) },
			want: Expect{Platforms: both, Revision: rev, NonRoot: true},
		},
		{
			name: "ok, one of the platforms asked",
			idx:  func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, nonroot) },
			want: Expect{Platforms: []string{"linux/arm64"}, Revision: rev, NonRoot: true},
		},
		{
			name: "ok, named non-root user",
			idx:  func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, "nonroot") },
			want: Expect{Platforms: both, Revision: rev, NonRoot: true},
		},
		{
			name: "ok with attestations first and arm64 variant v8",
			idx: func(t *testing.T) v1.ImageIndex {
				amd := platformImage(t, "linux/amd64", rev, nonroot)
				arm := platformImage(t, "linux/arm64/v8", rev, nonroot)
				return index(t, attestation(t, amd), attestation(t, arm),
					entry{platform: "linux/amd64", img: amd},
					entry{platform: "linux/arm64/v8", img: arm})
			},
			want: Expect{Platforms: both, Revision: rev, NonRoot: true},
		},
		{
			name: "ok, arm/v7 among others",
			idx: func(t *testing.T) v1.ImageIndex {
				return index(t,
					entry{platform: "linux/arm/v6", img: platformImage(t, "linux/arm/v6", otherRev, "")},
					entry{platform: "linux/arm/v7", img: platformImage(t, "linux/arm/v7", rev, nonroot)})
			},
			want: Expect{Platforms: []string{"linux/arm/v7"}, Revision: rev, NonRoot: true},
		},
		{
			name:    "missing platform",
			idx:     func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, nonroot) },
			want:    Expect{Platforms: []string{"linux/amd64", "linux/arm64", "linux/s390x"}, Revision: rev, NonRoot: true},
			wantErr: []string{"linux/s390x is missing from the index"},
			notWant: []string{"linux/amd64 is missing", "linux/arm64 is missing", "runs as root"},
		},
		{
			name: "only an attestation for the platform",
			idx: func(t *testing.T) v1.ImageIndex {
				amd := platformImage(t, "linux/amd64", rev, nonroot)
				return index(t, entry{platform: "linux/amd64", img: amd}, attestation(t, amd))
			},
			want:    Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{"linux/arm64 is missing from the index"},
		},
		{
			name:    "wrong revision",
			idx:     func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, otherRev, nonroot) },
			want:    Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{"linux/amd64: label " + RevisionLabel, "linux/arm64: label", `"` + otherRev + `"`, `want "` + rev + `"`},
			notWant: []string{"runs as root", "missing"},
		},
		{
			name:    "no revision label",
			idx:     func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, "", nonroot) },
			want:    Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{`is ""`, `want "` + rev + `"`},
		},
		{
			name:    "user empty",
			idx:     func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, "") },
			want:    Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{"linux/amd64: runs as root", "linux/arm64: runs as root", "USER 65532:65532"},
			notWant: []string{"label"},
		},
		{
			name:    "user root",
			idx:     func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, "root") },
			want:    Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{"runs as root", `USER "root"`, "USER 65532:65532"},
		},
		{
			name:    "user 0:0",
			idx:     func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, "0:0") },
			want:    Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{"runs as root", `USER "0:0"`},
		},
		{
			name: "one platform root",
			idx: func(t *testing.T) v1.ImageIndex {
				return index(t,
					entry{platform: "linux/amd64", img: platformImage(t, "linux/amd64", rev, nonroot)},
					entry{platform: "linux/arm64", img: platformImage(t, "linux/arm64", rev, "root")})
			},
			want:    Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{"linux/arm64: runs as root"},
			notWant: []string{"linux/amd64: runs as root"},
		},
		{
			name: "root accepted without NonRoot",
			idx:  func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, "root") },
			want: Expect{Platforms: both, Revision: rev},
		},
		{
			name: "empty user accepted without NonRoot",
			idx:  func(t *testing.T) v1.ImageIndex { return twoPlatforms(t, rev, "") },
			want: Expect{Platforms: both, Revision: rev},
		},
		{
			name: "every problem named",
			idx: func(t *testing.T) v1.ImageIndex {
				return index(t,
					entry{platform: "linux/amd64", img: platformImage(t, "linux/amd64", otherRev, "0")})
			},
			want: Expect{Platforms: both, Revision: rev, NonRoot: true},
			wantErr: []string{"linux/arm64 is missing from the index", "linux/amd64: label " + RevisionLabel,
				"linux/amd64: runs as root"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := tt.idx(t)
			tag := repo + ":case" + string(rune('a'+i))
			want := push(t, tag, idx)
			digestRef, err := DigestRef(tag, want)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{tag, digestRef} {
				got, err := New().Verify(context.Background(), ref, tt.want)
				if tt.wantErr != nil {
					checkErr(t, err, append([]string{"verify " + ref}, tt.wantErr...), tt.notWant)
					if got != "" {
						t.Errorf("Verify(%s) returned digest %q with an error", ref, got)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Verify(%s): %v", ref, err)
				}
				if got != want {
					t.Errorf("Verify(%s) = %q, want the index digest %q", ref, got, want)
				}
			}
		})
	}

	t.Run("not found", func(t *testing.T) {
		_, err := New().Verify(context.Background(), repo+":nosuchtag", Expect{Platforms: both, Revision: rev})
		checkErr(t, err, []string{"nosuchtag", "read index"}, nil)
	})
	t.Run("bad reference", func(t *testing.T) {
		_, err := New().Verify(context.Background(), "Not A Ref", Expect{})
		checkErr(t, err, []string{"verify Not A Ref"}, nil)
	})
}

func TestLookup(t *testing.T) {
	host, _ := newRegistry(t)
	repo := host + "/acme/svc"

	amd := platformImage(t, "linux/amd64", rev, nonroot)
	arm := platformImage(t, "linux/arm64", rev, nonroot)
	withAttestations := index(t, attestation(t, amd), attestation(t, arm),
		entry{platform: "linux/amd64", img: amd}, entry{platform: "linux/arm64", img: arm})
	attDigest := push(t, repo+":with-attestations", withAttestations)

	noPlatform := index(t, entry{img: platformImage(t, "linux/amd64", "", "")},
		entry{platform: "linux/arm64", img: platformImage(t, "linux/arm64", otherRev, nonroot)})
	noPlatformDigest := push(t, repo+":no-platform-first", noPlatform)

	plainDigest := push(t, repo+":plain", twoPlatforms(t, rev, nonroot))
	unlabelledDigest := push(t, repo+":unlabelled", twoPlatforms(t, "", nonroot))

	tests := []struct {
		name      string
		tag       string
		want      Image
		wantFound bool
	}{
		{"attestations first are skipped", repo + ":with-attestations", Image{Digest: attDigest, Revision: rev}, true},
		{"descriptor without platform skipped", repo + ":no-platform-first", Image{Digest: noPlatformDigest, Revision: otherRev}, true},
		{"plain index", repo + ":plain", Image{Digest: plainDigest, Revision: rev}, true},
		{"no revision label", repo + ":unlabelled", Image{Digest: unlabelledDigest}, true},
		{"tag missing in existing repository", repo + ":nope", Image{}, false},
		{"repository missing", host + "/acme/other:main", Image{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := New().Lookup(context.Background(), tt.tag)
			if err != nil {
				t.Fatalf("Lookup(%s): %v", tt.tag, err)
			}
			if found != tt.wantFound || got != tt.want {
				t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", tt.tag, got, found, tt.want, tt.wantFound)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		tag := closedPort(t) + "/acme/svc:main"
		got, found, err := New().Lookup(context.Background(), tag)
		checkErr(t, err, []string{"look up " + tag, "reachable", "GANTRY_IMAGE"}, nil)
		if found || got != (Image{}) {
			t.Errorf("Lookup() = %+v, %v with an error", got, found)
		}
	})
	t.Run("invalid tag", func(t *testing.T) {
		_, found, err := New().Lookup(context.Background(), repo) // no tag: strict validation
		checkErr(t, err, []string{"look up " + repo}, nil)
		if found {
			t.Error("found = true with an error")
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := New().Lookup(ctx, repo+":plain"); err == nil {
			t.Error("Lookup with a cancelled context succeeded")
		}
	})
}

// TestLookupUnauthorized: a 401 is an error with the fix, not "not found".
func TestLookupUnauthorized(t *testing.T) {
	host := serve(t, statusHandler(http.StatusUnauthorized))
	_, found, err := New().Lookup(context.Background(), host+"/acme/svc:main")
	checkErr(t, err, []string{"docker login " + host}, nil)
	if found {
		t.Error("found = true with an error")
	}
}

func TestTag(t *testing.T) {
	host, reqs := newRegistry(t)
	repo := host + "/acme/svc"
	digest := push(t, repo+":abc1234", twoPlatforms(t, rev, nonroot))
	src, err := DigestRef(repo+":abc1234", digest)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		src  string
		tag  string
	}{
		{"from digest", src, repo + ":main"},
		{"from tag", repo + ":abc1234", repo + ":1.2.3"},
		{"over an existing tag", src, repo + ":moved"},
	}
	// "moved" first names another index.
	oldDigest := push(t, repo+":moved", twoPlatforms(t, otherRev, nonroot))
	if oldDigest == digest {
		t.Fatal("fixture indexes are equal")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs.Reset()
			if err := New().Tag(context.Background(), tt.src, tt.tag); err != nil {
				t.Fatalf("Tag(%s, %s): %v", tt.src, tt.tag, err)
			}
			got := reqs.List()
			_, tagName, _ := strings.Cut(strings.TrimPrefix(tt.tag, host), ":")
			srcName := tt.src[strings.LastIndexAny(tt.src, ":@")+1:]
			if strings.Contains(tt.src, "@") {
				srcName = tt.src[strings.Index(tt.src, "@")+1:]
			}
			putTag := false
			for _, r := range got {
				method, path, _ := strings.Cut(r, " ")
				if path != "/v2/" && !strings.HasPrefix(path, "/v2/acme/svc/manifests/") {
					t.Errorf("Tag made request %q: only manifest requests are expected (no blob moved)", r)
				}
				if method == http.MethodPut && path == "/v2/acme/svc/manifests/"+tagName {
					putTag = true
				}
				switch {
				case path == "/v2/":
				case method == http.MethodPut && path == "/v2/acme/svc/manifests/"+tagName:
				case (method == http.MethodGet || method == http.MethodHead) && path == "/v2/acme/svc/manifests/"+srcName:
				default:
					t.Errorf("Tag made request %q: want only a read of the source manifest %s and a PUT of %s", r, srcName, tagName)
				}
			}
			if !putTag {
				t.Errorf("Tag requests %q have no PUT of manifest %s", got, tagName)
			}
			if d := resolve(t, tt.tag); d != digest {
				t.Errorf("%s resolves to %s, want %s", tt.tag, d, digest)
			}
			if d := resolve(t, repo+":abc1234"); d != digest {
				t.Errorf("source tag now resolves to %s, want %s", d, digest)
			}
		})
	}

	t.Run("source missing", func(t *testing.T) {
		err := New().Tag(context.Background(), repo+":nosuch", repo+":x")
		checkErr(t, err, []string{"tag " + repo + ":x", "read " + repo + ":nosuch"}, nil)
		if _, found, _ := New().Lookup(context.Background(), repo+":x"); found {
			t.Error("the tag was created from a missing source")
		}
	})
	t.Run("bad source", func(t *testing.T) {
		checkErr(t, New().Tag(context.Background(), "Bad Ref", repo+":x"), []string{"source Bad Ref"}, nil)
	})
	t.Run("bad tag", func(t *testing.T) {
		checkErr(t, New().Tag(context.Background(), src, repo), []string{"tag " + repo}, nil) // no tag
	})
	t.Run("unreachable", func(t *testing.T) {
		other := closedPort(t)
		checkErr(t, New().Tag(context.Background(), other+"/acme/svc:a", other+"/acme/svc:b"), []string{"read " + other}, nil)
	})
}

// statusHandler answers every request with code, with the challenge a
// registry sends.
func statusHandler(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, `{"errors":[{"code":"DENIED","message":"no"}]}`)
	})
}

// pingOK answers /v2/ with 200 and everything else with code: a registry
// that anyone may read but that refuses this push.
func pingOK(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		statusHandler(code).ServeHTTP(w, r)
	})
}

func TestCheckPush(t *testing.T) {
	tests := []struct {
		name    string
		host    func(t *testing.T) string
		wantErr []string
		notWant []string
	}{
		{name: "in-memory registry", host: func(t *testing.T) string { h, _ := newRegistry(t); return h }},
		{name: "401 to everything", host: func(t *testing.T) string { return serve(t, statusHandler(http.StatusUnauthorized)) },
			wantErr: []string{"cannot push to", "docker login 127.0.0.1:", "packages: write"}, notWant: []string{"refused"}},
		{name: "403 to everything", host: func(t *testing.T) string { return serve(t, statusHandler(http.StatusForbidden)) },
			wantErr: []string{"cannot push to", "refused these credentials"}, notWant: []string{"docker login"}},
		{name: "403 on upload only", host: func(t *testing.T) string { return serve(t, pingOK(http.StatusForbidden)) },
			wantErr: []string{"refused these credentials", "/acme/svc"}},
		{name: "401 on upload only", host: func(t *testing.T) string { return serve(t, pingOK(http.StatusUnauthorized)) },
			wantErr: []string{"docker login"}},
		{name: "unreachable", host: closedPort,
			wantErr: []string{"cannot push to", "reachable"}},
		{name: "503 twice, then accepted: retried", host: func(t *testing.T) string {
			h, _ := newRegistry(t)
			return serve(t, failFirst(t, 2, http.StatusServiceUnavailable, h))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.host(t)
			repo := host + "/acme/svc"
			err := New().CheckPush(context.Background(), repo)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckPush(%s): %v", repo, err)
				}
				return
			}
			checkErr(t, err, append([]string{repo}, tt.wantErr...), tt.notWant)
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		h, _ := newRegistry(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := New().CheckPush(ctx, h+"/acme/svc"); err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("CheckPush with a cancelled context: %v, want context canceled", err)
		}
	})
	t.Run("invalid repository", func(t *testing.T) {
		isolate(t)
		if err := New().CheckPush(context.Background(), "acme/svc"); err == nil { // no registry: strict
			t.Error("CheckPush(acme/svc) succeeded")
		}
	})
}

func TestDigestRef(t *testing.T) {
	t.Parallel()
	const d = "sha256:4d5b5ee1e83e6a2fb8e9b2a38a3e9b1b1b7f9f7e4c1b6a1f3a7e9c1d2b3a4f5e"
	tests := []struct {
		tag     string
		want    string
		wantErr bool
	}{
		{"127.0.0.1:5000/acme/svc:main", "127.0.0.1:5000/acme/svc@" + d, false},
		{"ghcr.io/acme/svc:1.2.3", "ghcr.io/acme/svc@" + d, false},
		{"ghcr.io/acme/team/svc:abc1234-dev", "ghcr.io/acme/team/svc@" + d, false},
		{"localhost:5000/svc:x", "localhost:5000/svc@" + d, false},
		{"acme/svc:main", "", true},         // registry not explicit
		{"ghcr.io/acme/svc", "", true},      // no tag
		{"ghcr.io/Acme/svc:main", "", true}, // upper case repository
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			t.Parallel()
			got, err := DigestRef(tt.tag, d)
			if tt.wantErr {
				if err == nil {
					t.Errorf("DigestRef(%q) = %q, want an error", tt.tag, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("DigestRef(%q): %v", tt.tag, err)
			}
			if got != tt.want {
				t.Errorf("DigestRef(%q) = %q, want %q", tt.tag, got, tt.want)
			}
			if _, err := name.NewDigest(got, name.StrictValidation); err != nil {
				t.Errorf("DigestRef(%q) = %q, not a digest reference: %v", tt.tag, got, err)
			}
		})
	}
}

// TestSingleManifest: buildx pushes a single-platform build without
// attestations as a plain image manifest, not an index; Lookup and Verify
// read it as a one-platform index.
func TestSingleManifest(t *testing.T) {
	host, _ := newRegistry(t)
	tag := host + "/acme/svc:abc1234"
	ref, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	img := platformImage(t, "linux/amd64", rev, nonroot)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	want := Image{Digest: d.String(), Revision: rev}
	got, found, err := New().Lookup(context.Background(), tag)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", tag, err)
	}
	if !found || got != want {
		t.Errorf("Lookup(%s) = %+v, %v; want %+v, true", tag, got, found, want)
	}

	digest, err := New().Verify(context.Background(), tag, Expect{Platforms: []string{"linux/amd64"}, Revision: rev, NonRoot: true})
	if err != nil {
		t.Fatalf("Verify(%s): %v", tag, err)
	}
	if digest != want.Digest {
		t.Errorf("Verify(%s) = %q, want %q", tag, digest, want.Digest)
	}
	_, err = New().Verify(context.Background(), tag, Expect{Platforms: []string{"linux/amd64", "linux/arm64"}, Revision: otherRev, NonRoot: true})
	checkErr(t, err, []string{"linux/arm64 is missing", "linux/amd64: label " + RevisionLabel}, []string{"reachable"})

	rootTag := host + "/acme/svc:root"
	rootRef, _ := name.NewTag(rootTag, name.StrictValidation)
	if err := remote.Write(rootRef, platformImage(t, "linux/amd64", rev, "")); err != nil {
		t.Fatal(err)
	}
	_, err = New().Verify(context.Background(), rootTag, Expect{Platforms: []string{"linux/amd64"}, Revision: rev, NonRoot: true})
	checkErr(t, err, []string{"linux/amd64: runs as root"}, nil)
}

// proxyTo passes every request on to the registry at host.
func proxyTo(t *testing.T, host string) http.Handler {
	t.Helper()
	target, err := url.Parse("http://" + host)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(target)
}

// failFirst answers the first n requests with status, then proxies to the
// registry at host, as a registry with a passing fault does.
func failFirst(t *testing.T, n int, status int, host string) http.Handler {
	t.Helper()
	proxy := proxyTo(t, host)
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fail := n > 0
		n--
		mu.Unlock()
		if fail {
			w.WriteHeader(status)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

// TestWithDockerConfig: the client reads the credentials of the Docker
// configuration it is given, not the one DOCKER_CONFIG names.
func TestWithDockerConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := `{"auths":{"ghcr.io":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("octocat:ghs_private")) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c := NewWithDockerConfig(dir)
	tests := []struct {
		repo           string
		user, password string
	}{
		{"ghcr.io/acme/svc", "octocat", "ghs_private"},
		{"registry.example/acme/svc", "", ""}, // no login there: anonymous
	}
	for _, tt := range tests {
		repo, err := name.NewRepository(tt.repo)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := authn.Resolve(context.Background(), c.keychain, repo)
		if err != nil {
			t.Fatalf("resolve %s: %v", tt.repo, err)
		}
		got, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != tt.user || got.Password != tt.password {
			t.Errorf("%s: credentials %q:%q, want %q:%q", tt.repo, got.Username, got.Password, tt.user, tt.password)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository("ghcr.io/acme/svc")
	if _, err := authn.Resolve(context.Background(), c.keychain, repo); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a broken config.json: error %v, want one naming %s", err, dir)
	}
}

// tokenAuth stands in front of a registry as one that wants a bearer
// token does: a request without the token gets a 401 challenge naming the
// /token endpoint, which hands the token out and counts the handshakes by
// scope.
type tokenAuth struct {
	registry http.Handler
	mu       sync.Mutex
	scopes   map[string]int
}

const testToken = "t0ken"

func (a *tokenAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		a.mu.Lock()
		a.scopes[strings.Join(r.URL.Query()["scope"], " ")]++
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"`+testToken+`"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="test"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	a.registry.ServeHTTP(w, r)
}

// handshakes returns the token requests so far, by scope.
func (a *tokenAuth) handshakes() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.scopes)
}

// TestHandshakePerScope: a publish's reads and tags of one repository,
// prod's and dev's at once, share one token handshake per scope: one for
// reading, one for pushing.
func TestHandshakePerScope(t *testing.T) {
	open, _ := newRegistry(t)
	auth := &tokenAuth{registry: proxyTo(t, open), scopes: map[string]int{}}
	host := serve(t, auth)
	repo := host + "/acme/svc"
	client := New()
	ctx := context.Background()

	var wg sync.WaitGroup
	for _, suffix := range []string{"", "-dev"} {
		digest := push(t, open+"/acme/svc:abc1234"+suffix, twoPlatforms(t, rev, nonroot))
		tag, moving := repo+":abc1234"+suffix, repo+":main"+suffix
		wg.Go(func() {
			if _, found, err := client.Lookup(ctx, moving); err != nil || found {
				t.Errorf("Lookup(%s) = found %v, %v; want not found", moving, found, err)
			}
			if _, err := client.Verify(ctx, tag, Expect{Platforms: []string{"linux/amd64", "linux/arm64"}, Revision: rev}); err != nil {
				t.Errorf("Verify(%s): %v", tag, err)
			}
			src, err := DigestRef(tag, digest)
			if err != nil {
				t.Error(err)
				return
			}
			if err := client.Tag(ctx, src, moving); err != nil {
				t.Errorf("Tag(%s, %s): %v", src, moving, err)
			}
			if img, found, err := client.Lookup(ctx, moving); err != nil || img.Digest != digest {
				t.Errorf("Lookup(%s) after the tag = %+v, found %v, %v; want digest %s", moving, img, found, err, digest)
			}
		})
	}
	wg.Wait()
	if _, _, err := client.Lookup(ctx, host+"/acme/other:main"); err != nil {
		t.Fatalf("Lookup in another repository: %v", err)
	}

	want := map[string]int{
		"repository:acme/svc:pull":      1,
		"repository:acme/svc:push,pull": 1,
		"repository:acme/other:pull":    1,
	}
	if got := auth.handshakes(); !maps.Equal(got, want) {
		t.Errorf("token handshakes by scope = %v, want %v", got, want)
	}
}

// TestCheckPushStaysOnRegistry: the push check sends nothing to a host
// other than the registry's, whether the upload's Location or a redirect
// names it; cancelling the upload is skipped there, as it is best effort.
func TestCheckPushStaysOnRegistry(t *testing.T) {
	const upload = "/v2/acme/svc/blobs/uploads/"
	answer := func(w http.ResponseWriter, code int, location string) {
		w.Header().Set("Location", location)
		w.WriteHeader(code)
	}
	tests := []struct {
		name string
		// start answers the upload's POST, cancel its DELETE; other is
		// the host:port of a server that is not the registry.
		start, cancel func(w http.ResponseWriter, other string)
		wantErr       []string
		wantCancel    bool
	}{
		{
			name:       "Location on the registry: cancelled",
			start:      func(w http.ResponseWriter, _ string) { answer(w, http.StatusAccepted, upload+"u1") },
			wantCancel: true,
		},
		{
			name:  "Location on another port",
			start: func(w http.ResponseWriter, other string) { answer(w, http.StatusAccepted, "http://"+other+upload+"u1") },
		},
		{
			name: "Location on another host name",
			start: func(w http.ResponseWriter, other string) {
				_, port, _ := strings.Cut(other, ":")
				answer(w, http.StatusAccepted, "http://localhost:"+port+upload+"u1")
			},
		},
		{
			name:  "cancel redirected to another host",
			start: func(w http.ResponseWriter, _ string) { answer(w, http.StatusAccepted, upload+"u1") },
			cancel: func(w http.ResponseWriter, other string) {
				answer(w, http.StatusTemporaryRedirect, "http://"+other+upload+"u1")
			},
			wantCancel: true,
		},
		{
			name: "upload redirected to another host",
			start: func(w http.ResponseWriter, other string) {
				answer(w, http.StatusTemporaryRedirect, "http://"+other+upload)
			},
			wantErr: []string{"cannot push to", "redirected the push check to http://127.0.0.1:", "away from the registry"},
		},
		{
			name:    "upload redirected in a loop on the registry",
			start:   func(w http.ResponseWriter, _ string) { answer(w, http.StatusTemporaryRedirect, upload) },
			wantErr: []string{"cannot push to", "stopped after 10 redirects"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var elsewhere registrytest.RequestLog
			other := serve(t, elsewhere.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				answer(w, http.StatusAccepted, upload+"u2")
			})))
			var reqs registrytest.RequestLog
			host := serve(t, reqs.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodPost:
					tt.start(w, other)
				case r.Method == http.MethodDelete && tt.cancel != nil:
					tt.cancel(w, other)
				default: // the ping, and the cancel
					w.WriteHeader(http.StatusOK)
				}
			})))

			err := New().CheckPush(context.Background(), host+"/acme/svc")
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr, nil)
			} else if err != nil {
				t.Fatalf("CheckPush: %v", err)
			}
			if got := elsewhere.List(); len(got) > 0 {
				t.Errorf("the other host got %q, want nothing", got)
			}
			if cancelled := slices.Contains(reqs.List(), "DELETE "+upload+"u1"); cancelled != tt.wantCancel {
				t.Errorf("registry requests %q: cancelled %v, want %v", reqs.List(), cancelled, tt.wantCancel)
			}
		})
	}
}

func TestManifestsAndResolve(t *testing.T) {
	host, _ := newRegistry(t)
	repo := host + "/acme/svc"
	amd := platformImage(t, "linux/amd64", rev, nonroot)
	arm := platformImage(t, "linux/arm64", rev, nonroot)
	digest := push(t, repo+":with-attestations", index(t, attestation(t, amd), entry{platform: "linux/amd64", img: amd}, entry{platform: "linux/arm64", img: arm}))
	c := New()
	ctx := context.Background()

	got, err := c.Manifests(ctx, repo+"@"+digest)
	if err != nil {
		t.Fatal(err)
	}
	amdDigest, _ := amd.Digest()
	armDigest, _ := arm.Digest()
	want := []Manifest{{"linux/amd64", amdDigest.String()}, {"linux/arm64", armDigest.String()}}
	if !slices.Equal(got, want) {
		t.Errorf("Manifests = %v, want %v (the attestation manifest left out)", got, want)
	}
	if _, err := c.Manifests(ctx, repo+":nope"); err == nil {
		t.Error("Manifests of a missing tag: no error")
	}

	for ref, want := range map[string]string{repo + ":with-attestations": digest, repo + "@" + digest: digest} {
		if got, err := c.Resolve(ctx, ref); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if _, err := c.Resolve(ctx, repo+":nope"); err == nil || !strings.Contains(err.Error(), "resolve "+repo+":nope") {
		t.Errorf("Resolve of a missing tag: %v, want an error naming it", err)
	}
}

func TestLookupInputs(t *testing.T) {
	host, _ := newRegistry(t)
	repo := host + "/acme/svc"
	labelled := func(platform string) v1.Image {
		img := platformImage(t, platform, rev, nonroot)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.Labels[InputsLabel] = "sha256:aa"
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		return img
	}
	d := push(t, repo+":main", index(t, entry{platform: "linux/amd64", img: labelled("linux/amd64")}, entry{platform: "linux/arm64", img: labelled("linux/arm64")}))
	got, found, err := New().Lookup(context.Background(), repo+":main")
	if want := (Image{Digest: d, Revision: rev, Inputs: "sha256:aa"}); err != nil || !found || got != want {
		t.Errorf("Lookup = %+v, %v, %v; want %+v", got, found, err, want)
	}
}
