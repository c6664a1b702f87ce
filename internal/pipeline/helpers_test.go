package pipeline

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"

	"github.com/gantry-build/gantry/internal/gittest"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/magetools/config"
)

// getenv returns a fake os.Getenv reading m.
func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// lookup returns a fake os.LookupEnv reading m.
func lookup(m map[string]string) config.Lookup {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// isolate keeps the machine's git configuration, docker logins and any
// repository above the temporary directory out of the test. PATH holds
// git only, so that nothing a test runs can start docker or a build.
// The git helpers of every test here.
var (
	gitRun     = gittest.Run
	newRepo    = gittest.NewRepo
	commitFile = gittest.Commit
)

func isolate(t *testing.T) {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	gittest.Isolate(t)
	bin := t.TempDir()
	if err := os.Symlink(gitPath, filepath.Join(bin, "git")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("PATH", bin)
}

// resolve resolves cfg as load() does, for a service whose module root is
// dir and whose main package is the root.
func resolve(t *testing.T, cfg config.Config, env map[string]string) config.Config {
	t.Helper()
	facts := config.Facts{Dir: cfg.Dir, ModulePath: "github.com/acme/svc", MainCandidates: []string{"."}, OwnerRepo: "acme/svc"}
	r, err := cfg.Resolve(lookup(env), facts)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return r
}

// makeRun resolves cfg, computes the plan of ev and returns the run.
func makeRun(t *testing.T, cfg config.Config, ev event.Context, env map[string]string) Run {
	t.Helper()
	cfg = resolve(t, cfg, nil)
	p, err := plan.Make(ev, cfg)
	if err != nil {
		t.Fatalf("plan.Make: %v", err)
	}
	return newRun(t, cfg, ev, p, env)
}

// newRun is the run of plan p with the real registry client, a builder
// that fails the test when used (a test that builds sets a fakeBuilder:
// withFakes), the fast path's fake compiler, as publish compiles on the
// host, its log kept in memory and its output discarded.
func newRun(t *testing.T, cfg config.Config, ev event.Context, p plan.Plan, env map[string]string) Run {
	logger, _ := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	return Run{Config: cfg, Event: ev, Plan: p, Getenv: getenv(env), Builder: forbiddenBuilder{t}, Compiler: &fakeCompiler{},
		Registry: registry.New(), Log: logrus.NewEntry(logger), Settle: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard}
}

// errMustNotBuild stops a run that uses a forbiddenBuilder.
var errMustNotBuild = errors.New("forbiddenBuilder: this run must build nothing")

// forbiddenBuilder is the builder of a run that must build nothing: each
// call fails the test with Errorf, which, unlike Fatal, is safe on the
// pipeline's goroutines, and returns errMustNotBuild, which stops the run.
type forbiddenBuilder struct{ t testing.TB }

func (b forbiddenBuilder) Inspect(context.Context) (buildx.Builder, error) {
	b.t.Errorf("the run inspected the builder, as before a build; it must build nothing")
	return buildx.Builder{}, errMustNotBuild
}

func (b forbiddenBuilder) Build(_ context.Context, spec buildx.Build) (string, error) {
	b.t.Errorf("the run built %s; it must build nothing", spec.Target)
	return "", errMustNotBuild
}

// The registry fixtures of every test here.
var (
	newRegistry   = registrytest.NewRegistry
	platformImage = registrytest.PlatformImage
	digestOf      = registrytest.Digest
)

// pushIndex pushes what a build of rev pushes (linux/amd64 and
// linux/arm64, as uid 65532) as ref and returns its digest.
func pushIndex(t *testing.T, ref, rev string) string {
	return registrytest.Push(t, ref, registrytest.TwoPlatforms(t, rev, "65532:65532"))
}

// wantErr fails unless err mentions every string of want.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", want)
	}
	t.Logf("error: %v", err)
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}
