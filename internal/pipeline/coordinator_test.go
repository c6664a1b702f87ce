package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sync/errgroup"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/internal/testsvc"
)

// journal records the effects of a run in order, across builder and
// registry, as "build prod", "verify <ref>", "tag <tag>".
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// fakeBuilder stands in for buildx: a build that pushes puts an index of
// its platforms in the registry, labelled with its revision and running
// as User, by digest in the repository it names.
type fakeBuilder struct {
	journal *journal
	// User is the image config's user; "65532:65532" when empty.
	User string
	// Skip leaves a platform out of the pushed index.
	Skip string
	// Fail makes every build fail with it, or only FailOn's when set.
	Fail   error
	FailOn string
	// Started, when set, receives each build's target as it starts; Hold,
	// when set, is called then, and the build waits for it to return.
	Started chan<- string
	Hold    func(ctx context.Context, target string) error
	// Progress is written to each build's Stderr: "<target> progress";
	// Finished, when set, then receives its target.
	Progress bool
	Finished chan<- string
	// Returned, when set, is called with each build's target as it returns.
	Returned func(target string)

	mu     sync.Mutex
	builds []buildx.Build
}

func (b *fakeBuilder) Inspect(context.Context) (buildx.Builder, error) {
	return buildx.Builder{Name: "fake", Driver: "remote", Platforms: []string{"linux/amd64", "linux/arm64"}}, nil
}

func (b *fakeBuilder) Build(ctx context.Context, spec buildx.Build) (string, error) {
	b.mu.Lock()
	b.builds = append(b.builds, spec)
	b.mu.Unlock()
	b.journal.add("build %s", spec.Target)
	if b.Returned != nil {
		defer b.Returned(spec.Target)
	}
	if b.Started != nil {
		b.Started <- spec.Target
	}
	if b.Hold != nil {
		if err := b.Hold(ctx, spec.Target); err != nil {
			return "", err
		}
	}
	if b.Progress && spec.Stderr != nil {
		fmt.Fprintf(spec.Stderr, "%s progress\n", spec.Target)
	}
	if b.Finished != nil {
		b.Finished <- spec.Target
	}
	if b.Fail != nil && (b.FailOn == "" || b.FailOn == spec.Target) {
		return "", b.Fail
	}
	if spec.Output != buildx.Push {
		return "", nil
	}
	user := b.User
	if user == "" {
		user = "65532:65532"
	}
	// Builds run on the pipeline's goroutines, where t.Fatal must not be
	// called: what goes wrong here is an error, which the test sees.
	platforms := slices.DeleteFunc(slices.Clone(spec.Platforms), func(p string) bool { return p == b.Skip })
	if len(spec.Platforms) == 1 && len(platforms) == 1 {
		// buildx pushes a single platform's image alone, with no index.
		img, err := registrytest.NewPlatformImage(platforms[0], spec.Labels[registry.RevisionLabel], user)
		if err != nil {
			return "", fmt.Errorf("fake build of %s: %w", spec.Target, err)
		}
		d, err := registrytest.WriteImage(spec.Name, img)
		if err != nil {
			return "", fmt.Errorf("fake build of %s: %w", spec.Target, err)
		}
		return d, nil
	}
	idx, err := registrytest.NewIndex(platforms, spec.Labels[registry.RevisionLabel], user)
	if err != nil {
		return "", fmt.Errorf("fake build of %s: %w", spec.Target, err)
	}
	// A push goes by digest, as buildx's push-by-digest does.
	d, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("fake build of %s: %w", spec.Target, err)
	}
	if _, err := registrytest.WriteIndex(spec.Name+"@"+d.String(), idx); err != nil {
		return "", fmt.Errorf("fake build of %s: %w", spec.Target, err)
	}
	return d.String(), nil
}

// build returns the build of target; prod and dev build at once, in
// either order.
func (b *fakeBuilder) build(t *testing.T, target string) buildx.Build {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, spec := range b.builds {
		if spec.Target == target {
			return spec
		}
	}
	t.Fatalf("no build of %s in %d builds", target, len(b.builds))
	return buildx.Build{}
}

