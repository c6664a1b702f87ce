// Package repofile reads and writes the files of a service's repository
// without being led out of it. What a repository holds is not trusted: a
// committed link may lead out of it (to /dev/zero, to a file of the
// machine running Gantry), a build file may be a named pipe or a device,
// or too big to hold. The files Gantry opens in a service (its build
// files, Dockerfiles, .dockerignore, workflows, the Go source it inspects)
// or writes into it (gantry init's files, mage build's bin/) go through
// here: only regular files, reached through relative links that stay
// inside the repository, and, when read, no bigger than a limit.
package repofile

import (
	"bytes"
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Limits for Read: a build file (Makefile, .goreleaser.yaml, Dockerfile,
// .dockerignore, workflow, go.mod, magefile) is a few kilobytes, a Go file
// rarely over a megabyte even when generated.
const (
	MaxBuildFile = 1 << 20
	MaxGoFile    = 16 << 20
)

// Dir is a directory of a repository.
type Dir struct {
	// Path is the directory, as given; names are relative to it.
	Path string
	// repo is the repository holding Path: the nearest directory at or
	// above it with a .git, else Path itself. Links may lead anywhere in
	// it (a service in a monorepo may link a shared Makefile).
	repo string
	// rel is Path relative to repo.
	rel string
}

// At is the directory dir of the repository holding it.
func At(dir string) Dir {
	repo := RepoRoot(dir)
	rel, err := filepath.Rel(repo, dir)
	if err != nil {
		repo, rel = dir, "."
	}
	return Dir{Path: dir, repo: repo, rel: rel}
}

// RepoRoot is the git repository holding dir: dir itself or a parent (a
// service in a sub-folder of a monorepo); without a repository, dir. It
// is dir with ".." joined, so that paths made from it stay relative when
// dir is.
func RepoRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for up := dir; ; up = filepath.Join(up, "..") {
		if _, err := os.Stat(filepath.Join(abs, ".git")); err == nil {
			return up
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return dir
		}
		abs = parent
	}
}

// DirInRepo is dir relative to root, the repository holding it
// (RepoRoot), slash-separated: "." at the root, or when dir is not inside
// root. Both are compared with links resolved, as git gives its root.
func DirInRepo(root, dir string) string {
	resolve := func(p string) (string, bool) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", false
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		return abs, true
	}
	r, ok1 := resolve(root)
	d, ok2 := resolve(dir)
	if !ok1 || !ok2 {
		return "."
	}
	rel, err := filepath.Rel(r, d)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "."
	}
	return filepath.ToSlash(rel)
}

// Read returns the content of the regular file name (slash-separated,
// relative to d.Path). A file that is missing is an error wrapping
// fs.ErrNotExist; a link leading out of the repository, a file that is
// not regular (a named pipe, a device, a directory) or one over limit
// bytes is refused with an error naming it and the fix.
func (d Dir) Read(name string, limit int64) ([]byte, error) {
	f, err := d.open(name, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte over the limit tells a file that is too big, even one that
	// grows while it is read.
	content, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(content)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes, more than such a file needs: make it smaller", name, limit)
	}
	return content, nil
}

// Exists reports whether name (slash-separated, relative to d.Path)
// exists inside the repository; a link leading out of it is an error, as
// for Read and Write.
func (d Dir) Exists(name string) (bool, error) {
	root, err := d.openRoot(name)
	if err != nil {
		return false, err
	}
	defer root.Close()
	switch _, err := root.Stat(d.inRepo(name)); {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, d.explain(root, name, err)
	}
}

// GoContext is go/build's default context reading the files of the
// packages under d as Read does, with MaxGoFile, for ImportDir: a Go file
// that is a named pipe or a link leading out of the repository is an
// error, not a hang or a read of another file.
func (d Dir) GoContext() *build.Context {
	ctxt := build.Default
	ctxt.OpenFile = func(file string) (io.ReadCloser, error) {
		rel, err := filepath.Rel(d.Path, file)
		if err != nil {
			return nil, fmt.Errorf("%s is not under %s: %w", file, d.Path, err)
		}
		content, err := d.Read(filepath.ToSlash(rel), MaxGoFile)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(content)), nil
	}
	return &ctxt
}

