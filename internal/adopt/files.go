package adopt

import (
	"cmp"
	"errors"
	"fmt"
	"go/format"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/mod/modfile"
	modpath "golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
)

// Module is Gantry's module path, which magefiles/go.mod requires.
const Module = "github.com/gantry-build/gantry"

// File is a file init writes, relative to the service directory.
type File struct {
	Path    string
	Content []byte
	// Key names the file for -force (ForceKeys); "" for a file that is
	// merged, never overwritten.
	Key string
}

// Setting is a Config field init writes into the magefile's init(),
// with where its value comes from.
type Setting struct {
	// Field is the field of magetools.Config: "MainPackage", "Stamp.Version".
	Field string
	// Value is a string, a []string or a bool, as the field is.
	Value  any
	Source string
	// Flag is set for a setting given on init's command line: it replaces
	// an assignment the team wrote too (see UpdateMagefile).
	Flag bool
}

// Decision is one thing init decided and reports: what, the value, where
// from, and where init applies it.
type Decision struct {
	What, Value, Source string
	// Applied is inMagefile or inDockerfile; "" when the targets'
	// default gives the same, so nothing is written.
	Applied string
}

// Where a decision is applied, as the report says it.
const (
	inMagefile   = "set in the magefile's init()"
	inDockerfile = "written to docker/Dockerfile"
)

// Layout is what init decided about the service, from its repository and
// the flags: everything the files depend on.
type Layout struct {
	ModulePath string
	// GoVersion is the go directive of the service's go.mod; "" if none.
	GoVersion     string
	GantryVersion string
	// Replace is a local Gantry checkout for magefiles/go.mod; "" for none.
	Replace string
	// MainPackage and Service are what the targets will build and name.
	MainPackage, Service string
	// PublishBranch is the branch the workflow publishes on.
	PublishBranch string
	// RepoDir is the service directory relative to its repository's root,
	// slash-separated ("." or "" at the root): the workflow goes to the
	// root (workflow.PathFor, ForService).
	RepoDir string
	// Settings are the fields the magefile's init() sets, because the
	// targets' defaults would not give them.
	Settings []Setting
	// Services are the main packages of a repository of several services
	// (Config.Services); MainPackage and Service are then the first's,
	// from which the shared settings are decided.
	Services []string
	// Decisions and Notes (evidence passed over, and why) are for the
	// report.
	Decisions []Decision
	Notes     []string
	// Remaining are what init could not decide and the service must, each
	// with the fix: init then fails, as check would.
	Remaining []string
	// MagefilePath is where Gantry's magefile goes (Magefiles.Path); ""
	// for magefiles/magefile.go.
	MagefilePath string
	// RequireService: the magefiles module requires the service's module,
	// replaced by "..", as the team's mage files import its packages.
	RequireService bool
	// Dockerfile also writes Gantry's Dockerfile to docker/Dockerfile,
	// with Args as its CMD and Ports as its EXPOSE (docker.Render).
	Dockerfile  bool
	Args, Ports []string
	// Matrix writes the workflow for a matrix of native runners
	// (workflow.Matrix) instead of the single-runner one.
	Matrix bool
}

// Flags are the settings given on init's command line, which win over
// what the repository says.
type Flags struct {
	MainPackage, Service string
	// WritesDockerfile: init writes Gantry's Dockerfile to
	// docker/Dockerfile (-dockerfile, and -force=dockerfile when there is
	// one), so the targets build with it.
	WritesDockerfile bool
}

// Packages lists the main package's packages as the image build compiles
// them (golist.List); tests pass their own.
type Packages func(mainPkg string) (golist.Graph, error)

