package adopt

import (
	"fmt"
	"go/format"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/gantry-build/gantry/docker"
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
}

// Layout is what init decided about the service, from its module and the
// flags: everything the files depend on.
type Layout struct {
	ModulePath string
	// GoVersion is the go directive of the service's go.mod; "" if none.
	GoVersion     string
	GantryVersion string
	// Replace is a local Gantry checkout for magefiles/go.mod; "" for none.
	Replace string
	// MainPackage and Service are what the targets will build and name.
	MainPackage, Service string
	// SetMain and SetService say that the magefile must set them, because
	// the defaults would not give them.
	SetMain, SetService bool
	Dockerfile          bool
}

// NewLayout decides the main package and the service name as the targets'
// configuration does, honouring the -main and -service flags, and fails
// with the flag to pass when it cannot decide.
func NewLayout(mod module.Module, mainFlag, serviceFlag string) (Layout, error) {
	l := Layout{ModulePath: mod.Path, MainPackage: mainFlag}
	decided, err := module.DecideMain(nil, mod.MainCandidates)
	defaultMain := decided.Package
	switch {
	case mainFlag != "":
		l.SetMain = mainFlag != defaultMain
	case err != nil:
		return Layout{}, fmt.Errorf("%w; pass -main with the package to build (e.g. -main ./server)", err)
	default:
		l.MainPackage = defaultMain
	}
	l.Service = module.ServiceName(l.MainPackage, l.ModulePath)
	if serviceFlag != "" && serviceFlag != l.Service {
		l.Service, l.SetService = serviceFlag, true
	}
	if err := module.CheckServiceName(l.Service); err != nil {
		return Layout{}, fmt.Errorf("%w; pass -service with a valid name", err)
	}
	return l, nil
}

// Version picks the Gantry version magefiles/go.mod requires: the -gantry-version
// flag, else the version this gantry was run at (go run ...@version),
// else v0.0.0 when a -replace directive names the code anyway.
func Version(flagVersion, buildVersion, replace string) (string, error) {
	switch {
	case flagVersion != "":
		if !semver.IsValid(flagVersion) {
			return "", fmt.Errorf("-gantry-version %q is not a module version; write it as v1.2.3", flagVersion)
		}
		return flagVersion, nil
	case buildVersion != "" && buildVersion != "(devel)":
		return buildVersion, nil
	case replace != "":
		return "v0.0.0", nil
	default:
		return "", fmt.Errorf("cannot tell which Gantry version to require: this gantry was built from a checkout, not run as `go run %s/cmd/gantry@<version>`; run it that way, or pass -gantry-version v1.2.3, or -replace PATH for a local checkout", Module)
	}
}

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
	files := []File{
		{"magefiles/magefile.go", magefile},
		{"magefiles/go.mod", gomod},
		{".dockerignore", docker.Dockerignore},
		{workflow.Path, workflow.PublishGHCR},
	}
	if l.Dockerfile {
		files = append(files, File{config.DefaultDockerfile, docker.Dockerfile})
	}
	return files, nil
}

// magefile imports Gantry's targets; an init() sets what the defaults
// would get wrong.
func (l Layout) magefile() ([]byte, error) {
	var b strings.Builder
	b.WriteString("//go:build mage\n\n")
	fmt.Fprintf(&b, "// Gantry's release targets for the service %q, built from the main package\n// %q; to change either, set magetools.Config.Service or .MainPackage in init().\n", l.Service, l.MainPackage)
	b.WriteString("package main\n\nimport (\n\t//mage:import\n")
	if !l.SetMain && !l.SetService {
		fmt.Fprintf(&b, "\t_ %q\n)\n", Module+"/magetools")
		return format.Source([]byte(b.String()))
	}
	fmt.Fprintf(&b, "\t%q\n)\n\nfunc init() {\n", Module+"/magetools")
	if l.SetMain {
		fmt.Fprintf(&b, "\tmagetools.Config.MainPackage = %q\n", l.MainPackage)
	}
	if l.SetService {
		fmt.Fprintf(&b, "\tmagetools.Config.Service = %q\n", l.Service)
	}
	b.WriteString("}\n")
	return format.Source([]byte(b.String()))
}

// magefilesGoMod is the go.mod of the magefiles module, which keeps
// Gantry's dependencies out of the service's go.mod and images.
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
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}
