package discover

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/repofile"
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
			stamps, _, err := r.Stamps(main.Package)
			if err != nil || !reflect.DeepEqual(stamps, tt.wantStamps) {
				t.Errorf("stamps %+v %v, want %+v", stamps, err, tt.wantStamps)
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

func TestSourceStamps(t *testing.T) {
	t.Parallel()
	dir := testtree.New(t, map[string]string{
		"go.mod":                "module github.com/acme/svc\n",
		"cmd/main.go":           "package main\n\nimport (\n\t\"github.com/acme/svc/internal/version\"\n\t\"github.com/acme/svc/internal/util\"\n)\n\nvar Commit, date string\n\nvar version int\n\nfunc main() { _ = version; util.X(); _ = version2 }\n",
		"cmd/other_test.go":     "package main\n\nvar buildDate string\n",
		"cmd/windows.go":        "//go:build windows\n\npackage main\n\nvar revision string\n",
		"internal/version/v.go": "package version\n\nvar Version = \"dev\"\nvar Date = time()\n",
		"internal/util/u.go":    "package util\n\nvar version string\n\nfunc X() {}\n",
	})
	got, err := SourceStamps(dir, "github.com/acme/svc", "./cmd")
	want := []string{"main.Commit", "main.date", "github.com/acme/svc/internal/version.Version"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("SourceStamps = %q, %v; want %q", got, err, want)
	}
	if _, err := SourceStamps(dir, "github.com/acme/svc", "./nope"); err == nil {
		t.Error("a missing main package: want an error")
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

// The Go source the stamps are looked for in is read only as regular
// files inside the repository, without hanging on a named pipe.
func TestSourceStampsRefusesHostileFiles(t *testing.T) {
	outside := testtree.New(t, map[string]string{"version.go": "package version\n\nvar Version string\n"})
	files := map[string]string{"go.mod": "module github.com/acme/svc\n", "cmd/main.go": "package main\n\nimport _ \"github.com/acme/svc/internal/version\"\n\nfunc main() {}\n"}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{name: "a file of the main package is a named pipe", setup: func(t *testing.T, dir string) {
			testtree.Write(t, dir, map[string]string{"internal/version/v.go": "package version\n"})
			testtree.Fifo(t, dir, "cmd/pipe.go")
		}, wantErr: "cmd/pipe.go is a named pipe"},
		{name: "the version package's file linked outside", setup: func(t *testing.T, dir string) {
			testtree.Link(t, dir, "internal/version/v.go", filepath.Join(outside, "version.go"))
		}, wantErr: "internal/version/v.go is a link to " + outside},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testtree.New(t, files)
			tt.setup(t, dir)
			var err error
			testtree.Returns(t, func() { _, err = SourceStamps(dir, "github.com/acme/svc", "./cmd") })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}
