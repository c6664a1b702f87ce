package supplychain

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/internal/sign"
)

const (
	commit  = "0123456789abcdef0123456789abcdef01234567"
	mainRef = "refs/heads/main"
)

// serviceImage returns a two-platform index whose images run a real Go
// binary (../sbom/testdata/svc), built once per test.
func serviceImage(t *testing.T) v1.ImageIndex {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "service")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", exe, "./testdata/svc")
	cmd.Dir = "../sbom"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	content, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "usr/local/bin/service", Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(content)
	tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: arch, RootFS: mustConfig(t, img).RootFS,
			Config: v1.Config{Entrypoint: []string{"/usr/local/bin/service"}, User: "65532:65532", Labels: map[string]string{registry.RevisionLabel: commit}}})
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx
}

func mustConfig(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// keys returns a signer and a verifier of one new key pair.
func keys(t *testing.T) (sign.Signer, sign.Verifier) {
	t.Helper()
	private, public, err := sign.GenerateKey([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewKeySigner(private, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := sign.NewKeyVerifier(public)
	if err != nil {
		t.Fatal(err)
	}
	return signer, verifier
}

// build is the provenance input of the tests' image.
func build() provenance.Build {
	return provenance.Build{Repository: "https://github.com/acme/svc", Commit: commit, Ref: mainRef, Target: "prod",
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		Dockerfile: provenance.Dockerfile{Path: "embedded", Digest: "sha256:" + strings.Repeat("a", 64)},
		Builder:    "https://github.com/gantry-build/gantry@devel", GantryVersion: "devel"}
}

// signatures counts the bundles attached to img by predicate type.
func attached(t *testing.T, repo, digest string) map[string]int {
	t.Helper()
	list, err := registry.New().Referrers(context.Background(), repo+"@"+digest)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range list {
		out[r.Annotations[predicateAnnotation]]++
	}
	return out
}

func TestAttestAndVerify(t *testing.T) {
	host, _ := registrytest.NewRegistry(t)
	repo := host + "/acme/svc"
	idx := serviceImage(t)
	ref, _ := name.NewTag(repo + ":pushed")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	digest, _ := idx.Digest()
	img := Image{Repo: repo, Digest: digest.String(), Commit: commit}
	signer, verifier := keys(t)
	logger, _ := test.NewNullLogger()
	log := logrus.NewEntry(logger)
	a := New(registry.New(), signer, verifier, []string{"--key", "cosign.pub"}, log)
	ctx := context.Background()

	if err := a.Attest(ctx, img, mainRef, build()); err != nil {
		t.Fatalf("Attest: %v", err)
	}
	report, err := a.Verify(ctx, img, mainRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Err(); err != nil {
		t.Fatalf("Verify after Attest: %v", err)
	}
	var what []string
	for _, c := range report.Checks {
		what = append(what, c.What)
		if !strings.HasPrefix(c.Command, "cosign verify") || !strings.Contains(c.Command, "--key cosign.pub") {
			t.Errorf("%s: command %q does not repeat the check with the key", c.What, c.Command)
		}
	}
	if got := strings.Join(what, ", "); got != "signature, provenance, SBOM linux/amd64, SBOM linux/arm64" {
		t.Errorf("checks %s", got)
	}
	if got := report.Checks[3].Detail; !strings.Contains(got, "Go modules, as the binary has") {
		t.Errorf("SBOM check detail %q does not say it matched the binary", got)
	}

	t.Run("attesting again adds nothing", func(t *testing.T) {
		before := attached(t, repo, img.Digest)
		if err := a.Attest(ctx, img, mainRef, build()); err != nil {
			t.Fatal(err)
		}
		if after := attached(t, repo, img.Digest); after[SignaturePredicate] != 1 || after[provenance.PredicateType] != 1 || len(after) != len(before) {
			t.Errorf("referrers %v after a second Attest, %v before", after, before)
		}
	})

	t.Run("a release adds its own signature", func(t *testing.T) {
		if err := a.Attest(ctx, img, "refs/tags/v1.2.3", provenance.Build{}); err != nil {
			t.Fatal(err)
		}
		if got := attached(t, repo, img.Digest)[SignaturePredicate]; got != 2 {
			t.Errorf("%d signatures, want main's and the release's", got)
		}
		for ref, ok := range map[string]bool{"refs/tags/v1.2.3": true, mainRef: true, "": true, "refs/tags/v9.9.9": false} {
			report, err := a.Verify(ctx, img, ref)
			if err != nil {
				t.Fatal(err)
			}
			if (report.Err() == nil) != ok {
				t.Errorf("Verify for %q: %v, want verified %t", ref, report.Err(), ok)
			}
		}
		report, _ := a.Verify(ctx, img, "refs/tags/v9.9.9")
		if err := report.Err(); err == nil || !strings.Contains(err.Error(), "no signature for refs/tags/v9.9.9; signed for "+mainRef+", refs/tags/v1.2.3") {
			t.Errorf("error %v does not name the refs signed for", err)
		}
	})

	t.Run("another key verifies nothing", func(t *testing.T) {
		_, other := keys(t)
		report, err := New(registry.New(), nil, other, nil, log).Verify(ctx, img, "")
		if err != nil {
			t.Fatal(err)
		}
		err = report.Err()
		for _, want := range []string{"signature: no signature by the trusted signer", "attached but not verified", "provenance: no signed provenance", "SBOM linux/amd64: no signed SBOM"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v lacks %q", err, want)
			}
		}
	})

	t.Run("a revision label naming another commit fails the provenance check", func(t *testing.T) {
		other := img
		other.Commit = strings.Repeat("f", 40)
		report, err := a.Verify(ctx, other, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := report.Err(); err == nil || !strings.Contains(err.Error(), "the provenance names commit "+commit+", but the image's revision label says "+other.Commit) {
			t.Errorf("error %v, want the provenance's commit against the label's", err)
		}
	})

	t.Run("Attest without a signer says how to set one", func(t *testing.T) {
		fresh := Image{Repo: repo + "2", Digest: img.Digest, Commit: commit}
		ref, _ := name.NewTag(fresh.Repo + ":pushed")
		if err := remote.WriteIndex(ref, idx); err != nil {
			t.Fatal(err)
		}
		err := New(registry.New(), nil, verifier, nil, log).Attest(ctx, fresh, mainRef, build())
		if err == nil || !strings.Contains(err.Error(), "GANTRY_SIGNING") {
			t.Errorf("error %v, want one naming GANTRY_SIGNING", err)
		}
	})
}

func TestShellJoin(t *testing.T) {
	t.Parallel()
	got := shellJoin([]string{"cosign", "verify", "--certificate-identity-regexp", `^https://github\.com/a/b@refs/(heads/main|tags/v.+)$`, "it's"})
	want := `cosign verify --certificate-identity-regexp '^https://github\.com/a/b@refs/(heads/main|tags/v.+)$' 'it'\''s'`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}
