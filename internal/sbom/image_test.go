package sbom

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layer is a layer of the given files, path -> content.
func layer(t *testing.T, files map[string][]byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, b := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: int64(len(b)), Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer)
}

// image stacks layers, the first at the bottom, and runs entrypoint.
func image(t *testing.T, entrypoint string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{entrypoint}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// unfetchable is a base layer FromImage must not fetch once it has all it
// looks for above it.
type unfetchable struct{ v1.Layer }

func (unfetchable) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("the base layer was fetched")
}

const debianStatus = `Package: ca-certificates
Status: install ok installed
Architecture: all
Version: 20230311+deb12u1

Package: libc6
Status: deinstall ok config-files
Architecture: amd64
Version: 2.36-9
`

func TestFromImageDebian(t *testing.T) {
	t.Parallel()
	img := image(t, "/usr/local/bin/service",
		unfetchable{layer(t, map[string][]byte{
			"etc/passwd":                        []byte("root:x:0:0::/root:/bin/sh\n"),
			"etc/ssl/certs/ca-certificates.crt": []byte("certs"),
		})},
		layer(t, map[string][]byte{
			"var/lib/dpkg/status":    []byte(debianStatus),
			"etc/group":              []byte("root:x:0:\n"),
			"usr/share/zoneinfo/UTC": []byte("TZif"),
		}),
		layer(t, map[string][]byte{"usr/local/bin/service": serviceBinary(t)}),
	)
	in, err := FromImage(img, testImage, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if in.Image != testImage || in.Platform != "linux/amd64" || in.Binary != "/usr/local/bin/service" {
		t.Errorf("FromImage labels = %q %q %q", in.Image, in.Platform, in.Binary)
	}
	if !reflect.DeepEqual(BinaryModules(in.Info), BinaryModules(testInfo(t))) {
		t.Errorf("FromImage read modules %v, want the service's %v", BinaryModules(in.Info), BinaryModules(testInfo(t)))
	}
	if want := []Package{{Name: "ca-certificates", Version: "20230311+deb12u1", Architecture: "all"}}; !reflect.DeepEqual(in.Packages, want) {
		t.Errorf("Packages = %+v, want %+v", in.Packages, want)
	}
	// The packages own the well-known files: none is listed, and the base
	// layer below the dpkg status was never fetched (unfetchable).
	if len(in.Files) != 0 {
		t.Errorf("Files = %+v, want none: the dpkg status accounts for them", in.Files)
	}
}

// TestFromImageFiles: an image without a package database lists the
// well-known files it holds, by hash, from every layer.
func TestFromImageFiles(t *testing.T) {
	t.Parallel()
	img := image(t, "/service",
		layer(t, map[string][]byte{
			"etc/passwd":                        []byte("root:x:0:0::/root:/bin/sh\n"),
			"etc/ssl/certs/ca-certificates.crt": []byte("certs"),
		}),
		layer(t, map[string][]byte{"etc/group": []byte("root:x:0:\n"), "usr/share/zoneinfo/UTC": []byte("TZif")}),
		layer(t, map[string][]byte{"service": serviceBinary(t)}),
	)
	in, err := FromImage(img, testImage, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []File{ // sha256sum of each content
		{Path: "/etc/group", SHA256: "7a696fcfba89a55a6d73fa1a03c7f071fad2141340027b17a25db249e26b9be8"},
		{Path: "/etc/passwd", SHA256: "037d604c1c026b9f815eaeda9bad221290c9f6354587d3ca87f54c4b7466fad4"},
		{Path: "/etc/ssl/certs/ca-certificates.crt", SHA256: "254090ae56ea8af2e59a4de6460977d410e18381b14fd6aa0fdb37cf0a0e2cfd"},
		{Path: "/usr/share/zoneinfo/UTC", SHA256: "238fdc07453966ffbc3ae6d544ffb7b487e7be14fbdd8b50f31fd24b4b870fb3"},
	}
	if !reflect.DeepEqual(in.Files, wantFiles) {
		t.Errorf("Files = %+v, want %+v", in.Files, wantFiles)
	}
}

// TestFromImageDistroless: status.d files spread over layers are all read
// (a lower layer may add packages), their md5sums skipped, and a missing
// well-known file is simply not listed.
func TestFromImageDistroless(t *testing.T) {
	t.Parallel()
	img := image(t, "/app/service",
		layer(t, map[string][]byte{
			"var/lib/dpkg/status.d/base-files": []byte("Package: base-files\nVersion: 12.4+deb12u11\nArchitecture: amd64\n"),
			"etc/passwd":                       []byte("nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"),
		}),
		layer(t, map[string][]byte{
			"var/lib/dpkg/status.d/tzdata":         []byte("Package: tzdata\nVersion: 2025b-0+deb12u1\nArchitecture: all\n"),
			"var/lib/dpkg/status.d/tzdata.md5sums": []byte("d41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n"),
		}),
		layer(t, map[string][]byte{"app/service": serviceBinary(t)}),
	)
	in, err := FromImage(img, testImage, "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{
		{Name: "base-files", Version: "12.4+deb12u11", Architecture: "amd64"},
		{Name: "tzdata", Version: "2025b-0+deb12u1", Architecture: "all"},
	}
	if !reflect.DeepEqual(in.Packages, want) {
		t.Errorf("Packages = %+v, want %+v", in.Packages, want)
	}
	if len(in.Files) != 1 || in.Files[0].Path != "/etc/passwd" {
		t.Errorf("Files = %+v, want /etc/passwd only", in.Files)
	}
}

func TestFromImageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		img  v1.Image
		want string
	}{
		{"not a Go binary", image(t, "/bin/service", layer(t, map[string][]byte{"bin/service": []byte("#!/bin/sh\n")})),
			"/bin/service of " + testImage + " has no Go build info"},
		{"binary missing", image(t, "/bin/service", layer(t, map[string][]byte{"etc/passwd": nil})),
			"runs /bin/service, which the image does not hold"},
		{"broken dpkg status", image(t, "/bin/service", layer(t, map[string][]byte{"bin/service": serviceBinary(t), "var/lib/dpkg/status": []byte("garbage\n")})),
			"/var/lib/dpkg/status of " + testImage + ": line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := FromImage(tt.img, testImage, "linux/amd64"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FromImage: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
