package adopt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/repofile"
)

// maxRestored bounds a file the journal keeps to put back: a go.sum may
// be far bigger than a build file.
const maxRestored = 64 << 20

// journal keeps the files init may change as they were before, so that
// an init that stops half-way leaves the repository as it found it: a
// magefiles/go.mod requiring a version that does not exist, left behind,
// would be skipped by the next run as "it exists", which would then report
// success over it.
type journal struct {
	root  repofile.Dir
	files []kept
	// dirs are the directories that did not exist, parents first.
	dirs []string
}

// kept is a file as it was: its content, or absent.
type kept struct {
	path    string
	content []byte
	existed bool
}

// newJournal records the files at paths (slash-separated, relative to
// root) and the directories holding them.
func newJournal(root repofile.Dir, paths []string) *journal {
	j := &journal{root: root}
	for _, p := range paths {
		content, err := root.Read(p, maxRestored)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			j.files = append(j.files, kept{path: p})
		case err != nil:
			// One init may not read (a link out of the repository, a
			// named pipe), it may not write either: its write names why.
			continue
		default:
			j.files = append(j.files, kept{path: p, content: content, existed: true})
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if slices.Contains(j.dirs, d) {
				continue
			}
			if _, err := os.Stat(filepath.Join(root.Path, filepath.FromSlash(d))); errors.Is(err, fs.ErrNotExist) {
				j.dirs = append(j.dirs, d)
			}
		}
	}
	slices.Sort(j.dirs)
	return j
}

// restore puts every file back as it was, removes those that were not
// there and the directories made for them (when empty), and says what it
// did; a file it cannot put back is named in the error.
func (j *journal) restore() (string, error) {
	var back, removed []string
	var errs []error
	for _, f := range j.files {
		now, err := j.root.Read(f.path, maxRestored)
		switch {
		case f.existed && err == nil && string(now) == string(f.content):
		case f.existed:
			if err := j.root.Write(f.path, f.content); err != nil {
				errs = append(errs, err)
				continue
			}
			back = append(back, f.path)
		case errors.Is(err, fs.ErrNotExist):
		default:
			if err := os.Remove(filepath.Join(j.root.Path, filepath.FromSlash(f.path))); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, f.path)
		}
	}
	for _, d := range slices.Backward(j.dirs) {
		// Only when empty: anything else in it is not init's.
		_ = os.Remove(filepath.Join(j.root.Path, filepath.FromSlash(d)))
	}
	var said []string
	if len(back) > 0 {
		said = append(said, "put back "+strings.Join(back, ", "))
	}
	if len(removed) > 0 {
		said = append(said, "removed "+strings.Join(removed, ", "))
	}
	if err := errors.Join(errs...); err != nil {
		return strings.Join(said, "; "), fmt.Errorf("init stopped and could not undo all it did (%w): restore the files named with git (git status shows them)", err)
	}
	return strings.Join(said, "; "), nil
}
