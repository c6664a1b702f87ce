package pipeline

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/dockerfile"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/magetools/config"
)

// Spec returns the buildx build of one image of the plan; dockerfilePath is
// the Dockerfile to use (see Dockerfile). tags name the image a Load
// loads; a Push goes by digest to Config.Image, and Publish tags it.
func (r Run) Spec(img plan.Image, dockerfilePath string, out buildx.Output, tags []string) buildx.Build {
	cfg, ev := r.Config, r.Event
	args := r.BuildOptions().BuildArgs()
	maps.Copy(args, cfg.BuildArgs)
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
	if out == buildx.Push {
		b.Name = cfg.Image
	}
	if !ev.CommitTime.IsZero() {
		b.SourceDateEpoch = ev.CommitTime.Unix()
	}
	if r.inActions() || r.Getenv("CI") == "true" {
		b.Progress = "plain"
	}
	b.CacheFrom, b.CacheTo = r.cacheFlags(img, buildx.Max)
	return b
}

// cacheFlags are the cache flags of img's builds, one scope per target:
// main and tag builds write the cache (mode's share), pull requests only
// read it, so they cannot poison it. A platform job of a sharded publish
// has a scope of its own, so that the jobs, which run at once, do not
// overwrite each other's.
func (r Run) cacheFlags(img plan.Image, mode buildx.Mode) (from, to []string) {
	scope := r.Config.Service + "-" + img.Target
	if r.Config.Shard != "" && r.Config.Shard != config.ShardFinalize {
		scope += "-" + strings.ReplaceAll(r.Config.Shard, "/", "-")
	}
	return r.cache().Flags(scope, r.Plan.Push, mode)
}

// cache is the configured cache (Config.Cache, validated by Resolve). By
// default: GitHub's cache service in Actions, reachable only with the
// runner's token (exposed to steps by crazy-max/ghaction-github-runtime);
// elsewhere none but the builder's own.
func (r Run) cache() buildx.Cache {
	c, err := buildx.ParseCache(r.Config.Cache)
	if err != nil || c.Kind == "" {
		c = buildx.Cache{Kind: "none"}
		if r.inActions() && r.Getenv("ACTIONS_RUNTIME_TOKEN") != "" {
			c.Kind = "gha"
		}
	}
	return c
}

// BuildOptions are the go build settings of this commit's binaries,
// wherever they are compiled.
func (r Run) BuildOptions() gobuild.Options {
	return gobuild.NewOptions(r.Config, r.Stamp())
}

// Stamp is the version information of this commit, for binary and image.
func (r Run) Stamp() gobuild.Stamp {
	return gobuild.Stamp{Version: r.Plan.Version, Commit: r.Event.Commit, Date: r.Event.CommitTime}
}

// labels are the OCI labels the README lists (Tag rules, Migrating),
// set by buildx so that a service's own Dockerfile gets them too.
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
	if r.Plan.Inputs != "" {
		l[registry.InputsLabel] = r.Plan.Inputs
	}
	return l
}

// Dockerfile returns the path of the Dockerfile to build and checks that it
// has the prod and dev stages. With no Dockerfile configured, the embedded
// default, with the service's Args and Ports, is written to tmp, with the
// .dockerignore template beside it when the service has none (buildx
// reads <Dockerfile>.dockerignore first).
func (r Run) Dockerfile(tmp string) (string, error) {
	cfg := r.Config
	_, content, err := r.dockerfileSource()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cfg.Dir, cfg.Dockerfile)
	if cfg.Dockerfile == "" {
		path = filepath.Join(tmp, "Dockerfile")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(cfg.Dir, ".dockerignore")); os.IsNotExist(err) {
			if err := os.WriteFile(path+".dockerignore", docker.Dockerignore, 0o644); err != nil {
				return "", err
			}
		}
		r.Log.WithField("dockerfile", path).Debug("using Gantry's default Dockerfile")
	}
	return path, dockerfile.CheckTargets(path, content, cfg.ProdStage, cfg.DevStage)
}

// dockerfileSource returns the name (the service's path, or "embedded")
// and the content of the Dockerfile the builds use.
func (r Run) dockerfileSource() (string, []byte, error) {
	cfg := r.Config
	if cfg.Dockerfile == "" {
		return provenance.EmbeddedDockerfile, docker.Render(cfg.Args, cfg.Ports), nil
	}
	content, err := repofile.At(cfg.Dir).Read(filepath.ToSlash(cfg.Dockerfile), repofile.MaxBuildFile)
	if err != nil {
		return "", nil, fmt.Errorf("read Dockerfile: %w; fix GANTRY_DOCKERFILE/Config.Dockerfile, or remove it to use Gantry's default", err)
	}
	return filepath.ToSlash(cfg.Dockerfile), content, nil
}
