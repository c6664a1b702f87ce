// Package pipeline carries out a plan. Run coordinates three effects
// behind small interfaces, a Builder (buildx), a Registry
// (go-containerregistry) and a Compiler (the host's go command, for the
// fast path; binaries.go): it checks the Dockerfile and the builder, runs
// the builds, verifies what was pushed and moves the moving tags, in the
// order that keeps the registry consistent. docs/architecture.md has the
// whole flow.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/actions"
	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/supplychain"
	"github.com/gantry-build/gantry/magetools/config"
)

// Builder runs image builds: buildx.CLI, or a fake in tests.
type Builder interface {
	// Inspect describes the builder that Build uses.
	Inspect(ctx context.Context) (buildx.Builder, error)
	// Build runs one build; for a build that pushes, it returns the
	// digest of the pushed index.
	Build(ctx context.Context, b buildx.Build) (digest string, err error)
}

// Registry is every registry read and write of a run: registry.Client, or
// the same client against an in-memory registry in tests.
type Registry interface {
	CheckPush(ctx context.Context, repo string) error
	Lookup(ctx context.Context, tag string) (img registry.Image, found bool, err error)
	Verify(ctx context.Context, ref string, want registry.Expect) (digest string, err error)
	Tag(ctx context.Context, src, tag string) error
	// Resolve returns the digest an image reference names.
	Resolve(ctx context.Context, ref string) (string, error)
	// ReadPlatformManifest and PushIndex are a sharded publish's (finalize.go).
	ReadPlatformManifest(ctx context.Context, ref string) (registry.PlatformManifest, error)
	PushIndex(ctx context.Context, repo string, manifests []registry.PlatformManifest, platforms []string) (string, error)
}

// Run is one run of the release process.
type Run struct {
	Config config.Config
	Event  event.Context
	Plan   plan.Plan
	// Getenv reads the environment (os.Getenv); a field so tests can fake it.
	Getenv func(string) string

	Builder  Builder
	Registry Registry
	// Compiler compiles the binaries on the host (the fast path).
	Compiler Compiler
	// SupplyChain signs and attests what Publish pushes, and verifies it;
	// nil when signing is off (Config.Signing).
	SupplyChain SupplyChain
	// Log carries the run's fields (commit); each step adds its own
	// (target, platforms, tag, digest).
	Log *logrus.Entry
	// Settle is how long Publish waits after moving the moving tags
	// before reading them back (see moveTags); DefaultSettle when zero.
	Settle time.Duration
	// Stdout and Stderr receive the workflow commands and the output of
	// the commands the run starts; os.Stdout and os.Stderr when nil (a
	// build that runs beside another writes to its lane: output.go).
	Stdout, Stderr io.Writer
}

// New returns the run of a plan with the real builder and registry.
func New(cfg config.Config, ev event.Context, p plan.Plan, log *logrus.Entry) Run {
	return Run{Config: cfg, Event: ev, Plan: p, Getenv: os.Getenv,
		Builder: buildx.CLI{Log: log}, Registry: registry.New(), Compiler: gobuild.Host{}, Log: log}
}

// DefaultSettle outlasts the check-then-tag step of a concurrent run.
const DefaultSettle = time.Second

// Result is one image a run put in the registry.
type Result struct {
	Image  plan.Image
	Digest string
	// How is Built, Reused or Promoted.
	How string
	// Checks are what verifying its supply chain found (see attest); none
	// when signing is off.
	Checks []supplychain.Check
	// Service is the service of the image, in a run of several (Services).
	Service string
}

// inActions reports whether this runs in GitHub Actions.
func (r Run) inActions() bool { return r.Getenv("GITHUB_ACTIONS") == "true" }

// log returns the run's log entry with the fields of img.
func (r Run) log(img plan.Image) *logrus.Entry {
	return r.Log.WithFields(logrus.Fields{"target": img.Target, "platforms": strings.Join(img.Platforms, ",")})
}

// Report writes the job summary and the step outputs of results (in
// GitHub Actions only).
func (r Run) Report(results []Result) error {
	var images []actions.Image
	for _, res := range results {
		img := actions.Image{Target: res.Image.Target, Platforms: res.Image.Platforms, Tags: res.Image.Tags, Digest: res.Digest}
		for _, c := range res.Checks {
			img.Verified = append(img.Verified, actions.Check{What: c.What, Detail: c.Detail, Command: c.Command})
		}
		images = append(images, img)
	}
	if err := r.Actions().AppendSummary(string(r.Event.Kind)+" "+r.Event.Ref, r.Plan.Version, images); err != nil {
		return err
	}
	return r.Actions().WriteOutputs(images)
}

// prepare checks the Dockerfile, runs the service's Prepare command and
// returns the Dockerfile's path: what every build needs first.
func (r Run) prepare(ctx context.Context, tmp string) (string, error) {
	path, err := r.Dockerfile(tmp)
	if err != nil {
		return "", err
	}
	return path, r.Prepare(ctx)
}

// checkBuilder checks that the builder can build the platforms of images.
func (r Run) checkBuilder(ctx context.Context, images []plan.Image) error {
	builder, err := r.Builder.Inspect(ctx)
	if err != nil {
		return err
	}
	var platforms []string
	for _, img := range images {
		for _, p := range img.Platforms {
			if !slices.Contains(platforms, p) {
				platforms = append(platforms, p)
			}
		}
	}
	missing, err := builder.Check(platforms)
	if err != nil {
		return err
	}
	log := r.Log.WithFields(logrus.Fields{"builder": builder.Name, "driver": builder.Driver})
	if len(missing) > 0 {
		// Stages that cross-compile need no emulation, so this is not
		// fatal; a RUN on such a platform will fail with "exec format error".
		log.WithField("platforms", strings.Join(missing, ",")).Warn("the builder does not list these platforms; stages that RUN on them need QEMU (docker run --privileged tonistiigi/binfmt --install all)")
	}
	log.Info("builder ready")
	return nil
}

