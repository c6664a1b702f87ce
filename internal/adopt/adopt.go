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
	"go/version"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
)

// MageVersion is the Mage that init adds to the service's go.mod as a tool.
const MageVersion = "v1.17.2"

// Options are the flags of gantry init.
type Options struct {
	// Dir is the service's module root.
	Dir string
	// Force names the files overwritten when they exist (see ForceKeys);
	// .dockerignore and .gitignore are merged, never overwritten.
	Force Force
	// Dockerfile also writes Gantry's default Dockerfile to docker/Dockerfile.
	Dockerfile bool
	// MainPackage and Service override what the repository says; with an
	// existing magefile, they are updated in it.
	MainPackage, Service string
	// GantryVersion is required in magefiles/go.mod (see Version).
	GantryVersion string
	// Replace points magefiles/go.mod at a local Gantry checkout.
	Replace string
}

// Force is the set of files -force overwrites, by ForceKeys name; "all"
// is every one.
type Force map[string]bool

// Has reports whether the file named key is forced.
func (f Force) Has(key string) bool { return key != "" && (f["all"] || f[key]) }

// Report is what init decided and did.
type Report struct {
	Decisions []Decision
	// Notes are what was found and not applied, with why, and warnings.
	Notes   []string
	Wrote   []string
	Skipped []Skip
	// Ran lists the commands run that change the service, as typed in a
	// shell (not the go list that reads its packages).
	Ran []string
}

// Skip is a file or step init left alone, and why.
type Skip struct {
	Path, Reason string
}

// Write prints the report: every decision with its source, then one line
// per file and command.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, d := range r.Decisions {
		where := d.Applied
		if where == "" {
			where = "the targets decide the same"
		}
		fmt.Fprintf(&b, "decided %s %s (from %s; %s)\n", d.What, d.Value, d.Source, where)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note    %s\n", n)
	}
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
	repo, err := discover.Read(dir)
	if err != nil {
		return r, err
	}
	branch, err := discover.ReadPublishBranch(ctx, dir)
	if err != nil {
		return r, err
	}
	flags := Flags{MainPackage: opts.MainPackage, Service: opts.Service,
		WritesDockerfile: opts.Dockerfile && (opts.Force.Has("dockerfile") || !exists(filepath.Join(dir, config.DefaultDockerfile)))}
	layout, err := NewLayout(repo, flags, branch, listPackages(ctx, dir))
	if err != nil {
		return r, err
	}
	r.Decisions, r.Notes = layout.Decisions, layout.Notes
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
		path := filepath.Join(dir, f.Path)
		var wrote bool
		switch {
		case f.Key == "":
			err = r.mergeLines(path, f.Path, f.Content)
		case f.Key == "magefile" && !opts.Force.Has(f.Key) && exists(path):
			wrote, err = r.updateMagefile(path, f.Path, layout, opts)
		default:
			wrote, err = writeFile(path, f.Content, opts.Force.Has(f.Key))
			if err == nil && !wrote {
				r.Skipped = append(r.Skipped, Skip{f.Path, fmt.Sprintf("it exists; -force=%s overwrites it", f.Key)})
			}
		}
		if err != nil {
			return r, err
		}
		if wrote {
			r.Wrote = append(r.Wrote, f.Path)
			magefilesChanged = magefilesChanged || strings.HasPrefix(f.Path, "magefiles/go.mod")
		}
	}
	// Gantry's own outputs never make the tree dirty: go.work.sum is
	// rewritten by go commands in the workspace (mage builds its magefile
	// there), so it is ignored rather than committed.
	if err := r.mergeLines(filepath.Join(dir, ".gitignore"), ".gitignore", []byte("# Written by go commands in Gantry's workspace (go.work): not committed.\ngo.work.sum\n")); err != nil {
		return r, err
	}

	if err := r.addMage(ctx, dir, gomod); err != nil {
		return r, err
	}

	if magefilesChanged {
		// GOWORK=off: tidy the magefiles module on its own, whatever an
		// existing go.work lists.
		if err := r.run(ctx, filepath.Join(dir, "magefiles"), []string{"GOWORK=off"}, "go", "mod", "tidy"); err != nil {
			return r, err
		}
	} else {
		r.Skipped = append(r.Skipped, Skip{"magefiles/go.sum", "magefiles/go.mod is unchanged, so not tidied"})
	}

	return r, r.joinWorkspace(dir, layout.GoVersion)
}

// addMage makes Mage a tool of the service without raising any of its
// requirements: a service that requires github.com/magefile/mage already
// gets the tool line at that version (go.mod edited, nothing fetched);
// otherwise go get -tool adds MageVersion.
func (r *Report) addMage(ctx context.Context, dir string, gomod *modfile.File) error {
	const mage = "github.com/magefile/mage"
	if hasTool(gomod, mage) {
		r.Skipped = append(r.Skipped, Skip{"go.mod", "Mage is a tool already"})
		return nil
	}
	for _, req := range gomod.Require {
		if req.Mod.Path != mage {
			continue
		}
		if err := gomod.AddTool(mage); err != nil {
			return err
		}
		gomod.Cleanup()
		data, err := gomod.Format()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), data, 0o644); err != nil {
			return fmt.Errorf("write go.mod: %w; check its permissions", err)
		}
		r.Wrote = append(r.Wrote, fmt.Sprintf("go.mod (tool %s, at the %s it requires already)", mage, req.Mod.Version))
		return nil
	}
	return r.run(ctx, dir, nil, "go", "get", "-tool", mage+"@"+MageVersion)
}

