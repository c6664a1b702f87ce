package conformance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/internal/testtree"
	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
)

// TestRepositoryConforms checks Gantry's own files: the embedded
// Dockerfile with the root .dockerignore, and the example service as the
// repository's magefile configures it; both with the repository workflow.
func TestRepositoryConforms(t *testing.T) {
	root := testsvc.Root(t)
	offline(t)
	for _, tt := range []struct {
		name, dir, dockerfile, main string
	}{
		{"embedded Dockerfile", root, "", "./cmd/gantry"},
		{"example service", filepath.Join(root, "examples/hello"), "../../docker/Dockerfile", "."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults()
			cfg.Dockerfile, cfg.MainPackage = tt.dockerfile, tt.main
			cfg.Stamp = config.Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date"}
			if tt.main != "." {
				cfg.Stamp = config.Stamp{} // gantry itself stamps nothing
			}
			for _, f := range Check(context.Background(), tt.dir, cfg, ListPackages(tt.dir, cfg, testLog())) {
				t.Errorf("%s %s: %+v", f.Severity, f.Rule, f)
			}
		})
	}
}

// found is a finding a Check test expects, by rule, severity and path
// relative to the repository.
type found struct {
	rule     string
	severity Severity
	path     string
}

// offline keeps the go list of the package rules from the network and
// from a newer toolchain.
func offline(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
}

func testLog() *logrus.Entry { return logrus.NewEntry(logrus.New()) }

// service is a main package the package rules can list.
var service = map[string]string{
	"go.mod":  "module example.com/svc\n\ngo 1.22\n",
	"main.go": "package main\n\nvar version, commit, date string\n\nfunc main() {}\n",
}

