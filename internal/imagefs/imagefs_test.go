package imagefs

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// file is one tar entry of a test layer.
type file struct {
	name, body, link string
	typ              byte // tar.TypeReg when zero
}

func layer(t *testing.T, files ...file) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Linkname: f.link, Mode: 0o755}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer)
}

// image stacks layers, the first one at the bottom.
func image(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// unreadable is a layer that fails when its content is fetched: Read
// must never reach it when done has stopped the walk above it.
type unreadable struct{ v1.Layer }

var errFetched = errors.New("layer fetched")

func (unreadable) Uncompressed() (io.ReadCloser, error) { return nil, errFetched }
func (unreadable) Compressed() (io.ReadCloser, error)   { return nil, errFetched }

func all(string) bool { return true }

func TestRead(t *testing.T) {
	t.Parallel()
	dir := func(name string) file { return file{name: name, typ: tar.TypeDir} }
	tests := []struct {
		name   string
		layers [][]file // bottom first
		want   map[string]string
	}{
		{
			name: "top layer wins",
			layers: [][]file{
				{{name: "etc/os-release", body: "debian"}, {name: "etc/passwd", body: "root"}},
				{{name: "./etc/os-release", body: "distroless"}},
			},
			want: map[string]string{"/etc/os-release": "distroless", "/etc/passwd": "root"},
		},
		{
			name: "whiteout hides a file and a directory's subtree",
			layers: [][]file{
				{{name: "a", body: "a"}, dir("d"), {name: "d/x", body: "x"}, {name: "keep", body: "k"}},
				{{name: ".wh.a"}, {name: ".wh.d"}},
			},
			want: map[string]string{"/keep": "k"},
		},
		{
			name: "whiteout then a new file above it",
			layers: [][]file{
				{{name: "a", body: "old"}},
				{{name: ".wh.a"}},
				{{name: "a", body: "new"}},
			},
			want: map[string]string{"/a": "new"},
		},
		{
			name: "opaque dir hides lower entries, keeps its own layer's",
			layers: [][]file{
				{dir("var/lib/dpkg"), {name: "var/lib/dpkg/status", body: "old"}, {name: "var/lib/dpkg/other", body: "o"}, {name: "var/x", body: "x"}},
				{dir("var/lib/dpkg"), {name: "var/lib/dpkg/.wh..wh..opq"}, {name: "var/lib/dpkg/status", body: "new"}},
			},
			want: map[string]string{"/var/lib/dpkg/status": "new", "/var/x": "x"},
		},
		{
			name: "a file above hides a directory below",
			layers: [][]file{
				{dir("d"), {name: "d/x", body: "x"}},
				{{name: "d", body: "now a file"}},
			},
			want: map[string]string{"/d": "now a file"},
		},
		{
			name: "relative symlink to a lower layer",
			layers: [][]file{
				{{name: "usr/local/lib/x", body: "binary"}},
				{{name: "usr/local/bin/x", typ: tar.TypeSymlink, link: "../lib/x"}},
			},
			want: map[string]string{"/usr/local/bin/x": "binary", "/usr/local/lib/x": "binary"},
		},
		{
			name: "absolute symlink to an upper layer",
			layers: [][]file{
				{{name: "bin/x", typ: tar.TypeSymlink, link: "/opt/x"}},
				{{name: "opt/x", body: "binary"}},
			},
			want: map[string]string{"/bin/x": "binary", "/opt/x": "binary"},
		},
		{
			name: "symlink climbing above / stays inside the image",
			layers: [][]file{
				{{name: "x", body: "root x"}, {name: "bin/x", typ: tar.TypeSymlink, link: "../../../x"}},
			},
			want: map[string]string{"/bin/x": "root x", "/x": "root x"},
		},
		{
			name: "symlink to later in the same layer",
			layers: [][]file{
				{{name: "a/link", typ: tar.TypeSymlink, link: "../b/file"}, {name: "b/file", body: "f"}},
			},
			want: map[string]string{"/a/link": "f", "/b/file": "f"},
		},
		{
			name: "hard link",
			layers: [][]file{
				{{name: "a", body: "shared"}, {name: "b", typ: tar.TypeLink, link: "a"}},
			},
			want: map[string]string{"/a": "shared", "/b": "shared"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var layers []v1.Layer
			for _, fs := range tt.layers {
				layers = append(layers, layer(t, fs...))
			}
			got, err := Read(image(t, layers...), all, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			gotStr := map[string]string{}
			for p, b := range got {
				gotStr[p] = string(b)
			}
			if !maps.Equal(gotStr, tt.want) {
				t.Errorf("Read = %v, want %v", gotStr, tt.want)
			}
		})
	}
}

// TestReadSymlinkTargetNotWanted: a wanted symlink yields its target's
// content under the link's own path, even when the target is not wanted
// and lies in a layer already read.
func TestReadSymlinkTargetNotWanted(t *testing.T) {
	t.Parallel()
	img := image(t,
		layer(t, file{name: "usr/local/bin/service", typ: tar.TypeSymlink, link: "../lib/service/service"}),
		layer(t, file{name: "usr/local/lib/service/service", body: "ELF"}, file{name: "other", body: "o"}),
	)
	got, err := Read(img, func(p string) bool { return p == "/usr/local/bin/service" }, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got["/usr/local/bin/service"]) != "ELF" {
		t.Errorf("Read = %q, want only /usr/local/bin/service, holding its target's ELF", got)
	}
}

func TestReadDoneStopsBeforeLowerLayers(t *testing.T) {
	t.Parallel()
	base := unreadable{layer(t, file{name: "usr/lib/big", body: "big"})}
	img := image(t,
		base,
		layer(t, file{name: "var/lib/dpkg/status.d/base", body: "Package: base"}),
		layer(t, file{name: "usr/local/bin/service", body: "ELF"}),
	)
	want := func(p string) bool {
		return p == "/usr/local/bin/service" || strings.HasPrefix(p, "/var/lib/dpkg/status.d/")
	}
	var calls int
	done := func(found map[string][]byte) bool {
		calls++
		return found["/usr/local/bin/service"] != nil && found["/var/lib/dpkg/status.d/base"] != nil
	}
	got, err := Read(img, want, done, 100)
	if err != nil {
		t.Fatalf("Read fetched the base layer though done was satisfied above it: %v", err)
	}
	if len(got) != 2 || calls != 2 {
		t.Errorf("Read = %q after %d calls of done, want the binary and the status after 2", got, calls)
	}
	// Without done, the base layer is read, and its failure is reported.
	if _, err := Read(img, want, nil, 100); !errors.Is(err, errFetched) {
		t.Errorf("Read without done: err = %v, want the base layer's failure", err)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		layers [][]file
		want   string
	}{
		{
			name:   "file over the limit",
			layers: [][]file{{{name: "usr/local/bin/service", body: strings.Repeat("x", 11)}}},
			want:   "/usr/local/bin/service is 11 bytes, over the 10-byte limit",
		},
		{
			name:   "dangling symlink",
			layers: [][]file{{{name: "bin/x", typ: tar.TypeSymlink, link: "/nowhere"}}},
			want:   "/bin/x is a link to /nowhere, which the image does not hold",
		},
		{
			name: "symlink to a deleted file",
			layers: [][]file{
				{{name: "bin/x", typ: tar.TypeSymlink, link: "/opt/x"}},
				{{name: "opt/.wh.x"}},
			},
			want: "a symlink points at /opt/x, which a layer deletes",
		},
		{
			name: "symlink to a symlink",
			layers: [][]file{
				{{name: "a", body: "a"}, {name: "b", typ: tar.TypeSymlink, link: "a"}, {name: "c", typ: tar.TypeSymlink, link: "b"}},
			},
			want: "/b is a symlink reached through another symlink",
		},
		{
			name:   "symlink to a directory",
			layers: [][]file{{{name: "d", typ: tar.TypeDir}, {name: "l", typ: tar.TypeSymlink, link: "d"}}},
			want:   "a symlink points at /d, which is not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var layers []v1.Layer
			for _, fs := range tt.layers {
				layers = append(layers, layer(t, fs...))
			}
			_, err := Read(image(t, layers...), func(p string) bool { return p != "/b" && p != "/a" }, nil, 10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