// The fakes run on the pipeline's goroutines, as the real effects do,
// where t.Fatal must not be called: what fails in them comes back as an
// error, for the test's goroutine to report.
func TestFakesReturnTheirErrors(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		effect func() error
		want   string
	}{
		{"builder: a push that fails", func() error {
			spec := buildx.Build{Target: "prod", Output: buildx.Push, Platforms: []string{"linux/amd64"}, Tags: []string{"not a reference"}}
			_, err := (&fakeBuilder{journal: &journal{}}).Build(ctx, spec)
			return err
		}, "fake build of prod"},
		{"compiler: a binary it cannot write", func() error {
			return (&fakeCompiler{}).Build(ctx, run.Cmd{Name: "go", Args: []string{"build", "-o", filepath.Join(notDir, "service"), "."}})
		}, "fake go build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g errgroup.Group
			g.Go(tt.effect)
			wantErr(t, g.Wait(), tt.want)
		})
	}
}

// errorRecorder is a testing.TB that keeps Errorf's messages in its
// journal instead of failing: for a test of a fake that fails its test.
type errorRecorder struct {
	testing.TB
	errors journal
}

func (r *errorRecorder) Errorf(format string, args ...any) { r.errors.add(format, args...) }

// A run of newRun that builds fails its test and stops with an error, on
// whichever goroutine it builds; a nil builder panicked, ending the run of
// every test of the package.
func TestForbiddenBuilder(t *testing.T) {
	f := newFixture(t)
	r := f.run(t, false, f.dir, nil)
	rec := &errorRecorder{TB: t}
	r.Builder = forbiddenBuilder{rec}
	_, err := r.Publish(context.Background())
	if !errors.Is(err, errMustNotBuild) {
		t.Errorf("Publish: %v, want %v", err, errMustNotBuild)
	}
	errs := rec.errors.list()
	if len(errs) == 0 {
		t.Error("the run built, yet its test did not fail")
	}
	t.Logf("the test's errors: %q", errs)
}

// recorder is the real registry client with its writes and checks in the
// journal; beforeTag and afterTag, when set, run around each Tag.
type recorder struct {
	registry.Client
	journal             *journal
	beforeTag, afterTag func(tag string)
}

func (r recorder) CheckPush(ctx context.Context, repo string) error {
	r.journal.add("check push")
	return r.Client.CheckPush(ctx, repo)
}

func (r recorder) Verify(ctx context.Context, ref string, want registry.Expect) (string, error) {
	r.journal.add("verify %s", ref[strings.LastIndex(ref, "@")+1:])
	return r.Client.Verify(ctx, ref, want)
}

func (r recorder) PushIndex(ctx context.Context, repo string, manifests []registry.PlatformManifest, platforms []string) (string, error) {
	r.journal.add("push index %s", strings.Join(platforms, ","))
	return r.Client.PushIndex(ctx, repo, manifests, platforms)
}

func (r recorder) Tag(ctx context.Context, src, tag string) error {
	if r.beforeTag != nil {
		r.beforeTag(tag)
	}
	r.journal.add("tag %s", tag[strings.LastIndex(tag, ":")+1:])
	err := r.Client.Tag(ctx, src, tag)
	if r.afterTag != nil {
		r.afterTag(tag)
	}
	return err
}

// withFakes gives r a fake builder and a journalling registry, and keeps
// its log lines; it returns the builder, the journal and the log.
func withFakes(t *testing.T, r *Run) (*fakeBuilder, *journal, *logtest.Hook) {
	j := &journal{}
	b := &fakeBuilder{journal: j}
	logger, hook := logtest.NewNullLogger()
	r.Builder, r.Registry, r.Log = b, recorder{Client: registry.New(), journal: j}, logrus.NewEntry(logger).WithField("commit", r.Plan.Short)
	return b, j, hook
}

