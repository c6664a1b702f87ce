package actions

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runner returns a Runner over env, its stdout, and the paths of the
// summary and output files it writes to (set in env when inActions).
func runner(t *testing.T, inActions bool) (Runner, *bytes.Buffer, string, string) {
	t.Helper()
	dir := t.TempDir()
	summary, output := filepath.Join(dir, "summary.md"), filepath.Join(dir, "output")
	env := map[string]string{"GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": output}
	if inActions {
		env["GITHUB_ACTIONS"] = "true"
	}
	var out bytes.Buffer
	return Runner{Getenv: func(k string) string { return env[k] }, Out: &out}, &out, summary, output
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(Runner)
		want string
	}{
		{"group", func(r Runner) { r.StartGroup("build prod"); r.EndGroup() }, "::group::build prod\n::endgroup::\n"},
		{"group name escaped", func(r Runner) { r.StartGroup("a\nb") }, "::group::a%0Ab\n"},
		{"error", func(r Runner) { r.Error("publish", errors.New("push failed")) }, "::error title=publish::push failed\n"},
		{"error escaped", func(r Runner) { r.Error("build: prod, dev", errors.New("100%\r\ndone: yes, really")) },
			"::error title=build%3A prod%2C dev::100%25%0D%0Adone: yes, really\n"},
		{"annotation on a line", func(r Runner) {
			r.Annotate(Annotation{Level: "error", File: "svc/Dockerfile", Line: 3, Title: "mage check: prod-user", Message: "runs as root"})
		}, "::error file=svc/Dockerfile,line=3,title=mage check%3A prod-user::runs as root\n"},
		{"warning on a file", func(r Runner) {
			r.Annotate(Annotation{Level: "warning", File: ".dockerignore", Title: "t", Message: "m"})
		}, "::warning file=.dockerignore,title=t::m\n"},
		{"annotation without a file ignores the line", func(r Runner) {
			r.Annotate(Annotation{Level: "error", Line: 3, Title: "t", Message: "m"})
		}, "::error title=t::m\n"},
		{"mask", func(r Runner) { r.AddMask("s3cr%t") }, "::add-mask::s3cr%25t\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, out, _, _ := runner(t, true)
			tt.do(r)
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
		t.Run(tt.name+" outside Actions", func(t *testing.T) {
			r, out, _, _ := runner(t, false)
			tt.do(r)
			if out.Len() != 0 {
				t.Errorf("printed %q outside Actions", out.String())
			}
		})
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, command string
		props         map[string]string
		message       string
		want          string
	}{
		{"no message", "endgroup", nil, "", "::endgroup::\n"},
		{"properties in name order", "error", map[string]string{"title": "t", "file": "a,b.go", "line": "3"}, "m", "::error file=a%2Cb.go,line=3,title=t::m\n"},
		{"percent escaped first", "notice", nil, "%0A", "::notice::%250A\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Command(tt.command, tt.props, tt.message); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

var pushed = []Image{
	{Target: "prod", Platforms: []string{"linux/amd64", "linux/arm64"}, Tags: []string{"ghcr.io/acme/widget:abc1234", "ghcr.io/acme/widget:main"}, Digest: "sha256:1111"},
	{Target: "dev", Platforms: []string{"linux/amd64", "linux/arm64"}, Tags: []string{"ghcr.io/acme/widget:abc1234-dev", "ghcr.io/acme/widget:main-dev"}, Digest: "sha256:2222"},
}

func TestSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		event   string
		version string
		images  []Image
		want    []string
		notWant []string
	}{
		{name: "publish", event: "branch", version: "main-abc1234", images: pushed, want: []string{
			"### Container images: branch, version main-abc1234\n",
			"| target | platforms | tags | digest |\n|---|---|---|---|\n",
			"| prod | linux/amd64, linux/arm64 | `ghcr.io/acme/widget:abc1234`<br>`ghcr.io/acme/widget:main` | `sha256:1111` |\n",
			"| dev | linux/amd64, linux/arm64 | `ghcr.io/acme/widget:abc1234-dev`<br>`ghcr.io/acme/widget:main-dev` | `sha256:2222` |\n",
			"```sh\ndocker pull ghcr.io/acme/widget@sha256:1111\ndocker pull ghcr.io/acme/widget@sha256:2222\n```\n",
		}},
		{name: "verified", event: "branch", version: "main-abc1234",
			images: []Image{{Target: "prod", Platforms: []string{"linux/amd64"}, Tags: []string{"ghcr.io/acme/widget:abc1234"}, Digest: "sha256:1111",
				Verified: []Check{
					{What: "signature", Detail: "signed by key 1a2b for refs/heads/main", Command: "cosign verify --key cosign.pub ghcr.io/acme/widget@sha256:1111"},
					{What: "provenance", Detail: "built from https://github.com/acme/widget", Command: "cosign verify-attestation --type slsaprovenance1 --key cosign.pub ghcr.io/acme/widget@sha256:1111"},
				}}},
			want: []string{
				"#### Verified: prod `sha256:1111`\n\n- signature: signed by key 1a2b for refs/heads/main\n- provenance: built from https://github.com/acme/widget\n",
				"To repeat these checks:\n\n```sh\ncosign verify --key cosign.pub ghcr.io/acme/widget@sha256:1111\ncosign verify-attestation --type slsaprovenance1 --key cosign.pub ghcr.io/acme/widget@sha256:1111\n```\n",
			}},
		{name: "pull request pushes nothing", event: "pull_request", version: "pr-9-abc1234",
			images:  []Image{{Target: "prod", Platforms: []string{"linux/amd64"}}},
			want:    []string{"| prod | linux/amd64 |  | not pushed |\n"},
			notWant: []string{"docker pull", "Verified"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, _, summary, _ := runner(t, true)
			if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := r.AppendSummary(tt.event, tt.version, tt.images); err != nil {
				t.Fatal(err)
			}
			got := readFile(t, summary)
			if !strings.HasPrefix(got, "earlier step\n### ") {
				t.Errorf("summary not appended:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("summary has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	r, _, _, output := runner(t, true)
	if err := r.WriteOutputs(pushed); err != nil {
		t.Fatal(err)
	}
	want := "prod-digest=sha256:1111\nprod-tags=ghcr.io/acme/widget:abc1234,ghcr.io/acme/widget:main\n" +
		"dev-digest=sha256:2222\ndev-tags=ghcr.io/acme/widget:abc1234-dev,ghcr.io/acme/widget:main-dev\n"
	if got := readFile(t, output); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value, delimiter string
		want, wantErr          string
	}{
		{name: "one line", value: "sha256:1", delimiter: "EOF", want: "x=sha256:1\n"},
		{name: "empty", value: "", delimiter: "EOF", want: "x=\n"},
		{name: "several lines", value: "a\nb", delimiter: "EOF", want: "x<<EOF\na\nb\nEOF\n"},
		{name: "carriage return", value: "a\rb", delimiter: "EOF", want: "x<<EOF\na\rb\nEOF\n"},
		{name: "delimiter in value", value: "a\nEOF\nb", delimiter: "EOF", wantErr: "contains its delimiter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Output("x", tt.value, tt.delimiter)
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

func TestNewDelimiterIsFresh(t *testing.T) {
	t.Parallel()
	a, b := newDelimiter(), newDelimiter()
	if a == b || !strings.HasPrefix(a, "ghadelimiter_") {
		t.Errorf("delimiters %q and %q", a, b)
	}
}

func TestFilesOutsideActions(t *testing.T) {
	t.Parallel()
	r, _, summary, output := runner(t, false)
	if err := r.AppendSummary("branch", "main-abc1234", pushed); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteOutputs(pushed); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{summary, output} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s written outside Actions", path)
		}
	}
}

func TestFileErrorNamesTheFix(t *testing.T) {
	t.Parallel()
	r, _, _, _ := runner(t, true)
	r.Getenv = func(k string) string {
		return map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "missing", "output")}[k]
	}
	err := r.WriteOutputs(pushed)
	if err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") || !strings.Contains(err.Error(), "check that") {
		t.Errorf("err %v", err)
	}
}
