package discover

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/internal/stampvars"
	"github.com/gantry-build/gantry/internal/testtree"
)

const (
	mainGo      = "package main\n\nfunc main() {}\n"
	buildPkgGo  = "package build\n\nvar (\n\tversion = \"v0.0.0-unknown\"\n\tcommit  string\n\tdate    string\n\tother   = 3\n)\n\nvar BuiltBy = fmt()\n\nfunc fmt() string { return \"\" }\n"
	cmdMainGo   = "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/acme/svc/pkg/build\"\n)\n\nfunc main() { fmt.Println(build.Version()) }\n"
	goreleaserA = "builds:\n  - main: ./cmd\n    binary: ucan\n    ldflags: -X github.com/acme/svc/pkg/build.version={{.Version}}\n"
)

func TestRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		files       map[string]string
		wantMain    module.Named
		wantIgnored []string
		wantService Fact
		wantStamps  map[StampKind]Fact
		wantUnread  string
		wantErr     string
	}{
		{name: "./cmd main with a helper, stamps in pkg/build declared in .goreleaser.yaml", files: map[string]string{
			"go.mod": "module github.com/acme/svc\n\ngo 1.25\n", ".goreleaser.yaml": goreleaserA,
			"cmd/main.go": cmdMainGo, "cmd/ucangen/main.go": mainGo, "pkg/build/build.go": buildPkgGo},
			wantMain:    module.Named{Package: "./cmd", Source: ".goreleaser.yaml builds[0].main"},
			wantService: Fact{"ucan", ".goreleaser.yaml builds[0].binary"},
			wantStamps: map[StampKind]Fact{
				StampVersion: {"github.com/acme/svc/pkg/build.version", ".goreleaser.yaml builds[0].ldflags"},
				StampCommit:  {"github.com/acme/svc/pkg/build.commit", "the Go source declares it"},
				StampDate:    {"github.com/acme/svc/pkg/build.date", "the Go source declares it"}}},
		{name: "the same without goreleaser: ./cmd from the layout, stamps from the source", files: map[string]string{
			"go.mod": "module github.com/acme/svc\n", "cmd/main.go": cmdMainGo, "cmd/ucangen/main.go": mainGo, "pkg/build/build.go": buildPkgGo},
			wantMain:    module.Named{Package: "./cmd", Source: "./cmd is package main"},
			wantService: Fact{"svc", "the module path's last element"},
			wantStamps: map[StampKind]Fact{
				StampVersion: {"github.com/acme/svc/pkg/build.version", "the Go source declares it"},
				StampCommit:  {"github.com/acme/svc/pkg/build.commit", "the Go source declares it"},
				StampDate:    {"github.com/acme/svc/pkg/build.date", "the Go source declares it"}}},
		{name: "a root Dockerfile names the package; CMD and EXPOSE found", files: map[string]string{
			"go.mod": "module github.com/acme/gw\n", "cmd/gw/main.go": "package main\n\nvar Version string\n\nfunc main() {}\n", "cmd/keygen/main.go": mainGo,
			"Dockerfile": "FROM golang AS b\nRUN go build -o /gw ./cmd/gw\nFROM scratch\nEXPOSE 8080\nCMD [\"aws\",\"--port\",\"8080\"]\n"},
			wantMain:    module.Named{Package: "./cmd/gw", Source: "Dockerfile line 2"},
			wantService: Fact{"gw", "the main package's directory name"},
			wantStamps:  map[StampKind]Fact{StampVersion: {"main.Version", "the Go source declares it"}}},
		{name: "a Makefile names a package that is not main", files: map[string]string{
			"go.mod": "module example.com/server/v2\n", "main.go": mainGo, "lib/lib.go": "package lib\n",
			"Makefile": "build:\n\tCGO_ENABLED=1 go build -tags sqlite ./lib\n"},
			wantMain:    module.Named{Package: ".", Source: "the module root is package main"},
			wantIgnored: []string{"Makefile line 2 names ./lib, which is not a main package here"},
			wantService: Fact{"server", "the module path's last element"},
			wantStamps:  map[StampKind]Fact{}},
		{name: "goreleaser's project_name names a /v2 server", files: map[string]string{
			"go.mod": "module github.com/acme/server/v2\n", "main.go": mainGo, ".goreleaser.yml": "project_name: Quokka\nbuilds:\n  - binary: '{{ .ProjectName }}'\n"},
			wantMain:    module.Named{Package: ".", Source: "the module root is package main"},
			wantService: Fact{"quokka", ".goreleaser.yml project_name"}, wantStamps: map[StampKind]Fact{}},
		{name: "a broken goreleaser file is named, not fatal", files: map[string]string{
			"go.mod": "module github.com/acme/svc\n", "main.go": mainGo, ".goreleaser.yaml": "builds: [\n"},
			wantMain:    module.Named{Package: ".", Source: "the module root is package main"},
			wantService: Fact{"svc", "the module path's last element"}, wantStamps: map[StampKind]Fact{}, wantUnread: ".goreleaser.yaml: yaml"},
		{name: "no go.mod", files: map[string]string{"main.go": mainGo}, wantErr: "go.mod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Read(testtree.New(t, tt.files))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(r.Unreadable, "; "); (tt.wantUnread == "") != (got == "") || !strings.Contains(got, tt.wantUnread) {
				t.Errorf("unreadable %q, want %q", got, tt.wantUnread)
			}
			main, ignored, err := r.Main()
			if err != nil || main != tt.wantMain || !reflect.DeepEqual(ignored, tt.wantIgnored) {
				t.Errorf("main %+v %q %v, want %+v %q", main, ignored, err, tt.wantMain, tt.wantIgnored)
			}
			if got := r.ServiceName(main.Package); got != tt.wantService {
				t.Errorf("service %+v, want %+v", got, tt.wantService)
			}
			stamps, notes := r.Stamps(stampvars.New(listGraph(t, r.Dir, main.Package)))
			if !reflect.DeepEqual(stamps, tt.wantStamps) {
				t.Errorf("stamps %+v (notes %q), want %+v", stamps, notes, tt.wantStamps)
			}
		})
	}
}