// NewLayout decides the main package, the service name, the version
// stamps, the publishing branch, the Dockerfile, how the image runs
// (Args, Ports) and how the binary is built (Tags, CGO, LDFlags, Prepare)
// from what the repository says (internal/discover) and from the main
// package's packages, as the targets' configuration would where it
// decides too, honouring the flags; it fails with the flag to pass when
// it cannot decide.
func NewLayout(repo discover.Repo, flags Flags, branch discover.Fact, packages Packages, embedsOf Embeds) (Layout, error) {
	l := Layout{ModulePath: repo.Module.Path}
	decided, ignored, err := repo.Main()
	l.Notes = append(l.Notes, ignored...)
	for _, u := range repo.Unreadable {
		l.Notes = append(l.Notes, "not read: "+u)
	}
	switch {
	case flags.MainPackage != "":
		if err := module.CheckMainPackage(flags.MainPackage); err != nil {
			return Layout{}, fmt.Errorf("-main: %w", err)
		}
		l.MainPackage = flags.MainPackage
		l.decide("main package", "MainPackage", flags.MainPackage, "-main", err != nil || flags.MainPackage != decided.Package)
	case err != nil && len(repo.Module.MainCandidates) > 1:
		if err := l.decideServices(repo.Module.MainCandidates, err); err != nil {
			return Layout{}, err
		}
	case err != nil:
		return Layout{}, fmt.Errorf("%w; pass -main with the package to build (e.g. -main ./server)", err)
	default:
		l.MainPackage = decided.Package
		l.decide("main package", "MainPackage", decided.Package, decided.Source, false)
	}

	service := repo.ServiceName(l.MainPackage)
	if flags.Service != "" {
		service = discover.Fact{Value: flags.Service, Source: "-service"}
	}
	if err := module.CheckServiceName(service.Value); err != nil {
		return Layout{}, fmt.Errorf("%w; pass -service with a valid name", err)
	}
	l.Service = service.Value
	l.decide("service", "Service", service.Value, service.Source, len(l.Services) == 0 && service.Value != module.ServiceName(l.MainPackage, l.ModulePath))

	graph, listErr := packages(l.MainPackage)
	l.decideStamps(repo, graph, listErr)

	l.PublishBranch = branch.Value
	l.decide("publishing branch", "PublishBranch", branch.Value, branch.Source, branch.Value != config.DefaultPublishBranch)

	choice := l.decideDockerfile(repo, flags.WritesDockerfile)
	l.decideRuntime(choice.others(repo), choice, binaryNames(repo, l.Service))
	l.decideBuild(repo, repo.BuildsOf(l.MainPackage, choice.skip()), l.readPackages(graph, listErr, embedsOf))
	return l, nil
}

// decide records a decision, and the setting when the magefile must write it.
func (l *Layout) decide(what, field string, value any, source string, write bool) {
	applied := ""
	if write {
		applied = inMagefile
	}
	l.apply(what, field, value, source, applied)
}

// apply records a decision applied where applied says; inMagefile adds
// the setting.
func (l *Layout) apply(what, field string, value any, source, applied string) {
	l.Decisions = append(l.Decisions, Decision{What: what, Value: display(value), Source: source, Applied: applied})
	if applied == inMagefile {
		l.Settings = append(l.Settings, Setting{Field: field, Value: value, Source: source})
	}
}

// display writes a setting's value for the report: a list as words, a
// bool (cgo) as on or off.
func display(value any) string {
	switch v := value.(type) {
	case []string:
		return strings.Join(v, " ")
	case services:
		return strings.Join(v, " ")
	case bool:
		if v {
			return "on"
		}
		return "off"
	}
	return fmt.Sprint(value)
}

// Version picks the Gantry version magefiles/go.mod requires: the -gantry-version
// flag, else the version this gantry was run at (go run ...@version),
// else v0.0.0 when a -replace directive names the code anyway.
func Version(flagVersion, buildVersion, replace string) (string, error) {
	switch {
	case flagVersion != "":
		// A full version or a pseudo-version: go get would read v1 as a
		// query for the latest v1.x.y, which a go.mod require cannot hold.
		err := modpath.Check(Module, flagVersion)
		if err == nil && semver.Canonical(flagVersion) != flagVersion {
			err = errors.New("not a full version")
		}
		if err != nil {
			return "", fmt.Errorf("-gantry-version %q is not a full module version of %s (%v); write it as vX.Y.Z, e.g. v1.2.3, or a pseudo-version such as v0.0.0-20261205045600-0123456789ab", flagVersion, Module, err)
		}
		return flagVersion, nil
	case buildVersion != "" && buildVersion != "(devel)":
		return buildVersion, nil
	case replace != "":
		return "v0.0.0", nil
	default:
		return "", fmt.Errorf("cannot tell which Gantry version to require: this gantry was built from a checkout, not run as `go run %s/cmd/gantry@<version>`; run it that way, or pass -gantry-version v1.2.3, or -replace PATH for a local checkout (%s)", Module, CheckoutHint)
	}
}