// digests returns what each tag names now ("" when absent).
func digests(t *testing.T, f *fixture, tags ...string) map[string]string {
	m := map[string]string{}
	for _, tag := range tags {
		m[tag] = digestOf(t, f.tag(tag))
	}
	return m
}

func TestPublishCoordinates(t *testing.T) {
	t.Run("first run: build and push by digest, verify and tag each, then move", func(t *testing.T) {
		f := newFixture(t)
		r := f.run(t, false, f.dir, nil)
		b, j, hook := withFakes(t, &r)
		res, err := r.Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if len(res) != 2 || res[0].How != Built || res[1].How != Built {
			t.Fatalf("results %+v, want prod and dev built", res)
		}
		sha := f.short(f.c2)
		// prod and dev build at once: each is verified after its build,
		// then gets its immutable tag, and the moving tags move only
		// after both are verified.
		checkOrder(t, j.list(), []string{"check push"}, [][]string{
			{"build prod", "verify " + res[0].Digest, "tag " + sha},
			{"build dev", "verify " + res[1].Digest, "tag " + sha + "-dev"},
		}, []string{"tag main", "tag main-dev"})
		for _, target := range []string{"prod", "dev"} {
			if spec := b.build(t, target); spec.Name != f.image || len(spec.Tags) > 0 {
				t.Errorf("%s pushed to %q with tags %q, want the repository by digest, no tag", target, spec.Name, spec.Tags)
			}
		}
		want2 := map[string]string{sha: res[0].Digest, "main": res[0].Digest, sha + "-dev": res[1].Digest, "main-dev": res[1].Digest}
		if got := digests(t, f, sha, "main", sha+"-dev", "main-dev"); !maps.Equal(got, want2) {
			t.Errorf("registry %v, want %v", got, want2)
		}
		// The log line of each pushed image carries its fields.
		found := false
		for _, e := range hook.AllEntries() {
			if e.Message == Built && e.Data["target"] == "prod" {
				found = true
				for k, v := range map[string]any{"commit": sha, "tag": f.tag(sha), "digest": res[0].Digest, "platforms": "linux/amd64,linux/arm64"} {
					if e.Data[k] != v {
						t.Errorf("log field %s = %v, want %v", k, e.Data[k], v)
					}
				}
			}
		}
		if !found {
			t.Errorf("no %q log line for prod in %v", Built, hook.AllEntries())
		}
	})

	t.Run("re-run: prod reused, dev built", func(t *testing.T) {
		f := newFixture(t)
		prod := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		r := f.run(t, false, f.dir, nil)
		b, _, _ := withFakes(t, &r)
		res, err := r.Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if res[0].How != Reused || res[0].Digest != prod || res[1].How != Built {
			t.Errorf("results %+v, want prod reused (%s), dev built", res, prod)
		}
		if len(b.builds) != 1 || b.builds[0].Target != "dev" {
			t.Errorf("builds %v, want dev only", b.builds)
		}
		if got := digestOf(t, f.tag("main")); got != prod {
			t.Errorf("main = %s, want the reused %s", got, prod)
		}
	})

	t.Run("refusal: <sha> holds another commit; nothing built or moved", func(t *testing.T) {
		f := newFixture(t)
		pushIndex(t, f.tag(f.short(f.c2)), f.c1)
		old := pushIndex(t, f.tag("main"), f.c1)
		r := f.run(t, false, f.dir, nil)
		b, _, _ := withFakes(t, &r)
		_, err := r.Publish(context.Background())
		wantErr(t, err, "GANTRY_SHORT_SHA_LENGTH")
		if len(b.builds) != 0 {
			t.Errorf("built %d images after a refusal", len(b.builds))
		}
		if got := digestOf(t, f.tag("main")); got != old {
			t.Errorf("main moved to %s on a refusal", got)
		}
	})

	verifyFailures := []struct {
		name  string
		spoil func(b *fakeBuilder)
		want  string
	}{
		{"runs as root", func(b *fakeBuilder) { b.User = "0" }, "runs as root"},
		{"a platform missing", func(b *fakeBuilder) { b.Skip = "linux/arm64" }, "linux/arm64 is missing"},
	}
	for _, tt := range verifyFailures {
		t.Run("failed verify moves nothing: "+tt.name, func(t *testing.T) {
			f := newFixture(t)
			old := pushIndex(t, f.tag("main"), f.c1)
			r := f.run(t, false, f.dir, nil)
			b, j, _ := withFakes(t, &r)
			tt.spoil(b)
			_, err := r.Publish(context.Background())
			wantErr(t, err, tt.want)
			if got := digestOf(t, f.tag("main")); got != old {
				t.Errorf("main moved to %s after a failed verify", got)
			}
			if got := digestOf(t, f.tag("main-dev")); got != "" {
				t.Errorf("main-dev set to %s after a failed verify", got)
			}
			for _, e := range j.list() {
				if strings.HasPrefix(e, "tag ") {
					t.Errorf("after the failed verify of prod: %s", e)
				}
			}
		})
	}

	t.Run("prepare runs once before the builds; a failed prepare builds and moves nothing", func(t *testing.T) {
		f := newFixture(t)
		ran := filepath.Join(t.TempDir(), "ran")
		r := f.run(t, false, f.dir, nil)
		r.Config.Prepare = []string{"/bin/sh", "-c", "echo >> " + ran}
		b, _, _ := withFakes(t, &r)
		if _, err := r.Publish(context.Background()); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if out, err := os.ReadFile(ran); err != nil || len(out) != 1 || len(b.builds) != 2 {
			t.Errorf("prepare ran %d times (%v) for %d builds, want once", len(out), err, len(b.builds))
		}

		f = newFixture(t)
		r = f.run(t, false, f.dir, nil)
		r.Config.Prepare = []string{"/bin/sh", "-c", "exit 4"}
		b, _, _ = withFakes(t, &r)
		_, err := r.Publish(context.Background())
		wantErr(t, err, "Config.Prepare")
		if len(b.builds) != 0 || digestOf(t, f.tag("main")) != "" {
			t.Errorf("after a failed prepare: %d builds, main = %q", len(b.builds), digestOf(t, f.tag("main")))
		}
	})

	for _, failing := range []string{"prod", "dev"} {
		t.Run("a failed build of "+failing+" keeps its exit code, lets the other finish and moves nothing", func(t *testing.T) {
			f := newFixture(t)
			old := pushIndex(t, f.tag("main"), f.c1)
			r := f.run(t, false, f.dir, nil)
			b, j, _ := withFakes(t, &r)
			b.Fail, b.FailOn = &run.ExitError{Cmd: "docker", Code: 7}, failing
			// The failing build fails once the other has started; the
			// other goes on after the failure, unless it is stopped.
			started, failed := make(chan struct{}), make(chan struct{})
			b.Returned = func(target string) {
				if target == failing {
					close(failed)
				}
			}
			b.Hold = func(ctx context.Context, target string) error {
				if target == failing {
					select {
					case <-started:
						return nil
					case <-time.After(10 * time.Second):
						return errors.New("the other build did not start")
					}
				}
				close(started)
				<-failed
				// A pipeline that stops the other build on a failure
				// does so as soon as the failing one returns.
				select {
				case <-ctx.Done():
					return fmt.Errorf("stopped after the failure of %s: %w", failing, context.Cause(ctx))
				case <-time.After(200 * time.Millisecond):
					return nil
				}
			}
			res, err := r.Publish(context.Background())
			wantErr(t, err, "build and push "+failing)
			var exit *run.ExitError
			if !errors.As(err, &exit) || exit.Code != 7 {
				t.Errorf("error %v does not carry exit code 7", err)
			}
			other := "dev"
			if failing == "dev" {
				other = "prod"
			}
			if len(res) != 1 || res[0].Image.Target != other || res[0].How != Built {
				t.Fatalf("results %+v, want %s built", res, other)
			}
			if !slices.Contains(j.list(), "verify "+res[0].Digest) || digestOf(t, res[0].Image.Immutable()[0]) != res[0].Digest {
				t.Errorf("%s is not pushed and verified under %s: %q", other, res[0].Image.Immutable()[0], j.list())
			}
			if got := digestOf(t, f.tag("main")); got != old {
				t.Errorf("main moved to %s after a failed build", got)
			}
			for _, e := range j.list() {
				if strings.HasPrefix(e, "tag ") && e != "tag "+res[0].Image.Immutable()[0][strings.LastIndex(res[0].Image.Immutable()[0], ":")+1:] {
					t.Errorf("after the failed build: %s; only %s's immutable tag may be set", e, other)
				}
			}
		})
	}

	t.Run("release without a main build: prod built as <version> only", func(t *testing.T) {
		f := newFixture(t)
		r := f.run(t, true, f.dir, nil)
		b, j, _ := withFakes(t, &r)
		res, err := r.Release(context.Background())
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		if len(b.builds) != 1 || b.builds[0].Target != "prod" {
			t.Fatalf("builds %+v, want prod", b.builds)
		}
		if got := b.builds[0].Labels["org.opencontainers.image.version"]; got != "1.2.3" {
			t.Errorf("version label %q, want 1.2.3", got)
		}
		if len(res) != 1 || res[0].How != Built || digestOf(t, f.tag("1.2.3")) != res[0].Digest {
			t.Errorf("results %+v, want 1.2.3 built", res)
		}
		want := []string{"check push", "build prod", "verify " + res[0].Digest, "tag 1.2.3"}
		if got := j.list(); !slices.Equal(got, want) {
			t.Errorf("effects %q, want %q", got, want)
		}
	})

	t.Run("release of a main build: promoted, not built", func(t *testing.T) {
		f := newFixture(t)
		prod := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		r := f.run(t, true, f.dir, nil)
		b, _, _ := withFakes(t, &r)
		res, err := r.Release(context.Background())
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		if len(b.builds) != 0 || res[0].How != Promoted || digestOf(t, f.tag("1.2.3")) != prod {
			t.Errorf("builds %d, results %+v; want 1.2.3 promoted from %s", len(b.builds), res, prod)
		}
	})

	t.Run("release of a main build with ReleaseRebuild: built with the version stamped", func(t *testing.T) {
		f := newFixture(t)
		prod := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		r := f.run(t, true, f.dir, nil)
		r.Config.ReleaseRebuild = true
		b, _, _ := withFakes(t, &r)
		res, err := r.Release(context.Background())
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		if len(b.builds) != 1 || res[0].How != Built || res[0].Digest == prod {
			t.Fatalf("builds %d, results %+v; want 1.2.3 built, not promoted from %s", len(b.builds), res, prod)
		}
		if got := b.builds[0].BuildArgs["GO_LDFLAGS"]; !strings.Contains(got, "main.version=1.2.3") {
			t.Errorf("GO_LDFLAGS %q does not stamp 1.2.3", got)
		}
	})

	t.Run("pull request: both built to the cache, nothing pushed", func(t *testing.T) {
		f := newFixture(t)
		r := f.run(t, false, f.dir, nil)
		r.Plan.Push, r.Plan.Images = false, buildOnlyImages(r)
		b, j, _ := withFakes(t, &r)
		res, err := r.BuildOnly(context.Background())
		if err != nil {
			t.Fatalf("BuildOnly: %v", err)
		}
		if len(res) != 2 || len(b.builds) != 2 || b.builds[0].Output != buildx.CacheOnly || b.builds[1].Output != buildx.CacheOnly {
			t.Errorf("results %+v builds %+v, want two cache-only builds", res, b.builds)
		}
		if got := j.list(); len(got) != 2 || !slices.Contains(got, "build prod") || !slices.Contains(got, "build dev") {
			t.Errorf("effects %q: a pull request must not touch the registry", got)
		}
		if res[0].Image.Target != "prod" || res[1].Image.Target != "dev" {
			t.Errorf("results %+v, want prod then dev, as planned", res)
		}
	})
}

