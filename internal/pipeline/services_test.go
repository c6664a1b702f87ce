package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/magetools/config"
)

// byService is the one builder of several services' runs: a fakeBuilder
// that can hold or fail the builds of one image repository (spec.Name).
type byService struct {
	*fakeBuilder
	hold func(ctx context.Context, name string) error
	fail string
}

func (b byService) Build(ctx context.Context, spec buildx.Build) (string, error) {
	b.journal.add("start %s %s", spec.Name[strings.LastIndex(spec.Name, "/")+1:], spec.Target)
	if b.hold != nil {
		if err := b.hold(ctx, spec.Name); err != nil {
			return "", err
		}
	}
	if b.fail != "" && spec.Name == b.fail {
		return "", errors.New("compile error")
	}
	return b.fakeBuilder.Build(ctx, spec)
}

// services returns the runs of c2's push to main of the services names,
// each under <host>/acme/<name>, sharing b and one journal.
func (f *fixture) services(t *testing.T, b byService, j *journal, names ...string) Services {
	t.Helper()
	logger, _ := logtest.NewNullLogger()
	var s Services
	for _, name := range names {
		r := f.run(t, false, f.dir, func(c *config.Config) { c.Image, c.Service = f.host+"/acme/"+name, name })
		r.Builder, r.Registry = b, recorder{Client: registry.New(), journal: j}
		r.Log = logrus.NewEntry(logger).WithField("service", name)
		s = append(s, r)
	}
	return s
}

func TestServicesPublish(t *testing.T) {
	t.Run("the services build at once; a skipped one gets no tag; moving tags move last", func(t *testing.T) {
		f := newFixture(t)
		j := &journal{}
		started := make(chan string, 8)
		b := byService{fakeBuilder: &fakeBuilder{journal: j}}
		api, web := f.host+"/acme/api", f.host+"/acme/web"
		b.hold = func(ctx context.Context, name string) error {
			started <- name
			if name != api {
				return nil
			}
			// api's builds return only once web's have started.
			for {
				select {
				case got := <-started:
					if got == web {
						return nil
					}
					started <- got
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Second):
					return fmt.Errorf("web did not build while api built")
				}
			}
		}
		s := f.services(t, b, j, "api", "worker", "web")
		s[1].Plan = s[1].Plan.Skip("nothing it is built from changed since main")
		res, err := s.Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		var got []string
		for _, r := range res {
			got = append(got, r.Service+" "+r.Image.Target)
		}
		if want := []string{"api prod", "api dev", "web prod", "web dev"}; !slices.Equal(got, want) {
			t.Errorf("results %q, want %q", got, want)
		}
		sha := f.short(f.c2)
		for _, name := range []string{"api", "web"} {
			for _, tag := range []string{sha, sha + "-dev", "main", "main-dev"} {
				if digestOf(t, f.host+"/acme/"+name+":"+tag) == "" {
					t.Errorf("%s has no tag %s", name, tag)
				}
			}
		}
		for _, tag := range []string{sha, sha + "-dev", "main", "main-dev"} {
			if d := digestOf(t, f.host+"/acme/worker:"+tag); d != "" {
				t.Errorf("skipped worker got %s: %s", tag, d)
			}
		}
		effects := j.list()
		firstMove := slices.Index(effects, "tag main")
		lastImmutable := -1
		for i, e := range effects {
			if e == "tag "+sha || e == "tag "+sha+"-dev" {
				lastImmutable = i
			}
		}
		if firstMove < 0 || firstMove < lastImmutable || slices.Index(effects, "check push") > slices.Index(effects, "start api prod") {
			t.Errorf("effects out of order: %q", effects)
		}
		if n := strings.Count(strings.Join(effects, "\n"), "check push"); n != 2 {
			t.Errorf("%d push checks, want one per service built: %q", n, effects)
		}
	})

	t.Run("one service fails: the other is tagged immutably, no moving tag moves", func(t *testing.T) {
		f := newFixture(t)
		j := &journal{}
		b := byService{fakeBuilder: &fakeBuilder{journal: j}, fail: f.host + "/acme/web"}
		s := f.services(t, b, j, "api", "web")
		res, err := s.Publish(context.Background())
		wantErr(t, err, "service web", "compile error")
		sha := f.short(f.c2)
		if len(res) != 2 || res[0].Service != "api" || digestOf(t, f.host+"/acme/api:"+sha) == "" {
			t.Errorf("api's images were not finished: %+v", res)
		}
		for _, name := range []string{"api", "web"} {
			if d := digestOf(t, f.host+"/acme/"+name+":main"); d != "" {
				t.Errorf("%s:main moved to %s after a failed run", name, d)
			}
		}
	})

	t.Run("a pull request builds every service", func(t *testing.T) {
		f := newFixture(t)
		j := &journal{}
		b := byService{fakeBuilder: &fakeBuilder{journal: j}}
		s := f.services(t, b, j, "api", "web")
		for i := range s {
			s[i].Plan.Images = buildOnly(s[i].Plan.Images)
		}
		res, err := s.BuildOnly(context.Background())
		if err != nil || len(res) != 4 || res[2].Service != "web" {
			t.Fatalf("BuildOnly = %+v, %v", res, err)
		}
	})
}