// CheckoutHint says how to run a Gantry checkout's gantry in a service:
// `go run <checkout>/cmd/gantry` from the service fails, as the checkout
// is outside the service's main module.
const CheckoutHint = `from a checkout, run it from the checkout: go -C <checkout> run ./cmd/gantry init -dir "$PWD" -replace <checkout>`

// ForceKeys are the files -force can name.
var ForceKeys = []string{"magefile", "gomod", "workflow", "dockerfile"}

// Files returns what init writes, in the order it reports them.
func (l Layout) Files() ([]File, error) {
	magefile, err := l.magefile()
	if err != nil {
		return nil, err
	}
	gomod, err := l.magefilesGoMod()
	if err != nil {
		return nil, err
	}
	wf, err := workflow.ForService(l.PublishBranch, l.repoDir(), l.Service)
	if l.Matrix {
		if len(l.Services) > 0 {
			return nil, fmt.Errorf("-matrix shards one service's platforms across jobs, and this repository has %d services (Config.Services), which publish from one job: leave -matrix out", len(l.Services))
		}
		wf, err = workflow.MatrixForService(l.PublishBranch, l.repoDir())
	}
	if err != nil {
		return nil, err
	}
	files := []File{
		{cmp.Or(l.MagefilePath, magefilePath), magefile, "magefile"},
		{"magefiles/go.mod", gomod, "gomod"},
		{".dockerignore", docker.Dockerignore, ""},
		{l.WorkflowPath(), wf, "workflow"},
	}
	if l.Dockerfile {
		files = append(files, File{config.DefaultDockerfile, docker.Render(l.Args, l.Ports), "dockerfile"})
	}
	return files, nil
}

// repoDir is RepoDir, "." at the root.
func (l Layout) repoDir() string {
	if l.RepoDir == "" {
		return "."
	}
	return l.RepoDir
}

// WorkflowPath is where init writes the workflow, relative to the
// service directory: the repository root's .github/workflows, which is
// where GitHub reads workflows, under a name of the service's own when it
// lies in a subdirectory (workflow.PathFor).
func (l Layout) WorkflowPath() string {
	return workflowFile(l.repoDir(), workflow.PathFor(l.repoDir(), l.Service))
}

// header is the magefile's doc comment, which `mage -l` prints.
func (l Layout) header() string {
	if len(l.Services) > 0 {
		return fmt.Sprintf("// Gantry's release targets for the service %q and the others of\n// magetools.Config.Services, each built from its main package; to change\n// them, edit Config.Services in init().\n", l.Service)
	}
	return fmt.Sprintf("// Gantry's release targets for the service %q, built from the main package\n// %q; to change either, set magetools.Config.Service or .MainPackage in init().\n", l.Service, l.MainPackage)
}

// headerPrefix recognises the header init writes.
const headerPrefix = "Gantry's release targets for the service "

// magefile imports Gantry's targets; an init() sets what the defaults
// would get wrong, each with where its value comes from.
func (l Layout) magefile() ([]byte, error) {
	var b strings.Builder
	b.WriteString("//go:build mage\n\n")
	b.WriteString(l.header())
	b.WriteString("package main\n\nimport (\n\t//mage:import\n")
	if len(l.Settings) == 0 {
		fmt.Fprintf(&b, "\t_ %q\n)\n", Module+"/magetools")
		return format.Source([]byte(b.String()))
	}
	fmt.Fprintf(&b, "\t%q\n)\n\nfunc init() {\n", Module+"/magetools")
	for _, s := range l.Settings {
		b.WriteString("\t" + s.statement("magetools") + "\n")
	}
	b.WriteString("}\n")
	return format.Source([]byte(b.String()))
}

