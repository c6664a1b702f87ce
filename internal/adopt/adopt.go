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
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
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
	// Matrix writes the workflow for a matrix of native runners: a
	// platform job per platform and a finalize job (Config.Shard).
	Matrix bool
	// MainPackage and Service override what the repository says; with an
	// existing magefile, they are updated in it.
	MainPackage, Service string
	// GantryVersion is required in magefiles/go.mod (see Version).
	GantryVersion string
	// Replace points magefiles/go.mod at a local Gantry checkout.
	Replace string
	// Branch is the publishing branch, instead of the one the repository
	// names (origin/HEAD); it must pass CheckPublishBranch.
	Branch string
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
	// Remaining are what init could not decide and the service must, each
	// with the fix: the files are written, but mage check would fail.
	Remaining []string
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
	for _, n := range r.Remaining {
		fmt.Fprintf(&b, "remains %s\n", n)
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
	// Every file init reads or writes in the service goes through root:
	// never through a link leading out of the repository, never a named
	// pipe or a device.
	root := repofile.At(dir)
	gomod, err := readGoMod(root)
	if err != nil {
		return r, err
	}
	repo, err := discover.Read(dir)
	if err != nil {
		return r, err
	}
	if err := checkRootMagefiles(root); err != nil {
		return r, err
	}
	magefiles, err := ReadMagefiles(root, repo.Module.Path)
	if err != nil {
		return r, err
	}
	if err := magefiles.check(); err != nil {
		return r, err
	}
	found, err := discover.ReadPublishBranch(ctx, dir)
	if err != nil {
		return r, err
	}
	branch, branchNotes, err := decidePublishBranch(found, opts.Branch, branchExists(ctx, dir))
	if err != nil {
		return r, err
	}
	flags := Flags{MainPackage: opts.MainPackage, Service: opts.Service,
		WritesDockerfile: opts.Dockerfile && (opts.Force.Has("dockerfile") || !exists(filepath.Join(dir, config.DefaultDockerfile)))}
	layout, err := NewLayout(repo, flags, branch, listPackages(ctx, dir), findEmbeds(ctx, dir))
	if err != nil {
		return r, err
	}
	r.Decisions, r.Notes, r.Remaining = layout.Decisions, append(branchNotes, layout.Notes...), layout.Remaining
	layout.GantryVersion, layout.Dockerfile, layout.Matrix = opts.GantryVersion, opts.Dockerfile, opts.Matrix
	if layout.RepoDir = serviceDirInRepo(dir); layout.RepoDir != "." {
		r.Decisions = append(r.Decisions, Decision{What: "workflow", Value: layout.WorkflowPath(),
			Source: fmt.Sprintf("the service lies in %s of its repository, and GitHub reads workflows only from the root's .github/workflows", layout.RepoDir)})
		if ok, _ := root.Exists(workflow.Path); ok {
			r.Notes = append(r.Notes, fmt.Sprintf("%s never runs: GitHub reads workflows only from the repository root's .github/workflows; delete it (git rm %s)", workflow.Path, workflow.Path))
		}
	}
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
	layout.MagefilePath = magefiles.Path()
	hasGoMod := exists(filepath.Join(dir, "magefiles", "go.mod"))
	// Only in the go.mod init writes: a team's own keeps its arrangement.
	layout.RequireService = magefiles.ImportsService && (!hasGoMod || opts.Force.Has("gomod"))
	if len(magefiles.Team) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("magefiles/ holds the team's mage files (%s): Gantry's targets go beside them, in %s", strings.Join(magefiles.Team, ", "), layout.MagefilePath))
	}
	if layout.RequireService {
		r.Notes = append(r.Notes, fmt.Sprintf("the team's mage files import packages of %s, so the magefiles module init makes requires it, replaced by the directory above (..)", layout.ModulePath))
	}
	files, err := layout.Files()
	if err != nil {
		return r, err
	}

	// Before anything is written: a workflow in the way is replaced only
	// when it is a hand-written image workflow git can restore.
	replacing, err := replacedWorkflow(ctx, root, files, layout.Service, opts.Force)
	if err != nil {
		return r, err
	}

	paths := []string{".gitignore", "go.work", "magefiles/go.sum"}
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if err := checkNoDirectories(dir, paths); err != nil {
		return r, err
	}

	// From here on init changes the service: if it stops, what it changed
	// is put back, so that a re-run starts afresh rather than skipping a
	// broken file as "it exists" and reporting success over it.
	j := newJournal(root, append(paths, "go.mod", "go.sum"))
	if err := r.apply(ctx, root, files, layout, opts, gomod, replacing); err != nil {
		said, rerr := j.restore()
		r.Wrote = nil
		if said != "" {
			r.Notes = append(r.Notes, "init stopped, so it undid what it had written: "+said)
		}
		return r, errors.Join(err, rerr)
	}
	return r, nil
}

