// Package pipeline carries out a plan: it checks the Dockerfile and the
// builder, runs the buildx builds, verifies what was pushed and moves the
// moving tags, in the order that keeps the registry consistent.
package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/magetools/internal/buildx"
	"github.com/gantry-build/gantry/magetools/internal/dockerfile"
	"github.com/gantry-build/gantry/magetools/internal/event"
	"github.com/gantry-build/gantry/magetools/internal/gobuild"
	"github.com/gantry-build/gantry/magetools/internal/plan"
	"github.com/gantry-build/gantry/magetools/internal/registry"
	"github.com/gantry-build/gantry/magetools/internal/run"
)

// Run is one run of the release process.
type Run struct {
	Config config.Config
	Event  event.Context
	Plan   plan.Plan
	// Getenv reads the environment (os.Getenv); a field so tests can fake it.
	Getenv func(string) string
}

// Result is one image a run built.
type Result struct {
	Image  plan.Image
	Digest string
}

// inActions reports whether this runs in GitHub Actions.
func (r Run) inActions() bool { return r.Getenv("GITHUB_ACTIONS") == "true" }

// Spec returns the buildx build of one image of the plan; dockerfilePath is
// the Dockerfile to use (see Dockerfile).
func (r Run) Spec(img plan.Image, dockerfilePath string, out buildx.Output, tags []string) buildx.Build {
	cfg, ev := r.Config, r.Event
	args := map[string]string{
		"MAIN_PACKAGE": cfg.MainPackage,
		"GO_LDFLAGS":   strings.Join(gobuild.XFlags(cfg.Stamp, r.Stamp()), " "),
	}
	for k, v := range cfg.BuildArgs {
		args[k] = v
	}
	b := buildx.Build{
		Context:      cfg.Dir,
		Dockerfile:   dockerfilePath,
		Target:       img.Stage,
		Platforms:    img.Platforms,
		Tags:         tags,
		Output:       out,
		BuildArgs:    args,
		Labels:       r.labels(),
		Attestations: cfg.Attestations,
		Progress:     "auto",
	}
	if !ev.CommitTime.IsZero() {
		b.SourceDateEpoch = ev.CommitTime.Unix()
	}
	if r.inActions() || r.Getenv("CI") == "true" {
		b.Progress = "plain"
	}
	// GitHub's cache service is reachable only with the runner's token
	// (exposed to steps by crazy-max/ghaction-github-runtime). Main and tag
	// builds write it; pull requests only read, so they cannot poison it.
	if r.inActions() && r.Getenv("ACTIONS_RUNTIME_TOKEN") != "" {
		scope := "scope=" + cfg.Service + "-" + img.Target
		b.CacheFrom = []string{"type=gha," + scope}
		if r.Plan.Push {
			b.CacheTo = []string{"type=gha,mode=max," + scope}
		}
	}
	return b
}

// Stamp is the version information of this commit, for binary and image.
func (r Run) Stamp() gobuild.Stamp {
	return gobuild.Stamp{Version: r.Plan.Version, Commit: r.Event.Commit, Date: r.Event.CommitTime}
}

// labels are the OCI annotations of SPEC.md, set by buildx so that a
// service's own Dockerfile gets them too.
func (r Run) labels() map[string]string {
	cfg, ev := r.Config, r.Event
	l := map[string]string{
		"org.opencontainers.image.revision": ev.Commit,
		"org.opencontainers.image.version":  r.Plan.Version,
		"org.opencontainers.image.title":    cfg.Service,
	}
	if !ev.CommitTime.IsZero() {
		l["org.opencontainers.image.created"] = ev.CommitTime.UTC().Format(time.RFC3339)
	}
	if ev.Repository != "" {
		l["org.opencontainers.image.source"] = "https://github.com/" + ev.Repository
	}
	if cfg.Description != "" {
		l["org.opencontainers.image.description"] = cfg.Description
	}
	if cfg.License != "" {
		l["org.opencontainers.image.licenses"] = cfg.License
	}
	return l
}