// statement is the assignment of the setting, with its source.
func (s Setting) statement(pkg string) string {
	return fmt.Sprintf("%s.Config.%s = %s %s", pkg, s.Field, s.expr(), s.comment())
}

// expr writes the value as Go source: "./cmd", []string{"netgo"}, true.
func (s Setting) expr() string {
	switch v := s.Value.(type) {
	case bool:
		return strconv.FormatBool(v)
	case services:
		entries := make([]string, len(v))
		for i, main := range v {
			entries[i] = fmt.Sprintf("{Name: %q, MainPackage: %q}", module.ServiceName(main, ""), main)
		}
		return "[]magetools.Service{" + strings.Join(entries, ", ") + "}"
	case []string:
		quoted := make([]string, len(v))
		for i, e := range v {
			quoted[i] = strconv.Quote(e)
		}
		return "[]string{" + strings.Join(quoted, ", ") + "}"
	}
	return strconv.Quote(fmt.Sprint(s.Value))
}

// commentPrefix starts the comment init writes after each setting; an
// assignment without it is the team's own.
const commentPrefix = "// from "

// comment is the setting's "// from" comment. A source holding a
// control character (a file name with a newline names it) is written
// Go-quoted, so the comment stays on its line and injects no code.
func (s Setting) comment() string {
	if strings.ContainsFunc(s.Source, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return commentPrefix + strconv.Quote(s.Source)
	}
	return commentPrefix + s.Source
}

// magefilesGoMod is the go.mod of the magefiles module, which keeps
// Gantry's dependencies out of the service's go.mod and images. Its go
// directive is the service's (go mod tidy raises it only if Gantry needs
// a newer Go).
func (l Layout) magefilesGoMod() ([]byte, error) {
	f := new(modfile.File)
	if err := f.AddModuleStmt(l.ModulePath + "/magefiles"); err != nil {
		return nil, err
	}
	if l.GoVersion != "" {
		if err := f.AddGoStmt(l.GoVersion); err != nil {
			return nil, err
		}
	}
	f.AddNewRequire(Module, l.GantryVersion, false)
	if l.Replace != "" {
		if err := f.AddReplace(Module, "", l.Replace, ""); err != nil {
			return nil, err
		}
	}
	if l.RequireService {
		// The service's module is the directory above, never fetched: a
		// proxy knows nothing of it (or not this commit of it).
		f.AddNewRequire(l.ModulePath, "v0.0.0", false)
		if err := f.AddReplace(l.ModulePath, "", "..", ""); err != nil {
			return nil, err
		}
	}
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}

// services is the value of the Services setting: the main packages, each
// a service named after its directory (./cmd/api is api).
type services []string

// decideServices lays out a repository of several main packages under
// ./cmd (what the layout says, err, when nothing names one) as one
// service each, in Config.Services, instead of refusing: the settings
// decided after it are the first service's, shared by all. A directory
// name that cannot name an image is refused with the flag to pass.
func (l *Layout) decideServices(mains []string, why error) error {
	for _, main := range mains {
		if err := module.CheckServiceName(module.ServiceName(main, "")); err != nil {
			return fmt.Errorf("%v, and %s cannot name a service (%w); pass -main with the package to build", why, main, err)
		}
	}
	l.Services, l.MainPackage = mains, mains[0]
	l.apply("services", "Services", services(mains), fmt.Sprintf("the main packages %s, one service each", strings.Join(mains, ", ")), inMagefile)
	l.Notes = append(l.Notes, fmt.Sprintf("the settings decided below are %s's and apply to every service; set a service's own in its entry of magetools.Config.Services (README, Several services); go tool mage plan shows each", mains[0]))
	return nil
}
