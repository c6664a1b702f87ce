package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/magetools/config"
)

// services returns the plans of ev for a repository of two services, api
// and worker, as the targets make them.
func services(t *testing.T, ev event.Context) []Plan {
	t.Helper()
	cfg := config.Config{Services: []config.Service{{Name: "api"}, {Name: "worker"}}}
	cfgs, err := cfg.ResolveServices(func(string) (string, bool) { return "", false },
		config.Facts{Dir: t.TempDir(), ModulePath: "github.com/acme/mono", OwnerRepo: "acme/mono", HostGOOS: "linux", HostGOARCH: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	var plans []Plan
	for _, c := range cfgs {
		p, err := Make(ev, c)
		if err != nil {
			t.Fatal(err)
		}
		p.Service = c.Service
		plans = append(plans, p)
	}
	return plans
}

func TestServicesPlans(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		ev      event.Context
		skip    bool
		want    []string // in the table
		notWant []string
	}{
		{"push to main: each under its own image", push("main"), false,
			[]string{"service: api", "ghcr.io/acme/mono/api:0123456", "service: worker", "ghcr.io/acme/mono/worker:main-dev"}, nil},
		{"push to main, worker unchanged", push("main"), true,
			[]string{"ghcr.io/acme/mono/api:main", "service: worker", "skipped: nothing changed"},
			[]string{"ghcr.io/acme/mono/worker:"}},
		{"pull request: both built", pr(7), false, []string{"service: worker", "(build only)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plans := services(t, tc.ev)
			if tc.skip {
				plans[1] = plans[1].Skip("nothing changed")
			}
			var b strings.Builder
			if err := WriteTables(&b, plans); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("tables lack %q:\n%s", w, b.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("tables hold %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestSkip(t *testing.T) {
	t.Parallel()
	p := services(t, push("main"))[1].Skip("nothing it is built from changed")
	if p.Push || len(p.Images) != 0 || p.Skipped == "" || p.Service != "worker" || p.Commit != sha {
		t.Errorf("Skip gave %+v", p)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"service":"worker"`, `"skipped":"nothing it is built from changed"`, `"images":[]`} {
		if !strings.Contains(string(out), w) {
			t.Errorf("JSON %s lacks %s", out, w)
		}
	}
	// One service's plan says nothing of services.
	if out, _ := json.Marshal(mustMake(t)); strings.Contains(string(out), "service") || strings.Contains(string(out), "skipped") {
		t.Errorf("a single service's plan has new fields: %s", out)
	}
}

func mustMake(t *testing.T) Plan {
	p, err := Make(push("main"), resolved(t, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