func TestPublishBuildsAtOnce(t *testing.T) {
	// waitFor waits for target on c, or fails after a while.
	waitFor := func(ctx context.Context, c <-chan string, target string) error {
		for {
			select {
			case got := <-c:
				if got == target {
					return nil
				}
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return fmt.Errorf("%s did not build while the other build ran", target)
			}
		}
	}

	t.Run("dev builds while prod builds; tags move after both verifies", func(t *testing.T) {
		f := newFixture(t)
		r := f.run(t, false, f.dir, nil)
		b, j, _ := withFakes(t, &r)
		started := make(chan string, 2)
		b.Started = started
		b.Hold = func(ctx context.Context, target string) error {
			if target == "prod" {
				return waitFor(ctx, started, "dev")
			}
			return nil
		}
		res, err := r.Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		// prod's build returned only once dev's had started (Hold).
		sha := f.short(f.c2)
		checkOrder(t, j.list(), []string{"check push"}, [][]string{
			{"build prod", "verify " + res[0].Digest, "tag " + sha},
			{"build dev", "verify " + res[1].Digest, "tag " + sha + "-dev"},
		}, []string{"tag main", "tag main-dev"})
	})

	t.Run("each build's output is one log group, in the plan's order, though dev's came first", func(t *testing.T) {
		f := newFixture(t)
		r := f.run(t, false, f.dir, nil)
		r.Getenv = getenv(map[string]string{"GITHUB_ACTIONS": "true"})
		b, _, _ := withFakes(t, &r)
		out := &testsvc.SyncBuffer{}
		r.Stdout, r.Stderr = out, out
		r.Log.Logger.SetOutput(out)
		finished := make(chan string, 2)
		b.Progress, b.Finished = true, finished
		b.Hold = func(ctx context.Context, target string) error {
			if target == "prod" {
				return waitFor(ctx, finished, "dev")
			}
			return nil
		}
		if _, err := r.Publish(context.Background()); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		log := out.String()
		at := -1
		for _, want := range []string{"target=prod", "::group::build prod", "prod progress", "::endgroup::", "msg=built", "target=prod",
			"::group::build dev", "dev progress", "::endgroup::", "msg=built", "target=dev", "msg=moved"} {
			i := strings.Index(log[at+1:], want)
			if i < 0 {
				t.Fatalf("%q is not where a run one build after the other writes it, in:\n%s", want, log)
			}
			at += 1 + i
		}
	})
}

