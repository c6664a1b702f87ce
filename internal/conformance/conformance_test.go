package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/workflow"
)

// TestRepositoryConforms checks Gantry's own files: the embedded
// Dockerfile with the root .dockerignore, and the example service as the
// repository's magefile configures it; both with the repository workflow.
func TestRepositoryConforms(t *testing.T) {
	root := testsvc.Root(t)
	for _, tt := range []struct {
		name, dir, dockerfile string
	}{
		{"embedded Dockerfile", root, ""},
		{"example service", filepath.Join(root, "examples/hello"), "../../docker/Dockerfile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults()
			cfg.Dockerfile = tt.dockerfile
			for _, f := range Check(tt.dir, cfg) {
				t.Errorf("%s %s", f.Severity, f)
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

func TestCheck(t *testing.T) {
	goodDockerfile := good
	// A service's own Dockerfile without the fast path's stages.
	slowPath := []found{{RuleFastPath, Warning, "docker/Dockerfile"}, {RuleFastPath, Warning, "docker/Dockerfile"}}
	mageCI := wf(onAll, read, job("build", ""))
	complete := map[string]string{
		".dockerignore": string(docker.Dockerignore),
		workflow.Path:   string(workflow.PublishGHCR),
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
	tests := []struct {
		name       string
		files      map[string]string
		dir        string // the service, relative to the repository
		dockerfile string
		want       []found
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
		{name: "a service in a sub-folder uses the repository's workflow", dir: "services/api",
			files: map[string]string{"services/api/.dockerignore": string(docker.Dockerignore), workflow.Path: string(workflow.PublishGHCR)}},
		{name: "a service in a sub-folder without the workflow", dir: "services/api",
			files: map[string]string{"services/api/.dockerignore": string(docker.Dockerignore), "services/api/" + workflow.Path: string(workflow.PublishGHCR)},
			want:  []found{{RuleWorkflowMissing, Error, workflow.Path}}},
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
			cfg := defaults()
			cfg.Dockerfile = tt.dockerfile
			dir := filepath.Join(repo, tt.dir)
			got := Check(dir, cfg)
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
					t.Errorf("unexpected %s %s: %s", f.Severity, f.Rule, f)
				}
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(repo, "a"))
	tests := []struct{ dir, want string }{
		{"b", filepath.Join("b", "..", "..")},
		{".", ".."},
		{repo, repo},
	}
	for _, tt := range tests {
		if got := repoRoot(tt.dir); filepath.Clean(got) != filepath.Clean(tt.want) {
			t.Errorf("repoRoot(%q) = %q, want %q", tt.dir, got, tt.want)
		}
	}
	outside := t.TempDir()
	if got := repoRoot(outside); got != outside {
		t.Errorf("without a repository, repoRoot(%q) = %q", outside, got)
	}
}