// buildOnly is images without tags, as a pull request's plan has them.
func buildOnly(images []plan.Image) []plan.Image {
	out := slices.Clone(images)
	for i := range out {
		out[i].Tags, out[i].Moving = []string{}, nil
	}
	return out
}

func TestAffected(t *testing.T) {
	f := newFixture(t)
	r := f.run(t, false, f.dir, nil)
	const d = "sha256:aa"
	if got := r.Affected(context.Background(), d); got.Skip || !strings.Contains(got.Reason, "does not exist yet") {
		t.Errorf("first publish: %+v", got)
	}
	registrytest.PushLabelled(t, f.tag("main"), f.c1, registry.InputsLabel, d)
	if got := r.Affected(context.Background(), d); got.Skip || !strings.Contains(got.Reason, "main-dev does not exist yet") {
		t.Errorf("main-dev missing: %+v", got)
	}
	registrytest.PushLabelled(t, f.tag("main-dev"), f.c1, registry.InputsLabel, d)
	if got := r.Affected(context.Background(), d); !got.Skip || !strings.Contains(got.Reason, f.c1[:12]) {
		t.Errorf("equal inputs: %+v", got)
	}
	if got := r.Affected(context.Background(), "sha256:bb"); got.Skip {
		t.Errorf("other inputs: %+v", got)
	}
	r.Plan.Images[0].Moving = []string{"127.0.0.1:1/acme/svc:main"}
	if got := r.Affected(context.Background(), d); got.Skip || !strings.Contains(got.Reason, "cannot read") {
		t.Errorf("unreadable tag: %+v", got)
	}
}

func TestInputsDigest(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := golist.Graph{Packages: []golist.Package{{Dir: f.dir, ImportPath: "github.com/acme/svc", Name: "main", GoFiles: []string{"main.go"}}}}
	digest := func(r Run) string {
		t.Helper()
		d, err := r.InputsDigest(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	base := digest(f.run(t, false, f.dir, nil))
	other := f.run(t, true, f.dir, nil) // another version, another event
	other.Event.Commit, other.Plan.Version = f.c3, "main-"+f.c3[:7]
	if d := digest(other); d != base {
		t.Errorf("the commit and version changed the digest: %s, %s", base, d)
	}
	for name, mod := range map[string]func(*config.Config){
		"linker flags": func(c *config.Config) { c.LDFlags = []string{"-extldflags=-static"} },
		"cgo":          func(c *config.Config) { c.CGO = true },
		"ports":        func(c *config.Config) { c.Ports = []string{"8080"} },
		"build args":   func(c *config.Config) { c.BuildArgs = map[string]string{"GO_IMAGE": "golang:1.25"} },
		"stamp":        func(c *config.Config) { c.Stamp.Version = "main.v" },
		"platforms":    func(c *config.Config) { c.Platforms = []string{"linux/amd64"} },
	} {
		if d := digest(f.run(t, false, f.dir, mod)); d == base {
			t.Errorf("%s did not change the digest", name)
		}
	}
	if err := os.WriteFile(filepath.Join(f.dir, ".dockerignore"), []byte("*.md\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := digest(f.run(t, false, f.dir, nil)); d == base {
		t.Error(".dockerignore did not change the digest")
	}
	if d := digest(f.run(t, false, f.dir, func(c *config.Config) { c.Prepare = []string{"make", "ui"} })); d != "" {
		t.Errorf("with Prepare: digest %s, want none", d)
	}
}

// TestServicesPrepareOnce: services that share a Prepare command run it
// once before their builds, not once each at the same time in one Dir.
func TestServicesPrepareOnce(t *testing.T) {
	f := newFixture(t)
	j := &journal{}
	b := byService{fakeBuilder: &fakeBuilder{journal: j}}
	s := f.services(t, b, j, "api", "worker", "web")
	// git config writes .git/config, leaving the tree clean.
	count := []string{"git", "config", "--add", "gantry.prepared", "shared"}
	s[0].Config.Prepare, s[1].Config.Prepare = count, count
	s[2].Config.Prepare = []string{"git", "config", "--add", "gantry.prepared", "web"}
	for i := range s {
		s[i].Plan.Images = buildOnly(s[i].Plan.Images)
	}
	if _, err := s.BuildOnly(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := gitRun(t, f.dir, nil, "config", "--get-all", "gantry.prepared"); got != "shared\nweb" {
		t.Errorf("prepared %q, want the shared command once, then web's", got)
	}
}
