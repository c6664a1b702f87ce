package adopt

import (
	"bytes"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/embeds"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/workflow"
)

func TestNewLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		module                  string
		candidates              []string
		mainFlag, serviceFlag   string
		wantMain, wantService   string
		wantSetMain, wantSetSvc bool
		wantErr                 string
	}{
		{name: "root main package", module: "github.com/Acme/Widget", candidates: []string{"."},
			wantMain: ".", wantService: "widget"},
		{name: "single cmd", module: "github.com/acme/widget", candidates: []string{"./cmd/api"},
			wantMain: "./cmd/api", wantService: "api"},
		{name: "major version suffix", module: "example.com/widget/v2", candidates: []string{"."},
			wantMain: ".", wantService: "widget"},
		{name: "several, chosen", module: "github.com/acme/widget", candidates: []string{"./cmd/api", "./cmd/worker"}, mainFlag: "./cmd/worker",
			wantMain: "./cmd/worker", wantService: "worker", wantSetMain: true},
		{name: "elsewhere, chosen", module: "github.com/acme/widget", mainFlag: "./server",
			wantMain: "./server", wantService: "server", wantSetMain: true},
		{name: "the default, chosen", module: "github.com/acme/widget", candidates: []string{"."}, mainFlag: ".",
			wantMain: ".", wantService: "widget"},
		{name: "service named", module: "github.com/acme/widget", candidates: []string{"./cmd/server"}, serviceFlag: "widget",
			wantMain: "./cmd/server", wantService: "widget", wantSetSvc: true},
		{name: "service named as the default", module: "github.com/acme/widget", candidates: []string{"."}, serviceFlag: "widget",
			wantMain: ".", wantService: "widget"},
		{name: "several: a service each, the first's settings shared", module: "github.com/acme/widget", candidates: []string{"./cmd/api", "./cmd/worker"},
			wantMain: "./cmd/api", wantService: "api"},
		{name: "several, one that cannot name a service", module: "github.com/acme/widget", candidates: []string{"./cmd/api", "./cmd/Worker_"},
			wantErr: "./cmd/Worker_ cannot name a service"},
		{name: "none", module: "github.com/acme/widget",
			wantErr: "no main package found: neither the module root nor ./cmd is package main, there is no ./cmd/<name> with one, and no .goreleaser.yaml, Dockerfile or Makefile names one; pass -main"},
		{name: "a name that cannot name an image", module: "github.com/acme/widget", candidates: []string{"."}, serviceFlag: "My Service",
			wantErr: "pass -service with a valid name"},
		{name: "a module name that cannot", module: "github.com/acme/-widget-", candidates: []string{"."},
			wantErr: "pass -service with a valid name"},
		{name: "a 300-character name, which mage build could not name a file", module: "github.com/acme/widget", candidates: []string{"."}, serviceFlag: strings.Repeat("a", 300),
			wantErr: "is 300 characters long; a service name may have at most 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := discover.Repo{Dir: t.TempDir(), Module: module.Module{Path: tt.module, MainCandidates: tt.candidates}}
			l, err := NewLayout(repo, Flags{MainPackage: tt.mainFlag, Service: tt.serviceFlag}, discover.PublishBranch("", "main"), noPackages, noEmbeds)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if several := len(tt.candidates) > 1 && tt.mainFlag == ""; several != (len(l.Services) > 0) || several && len(l.Services) != len(tt.candidates) {
				t.Errorf("services %q for candidates %q", l.Services, tt.candidates)
			}
			setMain := slices.ContainsFunc(l.Settings, func(s Setting) bool { return s.Field == "MainPackage" })
			setService := slices.ContainsFunc(l.Settings, func(s Setting) bool { return s.Field == "Service" })
			if l.MainPackage != tt.wantMain || l.Service != tt.wantService || setMain != tt.wantSetMain || setService != tt.wantSetSvc {
				t.Errorf("got main %q service %q set %t %t; want %q %q %t %t", l.MainPackage, l.Service, setMain, setService,
					tt.wantMain, tt.wantService, tt.wantSetMain, tt.wantSetSvc)
			}
		})
	}
}

