// Package imagefs reads files out of an image the way a container sees its
// filesystem, layer by layer from the top, so a caller that needs a few
// small files (a binary, the dpkg status) can stop before the big base
// layers are ever fetched.
package imagefs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The OCI layer whiteout markers (image-spec layer.md).
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// kind is what the topmost entry of a path is.
type kind int

const (
	kindFile kind = iota
	kindDir
	kindLink
	kindWhiteout
	kindOther // devices, fifos: they hide lower entries but hold no content
)

// entry records the topmost entry of a path: which layer holds it and what it is.
type entry struct {
	layer int
	kind  kind
}

// walker is the state of one top-down walk over an image's layers.
type walker struct {
	layers  []v1.Layer
	want    func(string) bool
	maxFile int64
	// presence: record wanted files without their content (PATH lookup).
	presence bool

	seen      map[string]entry        // topmost entry of every path met so far
	opaque    map[string]bool         // directories an upper layer made opaque
	data      map[string][]byte       // content of wanted files and link targets
	wanted    map[string]bool         // topmost wanted paths met so far
	symlinks  map[string]string       // wanted path -> its symlink's target
	hardlinks map[string]string       // path -> the file of its layer it is a hard link to
	pending   map[string]bool         // symlink targets not met yet: lower layers may hold them
	reread    map[int]map[string]bool // layer -> targets met before their links
	found     map[string][]byte
}

// Read returns the content of the regular files of img for which want(path)
// is true (paths absolute and cleaned: "/usr/local/bin/service"), as the
// image's filesystem holds them: layers are read from the top down,
// whiteouts (.wh.<name>, .wh..wh..opq) hide lower entries, and the topmost
// entry of a path wins. done(found), when non-nil, is asked after each layer
// and lets Read stop before fetching lower layers; it must not modify found.
// Each file is capped at maxFile bytes. A wanted path that is a symlink
// (the last component only, one level) yields its target's content; targets
// stay inside / as the kernel keeps them inside a container's root.
func Read(img v1.Image, want func(path string) bool, done func(found map[string][]byte) bool, maxFile int64) (map[string][]byte, error) {
	return read(img, want, done, maxFile, false)
}

func read(img v1.Image, want func(string) bool, done func(map[string][]byte) bool, maxFile int64, presence bool) (map[string][]byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list the image's layers: %w", err)
	}
	w := &walker{
		layers: layers, want: want, maxFile: maxFile, presence: presence,
		seen: map[string]entry{}, opaque: map[string]bool{}, data: map[string][]byte{},
		wanted: map[string]bool{}, symlinks: map[string]string{}, hardlinks: map[string]string{},
		pending: map[string]bool{}, reread: map[int]map[string]bool{}, found: map[string][]byte{},
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if err := w.layer(i); err != nil {
			return nil, err
		}
		if err := w.resolve(); err != nil {
			return nil, err
		}
		if done != nil && done(w.found) {
			return w.found, nil
		}
	}
	// Every layer was read: a wanted symlink whose target is still missing dangles.
	for p := range w.wanted {
		if _, ok := w.found[p]; !ok {
			t, ok := w.symlinks[p]
			if !ok {
				t = w.hardlinks[p]
			}
			return nil, fmt.Errorf("%s is a link to %s, which the image does not hold: point the link at a file the image has", p, t)
		}
	}
	return w.found, nil
}

// clean makes a tar entry name an absolute, cleaned path; ".." cannot climb
// above "/", which keeps every path inside the image.
func clean(name string) string {
	return path.Clean("/" + name)
}

// hidden reports whether an upper layer hides p: an ancestor was whited
// out, replaced by a non-directory, or made opaque.
func (w *walker) hidden(p string) bool {
	for d := path.Dir(p); ; d = path.Dir(d) {
		if w.opaque[d] {
			return true
		}
		if e, ok := w.seen[d]; ok && e.kind != kindDir {
			return true
		}
		if d == "/" {
			return false
		}
	}
}

// layer reads layer i, recording the entries it is topmost for and the
// content of those wanted.
func (w *walker) layer(i int) error {
	rc, err := w.layers[i].Uncompressed()
	if err != nil {
		return fmt.Errorf("read layer %d: %w", i, err)
	}
	defer rc.Close()
	// An opaque marker hides lower layers only, not its siblings in this one.
	layerOpaque := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer %d: %w", i, err)
		}
		p := clean(h.Name)
		base := path.Base(p)
		if base == opaqueMarker {
			layerOpaque[path.Dir(p)] = true
			continue
		}
		k := kindOf(h.Typeflag)
		if strings.HasPrefix(base, whiteoutPrefix) {
			p, k = path.Join(path.Dir(p), strings.TrimPrefix(base, whiteoutPrefix)), kindWhiteout
		}
		if _, ok := w.seen[p]; ok || w.hidden(p) {
			continue
		}
		w.seen[p] = entry{layer: i, kind: k}
		if err := w.take(i, p, k, h, tr); err != nil {
			return err
		}
	}
	for d := range layerOpaque {
		w.opaque[d] = true
	}
	// Drain what the tar reader left so a remote layer's digest is checked.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("read layer %d: %w", i, err)
	}
	return nil
}

