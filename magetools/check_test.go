package magetools

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gantry-build/gantry/internal/actions"
	"github.com/gantry-build/gantry/internal/conformance"
)

func TestReportFindings(t *testing.T) {
	t.Parallel()
	workspace := t.TempDir()
	findings := []conformance.Finding{
		{Severity: conformance.Error, Rule: conformance.RuleProdUser, Path: filepath.Join(workspace, "docker/Dockerfile"), Line: 12,
			Message: "the prod image runs as root (USER root)", Fix: "add `USER 65532:65532`"},
		{Severity: conformance.Warning, Rule: conformance.RuleWorkflowQEMU, Path: filepath.Join(workspace, ".github/workflows/publish-ghcr.yml"), Line: 40,
			Message: "the workflow sets up QEMU, but no target needs emulation", Fix: "remove the step"},
		{Severity: conformance.Error, Rule: conformance.RuleDockerignore, Path: filepath.Join(workspace, ".dockerignore"),
			Message: "BuildKit sends .git/config into the build context", Fix: "remove `!.git/config`"},
		{Severity: conformance.Error, Rule: conformance.RuleBuildPlatform, Path: conformance.EmbeddedDockerfile, Line: 3,
			Message: "build stage runs on the target platform", Fix: "write --platform"},
	}
	logger, hook := logtest.NewNullLogger()
	var out bytes.Buffer
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": workspace}
	err := reportFindings(findings, actions.Runner{Getenv: func(k string) string { return env[k] }, Out: &out}, logrus.NewEntry(logger))

	if err == nil || err.Error() != "the service departs from the release process: 3 errors and 1 warning, logged above; fix each as its fix says, then run `go tool mage check` again" {
		t.Errorf("error %v, want the count and no finding", err)
	}
	entries := hook.AllEntries()
	if len(entries) != len(findings) {
		t.Fatalf("%d log entries, want one per finding", len(entries))
	}
	for i, f := range findings {
		e := entries[i]
		if e.Data["rule"] != f.Rule || e.Data["file"] != f.Path || e.Data["severity"] != f.Severity.String() {
			t.Errorf("entry %d has fields %v", i, e.Data)
		}
		if line, ok := e.Data["line"]; f.Line > 0 && line != f.Line || f.Line == 0 && ok {
			t.Errorf("entry %d: line field %v, want %d", i, line, f.Line)
		}
		if e.Message != f.Message+" (fix: "+f.Fix+")" {
			t.Errorf("entry %d says %q", i, e.Message)
		}
		if wantLevel := map[conformance.Severity]logrus.Level{conformance.Error: logrus.ErrorLevel, conformance.Warning: logrus.WarnLevel}[f.Severity]; e.Level != wantLevel {
			t.Errorf("entry %d at level %s", i, e.Level)
		}
	}
	want := "::error file=docker/Dockerfile,line=12,title=mage check%3A prod-user::the prod image runs as root (USER root) (fix: add `USER 65532:65532`)\n" +
		"::warning file=.github/workflows/publish-ghcr.yml,line=40,title=mage check%3A workflow-qemu::the workflow sets up QEMU, but no target needs emulation (fix: remove the step)\n" +
		"::error file=.dockerignore,title=mage check%3A dockerignore::BuildKit sends .git/config into the build context (fix: remove `!.git/config`)\n" +
		"::error title=mage check%3A build-platform::build stage runs on the target platform (fix: write --platform)\n"
	if out.String() != want {
		t.Errorf("annotations:\n%s\nwant one per finding:\n%s", out.String(), want)
	}
}

func TestReportFindingsPassesWarnings(t *testing.T) {
	t.Parallel()
	logger, hook := logtest.NewNullLogger()
	var out bytes.Buffer
	err := reportFindings([]conformance.Finding{{Severity: conformance.Warning, Rule: conformance.RuleDockerignore, Path: ".dockerignore", Message: "m", Fix: "f"}},
		actions.Runner{Getenv: func(string) string { return "" }, Out: &out}, logrus.NewEntry(logger))
	if err != nil || out.Len() != 0 {
		t.Errorf("error %v, annotations %q outside Actions; want none", err, out.String())
	}
	if last := hook.LastEntry(); last == nil || !strings.Contains(last.Message, "(1 warning)") {
		t.Errorf("last entry %v, want the summary", last)
	}
}

func TestRepositoryPath(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, workspace, want string
	}{
		{"/w/svc/Dockerfile", "/w", "svc/Dockerfile"},
		{".dockerignore", filepath.Dir(wd), filepath.Base(wd) + "/.dockerignore"},
		{"/elsewhere/Dockerfile", "/w", ""},
		{conformance.EmbeddedDockerfile, "/w", ""},
		{"/w/Dockerfile", "", ""},
	}
	for _, tt := range tests {
		if got := repositoryPath(tt.path, tt.workspace); got != tt.want {
			t.Errorf("repositoryPath(%q, %q) = %q, want %q", tt.path, tt.workspace, got, tt.want)
		}
	}
}
