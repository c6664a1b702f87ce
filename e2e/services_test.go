package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/testsvc"
)

// worker is the second service of TestSeveralServices: it stamps as the
// example service does (main.version, main.commit, main.date), since the
// stamps init decides from the first service are shared.
const worker = `package main

import "fmt"

var version, commit, date string

func main() { fmt.Println("worker", version, commit, date) }
`

// TestSeveralServices adopts Gantry in a repository of two services
// (./cmd/api, ./cmd/worker) with gantry init, publishes both with one
// mage ci, then publishes a commit that changes the worker only: the
// worker alone is rebuilt and tagged, and the plan says why api is not.
func TestSeveralServices(t *testing.T) {
	root := testsvc.Root(t)
	api, err := os.ReadFile(filepath.Join(root, "examples/hello/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &testsvc.Service{Dir: t.TempDir()}
	svc.Write(t, "cmd/api/main.go", string(api))
	svc.Write(t, "cmd/worker/main.go", worker)
	svc.Write(t, ".gitignore", "bin/\n")
	svc.Write(t, "go.mod", "module github.com/acme/mono\n\ngo 1.26\n")
	svc.Git(t, "init", "-q", "-b", "main")
	if report := svc.Init(t); !strings.Contains(report, "decided services ./cmd/api ./cmd/worker") {
		t.Fatalf("gantry init did not lay out two services:\n%s", report)
	}
	first := svc.Commit(t, "two services")
	base := env.Registry + "/" + run + "/mono"
	// One platform: what is proved is which services build, not how.
	gantryEnv := testsvc.Merge(env.GantryEnv(base), map[string]string{"GANTRY_PLATFORMS": "linux/amd64"})
	push := func(sha string) testsvc.Result {
		t.Helper()
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: sha, Repository: "acme/mono"}
		return svc.Mage(t, testsvc.Merge(gantryEnv, ev.Env(t)), "ci")
	}

	if !t.Run("the first push publishes both", func(t *testing.T) {
		res := push(first)
		if res.Code != 0 {
			t.Fatalf("mage ci: exit %d\n%s", res.Code, res.Stderr)
		}
		for _, name := range []string{"api", "worker"} {
			want := []string{first[:7], first[:7] + "-dev", "main", "main-dev"}
			if got := tags(t, base+"/"+name); !slices.Equal(got, want) {
				t.Errorf("%s: tags %v, want %v", name, got, want)
			}
		}
	}) {
		t.FailNow()
	}
	_, apiMain := index(t, base+"/api:main")
	_, workerMain := index(t, base+"/worker:main")

	svc.Write(t, "cmd/worker/main.go", strings.Replace(worker, `"worker"`, `"worker, changed"`, 1))
	second := svc.Commit(t, "change the worker only")

	t.Run("the plan says api is skipped, and why", func(t *testing.T) {
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: second, Repository: "acme/mono"}
		res := svc.Mage(t, testsvc.Merge(gantryEnv, ev.Env(t)), "plan")
		if res.Code != 0 {
			t.Fatalf("mage plan: exit %d\n%s", res.Code, res.Stderr)
		}
		for _, want := range []string{"service: api", "skipped: nothing it is built from changed since " + base + "/api:main (commit " + first[:12] + ")",
			"service: worker", base + "/worker:" + second[:7]} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("plan lacks %q:\n%s", want, res.Stdout)
			}
		}
	})

	t.Run("a change to the worker publishes the worker only", func(t *testing.T) {
		res := push(second)
		if res.Code != 0 {
			t.Fatalf("mage ci: exit %d\n%s", res.Code, res.Stderr)
		}
		if got, want := tags(t, base+"/api"), []string{first[:7], first[:7] + "-dev", "main", "main-dev"}; !slices.Equal(got, want) {
			t.Errorf("api: tags %v, want %v (no tag of the second commit)", got, want)
		}
		if _, d := index(t, base+"/api:main"); d != apiMain {
			t.Errorf("api:main moved from %s to %s", apiMain, d)
		}
		if _, d := index(t, base+"/worker:main"); d == workerMain || !slices.Contains(tags(t, base+"/worker"), second[:7]) {
			t.Errorf("worker:main is still %s, tags %v", d, tags(t, base+"/worker"))
		}
		if !strings.Contains(res.Stderr, "skipped: nothing it is built from changed since "+base+"/api:main") || strings.Count(res.Stderr, "::group::build") > 2 {
			t.Errorf("the run does not say api is not rebuilt, or built more than the worker's two images:\n%s", res.Stderr)
		}
	})
}