// apply writes the files, adds Mage, vendors, tidies the magefiles module
// and joins the workspace.
func (r *Report) apply(ctx context.Context, root repofile.Dir, files []File, layout Layout, opts Options, gomod *modfile.File, replacing string) error {
	dir := root.Path
	magefilesChanged := false
	for _, f := range files {
		var wrote bool
		var err error
		switch {
		case f.Key == "":
			err = r.mergeLines(root, f.Path, f.Content)
		case f.Key == "magefile" && !opts.Force.Has(f.Key) && exists(filepath.Join(dir, f.Path)):
			wrote, err = r.updateMagefile(root, f.Path, layout, opts)
		case f.Key == "gomod" && !opts.Force.Has(f.Key) && exists(filepath.Join(dir, f.Path)):
			wrote, err = r.requireGantry(root, f.Path, layout)
		default:
			wrote, err = writeFile(root, f.Path, f.Content, opts.Force.Has(f.Key) || (f.Key == "workflow" && replacing != ""))
			if err == nil && !wrote {
				r.Skipped = append(r.Skipped, Skip{f.Path, fmt.Sprintf("it exists; -force=%s overwrites it", f.Key)})
			}
		}
		if err != nil {
			return err
		}
		if wrote && f.Key == "workflow" && replacing != "" {
			r.Wrote = append(r.Wrote, fmt.Sprintf("%s (replaced the image workflow it held, which %s; `git checkout -- %s` restores it)", f.Path, replacing, f.Path))
		} else if wrote {
			r.Wrote = append(r.Wrote, f.Path)
			magefilesChanged = magefilesChanged || strings.HasPrefix(f.Path, "magefiles/go.mod")
		}
	}
	// Gantry's own outputs never make the tree dirty: go.work.sum is
	// rewritten by go commands in the workspace (mage builds its magefile
	// there), so it is ignored rather than committed.
	if err := r.mergeLines(root, ".gitignore", []byte("# Written by go commands in Gantry's workspace (go.work): not committed.\ngo.work.sum\n")); err != nil {
		return err
	}

	addedMage, err := r.addMage(ctx, root, gomod)
	if err != nil {
		return err
	}
	if err := r.vendor(ctx, root, addedMage); err != nil {
		return err
	}

	// A magefiles/go.mod without its go.sum was left by an init that
	// stopped before tidying (one from before init undid its changes):
	// tidied now, rather than reported as done.
	if magefilesChanged || !exists(filepath.Join(dir, "magefiles", "go.sum")) {
		// GOWORK=off: tidy the magefiles module on its own, whatever an
		// existing go.work lists.
		if err := r.run(ctx, filepath.Join(dir, "magefiles"), []string{"GOWORK=off"}, "go", "mod", "tidy"); err != nil {
			if !magefilesChanged {
				return fmt.Errorf("%w; magefiles/go.mod, without its go.sum, was left so by an earlier init that stopped: pass -force=gomod to write it afresh", err)
			}
			return err
		}
	} else {
		r.Skipped = append(r.Skipped, Skip{"magefiles/go.sum", "magefiles/go.mod is unchanged, so not tidied"})
	}

	return r.joinWorkspace(root, layout.GoVersion)
}