// noPackages is a main package that imports nothing.
func noPackages(string) (golist.Graph, error) { return golist.Graph{}, nil }

func noEmbeds(golist.Graph, string) ([]embeds.Missing, error) { return nil, nil }

func TestVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, flag, build, replace string
		want, wantErr              string
	}{
		{name: "run at a version", build: "v1.4.0", want: "v1.4.0"},
		{name: "flag wins", flag: "v1.5.0", build: "v1.4.0", want: "v1.5.0"},
		{name: "from a checkout with a replace", build: "(devel)", replace: "/src/gantry", want: "v0.0.0"},
		{name: "from a checkout, flag and replace", build: "(devel)", flag: "v1.5.0", replace: "/src/gantry", want: "v1.5.0"},
		{name: "from a checkout", build: "(devel)", wantErr: "pass -gantry-version v1.2.3, or -replace PATH"},
		{name: "no build information", wantErr: "pass -gantry-version"},
		{name: "not a version", flag: "1.5", wantErr: "write it as vX.Y.Z, e.g. v1.2.3"},
		{name: "a major version only", flag: "v1", wantErr: "write it as vX.Y.Z"},
		{name: "no patch", flag: "v1.5", wantErr: "write it as vX.Y.Z"},
		{name: "build metadata", flag: "v1.5.0+meta", wantErr: "write it as vX.Y.Z"},
		{name: "a major version the module path lacks", flag: "v2.0.0", wantErr: "write it as vX.Y.Z"},
		{name: "a pseudo-version", flag: "v0.0.0-20261205045600-0123456789ab", want: "v0.0.0-20261205045600-0123456789ab"},
		{name: "a pre-release", flag: "v1.5.0-rc.1", want: "v1.5.0-rc.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Version(tt.flag, tt.build, tt.replace)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	base := Layout{ModulePath: "github.com/acme/widget", GoVersion: "1.26", GantryVersion: "v1.4.0", MainPackage: ".", Service: "widget", PublishBranch: "main"}
	tests := []struct {
		name   string
		change func(*Layout)
		want   map[string][]string // path -> pieces of its content
		absent map[string][]string
		paths  []string
	}{
		{name: "defaults", change: func(*Layout) {},
			paths: []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path},
			want: map[string][]string{
				"magefiles/magefile.go": {"//go:build mage\n", "package main\n", "//mage:import\n\t_ \"github.com/gantry-build/gantry/magetools\"\n", "Gantry's release targets for the service \"widget\", built from the main package\n// \".\""},
				"magefiles/go.mod":      {"module github.com/acme/widget/magefiles\n", "go 1.26\n", "require github.com/gantry-build/gantry v1.4.0\n"},
			},
			absent: map[string][]string{"magefiles/magefile.go": {"func init()"}, "magefiles/go.mod": {"replace"}}},
		{name: "main package and service set", change: func(l *Layout) {
			l.MainPackage, l.Service = "./cmd/worker", "widget"
			l.Settings = []Setting{{Field: "MainPackage", Value: "./cmd/worker", Source: "-main"}, {Field: "Service", Value: "widget", Source: ".goreleaser.yaml project_name"}}
		},
			paths: []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path},
			want: map[string][]string{"magefiles/magefile.go": {
				"//mage:import\n\t\"github.com/gantry-build/gantry/magetools\"\n",
				"func init() {\n\tmagetools.Config.MainPackage = \"./cmd/worker\" // from -main\n\tmagetools.Config.Service = \"widget\"           // from .goreleaser.yaml project_name\n}\n"}}},
		{name: "publishing from master", change: func(l *Layout) {
			l.PublishBranch = "master"
			l.Settings = []Setting{{Field: "PublishBranch", Value: "master", Source: "origin/HEAD"}}
		},
			paths: []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path},
			want: map[string][]string{"magefiles/magefile.go": {"\tmagetools.Config.PublishBranch = \"master\" // from origin/HEAD\n"},
				workflow.Path: {"    branches: [\"master\"]\n"}},
			absent: map[string][]string{workflow.Path: {"branches: [main]"}}},
		{name: "replace and Dockerfile", change: func(l *Layout) { l.Replace, l.GantryVersion, l.Dockerfile = "/src/gantry", "v0.0.0", true },
			paths: []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path, "docker/Dockerfile"},
			want:  map[string][]string{"magefiles/go.mod": {"require github.com/gantry-build/gantry v0.0.0\n", "replace github.com/gantry-build/gantry => /src/gantry\n"}}},
		{name: "Dockerfile with the service's CMD and EXPOSE", change: func(l *Layout) { l.Dockerfile, l.Args, l.Ports = true, []string{"serve"}, []string{"8080"} },
			paths:  []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path, "docker/Dockerfile"},
			want:   map[string][]string{"docker/Dockerfile": {"ENTRYPOINT [\"/usr/local/bin/service\"]\nCMD [\"serve\"]\nEXPOSE 8080\n"}},
			absent: map[string][]string{"magefiles/magefile.go": {"Args", "Ports"}}},
		{name: "a matrix of native runners", change: func(l *Layout) { l.Matrix, l.PublishBranch = true, "master" },
			paths: []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path},
			want:  map[string][]string{workflow.Path: {"    branches: [\"master\"]\n", "GANTRY_SHARD: ${{ matrix.platform }}", "needs: platform"}}},
		{name: "settings of every kind", change: func(l *Layout) {
			l.Settings = []Setting{{Field: "Tags", Value: []string{"netgo", "osusergo"}, Source: "Makefile line 3"}, {Field: "CGO", Value: true, Source: "Dockerfile line 2"}}
		},
			paths: []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path},
			want: map[string][]string{"magefiles/magefile.go": {
				"\tmagetools.Config.Tags = []string{\"netgo\", \"osusergo\"} // from Makefile line 3\n\tmagetools.Config.CGO = true                           // from Dockerfile line 2\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := base
			tt.change(&l)
			files, err := l.Files()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			var paths []string
			for _, f := range files {
				got[f.Path] = string(f.Content)
				paths = append(paths, f.Path)
			}
			if strings.Join(paths, " ") != strings.Join(tt.paths, " ") {
				t.Errorf("files %v, want %v", paths, tt.paths)
			}
			for path, pieces := range tt.want {
				for _, p := range pieces {
					if !strings.Contains(got[path], p) {
						t.Errorf("%s lacks %q:\n%s", path, p, got[path])
					}
				}
			}
			for path, pieces := range tt.absent {
				for _, p := range pieces {
					if strings.Contains(got[path], p) {
						t.Errorf("%s has %q:\n%s", path, p, got[path])
					}
				}
			}
			if _, err := parser.ParseFile(token.NewFileSet(), "magefile.go", got["magefiles/magefile.go"], parser.ParseComments); err != nil {
				t.Errorf("magefile does not parse: %v\n%s", err, got["magefiles/magefile.go"])
			}
			forBranch := workflow.ForBranch
			if l.Matrix {
				forBranch = workflow.MatrixForBranch
			}
			wf, err := forBranch(l.PublishBranch)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string][]byte{".dockerignore": docker.Dockerignore, workflow.Path: wf, "docker/Dockerfile": docker.Render(l.Args, l.Ports)} {
				if content, ok := got[path]; ok && !bytes.Equal([]byte(content), want) {
					t.Errorf("%s is not Gantry's template", path)
				}
			}
		})
	}
}

// TestFilesRefusesAMatrixOfSeveralServices: a matrix workflow shards one
// service's platforms; several services publish from one job, and their
// platform jobs would each publish every service whole.
func TestFilesRefusesAMatrixOfSeveralServices(t *testing.T) {
	t.Parallel()
	l := Layout{ModulePath: "github.com/acme/shop", GoVersion: "1.26", GantryVersion: "v1.4.0", MainPackage: "./cmd/api", Service: "api",
		PublishBranch: "main", Services: []string{"./cmd/api", "./cmd/worker"}, Matrix: true}
	if _, err := l.Files(); err == nil || !strings.Contains(err.Error(), "leave -matrix out") {
		t.Fatalf("Files: %v, want the refusal of -matrix with several services", err)
	}
}
