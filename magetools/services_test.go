package magetools

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/gittest"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/magetools/config"
)

func TestMergeFindings(t *testing.T) {
	t.Parallel()
	workflow := conformance.Finding{Rule: "workflow", Path: ".github/workflows/publish-ghcr.yml", Message: "no concurrency group"}
	stamp := conformance.Finding{Rule: "stamp", Path: "cmd/api", Message: "-X main.version sets nothing"}
	got := mergeFindings([]string{"api", "worker"}, [][]conformance.Finding{{workflow, stamp}, {workflow}})
	want := []conformance.Finding{workflow, stamp}
	want[1].Message = "service api: -X main.version sets nothing"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeFindings = %+v, want %+v", got, want)
	}
}

// monorepo commits a module of two services, api and worker, on main,
// and configures them; it returns the directory and the image base.
func monorepo(t *testing.T) (dir, base string) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	const date = "2024-01-02T03:04:05+00:00"
	dir = gittest.NewRepo(t)
	for _, d := range []string{"cmd/api", "cmd/worker"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gittest.Commit(t, dir, "go.mod", "module github.com/acme/mono\n\ngo 1.22\n", date)
	gittest.Commit(t, dir, "cmd/api/main.go", "package main\n\nfunc main() {}\n", date)
	gittest.Commit(t, dir, "cmd/worker/main.go", "package main\n\nfunc main() {}\n", date)
	host, _ := registrytest.NewRegistry(t)
	base = host + "/acme/mono"
	t.Setenv("GANTRY_DIR", dir)
	t.Setenv("GANTRY_IMAGE", base)
	for _, v := range []string{"GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REF", "GITHUB_SHA", "GANTRY_SERVICES"} {
		t.Setenv(v, "")
	}
	saved := Config
	Config = config.Config{Services: []config.Service{{Name: "api"}, {Name: "worker"}}}
	t.Cleanup(func() { Config = saved })
	return dir, base
}

// TestReadSessionsAffectedOnly: a push to main plans every service whose
// inputs differ from its moving tags' images, and skips the others.
func TestReadSessionsAffectedOnly(t *testing.T) {
	_, base := monorepo(t)
	read := func() []session {
		t.Helper()
		_, sessions, err := loadPlans(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return sessions
	}
	first := read()
	if len(first) != 2 || first[0].plan.Service != "api" || first[1].cfg.Image != base+"/worker" {
		t.Fatalf("sessions %+v", first)
	}
	for _, s := range first {
		if s.plan.Skipped != "" || !s.plan.Push || !strings.HasPrefix(s.plan.Inputs, "sha256:") {
			t.Errorf("%s on a first publish: %+v", s.cfg.Service, s.plan)
		}
	}
	if first[0].plan.Inputs == first[1].plan.Inputs {
		t.Error("api and worker have one inputs digest")
	}
	// worker's moving tags name an image of the same inputs (an older
	// commit); api's an image of other inputs.
	worker := first[1].plan
	registrytest.PushLabelled(t, base+"/worker:main", "0123456789abcdef0123456789abcdef01234567", registry.InputsLabel, worker.Inputs)
	registrytest.PushLabelled(t, base+"/worker:main-dev", "0123456789abcdef0123456789abcdef01234567", registry.InputsLabel, worker.Inputs)
	registrytest.PushLabelled(t, base+"/api:main", "0123456789abcdef0123456789abcdef01234567", registry.InputsLabel, "sha256:other")
	registrytest.PushLabelled(t, base+"/api:main-dev", "0123456789abcdef0123456789abcdef01234567", registry.InputsLabel, "sha256:other")
	second := read()
	if p := second[0].plan; p.Skipped != "" || len(p.Images) != 2 {
		t.Errorf("api, whose inputs differ, is not built: %+v", p)
	}
	if p := second[1].plan; !strings.Contains(p.Skipped, "nothing it is built from changed since "+base+"/worker:main (commit 0123456789ab)") || len(p.Images) != 0 || p.Push {
		t.Errorf("worker, unchanged, is not skipped: %+v", p)
	}
	t.Setenv("GANTRY_BUILD_ALL", "true")
	if p := read()[1].plan; p.Skipped != "" || p.Inputs != worker.Inputs {
		t.Errorf("BuildAll: worker %+v", p)
	}
}

func TestOneServiceTargetsRefuseSeveral(t *testing.T) {
	monorepo(t)
	_, _, err := load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "2 services (api, worker)") || !strings.Contains(err.Error(), "GANTRY_SERVICES=api") {
		t.Fatalf("load: %v", err)
	}
	t.Setenv("GANTRY_SERVICES", "worker")
	_, s, err := load(context.Background())
	if err != nil || s.cfg.Service != "worker" || s.cfg.MainPackage != "./cmd/worker" {
		t.Errorf("load with GANTRY_SERVICES=worker: %+v, %v", s.cfg, err)
	}
}
