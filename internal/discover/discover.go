// Package discover reads what a service's repository already says about
// how it is built, so that gantry init and the targets' defaults follow
// it instead of guessing: .goreleaser.yaml (main package, binary, -X
// stamps, other linker flags, tags, env), an existing Dockerfile (its go
// build with the ENV and ARG around it, its stages, CMD, ENTRYPOINT,
// EXPOSE, USER), the Makefile's go build lines and exports, the git
// default branch, the Go source's version variables and the //go:generate
// directives of the packages the main package links. Every fact carries
// where it was read, for init's report.
//
// The readers are pure functions over file contents; Read loads the files
// of a directory.
package discover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/repofile"
)

// Fact is a value decided from the repository, and where it comes from.
type Fact struct {
	Value string
	// Source is where the value was read, or why it is the default:
	// ".goreleaser.yaml builds[0].main", "origin/HEAD".
	Source string
}

// Repo is what a service's repository says about its build.
type Repo struct {
	// Dir is the service's module root.
	Dir    string
	Module module.Module
	// Goreleaser is nil without a .goreleaser.yaml.
	Goreleaser  *Goreleaser
	Dockerfiles []Dockerfile
	// Makefile holds the Makefile's go build commands.
	Makefile []GoBuild
	// MakefileName is the Makefile's name, MakeTargets its rules.
	MakefileName string
	MakeTargets  []MakeTarget
	// Unreadable names the files that could not be read or parsed, with
	// the error: they are not evidence.
	Unreadable []string
}

// Read reads the module at dir and the build files beside it. Only a
// missing or broken go.mod is an error; a build file that cannot be parsed
// is named in Unreadable.
func Read(dir string) (Repo, error) {
	mod, err := module.Read(dir)
	if err != nil {
		return Repo{}, err
	}
	r := Repo{Dir: dir, Module: mod}
	for _, name := range GoreleaserFiles {
		content, ok := r.read(name)
		if !ok {
			continue
		}
		g, err := ParseGoreleaser(name, content)
		if err != nil {
			r.Unreadable = append(r.Unreadable, fmt.Sprintf("%s: %v", name, err))
		} else {
			r.Goreleaser = &g
		}
		break
	}
	for _, name := range DockerfilePaths {
		if content, ok := r.read(name); ok {
			d, err := ParseDockerfile(name, content)
			if err != nil {
				r.Unreadable = append(r.Unreadable, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			r.Dockerfiles = append(r.Dockerfiles, d)
		}
	}
	for _, name := range MakefileNames {
		content, ok := r.read(name)
		if !ok {
			continue
		}
		builds, err := ParseMakefile(name, content)
		if err != nil {
			r.Unreadable = append(r.Unreadable, fmt.Sprintf("%s: %v", name, err))
		}
		r.Makefile = builds
		r.MakefileName, r.MakeTargets = name, ParseMakeTargets(content)
		break
	}
	return r, nil
}

// read returns a build file of the service; a file that is missing is not
// there, one that cannot be read (a link leading out of the repository, a
// named pipe, a file too big) is noted in Unreadable.
func (r *Repo) read(name string) ([]byte, bool) {
	content, err := repofile.At(r.Dir).Read(name, repofile.MaxBuildFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false
	case err != nil:
		r.Unreadable = append(r.Unreadable, err.Error())
		return nil, false
	}
	return content, true
}

// Builds are the builds the repository describes, in the order they are
// trusted: goreleaser's, then the Dockerfiles' (root first), then the
// Makefile's.
func (r Repo) Builds() []GoBuild { return r.builds("") }

// builds are Builds without those of the Dockerfile named skip.
func (r Repo) builds(skip string) []GoBuild {
	var builds []GoBuild
	if r.Goreleaser != nil {
		builds = append(builds, r.Goreleaser.Builds...)
	}
	for _, d := range r.Dockerfiles {
		if d.File != skip {
			builds = append(builds, d.Builds...)
		}
	}
	return append(builds, r.Makefile...)
}

// BuildsOf are the builds of the main package mainPkg, most trusted first:
// those that name it, or name no package (goreleaser's default, a bare
// go build). The builds of skip, the Dockerfile Gantry builds with ("" for
// none), are left out: Gantry passes that file its own settings as build
// arguments, so its go build says nothing about the service.
func (r Repo) BuildsOf(mainPkg, skip string) []GoBuild {
	want, _ := r.inModule(mainPkg)
	var builds []GoBuild
	for _, b := range r.builds(skip) {
		if pkg, ok := r.inModule(b.Package); b.Package == "" || (ok && pkg == want) {
			builds = append(builds, b)
		}
	}
	return builds
}

// NamedMains are the main packages the builds name that are main
// packages of this module, as "." or "./<dir>", most trusted first (see
// module.DecideMain). Ignored says which named packages were passed over
// and why.
func (r Repo) NamedMains() (named []module.Named, ignored []string) {
	for _, b := range r.Builds() {
		if b.Package == "" {
			continue
		}
		pkg, ok := r.inModule(b.Package)
		switch {
		case !ok:
			ignored = append(ignored, fmt.Sprintf("%s names %s, which is not a package of this module", b.From("main"), b.Package))
		case !module.IsMain(r.Dir, pkg):
			ignored = append(ignored, fmt.Sprintf("%s names %s, which is not a main package here", b.From("main"), b.Package))
		default:
			named = append(named, module.Named{Package: pkg, Source: b.From("main")})
		}
	}
	return named, ignored
}

// inModule writes pkg as "." or "./<dir>" of the module; ok is false for
// a package outside it or a path with variables in it.
func (r Repo) inModule(pkg string) (string, bool) {
	if strings.ContainsAny(pkg, "$`") {
		return "", false
	}
	if rest, ok := strings.CutPrefix(pkg, r.Module.Path); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
		pkg = "." + rest
	}
	if !strings.HasPrefix(pkg, ".") {
		return "", false
	}
	clean := path.Clean(pkg)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false
	}
	if clean == "." {
		return ".", true
	}
	return "./" + clean, true
}