func kindOf(t byte) kind {
	switch t {
	case tar.TypeReg, tar.TypeLink:
		return kindFile
	case tar.TypeDir:
		return kindDir
	case tar.TypeSymlink:
		return kindLink
	}
	return kindOther
}

// take handles the topmost entry p of layer i: keeps its content if it is
// wanted or a link's target, and notes where a wanted link leads.
func (w *walker) take(i int, p string, k kind, h *tar.Header, r io.Reader) error {
	wanted := (k == kindFile || k == kindLink) && w.want(p)
	target := w.pending[p]
	if target {
		delete(w.pending, p)
		if err := w.checkTarget(p, k); err != nil {
			return err
		}
	}
	if wanted {
		w.wanted[p] = true
	}
	switch {
	case wanted && k == kindLink:
		t := h.Linkname
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		t = clean(t)
		w.symlinks[p] = t
		e, ok := w.seen[t]
		if !ok {
			w.pending[t] = true
			return nil
		}
		if err := w.checkTarget(t, e.kind); err != nil {
			return err
		}
		if _, ok := w.data[t]; !ok {
			w.rereadLater(e.layer, t) // an upper layer, or earlier in this one
		}
	case (wanted || target) && h.Typeflag == tar.TypeLink:
		// A hard link's content is its target's, earlier in this same layer.
		t := clean(h.Linkname)
		w.hardlinks[p] = t
		if _, ok := w.data[t]; !ok {
			w.rereadLater(i, t)
		}
	case (wanted || target) && k == kindFile:
		return w.keep(p, h, r)
	}
	return nil
}

// checkTarget rejects a link target that is not a regular file.
func (w *walker) checkTarget(t string, k kind) error {
	switch k {
	case kindFile:
		return nil
	case kindLink:
		return fmt.Errorf("%s is a symlink reached through another symlink: only one level is followed; point the first link straight at the file", t)
	case kindWhiteout:
		return fmt.Errorf("a symlink points at %s, which a layer deletes: point the link at a file the image has", t)
	}
	return fmt.Errorf("a symlink points at %s, which is not a regular file: point the link at a regular file", t)
}

func (w *walker) rereadLater(layer int, p string) {
	if w.presence { // the target exists: that is all a presence walk asks
		w.data[p] = nil
		return
	}
	if w.reread[layer] == nil {
		w.reread[layer] = map[string]bool{}
	}
	w.reread[layer][p] = true
}

// keep stores the content of regular file p, within the size limit.
func (w *walker) keep(p string, h *tar.Header, r io.Reader) error {
	if h.Size > w.maxFile {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit: raise the limit, or keep such a big file out of what is read", p, h.Size, w.maxFile)
	}
	if w.presence {
		w.data[p] = nil
		return nil
	}
	b, err := io.ReadAll(r) // the tar reader stops at h.Size, checked above
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	w.data[p] = b
	return nil
}

// resolve reads again the layers holding link targets met before their
// links, then fills found with every wanted file whose content is known.
func (w *walker) resolve() error {
	for i, paths := range w.reread {
		if err := w.extract(i, paths); err != nil {
			return err
		}
		delete(w.reread, i)
	}
	for p := range w.wanted {
		if b, ok := w.content(p); ok {
			w.found[p] = b
		}
	}
	return nil
}

// content is what reading p gives: through its symlink, then its hard link.
func (w *walker) content(p string) ([]byte, bool) {
	if t, ok := w.symlinks[p]; ok {
		p = t
	}
	if t, ok := w.hardlinks[p]; ok {
		p = t
	}
	b, ok := w.data[p]
	return b, ok
}

// extract reads the given regular files of layer i into data.
func (w *walker) extract(i int, paths map[string]bool) error {
	rc, err := w.layers[i].Uncompressed()
	if err != nil {
		return fmt.Errorf("read layer %d again: %w", i, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for len(paths) > 0 {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer %d again: %w", i, err)
		}
		p := clean(h.Name)
		if !paths[p] || h.Typeflag != tar.TypeReg {
			continue
		}
		if err := w.keep(p, h, tr); err != nil {
			return err
		}
		delete(paths, p)
	}
	return nil
}