// addMage makes Mage a tool of the service without raising any of its
// requirements: a service that requires github.com/magefile/mage already
// gets the tool line at that version (go.mod edited, nothing fetched);
// otherwise go get -tool adds MageVersion. It reports whether go.mod
// changed.
func (r *Report) addMage(ctx context.Context, root repofile.Dir, gomod *modfile.File) (bool, error) {
	if hasTool(gomod, mageModule) {
		r.Skipped = append(r.Skipped, Skip{"go.mod", "Mage is a tool already"})
		return false, nil
	}
	for _, req := range gomod.Require {
		if req.Mod.Path != mageModule {
			continue
		}
		if err := gomod.AddTool(mageModule); err != nil {
			return false, err
		}
		gomod.Cleanup()
		data, err := gomod.Format()
		if err != nil {
			return false, err
		}
		if err := root.Write("go.mod", data); err != nil {
			return false, fmt.Errorf("not written: %w", err)
		}
		r.Wrote = append(r.Wrote, fmt.Sprintf("go.mod (tool %s, at the %s it requires already)", mageModule, req.Mod.Version))
		return true, nil
	}
	return true, r.run(ctx, root.Path, nil, "go", "get", "-tool", mageModule+"@"+MageVersion)
}

const mageModule = "github.com/magefile/mage"