// Main decides the service's main package as the targets do (module.DecideMain
// over what the builds name and the module's layout).
func (r Repo) Main() (module.Named, []string, error) {
	named, ignored := r.NamedMains()
	main, err := module.DecideMain(named, r.Module.MainCandidates)
	return main, ignored, err
}

// ServiceName decides the service's name for the main package: goreleaser's
// builds[0].binary, else its project_name, else the targets' default
// (module.ServiceName). A name that cannot name an image is passed over.
func (r Repo) ServiceName(mainPkg string) Fact {
	if g := r.Goreleaser; g != nil {
		var candidates []Fact
		if len(g.Builds) > 0 && g.Builds[0].Binary != "" {
			candidates = append(candidates, Fact{g.Builds[0].Binary, g.Builds[0].From("binary")})
		}
		if g.ProjectName != "" {
			candidates = append(candidates, Fact{g.ProjectName, g.File + " project_name"})
		}
		for _, c := range candidates {
			c.Value = strings.ToLower(c.Value)
			if module.CheckServiceName(c.Value) == nil {
				return c
			}
		}
	}
	name := module.ServiceName(mainPkg, r.Module.Path)
	if mainPkg == "." || name != strings.ToLower(path.Base(mainPkg)) {
		return Fact{name, "the module path's last element"}
	}
	return Fact{name, "the main package's directory name"}
}

// Setting is a setting found in the repository: a name, its values and
// where they are written (a Dockerfile's CMD).
type Setting struct {
	Name   string
	Values []string
	Source string
}

// PublishBranch decides the branch whose pushes publish: the remote's
// default branch (origin/HEAD), else the checked-out branch when it is
// main or master (a clone without origin/HEAD, a repository not pushed
// yet), else main, the targets' default. Any other checked-out branch is
// taken for a feature branch, not the default.
func PublishBranch(originHead, current string) Fact {
	switch {
	case originHead != "":
		return Fact{originHead, "origin/HEAD"}
	case current == "main" || current == "master":
		return Fact{current, "the checked-out branch; there is no origin/HEAD"}
	default:
		return Fact{"main", "the default; neither origin/HEAD nor a checked-out main or master says otherwise"}
	}
}

// ReadPublishBranch reads origin/HEAD and the checked-out branch of the
// git repository holding dir and decides with PublishBranch.
func ReadPublishBranch(ctx context.Context, dir string) (Fact, error) {
	repo := git.Repo{Dir: dir}
	if !repo.IsRepo(ctx) {
		return PublishBranch("", ""), nil
	}
	head, err := repo.OriginHead(ctx)
	if err != nil {
		return Fact{}, fmt.Errorf("read origin/HEAD: %w", err)
	}
	current, err := repo.Branch(ctx)
	if err != nil {
		return Fact{}, fmt.Errorf("read the checked-out branch: %w", err)
	}
	return PublishBranch(head, current), nil
}
