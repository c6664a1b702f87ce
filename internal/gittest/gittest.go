// Package gittest makes throw-away git repositories for tests, isolated
// from the user's and the system's git configuration.
package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Isolate keeps the user's and the system's git configuration, and any
// repository above the temporary directory, out of the test, and sets an
// identity for commits. It applies to every git command the test starts,
// the code under test's included.
func Isolate(t testing.TB) {
	t.Helper()
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL":       os.DevNull,
		"GIT_CONFIG_NOSYSTEM":     "1",
		"GIT_CEILING_DIRECTORIES": tmp,
		"GIT_AUTHOR_NAME":         "Test Author",
		"GIT_AUTHOR_EMAIL":        "author@example.com",
		"GIT_COMMITTER_NAME":      "Test Committer",
		"GIT_COMMITTER_EMAIL":     "committer@example.com",
	} {
		t.Setenv(k, v)
	}
}

// Run runs git in dir with extra environment and returns its trimmed
// output, failing the test on error.
func Run(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// NewRepo isolates the test and makes an empty repository on branch main.
func NewRepo(t testing.TB) string {
	t.Helper()
	Isolate(t)
	dir := t.TempDir()
	Run(t, dir, nil, "init", "-q")
	Run(t, dir, nil, "symbolic-ref", "HEAD", "refs/heads/main")
	return dir
}

// Commit writes file and commits it with the given committer date (and a
// different author date, so tests can tell them apart), returning the SHA.
func Commit(t testing.TB, dir, file, content, committerDate string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	Run(t, dir, nil, "add", file)
	Run(t, dir, []string{"GIT_COMMITTER_DATE=" + committerDate, "GIT_AUTHOR_DATE=2001-02-03T04:05:06+00:00"},
		"commit", "-q", "-m", "change "+file)
	return Run(t, dir, nil, "rev-parse", "HEAD")
}
