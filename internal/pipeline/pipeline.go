// Package pipeline carries out a plan: it checks the Dockerfile and the
// builder, runs the buildx builds, verifies what was pushed and moves the
// moving tags, in the order that keeps the registry consistent.
package pipeline

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/actions"
	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
)

// Run is one run of the release process.
type Run struct {
	Config config.Config
	Event  event.Context
	Plan   plan.Plan
	// Getenv reads the environment (os.Getenv); a field so tests can fake it.
	Getenv func(string) string
}

// Result is one image a run put in the registry.
type Result struct {
	Image  plan.Image
	Digest string
	// How is Built, Reused or Promoted.
	How string
}

// inActions reports whether this runs in GitHub Actions.
func (r Run) inActions() bool { return r.Getenv("GITHUB_ACTIONS") == "true" }

// Actions is the GitHub Actions step this runs in; its methods do nothing
// elsewhere.
func (r Run) Actions() actions.Runner { return actions.Runner{Getenv: r.Getenv, Out: os.Stdout} }

// Report writes the job summary and the step outputs of results (in
// GitHub Actions only).
func (r Run) Report(results []Result) error {
	var images []actions.Image
	for _, res := range results {
		images = append(images, actions.Image{Target: res.Image.Target, Platforms: res.Image.Platforms, Tags: res.Image.Tags, Digest: res.Digest})
	}
	if err := r.Actions().AppendSummary(string(r.Event.Kind)+" "+r.Event.Ref, r.Plan.Version, images); err != nil {
		return err
	}
	return r.Actions().WriteOutputs(images)
}

func (r Run) preflight(ctx context.Context, tmp string, images []plan.Image) (string, error) {
	path, err := r.Dockerfile(tmp)
	if err != nil {
		return "", err
	}
	builder, err := buildx.Inspect(ctx)
	if err != nil {
		return "", err
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
		return "", err
	}
	if len(missing) > 0 {
		// Stages that cross-compile need no emulation, so this is not
		// fatal; a RUN on such a platform will fail with "exec format error".
		logrus.Warnf("builder %q does not list %s; stages that RUN on it need QEMU (docker run --privileged tonistiigi/binfmt --install all)",
			builder.Name, strings.Join(missing, ", "))
	}
	logrus.Infof("builder %s (driver %s)", builder.Name, builder.Driver)
	return path, nil
}

// BuildOnly builds every image of the plan and keeps nothing but the build
// cache: a pull request proves that both targets compile.
func (r Run) BuildOnly(ctx context.Context) ([]Result, error) {
	var results []Result
	return results, r.withTemp(func(tmp string) error {
		path, err := r.preflight(ctx, tmp, r.Plan.Images)
		if err != nil {
			return err
		}
		for _, img := range r.Plan.Images {
			if err := r.build(ctx, r.Spec(img, path, buildx.CacheOnly, nil)); err != nil {
				return fmt.Errorf("build %s: %w", img.Target, err)
			}
			logrus.Infof("built %s (%s) for %s; nothing pushed", img.Target, img.Stage, strings.Join(img.Platforms, ", "))
			results = append(results, Result{Image: img, How: Built})
		}
		return nil
	})
}

// Load builds target for this machine's platform and loads it into the
// local Docker engine as <service>:<version>[-dev]; it returns that tag.
func (r Run) Load(ctx context.Context, target string) (string, error) {
	img := plan.Image{Target: target, Stage: r.Config.ProdStage, Platforms: []string{"linux/" + runtime.GOARCH}}
	tag := r.Config.Service + ":" + plan.Sanitize(r.Plan.Version, "")
	if target == plan.Dev {
		img.Stage = r.Config.DevStage
		tag = r.Config.Service + ":" + plan.Sanitize(r.Plan.Version, "-dev")
	}
	return tag, r.withTemp(func(tmp string) error {
		path, err := r.preflight(ctx, tmp, []plan.Image{img})
		if err != nil {
			return err
		}
		return r.build(ctx, r.Spec(img, path, buildx.Load, []string{tag}))
	})
}

// Login logs buildx and Gantry in to ghcr.io with GITHUB_TOKEN in GitHub
// Actions; the token goes to docker on stdin and is never printed.
func (r Run) Login(ctx context.Context) error {
	token := r.Getenv("GITHUB_TOKEN")
	host, _, _ := strings.Cut(r.Config.Image, "/")
	if token == "" || host != "ghcr.io" {
		return nil
	}
	r.Actions().AddMask(token)
	user := r.Getenv("GITHUB_ACTOR")
	if user == "" {
		user = "github-actions"
	}
	cmd := run.Cmd{Name: "docker", Args: []string{"login", host, "--username", user, "--password-stdin"}, Stdin: strings.NewReader(token)}
	if err := run.Run(ctx, cmd); err != nil {
		return fmt.Errorf("docker login %s: %w; the publishing job needs `permissions: packages: write`", host, err)
	}
	return nil
}

func (r Run) build(ctx context.Context, b buildx.Build) error {
	cmd, err := b.Cmd()
	if err != nil {
		return err
	}
	logrus.Infof("building %s for %s", b.Target, strings.Join(b.Platforms, ", "))
	r.Actions().StartGroup(fmt.Sprintf("build %s for %s", b.Target, strings.Join(b.Platforms, ", ")))
	defer r.Actions().EndGroup()
	return run.Run(ctx, cmd)
}

func (r Run) withTemp(fn func(tmp string) error) error {
	tmp, err := os.MkdirTemp("", "gantry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return fn(tmp)
}