// vendor keeps a vendored service's vendor/ in step with its go.mod: a
// tool added to go.mod and not to vendor/modules.txt breaks the service's
// own go build ("inconsistent vendoring"), and the image build, which
// runs with GOWORK=off. It runs go mod vendor (outside the workspace,
// where it is refused) when go.mod changed, or when vendor/ lacks Mage,
// as after an init that stopped before vendoring.
func (r *Report) vendor(ctx context.Context, root repofile.Dir, changed bool) error {
	modules, err := root.Read("vendor/modules.txt", repofile.MaxBuildFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("not read: %w", err)
	}
	if !changed && bytes.Contains(append([]byte("\n"), modules...), []byte("\n# "+mageModule+" ")) {
		r.Skipped = append(r.Skipped, Skip{"vendor/", "it holds Mage already"})
		return nil
	}
	return r.run(ctx, root.Path, []string{"GOWORK=off"}, "go", "mod", "vendor")
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
func (r *Report) updateMagefile(root repofile.Dir, rel string, l Layout, opts Options) (bool, error) {
	content, err := root.Read(rel, repofile.MaxBuildFile)
	if err != nil {
		return false, fmt.Errorf("not read: %w", err)
	}
	updated, kept, err := UpdateMagefile(content, magefileSettings(l, opts), l.header())
	var foreign foreignMagefileError
	if errors.As(err, &foreign) {
		foreign.path = rel
		if opts.MainPackage != "" || opts.Service != "" {
			return false, foreign
		}
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
	if err := root.Write(rel, updated); err != nil {
		return false, fmt.Errorf("not written: %w", err)
	}
	return true, nil
}

// requireGantry adds Gantry's requirement (and replace) to a
// magefiles/go.mod without one, the team's own magefiles module, keeping
// all it says; it reports whether it wrote. One that requires Gantry is
// left alone.
func (r *Report) requireGantry(root repofile.Dir, rel string, l Layout) (bool, error) {
	data, err := root.Read(rel, repofile.MaxBuildFile)
	if err != nil {
		return false, fmt.Errorf("not read: %w", err)
	}
	f, err := modfile.Parse(rel, data, nil)
	if err != nil {
		return false, fmt.Errorf("parse %s: %w; fix it, or rewrite it with -force=gomod", rel, err)
	}
	if slices.ContainsFunc(f.Require, func(req *modfile.Require) bool { return req.Mod.Path == Module }) {
		r.Skipped = append(r.Skipped, Skip{rel, "it exists; -force=gomod overwrites it"})
		return false, nil
	}
	if err := f.AddRequire(Module, l.GantryVersion); err != nil {
		return false, err
	}
	if l.Replace != "" {
		if err := f.AddReplace(Module, "", l.Replace, ""); err != nil {
			return false, err
		}
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return false, err
	}
	if err := root.Write(rel, out); err != nil {
		return false, fmt.Errorf("not written: %w", err)
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

// mergeLines adds to the file rel the lines of want it lacks (comments
// and blank lines aside), keeping every line it has; it creates the file
// when there is none.
func (r *Report) mergeLines(root repofile.Dir, rel string, want []byte) error {
	have, err := root.Read(rel, repofile.MaxBuildFile)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := writeFile(root, rel, want, true); err != nil {
			return err
		}
		r.Wrote = append(r.Wrote, rel)
		return nil
	}
	if err != nil {
		return fmt.Errorf("not merged: %w", err)
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
	if err := root.Write(rel, b.Bytes()); err != nil {
		return fmt.Errorf("not merged: %w", err)
	}
	r.Wrote = append(r.Wrote, fmt.Sprintf("%s (added %s)", rel, strings.Join(missing, ", ")))
	return nil
}

// joinWorkspace makes go.work list the service and the magefiles module,
// writing it with modfile rather than go work init, which would write the
// running toolchain's version: its go directive is the service's, raised
// only to what the magefiles module needs (a go.work must not be older
// than its modules).
func (r *Report) joinWorkspace(root repofile.Dir, serviceGo string) error {
	need := serviceGo
	if data, err := root.Read("magefiles/go.mod", repofile.MaxBuildFile); err == nil {
		if f, err := modfile.ParseLax("go.mod", data, nil); err == nil && f.Go != nil && (need == "" || version.Compare("go"+f.Go.Version, "go"+need) > 0) {
			need = f.Go.Version
		}
	}
	data, err := root.Read("go.work", repofile.MaxBuildFile)
	work := new(modfile.WorkFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		work.Syntax = new(modfile.FileSyntax)
	case err != nil:
		return fmt.Errorf("not read: %w", err)
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
	if err := root.Write("go.work", modfile.Format(work.Syntax)); err != nil {
		return fmt.Errorf("not written: %w", err)
	}
	r.Wrote = append(r.Wrote, "go.work")
	return nil
}

func readGoMod(root repofile.Dir) (*modfile.File, error) {
	data, err := root.Read("go.mod", repofile.MaxBuildFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read go.mod: %w; run gantry init at the root of the service's Go module, or pass -dir", err)
	}
	if err != nil {
		return nil, fmt.Errorf("not read: %w", err)
	}
	f, err := modfile.Parse(filepath.Join(root.Path, "go.mod"), data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.mod: %w; fix it (go mod tidy names the problem)", err)
	}
	return f, nil
}

// checkNoDirectories refuses, before anything is written, a directory
// where init writes a file (a .dockerignore/ made by mistake): -force
// could not overwrite it, and "it exists" would hide why.
func checkNoDirectories(dir string, paths []string) error {
	for _, p := range paths {
		if info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err == nil && info.IsDir() {
			return fmt.Errorf("%s is a directory, where gantry init writes a file: move it away (mv %s %s.old) or remove it if it is empty or a mistake (rmdir %s), then run gantry init again; nothing was written", p, p, p, p)
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func hasTool(f *modfile.File, path string) bool {
	return slices.ContainsFunc(f.Tool, func(t *modfile.Tool) bool { return t.Path == path })
}

// writeFile writes content to the file rel unless it exists and force is
// off; it reports whether it wrote.
func writeFile(root repofile.Dir, rel string, content []byte, force bool) (bool, error) {
	if !force {
		switch exists, err := root.Exists(rel); {
		case err != nil:
			return false, fmt.Errorf("not written: %w", err)
		case exists:
			return false, nil
		}
	}
	if err := root.Write(rel, content); err != nil {
		return false, fmt.Errorf("not written: %w", err)
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
		return fmt.Errorf("`%s` in %s failed: %w\n%s\nfix what it names and run gantry init again", line, dir, err, out.Bytes())
	}
	r.Ran = append(r.Ran, strings.TrimSpace(strings.Join(env, " ")+" "+line))
	return nil
}