// Write creates or replaces the regular file name (slash-separated,
// relative to d.Path) with content, making its directory. A link is
// written through only while it stays inside the repository; a file that
// is not regular is refused.
func (d Dir) Write(name string, content []byte) error {
	if err := d.mkdirAll(path.Dir(name), name); err != nil {
		return err
	}
	// Truncated only once known to be a regular file: O_TRUNC would act
	// before the check.
	f, err := d.open(name, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return err
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.Write(content)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w; check the permissions of %s", name, err, d.Path)
	}
	return nil
}

// MkdirAll makes the directory name (slash-separated, relative to d.Path)
// and its parents, inside the repository.
func (d Dir) MkdirAll(name string) error { return d.mkdirAll(name, name) }

// mkdirAll makes the directory name for the file or directory forName,
// which errors name.
func (d Dir) mkdirAll(name, forName string) error {
	root, err := d.openRoot(forName)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(d.inRepo(name), 0o755); err != nil {
		return d.explain(root, forName, err)
	}
	return nil
}

// open opens name inside the repository and returns it only if it is a
// regular file.
func (d Dir) open(name string, flag int) (*os.File, error) {
	root, err := d.openRoot(name)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// O_NONBLOCK: opening a named pipe must not wait for the other end;
	// the file's type is checked once it is open.
	f, err := root.OpenFile(d.inRepo(name), flag|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		return nil, d.explain(root, name, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(name, info.Mode())
	}
	return f, nil
}

// openRoot opens the repository for an operation on name.
func (d Dir) openRoot(name string) (*os.Root, error) {
	root, err := os.OpenRoot(d.repo)
	if err != nil {
		return nil, fmt.Errorf("%s: open the repository %s: %w", name, d.repo, err)
	}
	return root, nil
}

// explain turns the error of an operation on name in root into one that
// names the cause and the fix: a file that is not regular, a link that
// leaves the repository.
func (d Dir) explain(root *os.Root, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", name, err)
	}
	if info, serr := root.Stat(d.inRepo(name)); serr == nil && !info.Mode().IsRegular() {
		return notRegular(name, info.Mode())
	}
	if !within(d.repo, filepath.Join(d.repo, d.inRepo(name))) {
		return fmt.Errorf("%s lies outside the repository %s: move the file into it", name, d.repo)
	}
	if link, target, ok := d.firstLink(name); ok && (filepath.IsAbs(target) || !within(d.repo, filepath.Join(d.repo, d.inRepo(link), "..", target))) {
		where := name + ": "
		if link == name {
			where = ""
		}
		return fmt.Errorf("%s%s is a link to %s, and Gantry follows only relative links that stay inside the repository %s: commit the file or directory itself, or a relative link inside", where, link, target, d.repo)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// firstLink is the first element of name's path that is a symbolic link,
// and its target.
func (d Dir) firstLink(name string) (link, target string, ok bool) {
	var prefix string
	for _, elem := range strings.Split(name, "/") {
		prefix = strings.TrimPrefix(prefix+"/"+elem, "/")
		file := filepath.Join(d.Path, filepath.FromSlash(prefix))
		if info, err := os.Lstat(file); err != nil || info.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if target, err := os.Readlink(file); err == nil {
			return prefix, target, true
		}
	}
	return "", "", false
}

func (d Dir) inRepo(name string) string {
	return filepath.Join(d.rel, filepath.FromSlash(name))
}

func notRegular(name string, mode fs.FileMode) error {
	kind := "a special file"
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return fmt.Errorf("%s is %s, not a regular file: replace it with the file itself", name, kind)
}

// within reports whether path is root or below it, lexically.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