// TestLoadBuildsForTheHost: image and imageDev build for the architecture
// they are given (the host's), not the running binary's.
func TestLoadBuildsForTheHost(t *testing.T) {
	f := newFixture(t)
	r := f.run(t, false, f.dir, nil)
	b, _, _ := withFakes(t, &r)
	tag, err := r.Load(context.Background(), plan.Dev, "s390x")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := b.build(t, plan.Dev)
	if !slices.Equal(got.Platforms, []string{"linux/s390x"}) || got.Output != buildx.Load || !slices.Equal(got.Tags, []string{tag}) || !strings.HasSuffix(tag, "-dev") {
		t.Errorf("build %v %v %v, want dev for linux/s390x loaded as %s", got.Platforms, got.Output, got.Tags, tag)
	}
}

// checkOrder checks effects against the order a publish keeps: first
// the effects of first, in order; then the chains, interleaved in any way
// but each in its order; then last, in order, and nothing after.
func checkOrder(t *testing.T, effects, first []string, chains [][]string, last []string) {
	t.Helper()
	n := len(first) + len(last)
	for _, c := range chains {
		n += len(c)
	}
	if len(effects) != n {
		t.Errorf("effects %q, want %d: %q first, then each of %q in its order, then %q", effects, n, first, chains, last)
		return
	}
	ok := slices.Equal(effects[:len(first)], first) && slices.Equal(effects[n-len(last):], last)
	middle := effects[len(first) : n-len(last)]
	for _, c := range chains {
		at := -1
		for _, e := range c {
			i := slices.Index(middle, e)
			ok = ok && i > at
			at = i
		}
	}
	if !ok {
		t.Errorf("effects in order:\n  %q\nwant first %q, then each of %q in its order, then %q", effects, first, chains, last)
	}
}