// listPackages lists the main package's packages as `mage check` does, for
// the first of the default platforms.
func listPackages(ctx context.Context, dir string) Packages {
	goos, goarch, _ := strings.Cut(config.DefaultPlatforms()[0], "/")
	return func(mainPkg string) (golist.Graph, error) {
		return golist.List(ctx, dir, mainPkg, goos, goarch, nil)
	}
}

// updateMagefile sets what init decided in the existing magefile, in
// place (UpdateMagefile); it reports whether the file changed. A magefile
// that is not Gantry's is left alone, unless a flag asks for a change.
func (r *Report) updateMagefile(path, rel string, l Layout, opts Options) (bool, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", rel, err)
	}
	updated, kept, err := UpdateMagefile(content, magefileSettings(l, opts), l.header())
	var foreign foreignMagefileError
	if errors.As(err, &foreign) && opts.MainPackage == "" && opts.Service == "" {
		r.Skipped = append(r.Skipped, Skip{rel, foreign.Error()})
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, field := range kept {
		r.Notes = append(r.Notes, fmt.Sprintf("%s sets %s itself (no %q comment), so init keeps it; a flag, or -force=magefile, replaces it", rel, field, commentPrefix))
	}
	if bytes.Equal(updated, content) {
		r.Skipped = append(r.Skipped, Skip{rel, "it sets what init decided already"})
		return false, nil
	}
	if err := os.WriteFile(path, updated, 0o644); err != nil {
		return false, fmt.Errorf("write %s: %w; check its permissions", rel, err)
	}
	return true, nil
}

// magefileSettings are the settings an existing magefile gets: those init
// decided, the flags' marked to replace the team's own assignments too,
// and a flag's value even when it is the targets' default, which still
// replaces an older value set.
func magefileSettings(l Layout, opts Options) []Setting {
	flags := []Setting{
		{Field: "MainPackage", Value: l.MainPackage, Source: "-main", Flag: opts.MainPackage != ""},
		{Field: "Service", Value: l.Service, Source: "-service", Flag: opts.Service != ""},
	}
	settings := slices.Clone(l.Settings)
	for _, f := range flags {
		if !f.Flag {
			continue
		}
		if i := slices.IndexFunc(settings, func(s Setting) bool { return s.Field == f.Field }); i >= 0 {
			settings[i].Flag = true
		} else {
			settings = append(settings, f)
		}
	}
	return settings
}

// mergeLines adds to the file at path the lines of want it lacks
// (comments and blank lines aside), keeping every line it has; it creates
// the file when there is none.
func (r *Report) mergeLines(path, rel string, want []byte) error {
	have, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := writeFile(path, want, true); err != nil {
			return err
		}
		r.Wrote = append(r.Wrote, rel)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	present := map[string]bool{}
	for _, l := range strings.Split(string(have), "\n") {
		present[strings.TrimSpace(l)] = true
	}
	var missing []string
	for _, l := range strings.Split(string(want), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") && !present[l] {
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 {
		r.Skipped = append(r.Skipped, Skip{rel, "it has every entry Gantry needs"})
		return nil
	}
	var b bytes.Buffer
	b.Write(have)
	if len(have) > 0 && !bytes.HasSuffix(have, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString("# Added by gantry init:\n" + strings.Join(missing, "\n") + "\n")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w; check its permissions", rel, err)
	}
	r.Wrote = append(r.Wrote, fmt.Sprintf("%s (added %s)", rel, strings.Join(missing, ", ")))
	return nil
}

// joinWorkspace makes go.work list the service and the magefiles module,
// writing it with modfile rather than go work init, which would write the
// running toolchain's version: its go directive is the service's, raised
// only to what the magefiles module needs (a go.work must not be older
// than its modules).
func (r *Report) joinWorkspace(dir, serviceGo string) error {
	need := serviceGo
	if data, err := os.ReadFile(filepath.Join(dir, "magefiles", "go.mod")); err == nil {
		if f, err := modfile.ParseLax("go.mod", data, nil); err == nil && f.Go != nil && (need == "" || version.Compare("go"+f.Go.Version, "go"+need) > 0) {
			need = f.Go.Version
		}
	}
	path := filepath.Join(dir, "go.work")
	data, err := os.ReadFile(path)
	work := new(modfile.WorkFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		work.Syntax = new(modfile.FileSyntax)
	case err != nil:
		return fmt.Errorf("read go.work: %w; make it readable", err)
	default:
		if work, err = modfile.ParseWork("go.work", data, nil); err != nil {
			return fmt.Errorf("parse go.work: %w; fix it, or remove it and run gantry init again", err)
		}
	}
	var uses []string
	for _, u := range work.Use {
		uses = append(uses, filepath.Clean(u.Path))
	}
	changed := false
	for _, u := range []string{".", "./magefiles"} {
		if !slices.Contains(uses, filepath.Clean(u)) {
			if err := work.AddUse(u, ""); err != nil {
				return err
			}
			changed = true
		}
	}
	if need != "" && (work.Go == nil || version.Compare("go"+work.Go.Version, "go"+need) < 0) {
		if err := work.AddGoStmt(need); err != nil {
			return err
		}
		changed = true
	}
	if !changed {
		r.Skipped = append(r.Skipped, Skip{"go.work", "it uses . and ./magefiles already"})
		return nil
	}
	work.Cleanup()
	if err := os.WriteFile(path, modfile.Format(work.Syntax), 0o644); err != nil {
		return fmt.Errorf("write go.work: %w; check the permissions of the service directory", err)
	}
	r.Wrote = append(r.Wrote, "go.work")
	return nil
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

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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
