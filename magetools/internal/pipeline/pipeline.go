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
	"github.com/gantry-build/gantry/magetools/internal/actions"
	"github.com/gantry-build/gantry/magetools/internal/buildx"
	"github.com/gantry-build/gantry/magetools/internal/dockerfile"
	"github.com/gantry-build/gantry/magetools/internal/event"
	"github.com/gantry-build/gantry/magetools/internal/git"
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
		NoCache:      cfg.NoCache,
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
// revision and the non-root user.
func (r Run) verify(client registry.Client, img plan.Image, digest string) error {
	ref, err := registry.DigestRef(img.Tags[0], digest)
	if err != nil {
		return err
	}
	_, err = client.Verify(ref, registry.Expect{
		Platforms: img.Platforms,
		Revision:  r.Event.Commit,
		NonRoot:   true,
	})
	return err
}

// How an image of a run came to be in the registry.
const (
	Built    = "built"
	Reused   = "reused"   // a re-run: the immutable tag already held this commit
	Promoted = "promoted" // a release of a commit built on main: tagged, not rebuilt
)

// Publish puts every image of the plan in the registry, in the order that
// keeps it consistent:
//
//  1. check the push credentials and the moving tags' history, before
//     anything is built;
//  2. per image, reuse the immutable tag when it already holds this
//     commit (a re-run), promote the main build on a release, or build
//     and push the immutable tags only;
//  3. read every index back and verify it;
//  4. only then move the moving tags, and only forwards in history.
//
// A failure at any step leaves every moving tag where it was.
func (r Run) Publish(ctx context.Context) ([]Result, error) {
	client := registry.New(ctx)
	var results []Result
	err := r.withTemp(func(tmp string) error {
		if err := client.CheckPush(r.Config.Image); err != nil {
			return err
		}
		for _, img := range r.Plan.Images {
			for _, tag := range img.Moving {
				if _, err := r.shouldMove(client, tag); err != nil {
					return err
				}
			}
		}
		dockerfilePath := ""
		for _, img := range r.Plan.Images {
			res, err := r.existing(client, img)
			if err != nil {
				return err
			}
			if res.How == "" {
				if dockerfilePath == "" {
					if dockerfilePath, err = r.preflight(ctx, tmp, r.Plan.Images); err != nil {
						return err
					}
				}
				if res.Digest, err = r.push(ctx, img, dockerfilePath, tmp); err != nil {
					return err
				}
				res.How = Built
			}
			if err := r.verify(client, img, res.Digest); err != nil {
				return err
			}
			logrus.Infof("%s %s: %s", res.How, strings.Join(img.Immutable(), ", "), res.Digest)
			results = append(results, res)
		}
		for _, res := range results {
			if err := r.moveTags(client, res); err != nil {
				return err
			}
		}
		return nil
	})
	return results, err
}

// existing returns the image already in the registry for img, if this run
// must not build it: its immutable tag holds this commit (a re-run), or,
// on a release, the push to main already built this commit (promotion).
// An immutable tag that holds another commit is an error.
func (r Run) existing(client registry.Client, img plan.Image) (Result, error) {
	tag := img.Immutable()[0]
	current, found, err := client.Lookup(tag)
	switch {
	case err != nil:
		return Result{}, err
	case found && current.Revision == r.Event.Commit:
		logrus.Infof("%s already holds commit %.12s: a re-run, not rebuilt", tag, r.Event.Commit)
		return Result{Image: img, Digest: current.Digest, How: Reused}, nil
	case found && r.Event.Kind == event.TagPush && r.Config.AllowReleaseOverwrite:
		logrus.Warnf("%s holds %s (commit %q); replacing it because AllowReleaseOverwrite is set", tag, current.Digest, current.Revision)
	case found && current.Revision == "":
		return Result{}, fmt.Errorf("%s already names %s, which has no %s label, so Gantry did not build it and will not overwrite it: delete the tag, or, for a release, set GANTRY_ALLOW_RELEASE_OVERWRITE=true",
			tag, current.Digest, registry.RevisionLabel)
	case found && r.Event.Kind == event.TagPush:
		return Result{}, fmt.Errorf("%s already names an image of commit %.12s, not %.12s; a release version is immutable: release a new version (git tag v<next>), or set GANTRY_ALLOW_RELEASE_OVERWRITE=true to replace it deliberately",
			tag, current.Revision, r.Event.Commit)
	case found:
		return Result{}, fmt.Errorf("%s already names an image of commit %.12s, not %.12s (two commits share the short SHA); raise GANTRY_SHORT_SHA_LENGTH (Config.ShortSHALength)",
			tag, current.Revision, r.Event.Commit)
	}
	if r.Event.Kind != event.TagPush {
		return Result{Image: img}, nil
	}
	mainBuild := r.Config.Image + ":" + r.Plan.Short
	built, found, err := client.Lookup(mainBuild)
	if err != nil || !found || built.Revision != r.Event.Commit {
		logrus.Infof("no prod image of commit %.12s at %s: building the release", r.Event.Commit, mainBuild)
		return Result{Image: img}, err
	}
	src, err := registry.DigestRef(mainBuild, built.Digest)
	if err != nil {
		return Result{}, err
	}
	if err := client.Tag(src, tag); err != nil {
		return Result{}, err
	}
	logrus.Infof("promoted %s (%s) to %s: the release ships the bytes built on main", mainBuild, built.Digest, tag)
	return Result{Image: img, Digest: built.Digest, How: Promoted}, nil
}

// moveTags points res's moving tags at its digest, each only if that
// moves it forwards in history.
func (r Run) moveTags(client registry.Client, res Result) error {
	src, err := registry.DigestRef(res.Image.Tags[0], res.Digest)
	if err != nil {
		return err
	}
	for _, tag := range res.Image.Moving {
		move, err := r.shouldMove(client, tag)
		if err != nil {
			return err
		}
		if !move {
			continue
		}
		if err := client.Tag(src, tag); err != nil {
			return err
		}
		logrus.Infof("moved %s to %s", tag, res.Digest)
	}
	return nil
}

// shouldMove reports whether the moving tag may point at this commit: it
// is new, or it names this commit or one of its ancestors. A run of an
// older commit that finishes late leaves it alone.
func (r Run) shouldMove(client registry.Client, tag string) (bool, error) {
	current, found, err := client.Lookup(tag)
	if err != nil || !found || current.Revision == r.Event.Commit {
		return err == nil, err
	}
	if current.Revision == "" {
		return false, fmt.Errorf("%s names %s, which has no %s label, so Gantry cannot tell whether it is older than commit %.12s: delete the tag, or point it at an image Gantry built",
			tag, current.Digest, registry.RevisionLabel, r.Event.Commit)
	}
	repo := git.Repo{Dir: r.Config.Dir}
	known, err := repo.History(current.Revision)
	if err != nil {
		return false, err
	}
	ancestor := false
	if known {
		if ancestor, err = repo.IsAncestor(current.Revision, r.Event.Commit); err != nil {
			return false, err
		}
	}
	if !ancestor {
		logrus.Warnf("%s names commit %.12s, which is not an ancestor of %.12s (a newer commit was published, or history was rewritten): leaving it where it is",
			tag, current.Revision, r.Event.Commit)
	}
	return ancestor, nil
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
	logrus.Infof("building %s for %s", b.Target, strings.Join(b.Platforms, ", "))
	r.Actions().StartGroup(fmt.Sprintf("build %s for %s", b.Target, strings.Join(b.Platforms, ", ")))
	defer r.Actions().EndGroup()
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