// The build files Read trusts are regular files inside the repository: a
// link leading out, a special file or a Makefile bomb is named in
// Unreadable, and Read neither hangs nor runs out of memory.
func TestReadRefusesHostileBuildFiles(t *testing.T) {
	outside := testtree.New(t, map[string]string{"secret.env": "TOKEN=hunter2\n: ["})
	tests := []struct {
		name string
		// setup adds the hostile file to the service at dir.
		setup      func(t *testing.T, dir string)
		wantUnread string
		wantMain   string
	}{
		{name: ".goreleaser.yaml linked to /dev/zero", setup: func(t *testing.T, dir string) { testtree.Link(t, dir, ".goreleaser.yaml", "/dev/zero") },
			wantUnread: ".goreleaser.yaml is a link to /dev/zero, and Gantry follows only relative links that stay inside the repository"},
		{name: "Makefile is a named pipe", setup: func(t *testing.T, dir string) { testtree.Fifo(t, dir, "Makefile") },
			wantUnread: "Makefile is a named pipe, not a regular file: replace it with the file itself"},
		{name: "Makefile linked to /dev/stdin", setup: func(t *testing.T, dir string) { testtree.Link(t, dir, "Makefile", "/dev/stdin") },
			wantUnread: "Makefile is a link to /dev/stdin"},
		{name: ".goreleaser.yml linked to a file outside", setup: func(t *testing.T, dir string) {
			testtree.Link(t, dir, ".goreleaser.yml", filepath.Join(outside, "secret.env"))
		}, wantUnread: ".goreleaser.yml is a link to " + filepath.Join(outside, "secret.env")},
		{name: "Dockerfile too big", setup: func(t *testing.T, dir string) {
			testtree.Write(t, dir, map[string]string{"Dockerfile": strings.Repeat("# padding\n", repofile.MaxBuildFile/10+1)})
		}, wantUnread: "Dockerfile is over 1048576 bytes"},
		{name: "Makefile bomb", setup: func(t *testing.T, dir string) {
			testtree.Write(t, dir, map[string]string{"Makefile": chain(10, 10)})
		}, wantUnread: "Makefile: Makefile line 13: variable expansion exceeds 65536 bytes"},
		{name: "a Dockerfile linked inside the repository is read", setup: func(t *testing.T, dir string) {
			testtree.Write(t, dir, map[string]string{"build/Dockerfile": "FROM golang\nRUN go build ./cmd/svc\n", "cmd/svc/main.go": mainGo})
			testtree.Link(t, dir, "Dockerfile", "build/Dockerfile")
		}, wantMain: "./cmd/svc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testtree.New(t, map[string]string{"go.mod": "module github.com/acme/svc\n", "main.go": mainGo})
			tt.setup(t, dir)
			var r Repo
			var err error
			testtree.Returns(t, func() { r, err = Read(dir) })
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(r.Unreadable, "; ")
			if (tt.wantUnread == "") != (got == "") || !strings.Contains(got, tt.wantUnread) {
				t.Errorf("unreadable %q, want %q", got, tt.wantUnread)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("unreadable %q shows what the file outside holds", got)
			}
			if tt.wantMain != "" {
				if main, _, err := r.Main(); err != nil || main.Package != tt.wantMain {
					t.Errorf("main %+v, %v; want %s", main, err, tt.wantMain)
				}
			}
		})
	}
}