func TestCheck(t *testing.T) {
	offline(t)
	// good's dev stage runs apt-get on the target platform, which the
	// template's lack of QEMU does not allow for.
	goodDockerfile := strings.Replace(good, "RUN apt-get update\n", "", 1)
	withQEMU := strings.Replace(string(workflow.PublishGHCR), "      - uses: docker/setup-buildx-action@v3\n", "      - uses: docker/setup-qemu-action@v3\n      - uses: docker/setup-buildx-action@v3\n", 1)
	// A service's own Dockerfile without the fast path's stages.
	slowPath := []found{{RuleFastPath, Warning, "docker/Dockerfile"}, {RuleFastPath, Warning, "docker/Dockerfile"}}
	mageCI := wf(onAll, read, job("build", ""))
	noIDToken := strings.Replace(string(workflow.PublishGHCR), "      id-token: write\n", "", 1)
	complete := map[string]string{
		".dockerignore": string(docker.Dockerignore),
		workflow.Path:   string(workflow.PublishGHCR),
		"go.mod":        service["go.mod"],
		"main.go":       service["main.go"],
	}
	with := func(files map[string]string, changes map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range files {
			out[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	const mb = 1_000_000
	// A service in services/api as gantry init lays it out, and the
	// Container workflow of another service at the repository's root.
	subdir := map[string]string{"services/api/.dockerignore": string(docker.Dockerignore), "services/api/go.mod": service["go.mod"],
		"services/api/main.go": service["main.go"], "services/api/magefiles/magefile.go": "//go:build mage\n\npackage main\n"}
	subdirWorkflow, err := workflow.ForService("main", "services/api", "api")
	if err != nil {
		t.Fatal(err)
	}
	rootService := string(workflow.PublishGHCR)
	dockerPush := wf(onPush, read, "  push:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          docker build -t ghcr.io/acme/svc:${{ github.sha }} .\n          docker push ghcr.io/acme/svc:${{ github.sha }}\n")
	tests := []struct {
		name       string
		files      map[string]string
		dir        string // the service, relative to the repository
		service    string // Config.Service
		dockerfile string
		// sized are files of the given size (sparse: no disk used).
		sized map[string]int64
		// links are symbolic links, relative to the repository, to their
		// targets; outside/ leads to a directory outside the repository
		// holding what complete holds. fifos are named pipes.
		links         map[string]string
		fifos         []string
		stamp         config.Stamp
		publishBranch string
		signing       string
		cgo           bool
		want          []found
	}{
		{name: "adopted with the default Dockerfile", files: complete},
		{name: "with its own Dockerfile", files: with(complete, map[string]string{"docker/Dockerfile": goodDockerfile}), dockerfile: "docker/Dockerfile", want: slowPath},
		{name: "a problem in its own Dockerfile", files: with(complete, map[string]string{"docker/Dockerfile": strings.Replace(goodDockerfile, "USER 65532:65532", "USER root", 1)}),
			dockerfile: "docker/Dockerfile", want: append([]found{{RuleProdUser, Error, "docker/Dockerfile"}}, slowPath...)},
		{name: "the configured Dockerfile is missing", files: complete, dockerfile: "docker/Dockerfile",
			want: []found{{RuleDockerfile, Error, "docker/Dockerfile"}}},
		{name: "no .dockerignore with the default Dockerfile", files: with(complete, map[string]string{".dockerignore": ""}),
			want: []found{{RuleDockerignore, Warning, ".dockerignore"}}},
		{name: "no .dockerignore with its own Dockerfile", files: with(complete, map[string]string{".dockerignore": "", "docker/Dockerfile": goodDockerfile}),
			dockerfile: "docker/Dockerfile", want: append([]found{{RuleDockerignore, Error, ".dockerignore"}}, slowPath...)},
		{name: "no workflow", files: with(complete, map[string]string{workflow.Path: ""}),
			want: []found{{RuleWorkflowMissing, Error, workflow.Path}}},
		{name: "the workflow under another name", files: with(complete, map[string]string{workflow.Path: "", ".github/workflows/docker.yaml": mageCI}),
			want: []found{{RuleWorkflowMissing, Error, workflow.Path}, {RuleWorkflowMisplaced, Error, ".github/workflows/docker.yaml"}}},
		{name: "a second workflow running mage ci", files: with(complete, map[string]string{".github/workflows/release.yml": mageCI}),
			want: []found{{RuleWorkflowMisplaced, Error, ".github/workflows/release.yml"}}},
		{name: "other workflows are their own business", files: with(complete, map[string]string{
			".github/workflows/test.yml": strings.Replace(mageCI, "go tool mage ci", "go test ./...", 1), ".github/workflows/notes.txt": "mage ci"})},
		{name: "a workflow breaking a rule", files: with(complete, map[string]string{workflow.Path: strings.Replace(string(workflow.PublishGHCR), "name: Container", "name: Build", 1)}),
			want: []found{{RuleWorkflowName, Error, workflow.Path}}},
		{name: "QEMU that no target needs", files: with(complete, map[string]string{workflow.Path: withQEMU}),
			want: []found{{RuleWorkflowQEMU, Warning, workflow.Path}}},
		{name: "a RUN on the target platform without QEMU", files: with(complete, map[string]string{"docker/Dockerfile": good}), dockerfile: "docker/Dockerfile",
			want: append([]found{{RuleWorkflowQEMU, Warning, workflow.Path}}, slowPath...)},
		{name: "a RUN on the target platform with QEMU", files: with(complete, map[string]string{"docker/Dockerfile": good, workflow.Path: withQEMU}), dockerfile: "docker/Dockerfile",
			want: slowPath},
		{name: "an .env file on disk", files: with(complete, map[string]string{".dockerignore": ".git\n.env*\nbin/\n", "config/.env": "TOKEN=x"}),
			want: []found{{RuleDockerignore, Error, ".dockerignore"}}},
		{name: "an .env file on disk, the template", files: with(complete, map[string]string{"deploy/.env.tpl": "TOKEN=x"})},
		{name: "the stamps name the service's variables", files: complete, stamp: config.Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date"}},
		{name: "a stamp naming no variable", files: complete, stamp: config.Stamp{Version: "main.Version"},
			want: []found{{RuleStamp, Error, "."}}},
		{name: "a package that needs cgo", files: with(complete, map[string]string{
			"main.go": "package main\n\nimport _ \"example.com/svc/db\"\n\nfunc main() {}\n", "db/db.go": "package db\n\nimport \"C\"\n"}),
			want: []found{{RuleCgo, Error, "go.mod"}}},
		{name: "a package that needs cgo, built with cgo: the embedded Dockerfile cross-compiles it", files: with(complete, map[string]string{
			"main.go": "package main\n\nimport _ \"example.com/svc/db\"\n\nfunc main() {}\n", "db/db.go": "package db\n\nimport \"C\"\n"}),
			cgo: true},
		{name: "no main package", files: with(complete, map[string]string{"main.go": ""}),
			want: []found{{RulePackages, Error, "go.mod"}}},
		{name: "a root Dockerfile Gantry does not build", files: with(complete, map[string]string{"Dockerfile": "FROM scratch\nEXPOSE 8080\n", "Dockerfile.dockerignore": "*"}),
			want: []found{{RuleDockerfileUnused, Error, "Dockerfile"}}},
		{name: "a root Dockerfile Gantry builds", files: with(complete, map[string]string{"Dockerfile": goodDockerfile}), dockerfile: "Dockerfile",
			want: []found{{RuleFastPath, Warning, "Dockerfile"}, {RuleFastPath, Warning, "Dockerfile"}}},
		{name: "a Dockerfile variant Gantry does not build", files: with(complete, map[string]string{"Dockerfile.dev": "FROM scratch\n"}),
			want: []found{{RuleDockerfileUnused, Warning, "Dockerfile.dev"}}},
		{name: "a built binary, ignored", files: complete, sized: map[string]int64{"bin/svc": 73 * mb}},
		{name: "a built binary sent with the context", files: with(complete, map[string]string{".dockerignore": ".git\n.env*\n"}), sized: map[string]int64{"bin/svc": 73 * mb},
			want: []found{{RuleContextSize, Warning, ".dockerignore"}}},
		{name: "no .dockerignore: the template keeps bin/ out of the default Dockerfile's context", files: with(complete, map[string]string{".dockerignore": ""}), sized: map[string]int64{"bin/svc": 73 * mb},
			want: []found{{RuleDockerignore, Warning, ".dockerignore"}}},
		{name: "no .dockerignore: everything is sent beside its own Dockerfile", files: with(complete, map[string]string{".dockerignore": "", "docker/Dockerfile": goodDockerfile}),
			dockerfile: "docker/Dockerfile", sized: map[string]int64{"bin/svc": 73 * mb},
			want: append([]found{{RuleDockerignore, Error, ".dockerignore"}, {RuleContextSize, Warning, ".dockerignore"}}, slowPath...)},
		{name: "the workflow does not publish the publishing branch", files: complete, publishBranch: "master",
			want: []found{{RuleWorkflowBranch, Error, workflow.Path}}},
		// Unset, Signing is keyless: the workflow runs in GitHub Actions.
		{name: "the publishing job cannot sign keyless", files: with(complete, map[string]string{workflow.Path: noIDToken}),
			want: []found{{RuleWorkflowSigning, Warning, workflow.Path}}},
		{name: "the publishing job signs with a key", files: with(complete, map[string]string{workflow.Path: noIDToken}), signing: config.SigningKey},
		{name: "a service in a sub-folder uses the repository's workflow", dir: "services/api",
			files: map[string]string{"services/api/.dockerignore": string(docker.Dockerignore), workflow.Path: string(workflow.PublishGHCR),
				"services/api/go.mod": service["go.mod"], "services/api/main.go": service["main.go"]}},
		{name: "a service in a sub-folder without the workflow", dir: "services/api",
			files: map[string]string{"services/api/.dockerignore": string(docker.Dockerignore), "services/api/" + workflow.Path: string(workflow.PublishGHCR),
				"services/api/go.mod": service["go.mod"], "services/api/main.go": service["main.go"]},
			want: []found{{RuleWorkflowMissing, Error, workflow.Path}, {RuleWorkflowUnread, Error, workflow.Path}}},
		// gantry init's layout: the service's own magefiles, its workflow
		// at the repository's root under a name of its own.
		{name: "a service in a subdirectory with its own workflow", dir: "services/api", service: "api",
			files: with(subdir, map[string]string{".github/workflows/publish-ghcr-api.yml": string(subdirWorkflow), workflow.Path: rootService})},
		{name: "a service in a subdirectory without its own workflow", dir: "services/api", service: "api",
			files: with(subdir, map[string]string{workflow.Path: rootService}),
			want:  []found{{RuleWorkflowMissing, Error, ".github/workflows/publish-ghcr-api.yml"}}},
		{name: "a service in a subdirectory with its workflow under it", dir: "services/api", service: "api",
			files: with(subdir, map[string]string{"services/api/" + workflow.Path: string(subdirWorkflow)}),
			want:  []found{{RuleWorkflowMissing, Error, ".github/workflows/publish-ghcr-api.yml"}, {RuleWorkflowUnread, Error, workflow.Path}}},
		{name: "a service in a subdirectory whose workflow breaks a rule", dir: "services/api", service: "api",
			files: with(subdir, map[string]string{".github/workflows/publish-ghcr-api.yml": strings.Replace(string(subdirWorkflow), "name: Container", "name: API", 1)}),
			want:  []found{{RuleWorkflowName, Error, ".github/workflows/publish-ghcr-api.yml"}}},
		{name: "a service in a subdirectory whose workflow runs mage ci at the root", dir: "services/api", service: "api",
			files: with(subdir, map[string]string{".github/workflows/publish-ghcr-api.yml": rootService}),
			want:  []found{{RuleWorkflowMageCI, Error, ".github/workflows/publish-ghcr-api.yml"}}},
		{name: "a service in a subdirectory published by the root's publish-ghcr.yml", dir: "services/api", service: "api",
			files: with(subdir, map[string]string{workflow.Path: string(subdirWorkflow)})},
		{name: "another service's workflow runs mage ci in its directory", files: with(complete, map[string]string{".github/workflows/publish-ghcr-api.yml": string(subdirWorkflow)})},
		{name: "another workflow pushes the image", files: with(complete, map[string]string{".github/workflows/docker.yml": dockerPush}),
			want: []found{{RuleWorkflowPublisher, Error, ".github/workflows/docker.yml"}}},
		{name: "a .dockerignore linked inside the repository", files: with(complete, map[string]string{".dockerignore": "", "docker/dockerignore": string(docker.Dockerignore)}),
			links: map[string]string{".dockerignore": "docker/dockerignore"}},
		{name: "a .dockerignore linked out of the repository", files: with(complete, map[string]string{".dockerignore": ""}),
			links: map[string]string{".dockerignore": "outside/.dockerignore"}, want: []found{{RuleDockerignore, Error, ".dockerignore"}}},
		{name: "a .dockerignore that is a named pipe", files: with(complete, map[string]string{".dockerignore": ""}),
			fifos: []string{".dockerignore"}, want: []found{{RuleDockerignore, Error, ".dockerignore"}}},
		{name: "the Dockerfile is a named pipe", files: complete, dockerfile: "docker/Dockerfile",
			fifos: []string{"docker/Dockerfile"}, want: []found{{RuleDockerfile, Error, "docker/Dockerfile"}}},
		{name: "the workflow linked out of the repository", files: with(complete, map[string]string{workflow.Path: ""}),
			links: map[string]string{workflow.Path: "outside/" + workflow.Path}, want: []found{{RuleWorkflowParse, Error, workflow.Path}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			for rel, content := range tt.files {
				path := filepath.Join(repo, rel)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			outside := testtree.New(t, complete)
			for rel, target := range tt.links {
				if rest, ok := strings.CutPrefix(target, "outside/"); ok {
					target = filepath.Join(outside, rest)
				}
				testtree.Link(t, repo, rel, target)
			}
			for _, rel := range tt.fifos {
				testtree.Fifo(t, repo, rel)
			}
			for rel, size := range tt.sized {
				path := filepath.Join(repo, tt.dir, rel)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := errors.Join(f.Truncate(size), f.Close()); err != nil {
					t.Fatal(err)
				}
			}
			cfg := defaults()
			cfg.Dockerfile, cfg.Stamp, cfg.CGO = tt.dockerfile, tt.stamp, tt.cgo
			if tt.publishBranch != "" {
				cfg.PublishBranch = tt.publishBranch
			}
			cfg.Signing, cfg.Service = tt.signing, tt.service
			dir := filepath.Join(repo, tt.dir)
			var got []Finding
			testtree.Returns(t, func() { got = Check(context.Background(), dir, cfg, ListPackages(dir, cfg, testLog())) })
			used := make([]bool, len(got))
			for _, w := range tt.want {
				ok := false
				for i, f := range got {
					rel, _ := filepath.Rel(repo, f.Path)
					if !used[i] && f.Rule == w.rule && f.Severity == w.severity && (rel == w.path || rel == filepath.Join(tt.dir, w.path)) {
						used[i], ok = true, true
						break
					}
				}
				if !ok {
					t.Errorf("missing %s %s on %s", w.severity, w.rule, w.path)
				}
			}
			for i, f := range got {
				if !used[i] {
					t.Errorf("unexpected %s %s: %+v", f.Severity, f.Rule, f)
				}
			}
		})
	}
}