// Dockerfile returns the path of the Dockerfile to build and checks that it
// has the prod and dev stages. With no Dockerfile configured, the embedded
// default is written to tmp, with the .dockerignore template beside it when
// the service has none (buildx reads <Dockerfile>.dockerignore first).
func (r Run) Dockerfile(tmp string) (string, error) {
	cfg := r.Config
	var path string
	var content []byte
	if cfg.Dockerfile != "" {
		path = filepath.Join(cfg.Dir, cfg.Dockerfile)
		var err error
		if content, err = os.ReadFile(path); err != nil {
			return "", fmt.Errorf("read Dockerfile: %w; fix GANTRY_DOCKERFILE/Config.Dockerfile, or remove it to use Gantry's default", err)
		}
	} else {
		path, content = filepath.Join(tmp, "Dockerfile"), docker.Dockerfile
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(cfg.Dir, ".dockerignore")); os.IsNotExist(err) {
			if err := os.WriteFile(path+".dockerignore", docker.Dockerignore, 0o644); err != nil {
				return "", err
			}
		}
		logrus.Debugf("using Gantry's default Dockerfile (%s)", path)
	}
	return path, dockerfile.CheckTargets(path, content, cfg.ProdStage, cfg.DevStage)
}

// preflight checks the Dockerfile and the builder before anything is built.
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
func (r Run) BuildOnly(ctx context.Context) error {
	return r.withTemp(func(tmp string) error {
		path, err := r.preflight(ctx, tmp, r.Plan.Images)
		if err != nil {
			return err
		}
		for _, img := range r.Plan.Images {
			if err := r.build(ctx, r.Spec(img, path, buildx.CacheOnly, nil)); err != nil {
				return fmt.Errorf("build %s: %w", img.Target, err)
			}
			logrus.Infof("built %s (%s) for %s; nothing pushed", img.Target, img.Stage, strings.Join(img.Platforms, ", "))
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

// push builds img for all its platforms and pushes its immutable tags
// only, returning the index digest.
func (r Run) push(ctx context.Context, img plan.Image, dockerfilePath, tmp string) (string, error) {
	spec := r.Spec(img, dockerfilePath, buildx.Push, img.Immutable())
	spec.MetadataFile = filepath.Join(tmp, img.Target+"-metadata.json")
	if err := r.build(ctx, spec); err != nil {
		return "", fmt.Errorf("build and push %s: %w", img.Target, err)
	}
	return buildx.Digest(spec.MetadataFile)
}

// verify reads a pushed index back by digest and checks its platforms,
// revision and, for prod, the non-root user.
func (r Run) verify(ctx context.Context, img plan.Image, digest string) error {
	ref, err := registry.DigestRef(img.Tags[0], digest)
	if err != nil {
		return err
	}
	_, err = registry.New(ctx).Verify(ref, registry.Expect{
		Platforms: img.Platforms,
		Revision:  r.Event.Commit,
		NonRoot:   true,
	})
	return err
}

// Publish builds and pushes every image of the plan. Immutable tags go
// first, with the build; moving tags are added only after every image is
// pushed and verified, so a failure never leaves a moving tag on an image
// whose immutable tags are missing.
func (r Run) Publish(ctx context.Context) ([]Result, error) {
	var results []Result
	err := r.withTemp(func(tmp string) error {
		path, err := r.preflight(ctx, tmp, r.Plan.Images)
		if err != nil {
			return err
		}
		for _, img := range r.Plan.Images {
			digest, err := r.push(ctx, img, path, tmp)
			if err != nil {
				return err
			}
			if err := r.verify(ctx, img, digest); err != nil {
				return err
			}
			logrus.Infof("pushed %s %s", strings.Join(img.Immutable(), ", "), digest)
			results = append(results, Result{Image: img, Digest: digest})
		}
		client := registry.New(ctx)
		for _, res := range results {
			src, err := registry.DigestRef(res.Image.Tags[0], res.Digest)
			if err != nil {
				return err
			}
			for _, moving := range res.Image.Moving {
				if err := client.Tag(src, moving); err != nil {
					return err
				}
				logrus.Infof("moved %s to %s", moving, res.Digest)
			}
		}
		return nil
	})
	return results, err
}

// Login logs buildx and Gantry in to ghcr.io with GITHUB_TOKEN in GitHub
// Actions; the token goes to docker on stdin and is never printed.
func (r Run) Login(ctx context.Context) error {
	token := r.Getenv("GITHUB_TOKEN")
	host, _, _ := strings.Cut(r.Config.Image, "/")
	if token == "" || host != "ghcr.io" {
		return nil
	}
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
	logrus.Infof("building %s for %s", b.Target, strings.Join(b.Platforms, ", "))
	return run.Run(ctx, b.Cmd())
}

func (r Run) withTemp(fn func(tmp string) error) error {
	tmp, err := os.MkdirTemp("", "gantry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return fn(tmp)
}