// listGraph lists the graph of mainPkg in dir as mage check does.
func listGraph(t *testing.T, dir, mainPkg string) golist.Graph {
	t.Helper()
	g, err := golist.List(context.Background(), dir, mainPkg, "linux", "amd64", nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSourceStamps(t *testing.T) {
	t.Parallel()
	dir := testtree.New(t, map[string]string{
		"go.mod":                "module github.com/acme/svc\n",
		"cmd/main.go":           "package main\n\nimport (\n\t\"github.com/acme/svc/internal/version\"\n\t\"github.com/acme/svc/internal/util\"\n)\n\nvar Commit, date string\n\nvar appVersion int\n\nvar buildTime = \"a\" + \"b\"\n\nfunc main() { _ = appVersion; util.X(); _ = version.Version }\n",
		"cmd/other_test.go":     "package main\n\nvar buildDate string\n",
		"cmd/windows.go":        "//go:build windows\n\npackage main\n\nvar revision string\n",
		"internal/version/v.go": "package version\n\nvar Version = \"dev\"\nvar Date = time()\n\nfunc time() string { return \"\" }\n",
		"internal/util/u.go":    "package util\n\nvar version string\n\nfunc X() {}\n",
	})
	got := SourceStamps(stampvars.New(listGraph(t, dir, "./cmd")))
	want := []string{"main.Commit", "main.date", "main.buildTime", "github.com/acme/svc/internal/version.Version"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SourceStamps = %q; want %q (not tests, not windows', not an int, not a call, not a package neither build nor version)", got, want)
	}
}

func TestBuildsOf(t *testing.T) {
	t.Parallel()
	r := Repo{Module: module.Module{Path: "github.com/acme/svc"},
		Goreleaser: &Goreleaser{Builds: []GoBuild{{Source: "g0", Package: "./cmd"}, {Source: "g1", Package: "./cmd/keygen"}}},
		Dockerfiles: []Dockerfile{
			{File: "Dockerfile", Builds: []GoBuild{{Source: "d0", Package: "github.com/acme/svc/cmd"}, {Source: "d1"}}},
			{File: "docker/Dockerfile", Builds: []GoBuild{{Source: "own", Package: "./cmd"}}}},
		Makefile: []GoBuild{{Source: "m0", Package: "cmd/"}, {Source: "m1", Package: "./cmd/"}, {Source: "m2", Package: "$(PKG)"}},
	}
	tests := []struct {
		mainPkg, skip string
		want          []string
	}{
		{mainPkg: "./cmd", skip: "docker/Dockerfile", want: []string{"g0", "d0", "d1", "m1"}},
		{mainPkg: "github.com/acme/svc/cmd", want: []string{"g0", "d0", "d1", "own", "m1"}},
		{mainPkg: "./cmd/keygen", skip: "Dockerfile", want: []string{"g1"}},
	}
	for _, tt := range tests {
		var got []string
		for _, b := range r.BuildsOf(tt.mainPkg, tt.skip) {
			got = append(got, b.Source)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("BuildsOf(%s, skip %q) = %q, want %q", tt.mainPkg, tt.skip, got, tt.want)
		}
	}
}

func TestGenerators(t *testing.T) {
	t.Parallel()
	dir := testtree.New(t, map[string]string{
		"main.go":         "package main\n\n// //go:generate in a comment is not a directive\nfunc main() {}\n",
		"web/gen.go":      "package web\n\n//go:generate npm run build\n",
		"web/web.go":      "package web\n",
		"web/assets.go":   "package web\n\n//go:generate\tgo run ./gen\n",
		"db/db.go":        "package db\n\n//go:generated is not one either\n",
		"dep/dep.go":      "package dep\n\n//go:generate stringer -type X\n",
		"internal/z/z.go": "package z\n\n//go:generate go run gen.go\n",
	})
	mod := func(main bool) *struct {
		Path string
		Main bool
	} {
		return &struct {
			Path string
			Main bool
		}{"example.com/svc", main}
	}
	pkg := func(rel string, files ...string) golist.Package {
		p := golist.Package{Dir: filepath.Join(dir, rel), ImportPath: "example.com/svc", Module: mod(true), GoFiles: files}
		if rel != "." {
			p.ImportPath += "/" + rel
		}
		return p
	}
	dep := golist.Package{Dir: filepath.Join(dir, "dep"), ImportPath: "example.com/dep", Module: mod(false), GoFiles: []string{"dep.go"}}
	g := golist.Graph{Packages: []golist.Package{pkg("internal/z", "z.go"), pkg("web", "assets.go", "gen.go", "web.go"), pkg("db", "db.go"), dep, pkg(".", "main.go")}}
	got, err := Generators(g)
	want := []Generator{{"./internal/z", []string{"./internal/z/z.go"}, []string{"go run gen.go"}},
		{"./web", []string{"./web/assets.go", "./web/gen.go"}, []string{"go run ./gen", "npm run build"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Generators = %+v, %v; want %+v", got, err, want)
	}
	g.Packages = append(g.Packages, pkg("gone", "gone.go"))
	if _, err := Generators(g); err == nil || !strings.Contains(err.Error(), "gone.go") {
		t.Errorf("a file that cannot be read: err %v, want one naming it", err)
	}
	testtree.Fifo(t, dir, "pipe/pipe.go")
	g.Packages[len(g.Packages)-1] = pkg("pipe", "pipe.go")
	testtree.Returns(t, func() { _, err = Generators(g) })
	if err == nil || !strings.Contains(err.Error(), "pipe.go is a named pipe") {
		t.Errorf("a Go file that is a named pipe: err %v, want one naming it", err)
	}
}

// TestStamps: the -X targets of the builds are used only when they set a
// variable the binary links, after the module path is resolved; the rest
// are noted with why, and never copied as written.
func TestStamps(t *testing.T) {
	t.Parallel()
	const (
		goMod   = "module github.com/acme/svc\n\ngo 1.22\n"
		cmdMain = "package main\n\nimport \"github.com/acme/svc/pkg/build\"\n\nfunc main() { println(build.Version()) }\n"
		onlyVer = "package build\n\nvar version string\n\nfunc Version() string { return version }\n"
		// goreleaser's boilerplate, and the service's own stamp last.
		boilerplate = "builds:\n  - main: ./cmd\n    ldflags: -s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.CommitDate}} -X main.builtBy=goreleaser -X github.com/acme/svc/pkg/build.version=v{{.Version}}\n"
	)
	version := func(source string) map[StampKind]Fact {
		return map[StampKind]Fact{StampVersion: {"github.com/acme/svc/pkg/build.version", source}}
	}
	tests := []struct {
		name      string
		files     map[string]string
		want      map[StampKind]Fact
		wantNotes []string
	}{
		{name: "goreleaser's boilerplate: the target that exists", files: map[string]string{".goreleaser.yaml": boilerplate},
			want: version(".goreleaser.yaml builds[0].ldflags"),
			wantNotes: []string{
				"-X main.version (from .goreleaser.yaml builds[0].ldflags) not used: main.version sets nothing: package main declares no package-level variable version",
				"-X main.commit (from .goreleaser.yaml builds[0].ldflags) not used: main.commit sets nothing: package main declares no package-level variable commit",
				"-X main.date (from .goreleaser.yaml builds[0].ldflags) not used: main.date sets nothing: package main declares no package-level variable date",
			}},
		{name: "goreleaser's {{.ModulePath}}", files: map[string]string{".goreleaser.yaml": "builds:\n  - main: ./cmd\n    ldflags: -X {{ .ModulePath }}/pkg/build.version={{.Version}}\n"},
			want: version(".goreleaser.yaml builds[0].ldflags")},
		{name: "a goreleaser template that is not the module path", files: map[string]string{".goreleaser.yaml": "builds:\n  - main: ./cmd\n    ldflags: -X {{ .Env.PKG }}/pkg/build.version={{.Version}}\n"},
			want:      version("the Go source declares it"),
			wantNotes: []string{"-X {{ .Env.PKG }}/pkg/build.version (from .goreleaser.yaml builds[0].ldflags) not used: it holds a template"}},
		{name: "make's $(shell go list -m), through a variable", files: map[string]string{"Makefile": "MOD := $(shell go list -m)\n\nbuild:\n\tgo build -ldflags \"-X $(MOD)/pkg/build.version=$(VERSION)\" ./cmd\n"},
			want: version("Makefile line 4")},
		{name: "a Makefile variable set to the module path", files: map[string]string{"Makefile": "PKG = github.com/acme/svc\n\nbuild:\n\tgo build -ldflags \"-X ${PKG}/pkg/build.version=1\" ./cmd\n"},
			want: version("Makefile line 4")},
		{name: "a variable the Makefile does not set", files: map[string]string{"Makefile": "build:\n\tgo build -ldflags \"-X ${PKG}/pkg/build.version=1 -X $(PKG)/pkg/build.commit=2\" ./cmd\n"},
			want:      version("the Go source declares it"),
			wantNotes: []string{"-X ${PKG}/pkg/build.version (from Makefile line 2) not used: it holds a variable", "-X $(PKG)/pkg/build.commit (from Makefile line 2) not used: it holds a variable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.files["go.mod"], tt.files["cmd/main.go"], tt.files["pkg/build/build.go"] = goMod, cmdMain, onlyVer
			r, err := Read(testtree.New(t, tt.files))
			if err != nil {
				t.Fatal(err)
			}
			stamps, notes := r.Stamps(stampvars.New(listGraph(t, r.Dir, "./cmd")))
			if !reflect.DeepEqual(stamps, tt.want) {
				t.Errorf("stamps %+v, want %+v", stamps, tt.want)
			}
			if len(notes) != len(tt.wantNotes) {
				t.Fatalf("notes %q, want %d", notes, len(tt.wantNotes))
			}
			for i, w := range tt.wantNotes {
				if !strings.Contains(notes[i], w) {
					t.Errorf("note %d = %q, want it to hold %q", i, notes[i], w)
				}
			}
		})
	}
}

func TestResolveTarget(t *testing.T) {
	t.Parallel()
	const mod = "github.com/acme/svc"
	tests := []struct {
		target, want string
		ok           bool
	}{
		{"main.version", "main.version", true},
		{"$(shell go list -m)/internal/version.Version", mod + "/internal/version.Version", true},
		{"$(shell  go list -m )/internal/version.Version", mod + "/internal/version.Version", true},
		{"$(go list -m)/v.V", mod + "/v.V", true},
		{"$$(go list -m)/v.V", mod + "/v.V", true},
		{"`go list -m`/v.V", mod + "/v.V", true},
		{"{{.ModulePath}}/v.V", mod + "/v.V", true},
		{"{{ .ModulePath }}/v.V", mod + "/v.V", true},
		{"{{ .Env.MOD }}/v.V", "{{ .Env.MOD }}/v.V", false},
		{"${PKG}/v.V", "${PKG}/v.V", false},
		{"$(PKG)/v.V", "$(PKG)/v.V", false},
		{"$PKG/v.V", "$PKG/v.V", false},
		{"$(shell go list -m all)/v.V", "$(shell go list -m all)/v.V", false},
	}
	for _, tt := range tests {
		if got, ok := ResolveTarget(tt.target, mod); got != tt.want || ok != tt.ok {
			t.Errorf("ResolveTarget(%q) = %q, %v; want %q, %v", tt.target, got, ok, tt.want, tt.ok)
		}
	}
}
