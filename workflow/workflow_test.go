package workflow

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// repoWorkflow is the repository's own workflow, the original of the template.
var repoWorkflow = filepath.Join("..", Path)

func TestTemplateIsTheRepositoryWorkflow(t *testing.T) {
	original, err := os.ReadFile(repoWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(PublishGHCR, original) {
		t.Fatalf("workflow/publish-ghcr.yml differs from %s; copy it: cp %s workflow/publish-ghcr.yml", Path, Path)
	}
}

func TestActionlint(t *testing.T) {
	for _, path := range []string{"publish-ghcr.yml", repoWorkflow, "publish-ghcr-matrix.yml"} {
		t.Run(path, func(t *testing.T) {
			var out bytes.Buffer
			errs, err := newLinter(t, &out).LintFile(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) > 0 {
				t.Fatalf("actionlint found %d problems:\n%s", len(errs), out.String())
			}
		})
	}
}

// TestActionlintIsActive guards the test above against a linter that
// checks nothing: a broken workflow must fail.
func TestActionlintIsActive(t *testing.T) {
	broken := strings.Replace(string(PublishGHCR), "runs-on: ubuntu-latest", "runs-on: [ubuntu-latest]\n    timeout-minutes: soon", 1)
	errs, err := newLinter(t, &bytes.Buffer{}).Lint("broken.yml", []byte(broken), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Fatal("actionlint found nothing wrong with timeout-minutes: soon")
	}
}

// newLinter returns actionlint with its default options: shellcheck and
// pyflakes stay off because their executables are not configured.
func newLinter(t *testing.T, out *bytes.Buffer) *actionlint.Linter {
	t.Helper()
	l, err := actionlint.NewLinter(out, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestForBranch(t *testing.T) {
	same, err := ForBranch("main")
	if err != nil || !bytes.Equal(same, PublishGHCR) {
		t.Errorf("ForBranch(main) is not the template: %v", err)
	}
	master, err := ForBranch("master")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(string(PublishGHCR), "branches: [main]", `branches: ["master"]`, 1); string(master) != want {
		t.Errorf("ForBranch(master):\n%s", master)
	}
	errs, err := newLinter(t, &bytes.Buffer{}).Lint("master.yml", master, nil)
	if err != nil || len(errs) > 0 {
		t.Errorf("actionlint: %v %v", err, errs)
	}
	if _, err := ForBranch("a\nb"); err == nil {
		t.Error("a branch with a newline: want an error")
	}
}

// TestForBranchEscapes: a branch holding a filter pattern's special
// characters, or YAML's, is written as a quoted pattern that matches it
// alone, in a workflow actionlint accepts.
func TestForBranchEscapes(t *testing.T) {
	for _, tt := range []struct{ branch, line string }{
		{"c++", `branches: ["c\\+\\+"]`},
		{"!main", `branches: ["\\!main"]`},
		{"1.2.3+meta", `branches: ["1.2.3\\+meta"]`},
		{"feature]x", `branches: ["feature]x"]`},
		{"développement", `branches: ["développement"]`},
		{`say"hi"`, `branches: ["say\"hi\""]`},
		{"#1", `branches: ["#1"]`},
	} {
		got, err := ForBranch(tt.branch)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), "    "+tt.line+"\n") {
			t.Errorf("ForBranch(%q) lacks the line %s", tt.branch, tt.line)
		}
		errs, err := newLinter(t, &bytes.Buffer{}).Lint("branch.yml", got, nil)
		if err != nil || len(errs) > 0 {
			t.Errorf("ForBranch(%q): actionlint: %v %v", tt.branch, err, errs)
		}
	}
}

// TestIDTokenOnlyForPublishing: keyless signing makes the OIDC token an
// identity that signs images, so only the publish job, which runs for
// pushes alone, may request one; never the workflow as a whole, never the
// pull request job.
func TestIDTokenOnlyForPublishing(t *testing.T) {
	t.Parallel()
	wf, errs := actionlint.Parse(PublishGHCR)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	idToken := func(p *actionlint.Permissions) string {
		if p == nil {
			return "(inherited)"
		}
		if p.All != nil {
			return p.All.Value
		}
		if s, ok := p.Scopes["id-token"]; ok && s.Value != nil {
			return s.Value.Value
		}
		return "none"
	}
	if got := idToken(wf.Permissions); got != "none" {
		t.Errorf("the workflow's permissions give id-token %s; want none, granted in the publish job only", got)
	}
	want := map[string]string{"build": "none", "publish": "write"}
	for id, job := range wf.Jobs {
		if got := idToken(job.Permissions); got != want[id] {
			t.Errorf("job %s: id-token %s, want %s", id, got, want[id])
		}
	}
	if len(wf.Jobs) != len(want) {
		t.Errorf("the template has %d jobs, want %d: decide the new one's id-token here", len(wf.Jobs), len(want))
	}
	if publish := wf.Jobs["publish"]; publish == nil || publish.If == nil || publish.If.Value != "github.event_name == 'push'" {
		t.Error("the publish job, which holds id-token: write, does not run for pushes only")
	}
}

// TestMatrix: the matrix template publishes from a platform job per
// platform, each on a runner of its architecture, and a finalize job
// that needs them all; only the push jobs may push, only finalize signs.
func TestMatrix(t *testing.T) {
	t.Parallel()
	wf, errs := actionlint.Parse(Matrix)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	scope := func(p *actionlint.Permissions, name string) string {
		if p == nil {
			return "(inherited)"
		}
		if s, ok := p.Scopes[name]; ok && s.Value != nil {
			return s.Value.Value
		}
		return "none"
	}
	want := map[string][2]string{ // job -> packages, id-token
		"build":    {"none", "none"},
		"platform": {"write", "none"},
		"finalize": {"write", "write"},
	}
	if len(wf.Jobs) != len(want) {
		t.Errorf("the matrix template has %d jobs, want %d: decide the new one's permissions here", len(wf.Jobs), len(want))
	}
	for id, perms := range want {
		job := wf.Jobs[id]
		if job == nil {
			t.Fatalf("no job %s", id)
		}
		if got := [2]string{scope(job.Permissions, "packages"), scope(job.Permissions, "id-token")}; got != perms {
			t.Errorf("job %s: packages, id-token %q, want %q", id, got, perms)
		}
		if id != "build" && (job.If == nil || job.If.Value != "github.event_name == 'push'") {
			t.Errorf("job %s, which may push, does not run for pushes only", id)
		}
	}
	platform := wf.Jobs["platform"]
	var rows []string
	for _, row := range platform.Strategy.Matrix.Include.Combinations {
		rows = append(rows, row.Assigns["platform"].Value.(*actionlint.RawYAMLString).Value+" on "+row.Assigns["runner"].Value.(*actionlint.RawYAMLString).Value)
	}
	if got := strings.Join(rows, ", "); got != "linux/amd64 on ubuntu-24.04, linux/arm64 on ubuntu-24.04-arm" {
		t.Errorf("platform jobs: %s; want each platform on a native runner", got)
	}
	if env := platform.Env.Vars["gantry_shard"]; env == nil || env.Value.Value != "${{ matrix.platform }}" {
		t.Error("the platform job does not set GANTRY_SHARD to its platform")
	}
	finalize := wf.Jobs["finalize"]
	if len(finalize.Needs) != 1 || finalize.Needs[0].Value != "platform" {
		t.Error("finalize does not need the platform jobs")
	}
	if env := finalize.Env.Vars["gantry_shard"]; env == nil || env.Value.Value != "finalize" {
		t.Error("the finalize job does not set GANTRY_SHARD=finalize")
	}
	for _, want := range []string{"actions/upload-artifact@v4", "actions/download-artifact@v4", "merge-multiple: true", "pattern: gantry-shard-*", "${{ runner.temp }}/gantry-shards"} {
		if !strings.Contains(string(Matrix), want) {
			t.Errorf("the matrix template lacks %s", want)
		}
	}
	if root, err := MatrixForService("main", "."); err != nil || !bytes.Equal(root, Matrix) {
		t.Errorf("MatrixForService at the root: %v", err)
	}
	if _, err := MatrixForService("main", "services/api"); err == nil || !strings.Contains(err.Error(), "without -matrix") {
		t.Errorf("MatrixForService in a subdirectory: %v, want a refusal with the fix", err)
	}
	master, err := MatrixForBranch("master")
	if err != nil {
		t.Fatal(err)
	}
	if errs, err := newLinter(t, &bytes.Buffer{}).Lint("matrix-master.yml", master, nil); err != nil || len(errs) > 0 || !strings.Contains(string(master), `branches: ["master"]`) {
		t.Errorf("MatrixForBranch(master): %v %v", err, errs)
	}
}
