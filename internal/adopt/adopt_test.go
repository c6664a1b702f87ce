package adopt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/internal/testtree"
	"github.com/gantry-build/gantry/workflow"
)

// newService makes a Go service repository as it is before adopting
// Gantry: the example service's code, a go.mod and one commit on main.
func newService(t *testing.T) *testsvc.Service {
	t.Helper()
	main, err := os.ReadFile(filepath.Join(testsvc.Root(t), "examples/hello/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &testsvc.Service{Dir: t.TempDir()}
	svc.Write(t, "go.mod", "module github.com/acme/widget\n\ngo 1.26\n")
	svc.Write(t, "main.go", string(main))
	svc.Write(t, ".gitignore", "bin/\n")
	svc.Git(t, "init", "-q", "-b", "main")
	svc.Commit(t, "the service")
	return svc
}

func TestInit(t *testing.T) {
	svc := newService(t)
	opts := Options{Dir: svc.Dir, Replace: testsvc.Root(t)}
	var err error
	if opts.GantryVersion, err = Version("", "(devel)", opts.Replace); err != nil {
		t.Fatal(err)
	}
	files := []string{"magefiles/magefile.go", "magefiles/go.mod", ".dockerignore", workflow.Path}

	report, err := Init(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	wantWrote := append(slices.Clone(files), ".gitignore (added go.work.sum)", "go.work")
	if !slices.Equal(report.Wrote, wantWrote) || len(report.Skipped) != 0 {
		t.Fatalf("wrote %v, skipped %v; want %v written", report.Wrote, report.Skipped, wantWrote)
	}
	wantRan := []string{"go get -tool github.com/magefile/mage@" + MageVersion, "GOWORK=off go mod tidy"}
	if !slices.Equal(report.Ran, wantRan) {
		t.Errorf("ran %q, want %q", report.Ran, wantRan)
	}
	for _, path := range []string{"go.work", "magefiles/go.sum"} {
		if _, err := os.Stat(filepath.Join(svc.Dir, path)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	gomod := readFile(t, svc.Dir, "go.mod")
	if !strings.Contains(gomod, "tool github.com/magefile/mage") || strings.Contains(gomod, "gantry") {
		t.Errorf("the service's go.mod should have Mage as a tool and no Gantry:\n%s", gomod)
	}
	var out bytes.Buffer
	if err := report.Write(&out); err != nil || !strings.Contains(out.String(), "wrote   "+workflow.Path+"\n") ||
		!strings.Contains(out.String(), "decided main package . (from the module root is package main; the targets decide the same)\n") {
		t.Errorf("report %q, %v", out.String(), err)
	}

	t.Run("mage check passes", func(t *testing.T) {
		if res := svc.Mage(t, nil, "check"); res.Code != 0 {
			t.Fatalf("exit %d:\n%s", res.Code, res.Stderr)
		}
	})

	t.Run("mage plan -json plans images", func(t *testing.T) {
		svc.Commit(t, "adopt Gantry")
		res := svc.Mage(t, nil, "plan", "-json")
		if res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		var plan struct {
			Images []struct {
				Target string   `json:"target"`
				Tags   []string `json:"tags"`
			} `json:"images"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &plan); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, res.Stdout)
		}
		if len(plan.Images) != 2 || !strings.HasPrefix(plan.Images[0].Tags[0], "ghcr.io/acme/widget:") {
			t.Errorf("images %+v, want prod and dev of ghcr.io/acme/widget", plan.Images)
		}
	})

	t.Run("mage build leaves the tree clean", func(t *testing.T) {
		svc.Commit(t, "after plan")
		if res := svc.Mage(t, nil, "build"); res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		if status := svc.Git(t, "status", "--porcelain", "--untracked-files=all"); status != "" {
			t.Errorf("mage build made the tree dirty:\n%s", status)
		}
	})

	t.Run("again, it overwrites nothing and merges .dockerignore", func(t *testing.T) {
		svc.Write(t, ".dockerignore", ".git\n.env*\n# the service's own\nnode_modules\n")
		report, err := Init(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(report.Wrote) != 1 || !strings.HasPrefix(report.Wrote[0], ".dockerignore (added **/.git, .github, **/.env*, *.md,") || len(report.Ran) != 0 {
			t.Errorf("wrote %v, ran %v; want only .dockerignore merged", report.Wrote, report.Ran)
		}
		got := readFile(t, svc.Dir, ".dockerignore")
		for _, line := range []string{"node_modules\n", "# the service's own\n", "bin/\n", "go.work.sum\n"} {
			if !strings.Contains(got, line) {
				t.Errorf(".dockerignore lacks %q:\n%s", line, got)
			}
		}

		before := snapshot(t, svc.Dir, append(files, "go.mod", "go.work", "magefiles/go.sum", ".gitignore"))
		report, err = Init(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(report.Wrote) != 0 || len(report.Ran) != 0 {
			t.Errorf("wrote %v, ran %v; want nothing", report.Wrote, report.Ran)
		}
		var skipped []string
		for _, s := range report.Skipped {
			skipped = append(skipped, s.Path)
			if s.Reason == "" {
				t.Errorf("%s skipped without a reason", s.Path)
			}
		}
		if want := append(slices.Clone(files), ".gitignore", "go.mod", "magefiles/go.sum", "go.work"); !slices.Equal(skipped, want) {
			t.Errorf("skipped %v, want %v", skipped, want)
		}
		if report.Skipped[0].Reason != "it sets what init decided already" {
			t.Errorf("reason %q", report.Skipped[0].Reason)
		}
		if after := snapshot(t, svc.Dir, append(files, "go.mod", "go.work", "magefiles/go.sum", ".gitignore")); !maps.Equal(before, after) {
			t.Error("a second init changed files")
		}
	})

	t.Run("-force rewrites the files it names, never the team's magefile or .dockerignore entries", func(t *testing.T) {
		const teams = "//go:build mage\n\npackage main\n\n// Lint is the team's.\nfunc Lint() {}\n"
		svc.Write(t, workflow.Path, "# the team's\n")
		svc.Write(t, "magefiles/magefile.go", teams)
		opts := opts
		opts.Force, opts.Dockerfile = Force{"workflow": true, "dockerfile": true}, true
		report, err := Init(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"magefiles/gantry.go", workflow.Path, "docker/Dockerfile"}; !slices.Equal(report.Wrote, want) {
			t.Errorf("wrote %v, want %v", report.Wrote, want)
		}
		opts.Force = Force{"all": true}
		if _, err := Init(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, svc.Dir, ".dockerignore"); !strings.Contains(got, "node_modules\n") {
			t.Errorf("-force dropped the team's .dockerignore entries:\n%s", got)
		}
		if got := readFile(t, svc.Dir, "docker/Dockerfile"); got != string(docker.Dockerfile) {
			t.Error("docker/Dockerfile is not Gantry's")
		}
		if got := readFile(t, svc.Dir, "magefiles/magefile.go"); got != teams {
			t.Errorf("-force rewrote the team's magefile:\n%s", got)
		}
		if got := readFile(t, svc.Dir, "magefiles/gantry.go"); !strings.Contains(got, "github.com/gantry-build/gantry/magetools") {
			t.Errorf("Gantry's magefile beside the team's lacks the import:\n%s", got)
		}
		if res := svc.Mage(t, nil, "-l"); res.Code != 0 || !strings.Contains(res.Stdout, "lint") || !strings.Contains(res.Stdout, "check") {
			t.Errorf("mage -l: exit %d, want the team's lint and Gantry's check:\n%s", res.Code, res.Stdout)
		}
	})
}

// TestInitWritesTheRuntimeIntoDockerfile: with -dockerfile, how the team's
// Dockerfile ran the image goes into docker/Dockerfile, not the magefile;
// a re-run then keeps that docker/Dockerfile and changes nothing.
func TestInitWritesTheRuntimeIntoDockerfile(t *testing.T) {
	svc := newService(t)
	svc.Write(t, "Dockerfile", "FROM golang AS build\nRUN go build -o /app/widget .\nFROM gcr.io/distroless/static\nEXPOSE 8080\nENTRYPOINT [\"/app/widget\"]\nCMD [\"serve\", \"--port\", \"8080\"]\n")
	svc.Commit(t, "the team's Dockerfile")
	opts := Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0", Dockerfile: true}
	report := initService(t, svc.Dir, opts)
	if got, want := readFile(t, svc.Dir, "docker/Dockerfile"), string(docker.Render([]string{"serve", "--port", "8080"}, []string{"8080"})); got != want {
		t.Errorf("docker/Dockerfile:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(report, "decided ports (EXPOSE) 8080 (from Dockerfile line 4; written to docker/Dockerfile)\n") {
		t.Errorf("the report does not say where the ports went:\n%s", report)
	}
	magefile := readFile(t, svc.Dir, "magefiles/magefile.go")
	if strings.Contains(magefile, "Config.Args") || strings.Contains(magefile, "Config.Ports") {
		t.Errorf("the magefile sets Args or Ports, which the configuration refuses with docker/Dockerfile:\n%s", magefile)
	}

	opts.Dockerfile = false
	report = initService(t, svc.Dir, opts)
	if got := readFile(t, svc.Dir, "magefiles/magefile.go"); got != magefile {
		t.Errorf("a re-run changed the magefile:\n%s", got)
	}
	if !strings.Contains(report, "note    CMD serve --port 8080, ENTRYPOINT /app/widget, EXPOSE 8080 of Dockerfile not carried over: the service builds with its own docker/Dockerfile") {
		t.Errorf("a re-run does not say why the root Dockerfile's runtime is left:\n%s", report)
	}
}

// TestInitSeveralServices: in a repository of two main packages under
// ./cmd, init lays them out as two services (Config.Services), which mage
// check checks and mage plan plans, each under its own image.
func TestInitSeveralServices(t *testing.T) {
	svc := newService(t)
	svc.Write(t, "cmd/api/main.go", readFile(t, svc.Dir, "main.go"))
	if err := os.Remove(filepath.Join(svc.Dir, "main.go")); err != nil {
		t.Fatal(err)
	}
	svc.Write(t, "cmd/worker/main.go", "package main\n\nvar version, commit, date string\n\nfunc main() { println(version, commit, date) }\n")
	svc.Commit(t, "two commands")
	opts := Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"}
	report := initService(t, svc.Dir, opts)
	if !strings.Contains(report, "decided services ./cmd/api ./cmd/worker (from the main packages ./cmd/api, ./cmd/worker, one service each; set in the magefile's init())") {
		t.Errorf("report:\n%s", report)
	}
	magefile := readFile(t, svc.Dir, "magefiles/magefile.go")
	if !strings.Contains(magefile, `magetools.Config.Services = []magetools.Service{{Name: "api", MainPackage: "./cmd/api"}, {Name: "worker", MainPackage: "./cmd/worker"}} // from`) ||
		strings.Contains(magefile, "Config.MainPackage") || strings.Contains(magefile, "Config.Service ") {
		t.Errorf("magefile:\n%s", magefile)
	}
	if report := initService(t, svc.Dir, opts); readFile(t, svc.Dir, "magefiles/magefile.go") != magefile {
		t.Errorf("a re-run changed the magefile:\n%s", report)
	}
	svc.Commit(t, "adopt Gantry")
	if res := svc.Mage(t, nil, "check"); res.Code != 0 {
		t.Fatalf("mage check: exit %d:\n%s", res.Code, res.Stderr)
	}
	// BuildAll: the plan of a push to main reads no registry.
	res := svc.Mage(t, map[string]string{"GANTRY_BUILD_ALL": "true"}, "plan", "-json")
	if res.Code != 0 {
		t.Fatalf("mage plan: exit %d:\n%s", res.Code, res.Stderr)
	}
	var plans []struct {
		Service string `json:"service"`
		Images  []struct {
			Tags []string `json:"tags"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &plans); err != nil {
		t.Fatalf("stdout is not a JSON list: %v\n%s", err, res.Stdout)
	}
	if len(plans) != 2 || plans[1].Service != "worker" || len(plans[1].Images) != 2 || !strings.HasPrefix(plans[1].Images[0].Tags[0], "ghcr.io/acme/widget/worker:") {
		t.Errorf("plans %+v, want api's and worker's, each under its own image", plans)
	}
}

func TestInitRefusesWhatItCannotDecide(t *testing.T) {
	svc := newService(t)
	if err := os.Remove(filepath.Join(svc.Dir, "main.go")); err != nil {
		t.Fatal(err)
	}
	svc.Write(t, "lib/lib.go", "package lib\n")
	_, err := Init(context.Background(), Options{Dir: svc.Dir, GantryVersion: "v1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "no main package found") || !strings.Contains(err.Error(), "pass -main") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(svc.Dir, "magefiles")); !os.IsNotExist(err) {
		t.Error("wrote files before deciding")
	}
	if _, err := Init(context.Background(), Options{Dir: t.TempDir(), GantryVersion: "v1.0.0"}); err == nil || !strings.Contains(err.Error(), "run gantry init at the root of the service's Go module") {
		t.Errorf("without go.mod: %v", err)
	}
}

// TestInitWritesOnlyInsideTheRepository: a committed link leading out of
// the repository, or a special file, where init writes is refused with
// an error naming it, and nothing outside changes; a link inside the
// repository is written through.
func TestInitWritesOnlyInsideTheRepository(t *testing.T) {
	tests := []struct {
		name string
		// setup adds the link or file to the service; outside is a
		// directory outside the repository holding the file "file".
		setup   func(t *testing.T, dir, outside string)
		wantErr string
		// wantFile is a file of the repository that init merged Gantry's
		// entries into, through the link, then put back as it was when it
		// stopped; "" for none.
		wantFile string
	}{
		{name: ".dockerignore linked to a file outside", setup: func(t *testing.T, dir, outside string) {
			testtree.Link(t, dir, ".dockerignore", filepath.Join(outside, "file"))
		}, wantErr: "not merged: .dockerignore is a link to "},
		{name: ".github linked to a directory outside", setup: func(t *testing.T, dir, outside string) {
			testtree.Link(t, dir, ".github", outside)
		}, wantErr: "not written: .github/workflows/publish-ghcr.yml: .github is a link to "},
		{name: ".github linked to a directory outside holding the workflow", setup: func(t *testing.T, dir, outside string) {
			testtree.Write(t, outside, map[string]string{workflow.Path: "name: theirs\n"})
			testtree.Link(t, dir, ".github", filepath.Join(outside, ".github"))
		}, wantErr: "not written: .github/workflows/publish-ghcr.yml: .github is a link to "},
		{name: ".gitignore linked to /dev/zero", setup: func(t *testing.T, dir, outside string) {
			os.Remove(filepath.Join(dir, ".gitignore"))
			testtree.Link(t, dir, ".gitignore", "/dev/zero")
		}, wantErr: "not merged: .gitignore is a link to /dev/zero"},
		{name: ".dockerignore is a named pipe", setup: func(t *testing.T, dir, outside string) {
			testtree.Fifo(t, dir, ".dockerignore")
		}, wantErr: "not merged: .dockerignore is a named pipe, not a regular file"},
		{name: "go.mod linked to a file outside", setup: func(t *testing.T, dir, outside string) {
			testtree.Write(t, outside, map[string]string{"file": readFile(t, dir, "go.mod")})
			os.Remove(filepath.Join(dir, "go.mod"))
			testtree.Link(t, dir, "go.mod", filepath.Join(outside, "file"))
		}, wantErr: "not read: go.mod is a link to "},
		{name: ".dockerignore linked inside the repository", setup: func(t *testing.T, dir, outside string) {
			testtree.Write(t, dir, map[string]string{"docker/ignore": "*.log\n"})
			testtree.Link(t, dir, ".dockerignore", "docker/ignore")
		}, wantErr: "not written: .github/workflows/publish-ghcr.yml: .github is a link to ", wantFile: "docker/ignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t)
			outside := testtree.New(t, map[string]string{"file": "outside\n"})
			tt.setup(t, svc.Dir, outside)
			before := snapshot(t, outside, []string{"file"})
			beforeEntries, _ := os.ReadDir(outside)
			if tt.wantFile != "" {
				// Stop init after the .dockerignore: no go commands.
				testtree.Link(t, svc.Dir, ".github", outside)
			}
			var err error
			var report Report
			testtree.Returns(t, func() { report, err = Init(context.Background(), Options{Dir: svc.Dir, GantryVersion: "v1.0.0"}) })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(outside)
			if after := snapshot(t, outside, []string{"file"}); !maps.Equal(after, before) || len(entries) != len(beforeEntries) {
				t.Errorf("outside the repository: %v, %d entries; want %v untouched", after, len(entries), before)
			}
			if tt.wantFile != "" {
				if got := readFile(t, svc.Dir, tt.wantFile); got != "*.log\n" {
					t.Errorf("%s holds %q, want its own entries, put back", tt.wantFile, got)
				}
				if info, err := os.Lstat(filepath.Join(svc.Dir, ".dockerignore")); err != nil || info.Mode()&os.ModeSymlink == 0 {
					t.Errorf(".dockerignore is no longer the link (%v)", err)
				}
				if !slices.ContainsFunc(report.Notes, func(n string) bool { return strings.Contains(n, "put back .dockerignore") }) {
					t.Errorf("notes %q: want .dockerignore merged, then put back", report.Notes)
				}
			}
		})
	}
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func snapshot(t *testing.T, dir string, paths []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		out[p] = readFile(t, dir, p)
	}
	return out
}

// TestReportRun: a command that fails is not recorded, and the error names
// it, its directory, its exit status and what it printed, with the fix.
func TestReportRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var r Report
	if err := r.run(context.Background(), dir, []string{"GOFLAGS=-mod=mod"}, "go", "env", "GOFLAGS"); err != nil {
		t.Fatalf("run: %v", err)
	}
	err := r.run(context.Background(), dir, nil, "go", "nosuchcommand")
	if err == nil {
		t.Fatal("run of a failing command: want an error")
	}
	for _, s := range []string{"`go nosuchcommand` in " + dir + " failed", "exit status 2", "unknown command", "fix what it names and run gantry init again"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if want := []string{"GOFLAGS=-mod=mod go env GOFLAGS"}; !slices.Equal(r.Ran, want) {
		t.Errorf("Ran = %q, want %q", r.Ran, want)
	}
}

// TestInitMatrix: -matrix writes the workflow of a matrix of native
// runners in place of the single-runner one.
func TestInitMatrix(t *testing.T) {
	svc := newService(t)
	initService(t, svc.Dir, Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0", Matrix: true})
	if got := readFile(t, svc.Dir, workflow.Path); got != string(workflow.Matrix) {
		t.Errorf("%s is not the matrix template:\n%s", workflow.Path, got)
	}
}

// TestInitRefusesADirectoryWhereAFileGoes: a directory at a path init
// writes is named as one, with the fix, with -force too, before anything
// is written.
func TestInitRefusesADirectoryWhereAFileGoes(t *testing.T) {
	t.Parallel()
	for _, path := range []string{".dockerignore", "magefiles/magefile.go", workflow.Path, "go.work"} {
		for _, force := range []Force{nil, {"all": true}} {
			t.Run(path+fmt.Sprint(force), func(t *testing.T) {
				t.Parallel()
				svc := newService(t)
				if err := os.MkdirAll(filepath.Join(svc.Dir, path), 0o755); err != nil {
					t.Fatal(err)
				}
				_, err := Init(context.Background(), Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0", Force: force})
				if want := path + " is a directory, where gantry init writes a file: move it away"; err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v, want %q", err, want)
				}
				if status := svc.Git(t, "status", "--porcelain", "--untracked-files=all"); status != "" {
					t.Errorf("init wrote before refusing:\n%s", status)
				}
			})
		}
	}
}

// TestInitVendored: in a vendored service, the tool init adds to go.mod
// is vendored too, so the service's own go build (and the image's, with
// GOWORK=off) still finds vendor/ consistent; a re-run vendors nothing.
func TestInitVendored(t *testing.T) {
	t.Parallel()
	svc := &testsvc.Service{Dir: t.TempDir()}
	svc.Write(t, "go.mod", "module github.com/acme/vendored\n\ngo 1.26\n\nrequire golang.org/x/mod v0.41.0\n")
	svc.Write(t, "main.go", "package main\n\nimport \"golang.org/x/mod/semver\"\n\nfunc main() { println(semver.IsValid(\"v1.0.0\")) }\n")
	svc.Write(t, ".gitignore", "/vendored\n")
	for _, args := range [][]string{{"mod", "tidy"}, {"mod", "vendor"}} {
		if res := svc.Exec(t, nil, "go", args...); res.Code != 0 {
			t.Fatalf("go %v: exit %d", args, res.Code)
		}
	}
	svc.Git(t, "init", "-q", "-b", "main")
	svc.Commit(t, "a vendored service")

	report, err := Init(context.Background(), Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "GOWORK=off go mod vendor"; !slices.Contains(report.Ran, want) {
		t.Errorf("ran %q, want %q", report.Ran, want)
	}
	for _, env := range []map[string]string{nil, {"GOWORK": "off"}} {
		if res := svc.Exec(t, env, "go", "build", "./..."); res.Code != 0 {
			t.Errorf("go build ./... (%v) after init: exit %d\n%s", env, res.Code, res.Stderr)
		}
	}
	if res := svc.Mage(t, nil, "-l"); res.Code != 0 || !strings.Contains(res.Stdout, "check") {
		t.Errorf("go tool mage -l: exit %d\n%s", res.Code, res.Stdout)
	}

	again, err := Init(context.Background(), Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"})
	if err != nil || len(again.Ran) != 0 {
		t.Errorf("a re-run ran %q (%v), want nothing", again.Ran, err)
	}
}

// TestInitUndoesAFailedRun: an init that stops in go mod tidy (here: a
// -replace that does not exist) puts back go.mod and removes every file
// it made, so the repository is as it was; a re-run then writes
// magefiles/go.mod afresh instead of skipping the broken one.
func TestInitUndoesAFailedRun(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	before := readFile(t, svc.Dir, "go.mod")
	report, err := Init(context.Background(), Options{Dir: svc.Dir, Replace: filepath.Join(t.TempDir(), "no-gantry"), GantryVersion: "v0.0.0"})
	if err == nil || !strings.Contains(err.Error(), "`go mod tidy`") {
		t.Fatalf("err %v, want go mod tidy's failure", err)
	}
	if status := svc.Git(t, "status", "--porcelain", "--untracked-files=all"); status != "" {
		t.Errorf("a failed init left changes:\n%s", status)
	}
	if got := readFile(t, svc.Dir, "go.mod"); got != before {
		t.Errorf("go.mod not put back:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(svc.Dir, "magefiles")); !os.IsNotExist(err) {
		t.Errorf("magefiles/ left behind: %v", err)
	}
	if len(report.Wrote) != 0 || !slices.ContainsFunc(report.Notes, func(n string) bool {
		return strings.HasPrefix(n, "init stopped, so it undid what it had written: put back .gitignore, go.mod; removed magefiles/magefile.go, magefiles/go.mod,")
	}) {
		t.Errorf("report wrote %v, notes %q; want the undoing said", report.Wrote, report.Notes)
	}

	report, err = Init(context.Background(), Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(report.Wrote, "magefiles/go.mod") || !strings.Contains(readFile(t, svc.Dir, "magefiles/go.mod"), testsvc.Root(t)) {
		t.Errorf("the re-run wrote %v; want magefiles/go.mod afresh", report.Wrote)
	}
}

// TestInitTidiesAnUntidiedMagefilesModule: a magefiles/go.mod left
// without its go.sum (an older init that stopped) is tidied by the next
// run, not skipped as done.
func TestInitTidiesAnUntidiedMagefilesModule(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	opts := Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"}
	if _, err := Init(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(svc.Dir, "magefiles", "go.sum")); err != nil {
		t.Fatal(err)
	}
	report, err := Init(context.Background(), opts)
	if err != nil || !slices.Contains(report.Ran, "GOWORK=off go mod tidy") {
		t.Fatalf("ran %q, %v; want go mod tidy", report.Ran, err)
	}
	if _, err := os.Stat(filepath.Join(svc.Dir, "magefiles", "go.sum")); err != nil {
		t.Error(err)
	}
}

// TestInitNamesALeftBrokenMagefilesModule: a magefiles/go.mod an older
// init left with a require that does not resolve, and no go.sum, fails
// the re-run's tidy with -force=gomod as the fix, never a success; with
// it, init writes it afresh.
func TestInitNamesALeftBrokenMagefilesModule(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	svc.Write(t, "magefiles/go.mod", "module github.com/acme/widget/magefiles\n\ngo 1.26\n\nrequire github.com/gantry-build/gantry v0.0.0\n\nreplace github.com/gantry-build/gantry => "+filepath.Join(t.TempDir(), "gone")+"\n")
	svc.Write(t, "magefiles/magefile.go", "//go:build mage\n\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/gantry-build/gantry/magetools\"\n)\n")
	opts := Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"}
	if _, err := Init(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "pass -force=gomod to write it afresh") {
		t.Fatalf("err %v, want the fix", err)
	}
	opts.Force = Force{"gomod": true}
	if _, err := Init(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, svc.Dir, "magefiles/go.mod"); !strings.Contains(got, testsvc.Root(t)) {
		t.Errorf("magefiles/go.mod not written afresh:\n%s", got)
	}
}
