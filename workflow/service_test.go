package workflow

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

func TestPathFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ dir, service, want string }{
		{".", "api", Path},
		{"", "api", Path},
		{"services/api", "api", ".github/workflows/publish-ghcr-api.yml"},
		{"go", "billing-worker", ".github/workflows/publish-ghcr-billing-worker.yml"},
	} {
		if got := PathFor(tt.dir, tt.service); got != tt.want {
			t.Errorf("PathFor(%q, %q) = %q, want %q", tt.dir, tt.service, got, tt.want)
		}
	}
}

func TestForServiceAtTheRoot(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{".", ""} {
		got, err := ForService("master", dir, "api")
		want, _ := ForBranch("master")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ForService(master, %q) is not ForBranch(master): %v", dir, err)
		}
	}
}

// TestForServiceInASubdirectory: the workflow of a service in a
// subdirectory runs its steps there, runs for its changes alone, sets up
// Go from its go.mod, keeps its runs apart from other services', and
// passes actionlint.
func TestForServiceInASubdirectory(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ dir, pattern string }{
		{"services/api", "services/api/**"},
		{"c++/api", `c\+\+/api/**`},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			content, err := ForService("master", tt.dir, "api")
			if err != nil {
				t.Fatal(err)
			}
			errs, err := newLinter(t, &bytes.Buffer{}).Lint("publish-ghcr-api.yml", content, nil)
			if err != nil || len(errs) > 0 {
				t.Fatalf("actionlint: %v %v\n%s", err, errs, content)
			}
			wf, _ := actionlint.Parse(content)
			filters := map[string][]string{}
			for _, ev := range wf.On {
				if hook, ok := ev.(*actionlint.WebhookEvent); ok && hook.Paths != nil {
					for _, p := range hook.Paths.Values {
						filters[hook.EventName()] = append(filters[hook.EventName()], p.Value)
					}
				}
				if hook, ok := ev.(*actionlint.WebhookEvent); ok && hook.EventName() == "push" && (hook.Branches == nil || hook.Branches.Values[0].Value != "master") {
					t.Errorf("push runs for branches %v, want [master]", hook.Branches)
				}
			}
			wantPaths := []string{tt.pattern, ".github/workflows/publish-ghcr-api.yml"}
			for _, event := range []string{"push", "pull_request"} {
				if !slices.Equal(filters[event], wantPaths) {
					t.Errorf("%s paths %q, want %q", event, filters[event], wantPaths)
				}
			}
			if got := wf.Concurrency.Group.Value; got != "container-api-${{ github.ref }}" {
				t.Errorf("concurrency group %q, want one naming the service", got)
			}
			for id, job := range wf.Jobs {
				if job.Defaults == nil || job.Defaults.Run == nil || job.Defaults.Run.WorkingDirectory == nil || job.Defaults.Run.WorkingDirectory.Value != tt.dir {
					t.Errorf("job %s does not run in %s", id, tt.dir)
				}
				for _, step := range job.Steps {
					exec, ok := step.Exec.(*actionlint.ExecAction)
					if !ok || !strings.HasPrefix(exec.Uses.Value, "actions/setup-go@") {
						continue
					}
					if got := exec.Inputs["go-version-file"].Value.Value; got != tt.dir+"/go.mod" {
						t.Errorf("job %s: go-version-file %q", id, got)
					}
					if got := exec.Inputs["cache-dependency-path"].Value.Value; got != tt.dir+"/**/go.sum" {
						t.Errorf("job %s: cache-dependency-path %q", id, got)
					}
				}
			}
		})
	}
}

func TestForServiceRefusesADirectoryOutside(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"../api", "/srv/api", "services/../api", "a\nb", "services/api/"} {
		if _, err := ForService("main", dir, "api"); err == nil {
			t.Errorf("ForService(main, %q): want an error", dir)
		}
	}
}