// buildOnlyImages are the plan's images without tags, as a pull request
// plans them.
func buildOnlyImages(r Run) []plan.Image {
	imgs := slices.Clone(r.Plan.Images)
	for i := range imgs {
		imgs[i].Tags, imgs[i].Moving = []string{}, nil
	}
	return imgs
}

// TestConcurrentPublishes runs the publishes of an older (c1) and a newer
// (c2) commit of main at once: main must end on the newer one.
func TestConcurrentPublishes(t *testing.T) {
	setup := func(t *testing.T) (f *fixture, older, newer Run, newerLog *logtest.Hook) {
		f = newFixture(t)
		older = f.run(t, false, f.dir, nil)
		older.Event.Commit = f.c1
		older = makeRun(t, older.Config, older.Event, nil)
		newer = f.run(t, false, f.dir, nil)
		withFakes(t, &older)
		_, _, newerLog = withFakes(t, &newer)
		return f, older, newer, newerLog
	}
	publishBoth := func(t *testing.T, older, newer Run) []Result {
		var wg sync.WaitGroup
		var errOlder, errNewer error
		var res []Result
		wg.Add(2)
		go func() { defer wg.Done(); _, errOlder = older.Publish(context.Background()) }()
		go func() { defer wg.Done(); res, errNewer = newer.Publish(context.Background()) }()
		wg.Wait()
		if errOlder != nil || errNewer != nil {
			t.Fatalf("older: %v; newer: %v", errOlder, errNewer)
		}
		return res
	}

	t.Run("the older run moves main back after the newer moved it", func(t *testing.T) {
		f, older, newer, newerLog := setup(t)
		// The older run checks main, then tags it only after the newer run
		// has: the race that check-then-tag loses without the read-back.
		olderChecked, newerTagged := make(chan struct{}), make(chan struct{})
		var olderOnce, newerOnce sync.Once
		o := older.Registry.(recorder)
		o.beforeTag = func(tag string) {
			if strings.HasSuffix(tag, ":main") {
				olderOnce.Do(func() { close(olderChecked); <-newerTagged })
			}
		}
		older.Registry = o
		n := newer.Registry.(recorder)
		n.beforeTag = func(tag string) {
			if strings.HasSuffix(tag, ":main") {
				<-olderChecked
			}
		}
		n.afterTag = func(tag string) {
			if strings.HasSuffix(tag, ":main") {
				newerOnce.Do(func() { close(newerTagged) })
			}
		}
		newer.Registry = n
		newer.Settle = 200 * time.Millisecond
		res := publishBoth(t, older, newer)
		if got := digestOf(t, f.tag("main")); got != res[0].Digest {
			t.Errorf("main = %s, want the newer commit's %s", got, res[0].Digest)
		}
		reported := false
		for _, e := range newerLog.AllEntries() {
			reported = reported || e.Level == logrus.WarnLevel && strings.Contains(e.Message, "another run moved the tag") && e.Data["tag"] == f.tag("main")
		}
		if !reported {
			t.Error("the newer run did not report that main was moved under it")
		}
	})

	t.Run("both at once, no forced order", func(t *testing.T) {
		f, older, newer, _ := setup(t)
		// The read-back after DefaultSettle is what catches an older run
		// whose check came before the newer run's tag and whose tag came
		// after it; the tests' 1 ms settle does not outlast that step on a
		// busy machine (the test failed so under load).
		older.Settle, newer.Settle = DefaultSettle, DefaultSettle
		res := publishBoth(t, older, newer)
		for i, tag := range []string{"main", "main-dev"} {
			if got := digestOf(t, f.tag(tag)); got != res[i].Digest {
				t.Errorf("%s = %s, want the newer commit's %s", tag, got, res[i].Digest)
			}
		}
	})
}
