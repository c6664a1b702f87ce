// Package testsvc makes throw-away Go service repositories that adopt
// Gantry exactly as the README tells a service to, and runs Mage in them.
// It is used by the tests and the benchmark only.
package testsvc

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Root returns the root of the Gantry repository the tests run in.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/gantry-build/gantry\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("not inside the Gantry repository")
		}
		dir = parent
	}
}

// Service is a git repository holding a Go service.
type Service struct {
	Dir string
}

// New creates a service module (modulePath) in a temporary directory with
// the example service's code, committed on main, and adopts Gantry in it
// with the one command the README gives (gantry init, run from this
// checkout, with a replace directive to it).
func New(t testing.TB, modulePath string) *Service {
	t.Helper()
	s := &Service{Dir: t.TempDir()}
	main, err := os.ReadFile(filepath.Join(Root(t), "examples/hello/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	s.Write(t, "main.go", string(main))
	s.Write(t, ".gitignore", "bin/\n")
	s.Write(t, "go.mod", "module "+modulePath+"\n\ngo 1.26\n")
	s.Git(t, "init", "-q", "-b", "main")
	s.Init(t)
	s.Commit(t, "initial commit")
	return s
}

// Init adopts Gantry in the service with the one command the README gives
// (gantry init, run from this checkout with a replace directive to it, no
// other flag) and returns its report.
func (s *Service) Init(t testing.TB) string {
	t.Helper()
	root := Root(t)
	cmd := exec.Command("go", "run", "./cmd/gantry", "init", "-dir", s.Dir, "-replace", root)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gantry init: %v\n%s", err, out)
	}
	return string(out)
}

// Clone pushes the repository to a bare origin and returns a clone of it
// in a directory of the same name, so that origin/HEAD names the branch s
// is on: how a checkout of a real service knows its default branch.
func (s *Service) Clone(t testing.TB) *Service {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "origin.git")
	s.Git(t, "clone", "-q", "--bare", s.Dir, bare)
	clone := &Service{Dir: filepath.Join(t.TempDir(), filepath.Base(s.Dir))}
	s.Git(t, "clone", "-q", bare, clone.Dir)
	return clone
}

// Write writes a file of the service, creating its directory.
func (s *Service) Write(t testing.TB, rel, content string) {
	t.Helper()
	path := filepath.Join(s.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Git runs git in the service and returns its trimmed output.
func (s *Service) Git(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = s.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit commits everything and returns the new HEAD.
func (s *Service) Commit(t testing.TB, message string) string {
	t.Helper()
	s.Git(t, "add", "-A")
	s.Git(t, "commit", "-q", "--allow-empty", "-m", message)
	return s.Git(t, "rev-parse", "HEAD")
}

// Result is what a Mage run printed and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Mage runs `go tool mage args...` in the service (see Command).
func (s *Service) Mage(t testing.TB, env map[string]string, args ...string) Result {
	t.Helper()
	return s.Exec(t, env, "go", append([]string{"tool", "mage"}, args...)...)
}

// Command returns a command to run in the service with a clean
// environment (no GITHUB_*, GANTRY_*, CI or BUILDX_* from the caller) plus env.
func (s *Service) Command(env map[string]string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.Dir
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(key, "GITHUB_") && !strings.HasPrefix(key, "GANTRY_") && !strings.HasPrefix(key, "BUILDX_") && key != "CI" && key != "ACTIONS_RUNTIME_TOKEN" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// Exec runs a command in the service (see Command) and waits for it.
func (s *Service) Exec(t testing.TB, env map[string]string, name string, args ...string) Result {
	t.Helper()
	cmd := s.Command(env, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	t.Logf("%s %s: exit %d\n--- stderr ---\n%s", name, strings.Join(args, " "), res.Code, res.Stderr)
	return res
}

// Event is a simulated GitHub Actions event.
type Event struct {
	Name       string // push, pull_request, ...
	Ref        string // refs/heads/main, refs/tags/v1.2.3, refs/pull/7/merge
	SHA        string // GITHUB_SHA
	Repository string // owner/repo
	Payload    any    // written to GITHUB_EVENT_PATH as JSON
}

// Env returns the variables GitHub Actions sets for the event.
func (e Event) Env(t testing.TB) map[string]string {
	t.Helper()
	payload := e.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	data, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"GITHUB_ACTIONS":    "true",
		"CI":                "true",
		"GITHUB_EVENT_NAME": e.Name,
		"GITHUB_REF":        e.Ref,
		"GITHUB_SHA":        e.SHA,
		"GITHUB_REPOSITORY": e.Repository,
		"GITHUB_EVENT_PATH": path,
	}
}

// PullRequestPayload is the part of a pull_request event Gantry reads.
func PullRequestPayload(number int, headSHA, headRef, headRepo, baseRepo string) map[string]any {
	return map[string]any{
		"number": number,
		"pull_request": map[string]any{
			"number": number,
			"head":   map[string]any{"sha": headSHA, "ref": headRef, "repo": map[string]any{"full_name": headRepo}},
			"base":   map[string]any{"ref": "main", "repo": map[string]any{"full_name": baseRepo}},
		},
	}
}

// Merge returns the union of maps, later ones winning.
func Merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}
