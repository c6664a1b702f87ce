package registry

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestIndexJSONIsBuildKits compares with what BuildKit v0.34.2 pushed for a
// two-platform build (docker buildx build --platform
// linux/amd64,linux/arm64 --provenance=false --sbom=false --output
// type=image,push-by-digest=true,oci-mediatypes=true): the index of the
// two platform manifests it pushed, byte for byte, and so its digest.
func TestIndexJSONIsBuildKits(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(filepath.Join("testdata", "buildkit-index.json"))
	if err != nil {
		t.Fatal(err)
	}
	const manifest = "application/vnd.oci.image.manifest.v1+json"
	got, err := IndexJSON([]PlatformManifest{
		{MediaType: manifest, Digest: "sha256:2e9ae334b07e865a8f10bfc1e34fc5a182d8b36e43e753194af79a2fcb6a196a", Size: 560},
		{MediaType: manifest, Digest: "sha256:abceb53a5298b4bce7e013476377335ec9702fb29d2b26d1a8c027238b3bc289", Size: 560},
	}, []string{"linux/amd64", "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("IndexJSON:\n%s\nwant BuildKit's:\n%s", got, want)
	}
	if d := fmt.Sprintf("sha256:%x", sha256.Sum256(got)); d != "sha256:ae3c00af7b5123ff11ec4038dd738f1cac7ee20c70fcdb5cce6a69f41678a132" {
		t.Errorf("digest %s, want the one BuildKit pushed", d)
	}
}

func TestIndexJSONPlatforms(t *testing.T) {
	t.Parallel()
	m := PlatformManifest{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: "sha256:" + fmt.Sprintf("%064x", 1), Size: 1}
	for _, tt := range []struct{ platform, want string }{
		{"linux/arm64/v8", `"architecture": "arm64",
        "os": "linux"
      }`},
		{"linux/arm/v7", `"architecture": "arm",
        "os": "linux",
        "variant": "v7"
      }`},
		{"linux/amd64/v2", `"variant": "v2"`},
	} {
		got, err := IndexJSON([]PlatformManifest{m}, []string{tt.platform})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), tt.want) {
			t.Errorf("IndexJSON for %s:\n%s\nlacks %s", tt.platform, got, tt.want)
		}
	}
	if _, err := IndexJSON([]PlatformManifest{m}, nil); err == nil {
		t.Error("IndexJSON with a platform missing: no error")
	}
}

// TestPushIndex assembles an index from platform images pushed on their
// own (as platform jobs push them) and reads it back as a publish does.
func TestPushIndex(t *testing.T) {
	isolate(t)
	host, _ := newRegistry(t)
	repo := host + "/acme/svc"
	ctx := context.Background()
	c := New()
	var manifests []PlatformManifest
	platforms := []string{"linux/amd64", "linux/arm64"}
	for _, p := range platforms {
		img := platformImage(t, p, rev, nonroot)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ref := repo + "@" + d.String()
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		m, err := c.ReadPlatformManifest(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		size, _ := img.Size()
		mt, _ := img.MediaType()
		if m.Digest != d.String() || m.Size != size || m.MediaType != string(mt) || m.Platform != p || m.Revision != rev {
			t.Errorf("ReadPlatformManifest(%s) = %+v", ref, m)
		}
		manifests = append(manifests, m)
	}
	digest, err := c.PushIndex(ctx, repo, manifests, platforms)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := IndexJSON(manifests, platforms)
	if want := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); digest != want || resolve(t, repo+"@"+digest) != want {
		t.Errorf("PushIndex = %s; want %s, in the registry", digest, want)
	}
	got, err := c.Verify(ctx, repo+"@"+digest, Expect{Platforms: platforms, Revision: rev, NonRoot: true})
	if err != nil || got != digest {
		t.Errorf("Verify of the assembled index = %s, %v", got, err)
	}
	// Again: the same bytes, the same digest; nothing changes.
	if again, err := c.PushIndex(ctx, repo, manifests, platforms); err != nil || again != digest {
		t.Errorf("PushIndex again = %s, %v; want %s", again, err, digest)
	}
	// An index is no platform's manifest.
	if _, err := c.ReadPlatformManifest(ctx, repo+"@"+digest); err == nil {
		t.Error("ReadPlatformManifest of an index: no error")
	}
}
