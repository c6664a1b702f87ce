// Package adopt is `gantry init`: it lays out a Go service to use Gantry as
// README.md describes (a magefiles module importing the targets, Mage as a
// tool, a go.work joining the two, .dockerignore and the Container
// workflow) and never overwrites a file unless told to.
package adopt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/run"
)

// MageVersion is the Mage that init adds to the service's go.mod as a tool.
const MageVersion = "v1.17.2"

// Options are the flags of gantry init.
type Options struct {
	// Dir is the service's module root.
	Dir string
	// Force overwrites files that exist.
	Force bool
	// Dockerfile also writes Gantry's default Dockerfile to docker/Dockerfile.
	Dockerfile bool
	// MainPackage and Service override what the module suggests.
	MainPackage, Service string
	// GantryVersion is required in magefiles/go.mod (see Version).
	GantryVersion string
	// Replace points magefiles/go.mod at a local Gantry checkout.
	Replace string
}

// Report is what init did.
type Report struct {
	Wrote   []string
	Skipped []Skip
	// Ran lists the commands run, as typed in a shell.
	Ran []string
}

// Skip is a file or step init left alone, and why.
type Skip struct {
	Path, Reason string
}

// Write prints the report, one line per file and command.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, p := range r.Wrote {
		fmt.Fprintf(&b, "wrote   %s\n", p)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", s.Path, s.Reason)
	}
	for _, c := range r.Ran {
		fmt.Fprintf(&b, "ran     %s\n", c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Init adopts Gantry in the service at opts.Dir. On error, the report
// says what was done before it.
func Init(ctx context.Context, opts Options) (Report, error) {
	var r Report
	dir := opts.Dir
	gomod, err := readGoMod(dir)
	if err != nil {
		return r, err
	}
	mod, err := module.Read(dir)
	if err != nil {
		return r, err
	}
	layout, err := NewLayout(mod, opts.MainPackage, opts.Service)
	if err != nil {
		return r, err
	}
	layout.GantryVersion, layout.Dockerfile = opts.GantryVersion, opts.Dockerfile
	if layout.Replace = opts.Replace; layout.Replace != "" {
		// magefiles/go.mod is one directory down: a relative path would
		// point somewhere else from there.
		if layout.Replace, err = filepath.Abs(layout.Replace); err != nil {
			return r, err
		}
	}
	if gomod.Go != nil {
		layout.GoVersion = gomod.Go.Version
	}
	files, err := layout.Files()
	if err != nil {
		return r, err
	}

	magefilesChanged := false
	for _, f := range files {
		wrote, err := writeFile(filepath.Join(dir, f.Path), f.Content, opts.Force)
		if err != nil {
			return r, err
		}
		if !wrote {
			r.Skipped = append(r.Skipped, Skip{f.Path, "it exists; -force overwrites it"})
			continue
		}
		r.Wrote = append(r.Wrote, f.Path)
		magefilesChanged = magefilesChanged || strings.HasPrefix(f.Path, "magefiles/")
	}

	if hasTool(gomod, "github.com/magefile/mage") {
		r.Skipped = append(r.Skipped, Skip{"go.mod", "Mage is a tool already"})
	} else if err := r.run(ctx, dir, nil, "go", "get", "-tool", "github.com/magefile/mage@"+MageVersion); err != nil {
		return r, err
	}

	if magefilesChanged {
		// GOWORK=off: tidy the magefiles module on its own, whatever an
		// existing go.work lists.
		if err := r.run(ctx, filepath.Join(dir, "magefiles"), []string{"GOWORK=off"}, "go", "mod", "tidy"); err != nil {
			return r, err
		}
	} else {
		r.Skipped = append(r.Skipped, Skip{"magefiles/go.sum", "magefiles/ is unchanged, so not tidied"})
	}

	return r, r.joinWorkspace(ctx, dir)
}

// joinWorkspace makes go.work list the service and the magefiles module:
// go work init, or go work use when there is a go.work already.
func (r *Report) joinWorkspace(ctx context.Context, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "go.work"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return r.run(ctx, dir, nil, "go", "work", "init", ".", "./magefiles")
	case err != nil:
		return fmt.Errorf("read go.work: %w; make it readable", err)
	}
	work, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return fmt.Errorf("parse go.work: %w; fix it, or remove it and run gantry init again", err)
	}
	var uses []string
	for _, u := range work.Use {
		uses = append(uses, filepath.Clean(u.Path))
	}
	if slices.Contains(uses, ".") && slices.Contains(uses, "magefiles") {
		r.Skipped = append(r.Skipped, Skip{"go.work", "it uses . and ./magefiles already"})
		return nil
	}
	return r.run(ctx, dir, nil, "go", "work", "use", ".", "./magefiles")
}

func readGoMod(dir string) (*modfile.File, error) {
	path := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read go.mod: %w; run gantry init at the root of the service's Go module, or pass -dir", err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.mod: %w; fix it (go mod tidy names the problem)", err)
	}
	return f, nil
}

func hasTool(f *modfile.File, path string) bool {
	return slices.ContainsFunc(f.Tool, func(t *modfile.Tool) bool { return t.Path == path })
}

// writeFile writes content to path unless the file exists and force is
// off; it reports whether it wrote.
func writeFile(path string, content []byte, force bool) (bool, error) {
	if _, err := os.Stat(path); err == nil && !force {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("create %s: %w; check the permissions of the service directory", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return false, fmt.Errorf("write %s: %w; check the permissions of the service directory", path, err)
	}
	return true, nil
}

// run runs a command in dir with env added, and records it. Its output is
// kept, stdout and stderr together as they came, for the error.
func (r *Report) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	var out bytes.Buffer
	cmd := run.Cmd{Name: name, Args: args, Env: env, Dir: dir, Stdout: &out, Stderr: &out}
	line := strings.Join(append([]string{name}, args...), " ")
	if err := run.Run(ctx, cmd); err != nil {
		return fmt.Errorf("`%s` in %s failed: %w\n%s\nfix what it names and run gantry init again: files it wrote are kept (-force rewrites them)", line, dir, err, out.Bytes())
	}
	r.Ran = append(r.Ran, strings.TrimSpace(strings.Join(env, " ")+" "+line))
	return nil
}