// BuildOnly builds every image of the plan and keeps nothing but the build
// cache: a pull request proves that both targets compile.
func (r Run) BuildOnly(ctx context.Context) ([]Result, error) {
	results := make([]Result, len(r.Plan.Images))
	err := r.withTemp(func(tmp string) error {
		return r.builds(ctx, tmp, r.Plan.Images, buildx.CacheOnly, func(plan.Image) []string { return nil },
			func(_ context.Context, r Run, i int, _ string) error {
				r.log(r.Plan.Images[i]).Info("built; nothing pushed")
				results[i] = Result{Image: r.Plan.Images[i], How: Built}
				return nil
			})
	})
	return finished(results), err
}

// Load builds target for linux/<arch>, the architecture of this
// machine's engine, and loads it into the local Docker engine as
// <service>:<version>[-dev]; it returns that tag. arch is the host's
// (what the go command reports), not the running binary's: GOARCH=arm64
// go tool mage image runs an arm64 Mage, emulated, on an amd64 host.
func (r Run) Load(ctx context.Context, target, arch string) (string, error) {
	img := plan.Image{Target: target, Stage: r.Config.ProdStage, Platforms: []string{"linux/" + arch}}
	tag := r.Config.Service + ":" + plan.Sanitize(r.Plan.Version, "")
	if target == plan.Dev {
		img.Stage = r.Config.DevStage
		tag = r.Config.Service + ":" + plan.Sanitize(r.Plan.Version, "-dev")
	}
	return tag, r.withTemp(func(tmp string) error {
		return r.builds(ctx, tmp, []plan.Image{img}, buildx.Load, func(plan.Image) []string { return []string{tag} }, nil)
	})
}

// builds runs the builds of images at once, each as Spec makes it with
// out and tags(img), after prepare. Each first compiles its binaries on
// the host (HostBinaries), the images one after the other, their
// platforms at once (at most one go build per CPU), so that the first
// image's buildx build runs while the next image compiles; each buildx
// build starts once the builder has been checked, which happens
// meanwhile. built, when set, gets each image's index and result as soon
// as it is built (the digest, for a push), in the image's own run (its
// lane). A failed build does not stop the others: each of them finishes
// (pushed and verified, for a push), so that what a failed run leaves in
// the registry is whole, and a re-run reuses it instead of finding a push
// cut off at a moment that depends on timing. The error joins every
// build's failure; only a failed builder check, or ctx, stops them all.
// The output of each build (one log group) comes whole, in the order of
// images (sequence).
func (r Run) builds(ctx context.Context, tmp string, images []plan.Image, out buildx.Output, tags func(plan.Image) []string,
	built func(ctx context.Context, r Run, i int, digest string) error) error {
	if len(images) == 0 {
		return nil
	}
	path, err := r.prepare(ctx, tmp)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var builderErr error
	ready := make(chan struct{})
	wg.Go(func() {
		if builderErr = r.checkBuilder(ctx, images); builderErr != nil {
			stop()
			return
		}
		close(ready)
	})
	errs := make([]error, len(images))
	seq := newSequence(len(images))
	compiled := make(chan struct{})
	close(compiled)
	for i, img := range images {
		lane, previous, next := seq.lanes[i], compiled, make(chan struct{})
		compiled = next
		wg.Go(func() {
			defer lane.Close()
			r := r.in(lane)
			digest, err := r.build(ctx, tmp, img, r.Spec(img, path, out, tags(img)), previous, next, ready)
			if err != nil {
				errs[i] = fmt.Errorf("%s %s: %w", verbs[out], img.Target, err)
			} else if built != nil {
				errs[i] = built(ctx, r, i, digest)
			}
		})
	}
	wg.Wait()
	if builderErr != nil {
		return builderErr
	}
	return errors.Join(errs...)
}

// verbs name what a build of each output does, for its errors.
var verbs = map[buildx.Output]string{buildx.Push: "build and push", buildx.CacheOnly: "build", buildx.Load: "build and load"}

// build runs one build in its own log group: once previous is closed, it
// compiles its binaries on the host into tmp when the Dockerfile allows
// it (HostBinaries) and closes compiled; once ready is closed, it runs
// buildx.
func (r Run) build(ctx context.Context, tmp string, img plan.Image, b buildx.Build, previous <-chan struct{}, compiled chan<- struct{}, ready <-chan struct{}) (string, error) {
	r.log(img).Info("building")
	r.Actions().StartGroup(fmt.Sprintf("build %s for %s", img.Target, strings.Join(img.Platforms, ", ")))
	defer r.Actions().EndGroup()
	err := wait(ctx, previous)
	if err == nil {
		b, err = r.HostBinaries(ctx, tmp, img, b)
	}
	close(compiled)
	if err != nil {
		return "", err
	}
	if err := wait(ctx, ready); err != nil {
		return "", err
	}
	b.Log, b.Stderr = r.log(img), direct(r.stderr())
	return r.Builder.Build(ctx, b)
}

// wait waits until c is closed or ctx is done.
func wait(ctx context.Context, c <-chan struct{}) error {
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finished returns the results that are done: all of them after a
// success, those done before the failure otherwise.
func finished(results []Result) []Result {
	return slices.DeleteFunc(results, func(res Result) bool { return res.How == "" })
}

func (r Run) withTemp(fn func(tmp string) error) error {
	tmp, err := os.MkdirTemp("", "gantry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return fn(tmp)
}
