package magetools_test

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/workflow"
)

// planJSON is the documented shape of `mage plan -json`.
type planJSON struct {
	Event   string `json:"event"`
	Version string `json:"version"`
	Push    bool   `json:"push"`
	Images  []struct {
		Target    string   `json:"target"`
		Platforms []string `json:"platforms"`
		Tags      []string `json:"tags"`
	} `json:"images"`
}

// TestConsumer adopts Gantry in a fresh service module as the README says
// and runs its targets under recorded GitHub Actions events.
func TestConsumer(t *testing.T) {
	svc := testsvc.New(t, "github.com/Acme/Widget")
	head := svc.Git(t, "rev-parse", "HEAD")
	short := head[:7]

	t.Run("targets are listed with their docs and no helpers", func(t *testing.T) {
		res := svc.Mage(t, nil, "-l")
		if res.Code != 0 {
			t.Fatalf("mage -l: exit %d", res.Code)
		}
		for _, target := range []string{"build", "buildDev", "check", "image", "imageDev", "publish", "release", "ci", "plan", "verify"} {
			if !regexp.MustCompile(`(?m)^  ` + target + ` +\S.*$`).MatchString(res.Stdout) {
				t.Errorf("target %s missing or undocumented in:\n%s", target, res.Stdout)
			}
		}
		if n := len(regexp.MustCompile(`(?m)^  \S`).FindAllString(res.Stdout, -1)); n != 10 {
			t.Errorf("%d targets listed, want exactly 10 (helpers leak?):\n%s", n, res.Stdout)
		}
	})

	events := []struct {
		name    string
		event   testsvc.Event
		push    bool
		version string
		want    map[string][]string // target -> tags
		plats   []string
	}{
		{name: "push to main", event: testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "Acme/Widget"},
			push: true, version: "main-" + short, plats: []string{"linux/amd64", "linux/arm64"},
			want: map[string][]string{
				"prod": {"ghcr.io/acme/widget:" + short, "ghcr.io/acme/widget:main"},
				"dev":  {"ghcr.io/acme/widget:" + short + "-dev", "ghcr.io/acme/widget:main-dev"},
			}},
		{name: "tag v1.2.3", event: testsvc.Event{Name: "push", Ref: "refs/tags/v1.2.3", SHA: head, Repository: "Acme/Widget"},
			push: true, version: "1.2.3", plats: []string{"linux/amd64", "linux/arm64"},
			want: map[string][]string{"prod": {"ghcr.io/acme/widget:1.2.3"}}},
		{name: "pull request from a fork", event: testsvc.Event{Name: "pull_request", Ref: "refs/pull/9/merge", SHA: strings.Repeat("f", 40), Repository: "Acme/Widget",
			Payload: testsvc.PullRequestPayload(9, head, "feature/x", "Someone/Widget", "Acme/Widget")},
			version: "pr-9-" + short, plats: []string{"linux/amd64"},
			want: map[string][]string{"prod": {}, "dev": {}}},
		{name: "schedule", event: testsvc.Event{Name: "schedule", Ref: "refs/heads/main", SHA: head, Repository: "Acme/Widget"},
			version: "main-" + short, want: map[string][]string{}},
	}
	for _, tt := range events {
		t.Run("plan -json: "+tt.name, func(t *testing.T) {
			res := svc.Mage(t, tt.event.Env(t), "plan", "-json")
			if res.Code != 0 {
				t.Fatalf("exit %d", res.Code)
			}
			var got planJSON
			if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
				t.Fatalf("stdout is not only JSON: %v\n%s", err, res.Stdout)
			}
			if got.Push != tt.push || got.Version != tt.version || len(got.Images) != len(tt.want) {
				t.Fatalf("push %t version %q images %d; want %t %q %d\n%s", got.Push, got.Version, len(got.Images), tt.push, tt.version, len(tt.want), res.Stdout)
			}
			for _, img := range got.Images {
				if !slices.Equal(img.Tags, tt.want[img.Target]) || !slices.Equal(img.Platforms, tt.plats) {
					t.Errorf("%s: tags %v platforms %v; want %v %v", img.Target, img.Tags, img.Platforms, tt.want[img.Target], tt.plats)
				}
			}
		})
	}

	t.Run("invalid release tag: plan reports it, ci refuses it and names the fix", func(t *testing.T) {
		ev := testsvc.Event{Name: "push", Ref: "refs/tags/v1.2", SHA: head, Repository: "Acme/Widget"}
		res := svc.Mage(t, ev.Env(t), "plan", "-json")
		var got struct {
			Push    bool   `json:"push"`
			Problem string `json:"problem"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil || res.Code != 0 || got.Push || !strings.Contains(got.Problem, `tag "v1.2" is not a release version`) {
			t.Fatalf("plan: exit %d, %v, stdout %q", res.Code, err, res.Stdout)
		}
		res = svc.Mage(t, ev.Env(t), "ci")
		if res.Code == 0 || !strings.Contains(res.Stderr, `tag "v1.2" is not a release version`) || !strings.Contains(res.Stderr, "push a valid one") {
			t.Fatalf("ci: exit %d, stderr %q", res.Code, res.Stderr)
		}
	})

	t.Run("a stray local v tag blocks only a release", func(t *testing.T) {
		svc.Git(t, "tag", "vnext-wip")
		defer svc.Git(t, "tag", "-d", "vnext-wip")
		for _, target := range []string{"plan", "build"} {
			if res := svc.Mage(t, nil, target); res.Code != 0 || !strings.Contains(res.Stderr, "vnext-wip") || !strings.Contains(res.Stderr, "is not a release version") {
				t.Errorf("%s: exit %d, want 0 and the tag reported:\n%s", target, res.Code, res.Stderr)
			}
		}
		if res := svc.Mage(t, nil, "release"); res.Code == 0 || !strings.Contains(res.Stderr, "delete the tag and push a valid one") {
			t.Errorf("release: exit %d, want a refusal naming the fix:\n%s", res.Code, res.Stderr)
		}
	})

	t.Run("a service not on GitHub builds without an image; plan asks for one", func(t *testing.T) {
		solo := testsvc.New(t, "example.com/solo")
		if res := solo.Mage(t, nil, "build"); res.Code != 0 {
			t.Fatalf("build: exit %d\n%s", res.Code, res.Stderr)
		}
		if _, err := os.Stat(filepath.Join(solo.Dir, "bin", "gantry", "solo")); err != nil {
			t.Errorf("build wrote no bin/gantry/solo: %v", err)
		}
		if res := solo.Mage(t, nil, "plan"); res.Code == 0 || !strings.Contains(res.Stderr, "set GANTRY_IMAGE") {
			t.Errorf("plan: exit %d, want a refusal naming GANTRY_IMAGE:\n%s", res.Code, res.Stderr)
		}
	})

	t.Run("environment overrides", func(t *testing.T) {
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "Acme/Widget"}
		env := testsvc.Merge(ev.Env(t), map[string]string{"GANTRY_IMAGE": "registry.example.com/Team/W", "GANTRY_PLATFORMS": "linux/arm64"})
		res := svc.Mage(t, env, "plan", "-json")
		var got planJSON
		if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil || len(got.Images) != 2 {
			t.Fatalf("exit %d: %v\n%s", res.Code, err, res.Stdout)
		}
		if got.Images[0].Tags[1] != "registry.example.com/team/w:main" || !slices.Equal(got.Images[0].Platforms, []string{"linux/arm64"}) {
			t.Errorf("got %+v", got.Images[0])
		}
	})

	t.Run("local plan reads the git checkout", func(t *testing.T) {
		res := svc.Mage(t, nil, "plan")
		if res.Code != 0 || !strings.Contains(res.Stdout, "version: main-"+short) || !strings.Contains(res.Stdout, "ghcr.io/acme/widget:main-dev") {
			t.Errorf("exit %d:\n%s", res.Code, res.Stdout)
		}
	})

	t.Run("a compiled file git status does not show makes the version -dirty", func(t *testing.T) {
		main, err := os.ReadFile(filepath.Join(svc.Dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		svc.Write(t, "main.go", string(main)+"\nfunc init() { println(\"not in the commit\") }\n")
		svc.Git(t, "update-index", "--assume-unchanged", "main.go")
		t.Cleanup(func() {
			svc.Git(t, "update-index", "--no-assume-unchanged", "main.go")
			svc.Git(t, "checkout", "--", "main.go")
		})
		if status := svc.Git(t, "status", "--porcelain"); status != "" {
			t.Fatalf("git status shows %q; the test needs it to show nothing", status)
		}
		res := svc.Mage(t, nil, "plan")
		if res.Code != 0 || !strings.Contains(res.Stdout, "version: main-"+short+"-dirty") || !strings.Contains(res.Stderr, "main.go (differs from the commit)") {
			t.Errorf("exit %d:\n%s\n%s", res.Code, res.Stdout, res.Stderr)
		}
	})

	t.Run("build stamps the version", func(t *testing.T) {
		res := svc.Mage(t, nil, "build")
		if res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		out := run(t, svc.Dir+"/bin/gantry/widget", "-version")
		if !strings.HasPrefix(out, "main-"+short+" "+head+" ") {
			t.Errorf("bin/gantry/widget -version = %q", out)
		}
	})

	t.Run("GANTRY_GOOS and GANTRY_GOARCH choose the platform of build", func(t *testing.T) {
		goarch := "arm64"
		if runtime.GOARCH == "arm64" {
			goarch = "amd64"
		}
		res := svc.Mage(t, map[string]string{"GANTRY_GOOS": "linux", "GANTRY_GOARCH": goarch}, "build")
		if res.Code != 0 {
			t.Fatalf("exit %d:\n%s", res.Code, res.Stderr)
		}
		if _, err := os.Stat(filepath.Join(svc.Dir, "bin", "gantry", "widget-linux-"+goarch)); err != nil {
			t.Errorf("no bin/gantry/widget-linux-%s: %v", goarch, err)
		}
	})

	t.Run("GOARCH retargets mage, not the build", func(t *testing.T) {
		// GOARCH=arm64 go tool mage builds an arm64 mage, which runs on an
		// amd64 host only under binfmt (QEMU); the build must still be
		// the host's, in bin/gantry/widget.
		if runtime.GOARCH != "amd64" {
			t.Skip("needs an amd64 host")
		}
		if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err != nil {
			t.Skip("needs arm64 emulation registered with binfmt_misc (qemu-aarch64)")
		}
		res := svc.Mage(t, map[string]string{"GOARCH": "arm64"}, "build")
		if res.Code != 0 {
			t.Fatalf("exit %d:\n%s", res.Code, res.Stderr)
		}
		f, err := elf.Open(filepath.Join(svc.Dir, "bin", "gantry", "widget"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Machine != elf.EM_X86_64 {
			t.Errorf("bin/gantry/widget is built for %s, want the host's x86-64", f.Machine)
		}
	})

	t.Run("a failing command keeps its exit code", func(t *testing.T) {
		// Build runs the go found on PATH: make it one that exits 3. `go
		// tool` puts the real go first on PATH, so run a compiled magefile.
		bin := t.TempDir()
		if res := svc.Mage(t, nil, "-compile", filepath.Join(bin, "mage")); res.Code != 0 {
			t.Fatalf("mage -compile: exit %d", res.Code)
		}
		if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho failing go >&2\nexit 3\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH")}
		res := svc.Exec(t, env, filepath.Join(bin, "mage"), "build")
		if res.Code != 3 || !strings.Contains(res.Stderr, "failing go") {
			t.Errorf("exit %d, want the command's 3", res.Code)
		}
	})

	// Last: it changes files, which makes the tree dirty.
	t.Run("check passes an adopted service, fails on errors, passes warnings", func(t *testing.T) {
		if res := svc.Mage(t, nil, "check"); res.Code != 0 || strings.Contains(res.Stderr, "level=warning") {
			t.Fatalf("the service gantry init adopted: exit %d, want 0 and no warning", res.Code)
		}
		workflowFile := filepath.Join(svc.Dir, workflow.Path)
		if err := os.Remove(workflowFile); err != nil {
			t.Fatal(err)
		}
		res := svc.Mage(t, nil, "check")
		if res.Code == 0 || !strings.Contains(res.Stderr, "the Container workflow is missing") || !strings.Contains(res.Stderr, "rule=workflow-missing") {
			t.Fatalf("without the workflow: exit %d", res.Code)
		}
		svc.Write(t, workflow.Path, string(workflow.PublishGHCR))
		if err := os.Remove(filepath.Join(svc.Dir, ".dockerignore")); err != nil {
			t.Fatal(err)
		}
		res = svc.Mage(t, nil, "check")
		if res.Code != 0 || !strings.Contains(res.Stderr, "level=warning") || !strings.Contains(res.Stderr, "rule=dockerignore") {
			t.Errorf("with only the .dockerignore warning: exit %d", res.Code)
		}
	})
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out)
}
