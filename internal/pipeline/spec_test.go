package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/testtree"
	"github.com/gantry-build/gantry/magetools/config"
)

const (
	specSHA   = "0123456789abcdef0123456789abcdef01234567"
	specImage = "127.0.0.1:5000/acme/svc"
	specDF    = "/tmp/gantry-x/Dockerfile"
	// specTime is 2024-04-24T23:06:40Z, given in another zone.
	specEpoch   = 1714000000
	specCreated = "2024-04-24T23:06:40Z"
)

var specTime = time.Unix(specEpoch, 0).In(time.FixedZone("CEST", 2*3600))

func TestSpec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const ldflags = "-X main.version=main-0123456 -X main.commit=" + specSHA + " -X main.date=" + specCreated

	mainPush := event.Context{Kind: event.BranchPush, Name: "push",
		Ref: "refs/heads/main", Branch: "main", Commit: specSHA, CommitTime: specTime, Repository: "Acme/Svc"}
	tagPush := event.Context{Kind: event.TagPush, Name: "push",
		Ref: "refs/tags/v1.2.3", Tag: "v1.2.3", Commit: specSHA, CommitTime: specTime, Repository: "Acme/Svc"}
	pullRequest := event.Context{Kind: event.PullRequest, Name: "pull_request",
		Ref: "refs/pull/42/merge", Branch: "feature", Commit: specSHA, CommitTime: specTime, Repository: "Acme/Svc", PullRequest: 42}

	// base is the expected prod build of a push to main, run locally.
	base := func() buildx.Build {
		return buildx.Build{
			Context:    dir,
			Dockerfile: specDF,
			Target:     "prod",
			Platforms:  []string{"linux/amd64", "linux/arm64"},
			Name:       specImage,
			Output:     buildx.Push,
			BuildArgs: map[string]string{
				"MAIN_PACKAGE": "./cmd/svc",
				"GO_LDFLAGS":   ldflags,
				"GO_TAGS":      "",
				"CGO_ENABLED":  "0",
				"GO_IMAGE":     "mirror.local/golang:1.26",
			},
			Labels: map[string]string{
				"org.opencontainers.image.revision": specSHA,
				"org.opencontainers.image.version":  "main-0123456",
				"org.opencontainers.image.title":    "svc",
				"org.opencontainers.image.created":  specCreated,
				"org.opencontainers.image.source":   "https://github.com/Acme/Svc",
			},
			SourceDateEpoch: specEpoch,
			Progress:        "auto",
		}
	}
	actionsToken := map[string]string{"GITHUB_ACTIONS": "true", "CI": "true", "ACTIONS_RUNTIME_TOKEN": "tok"}

	tests := []struct {
		name   string
		cfg    func(*config.Config)
		cfgEnv map[string]string // GANTRY_* read by Resolve
		env    map[string]string // Run.Getenv
		ev     event.Context
		image  int // index in Plan.Images
		out    buildx.Output
		tags   []string // nil: the image's immutable tags
		want   func(*buildx.Build)
	}{
		{
			name: "push to main, locally",
			ev:   mainPush,
			out:  buildx.Push,
			want: func(b *buildx.Build) {},
		},
		{
			name:   "tags, linker flags and cgo reach the Dockerfile as the host's go build gets them",
			ev:     mainPush,
			cfgEnv: map[string]string{"GANTRY_TAGS": "sqlite_fts5", "GANTRY_LDFLAGS": "-buildid=", "GANTRY_CGO": "true"},
			out:    buildx.Push,
			want: func(b *buildx.Build) {
				b.BuildArgs["GO_TAGS"] = "sqlite_fts5,netgo,osusergo"
				b.BuildArgs["GO_LDFLAGS"] += " -buildid= -linkmode=external -extldflags=-static"
				b.BuildArgs["CGO_ENABLED"] = "1"
			},
		},
		{
			name: "CI=true gives plain progress, no cache",
			ev:   mainPush,
			env:  map[string]string{"CI": "true", "ACTIONS_RUNTIME_TOKEN": "tok"},
			out:  buildx.Push,
			want: func(b *buildx.Build) { b.Progress = "plain" },
		},
		{
			name: "Actions without the runtime token: no cache",
			ev:   mainPush,
			env:  map[string]string{"GITHUB_ACTIONS": "true"},
			out:  buildx.Push,
			want: func(b *buildx.Build) { b.Progress = "plain" },
		},
		{
			name: "Actions with token, push: gha cache read and written",
			ev:   mainPush,
			env:  actionsToken,
			out:  buildx.Push,
			want: func(b *buildx.Build) {
				b.Progress = "plain"
				b.CacheFrom = []string{"type=gha,scope=svc-prod"}
				b.CacheTo = []string{"type=gha,mode=max,scope=svc-prod"}
			},
		},
		{
			name:  "Actions with token, push, dev",
			ev:    mainPush,
			env:   actionsToken,
			image: 1,
			out:   buildx.Push,
			want: func(b *buildx.Build) {
				b.Target = "dev"
				b.Progress = "plain"
				b.CacheFrom = []string{"type=gha,scope=svc-dev"}
				b.CacheTo = []string{"type=gha,mode=max,scope=svc-dev"}
			},
		},
		{
			name:   "a platform job of a matrix writes a cache scope of its own",
			ev:     mainPush,
			env:    actionsToken,
			cfgEnv: map[string]string{"GANTRY_SHARD": "linux/arm64"},
			out:    buildx.Push,
			want: func(b *buildx.Build) {
				b.Progress = "plain"
				b.CacheFrom = []string{"type=gha,scope=svc-prod-linux-arm64"}
				b.CacheTo = []string{"type=gha,mode=max,scope=svc-prod-linux-arm64"}
			},
		},
		{
			name:   "the finalize job's scope is the single runner's",
			ev:     mainPush,
			env:    actionsToken,
			cfgEnv: map[string]string{"GANTRY_SHARD": "finalize"},
			out:    buildx.Push,
			want: func(b *buildx.Build) {
				b.Progress = "plain"
				b.CacheFrom = []string{"type=gha,scope=svc-prod"}
				b.CacheTo = []string{"type=gha,mode=max,scope=svc-prod"}
			},
		},
		{
			name: "Actions with token, pull request: cache only read",
			ev:   pullRequest,
			env:  actionsToken,
			out:  buildx.CacheOnly,
			want: func(b *buildx.Build) {
				b.Platforms = []string{"linux/amd64"}
				b.Name = ""
				b.Output = buildx.CacheOnly
				b.Progress = "plain"
				b.CacheFrom = []string{"type=gha,scope=svc-prod"}
				b.Labels["org.opencontainers.image.version"] = "pr-42-0123456"
				b.BuildArgs["GO_LDFLAGS"] = "-X main.version=pr-42-0123456 -X main.commit=" + specSHA + " -X main.date=" + specCreated
			},
		},
		{
			name:  "pull request dev, locally",
			ev:    pullRequest,
			image: 1,
			out:   buildx.CacheOnly,
			want: func(b *buildx.Build) {
				b.Target = "dev"
				b.Platforms = []string{"linux/amd64"}
				b.Name = ""
				b.Output = buildx.CacheOnly
				b.Labels["org.opencontainers.image.version"] = "pr-42-0123456"
				b.BuildArgs["GO_LDFLAGS"] = "-X main.version=pr-42-0123456 -X main.commit=" + specSHA + " -X main.date=" + specCreated
			},
		},
		{
			name:   "registry cache from the environment, outside Actions: read and written on main",
			cfgEnv: map[string]string{"GANTRY_CACHE": "registry:localhost:5000/cache"},
			ev:     mainPush,
			out:    buildx.Push,
			want: func(b *buildx.Build) {
				b.CacheFrom = []string{"type=registry,ref=localhost:5000/cache:svc-prod"}
				b.CacheTo = []string{"type=registry,mode=max,image-manifest=true,oci-mediatypes=true,ref=localhost:5000/cache:svc-prod"}
			},
		},
		{
			name:   "local cache, pull request dev: only read",
			cfgEnv: map[string]string{"GANTRY_CACHE": "local:/var/cache/gantry"},
			ev:     pullRequest,
			image:  1,
			out:    buildx.CacheOnly,
			want: func(b *buildx.Build) {
				b.Target = "dev"
				b.Platforms = []string{"linux/amd64"}
				b.Name = ""
				b.Output = buildx.CacheOnly
				b.CacheFrom = []string{"type=local,src=/var/cache/gantry/svc-dev"}
				b.Labels["org.opencontainers.image.version"] = "pr-42-0123456"
				b.BuildArgs["GO_LDFLAGS"] = "-X main.version=pr-42-0123456 -X main.commit=" + specSHA + " -X main.date=" + specCreated
			},
		},
		{
			name:   "cache none in Actions with token: no cache flags",
			cfgEnv: map[string]string{"GANTRY_CACHE": "none"},
			ev:     mainPush,
			env:    actionsToken,
			out:    buildx.Push,
			want:   func(b *buildx.Build) { b.Progress = "plain" },
		},
		{
			name: "release in Actions",
			ev:   tagPush,
			env:  actionsToken,
			out:  buildx.Push,
			want: func(b *buildx.Build) {
				b.Progress = "plain"
				b.CacheFrom = []string{"type=gha,scope=svc-prod"}
				b.CacheTo = []string{"type=gha,mode=max,scope=svc-prod"}
				b.Labels["org.opencontainers.image.version"] = "1.2.3"
				b.BuildArgs["GO_LDFLAGS"] = "-X main.version=1.2.3 -X main.commit=" + specSHA + " -X main.date=" + specCreated
			},
		},
		{
			name: "description, license, attestations, no cache",
			cfg: func(c *config.Config) {
				c.Description = "The svc service"
				c.License = "Apache-2.0"
				c.Attestations = true
				c.NoCache = true
			},
			ev:  mainPush,
			out: buildx.Push,
			want: func(b *buildx.Build) {
				b.Labels["org.opencontainers.image.description"] = "The svc service"
				b.Labels["org.opencontainers.image.licenses"] = "Apache-2.0"
				b.Attestations = true
				b.NoCache = true
			},
		},
		{
			name:   "attestations and no cache from the environment",
			cfgEnv: map[string]string{"GANTRY_ATTESTATIONS": "true", "GANTRY_NO_CACHE": "true", "GANTRY_LICENSE": "MIT"},
			ev:     mainPush,
			out:    buildx.Push,
			want: func(b *buildx.Build) {
				b.Labels["org.opencontainers.image.licenses"] = "MIT"
				b.Attestations = true
				b.NoCache = true
			},
		},
		{
			name: "unknown commit time",
			ev:   func() event.Context { e := mainPush; e.CommitTime = time.Time{}; return e }(),
			out:  buildx.Push,
			want: func(b *buildx.Build) {
				b.SourceDateEpoch = 0
				delete(b.Labels, "org.opencontainers.image.created")
				b.BuildArgs["GO_LDFLAGS"] = "-X main.version=main-0123456 -X main.commit=" + specSHA
			},
		},
		{
			name: "unknown repository",
			ev:   func() event.Context { e := mainPush; e.Repository = ""; return e }(),
			out:  buildx.Push,
			want: func(b *buildx.Build) { delete(b.Labels, "org.opencontainers.image.source") },
		},
		{
			name: "dirty tree",
			ev:   func() event.Context { e := mainPush; e.Dirty = true; return e }(),
			out:  buildx.Push,
			want: func(b *buildx.Build) {
				b.Labels["org.opencontainers.image.version"] = "main-0123456-dirty"
				b.BuildArgs["GO_LDFLAGS"] = "-X main.version=main-0123456-dirty -X main.commit=" + specSHA + " -X main.date=" + specCreated
			},
		},
		{
			name: "custom stages and service, Actions with token",
			cfg: func(c *config.Config) {
				c.ProdStage, c.DevStage, c.Service = "runtime", "debug", "api"
			},
			env: actionsToken,
			ev:  mainPush,
			out: buildx.Push,
			want: func(b *buildx.Build) {
				b.Target = "runtime"
				b.Progress = "plain"
				b.CacheFrom = []string{"type=gha,scope=api-prod"}
				b.CacheTo = []string{"type=gha,mode=max,scope=api-prod"}
				b.Labels["org.opencontainers.image.title"] = "api"
			},
		},
		{
			name: "custom and switched-off stamps",
			cfg: func(c *config.Config) {
				c.Stamp = config.Stamp{Version: "github.com/acme/svc/internal/version.Version", Commit: "-"}
			},
			ev:  mainPush,
			out: buildx.Push,
			want: func(b *buildx.Build) {
				b.BuildArgs["GO_LDFLAGS"] = "-X github.com/acme/svc/internal/version.Version=main-0123456 -X main.date=" + specCreated
			},
		},
		{
			name:   "build args from the environment over code",
			cfgEnv: map[string]string{"GANTRY_BUILD_ARGS": "GO_IMAGE=other/golang:1.26,EXTRA=1"},
			ev:     mainPush,
			out:    buildx.Push,
			want: func(b *buildx.Build) {
				b.BuildArgs["GO_IMAGE"] = "other/golang:1.26"
				b.BuildArgs["EXTRA"] = "1"
			},
		},
		{
			name: "load for this machine",
			ev:   mainPush,
			out:  buildx.Load,
			tags: []string{"svc:main-0123456"},
			want: func(b *buildx.Build) {
				b.Output = buildx.Load
				b.Tags = []string{"svc:main-0123456"}
				b.Name = ""
			},
		},
		{
			name: "three platforms",
			cfg:  func(c *config.Config) { c.Platforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} },
			ev:   mainPush,
			out:  buildx.Push,
			want: func(b *buildx.Build) { b.Platforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Config{
				Image:       specImage,
				Dir:         dir,
				MainPackage: "./cmd/svc",
				BuildArgs:   map[string]string{"GO_IMAGE": "mirror.local/golang:1.26"},
			}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			cfg = resolve(t, cfg, tt.cfgEnv)
			p, err := plan.Make(tt.ev, cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := Run{Config: cfg, Event: tt.ev, Plan: p, Getenv: getenv(tt.env)}
			img := p.Images[tt.image]
			got := r.Spec(img, specDF, tt.out, tt.tags)
			want := base()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Spec() =\n  %#v\nwant\n  %#v", got, want)
			}
			if cfg.BuildArgs["MAIN_PACKAGE"] != "" || cfg.BuildArgs["GO_LDFLAGS"] != "" {
				t.Errorf("Spec wrote into Config.BuildArgs: %v", cfg.BuildArgs)
			}
		})
	}
}

// TestSpecArgs checks the end result on the buildx command line: the
// commit time becomes SOURCE_DATE_EPOCH and timestamps are rewritten.
func TestSpecArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := resolve(t, config.Config{Image: specImage, Dir: dir}, nil)
	ev := event.Context{Kind: event.BranchPush, Ref: "refs/heads/main", Branch: "main", Commit: specSHA, CommitTime: specTime}
	p, err := plan.Make(ev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := Run{Config: cfg, Event: ev, Plan: p, Getenv: getenv(nil)}
	args, err := r.Spec(p.Images[0], specDF, buildx.Push, nil).Args()
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"--build-arg SOURCE_DATE_EPOCH=1714000000",
		"--build-arg MAIN_PACKAGE=.",
		"--label org.opencontainers.image.created=" + specCreated,
		"--label org.opencontainers.image.title=svc",
		"--provenance=false --sbom=false",
		"type=image,name=" + specImage + ",push-by-digest=true,push=true,oci-mediatypes=true,rewrite-timestamp=true",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %q", joined, want)
		}
	}
	if strings.Contains(joined, "--tag") {
		t.Errorf("args %q tag the build; a push goes by digest, tagged once verified", joined)
	}
	if args[len(args)-1] != dir {
		t.Errorf("last argument %q, want the context %q", args[len(args)-1], dir)
	}
}

const twoStages = "FROM scratch AS prod\nCOPY a /a\n\nFROM scratch AS dev\nCOPY b /b\n"

func TestDockerfile(t *testing.T) {
	t.Parallel()
	type files map[string]string
	tests := []struct {
		name       string
		files      files // in the service directory
		fifo       string
		cfg        func(*config.Config)
		cfgEnv     map[string]string
		wantPath   string // relative to the service dir, or "TMP/Dockerfile"
		wantIgnore bool   // Dockerfile.dockerignore written to tmp
		wantErr    []string
	}{
		{name: "embedded, no .dockerignore", files: files{"main.go": "package main"},
			wantPath: "TMP/Dockerfile", wantIgnore: true},
		{name: "embedded, service has .dockerignore", files: files{".dockerignore": "bin/\n"},
			wantPath: "TMP/Dockerfile"},
		{name: "docker/Dockerfile found by Resolve", files: files{"docker/Dockerfile": twoStages},
			wantPath: "docker/Dockerfile"},
		{name: "configured in code", files: files{"build/Containerfile": twoStages},
			cfg: func(c *config.Config) { c.Dockerfile = "build/Containerfile" }, wantPath: "build/Containerfile"},
		{name: "configured by GANTRY_DOCKERFILE", files: files{"Dockerfile.svc": twoStages},
			cfgEnv: map[string]string{"GANTRY_DOCKERFILE": "Dockerfile.svc"}, wantPath: "Dockerfile.svc"},
		{name: "configured, stage names in other case", files: files{"Dockerfile": "FROM scratch AS Prod\nFROM scratch AS DEV\n"},
			cfg: func(c *config.Config) { c.Dockerfile = "Dockerfile" }, wantPath: "Dockerfile"},
		{name: "custom stage names", files: files{"Dockerfile": "FROM scratch AS runtime\nFROM scratch AS debug\n"},
			cfg: func(c *config.Config) {
				c.Dockerfile, c.ProdStage, c.DevStage = "Dockerfile", "runtime", "debug"
			}, wantPath: "Dockerfile"},
		{name: "configured file missing", files: files{"Dockerfile": twoStages},
			cfg:     func(c *config.Config) { c.Dockerfile = "docker/Dockerfile.missing" },
			wantErr: []string{"Dockerfile.missing", "GANTRY_DOCKERFILE"}},
		{name: "configured by env, missing",
			cfgEnv:  map[string]string{"GANTRY_DOCKERFILE": "nope/Dockerfile"},
			wantErr: []string{"nope/Dockerfile", "GANTRY_DOCKERFILE"}},
		{name: "no dev stage", files: files{"docker/Dockerfile": "FROM scratch AS prod\nCOPY a /a\n"},
			wantErr: []string{`no stage "dev"`, "prod", "GANTRY_DEV_STAGE"}},
		{name: "no prod stage", files: files{"docker/Dockerfile": "FROM scratch AS build\nFROM scratch AS dev\n"},
			wantErr: []string{`no stage "prod"`, "build, dev"}},
		{name: "unnamed stages", files: files{"docker/Dockerfile": "FROM scratch\nFROM scratch\n"},
			wantErr: []string{`no stage "prod"`, "none"}},
		{name: "stages renamed but file has the defaults", files: files{"docker/Dockerfile": twoStages},
			cfg:     func(c *config.Config) { c.ProdStage = "runtime" },
			wantErr: []string{`no stage "runtime"`}},
		{name: "unparseable", files: files{"docker/Dockerfile": "FROM scratch AS prod\nFROM scratch AS dev\nCOPY --bogus-flag a /a\n"},
			wantErr: []string{"parse", "docker/Dockerfile", "--bogus-flag"}},
		{name: "a named pipe", fifo: "docker/Dockerfile",
			wantErr: []string{"docker/Dockerfile is a named pipe, not a regular file", "GANTRY_DOCKERFILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, tmp := t.TempDir(), t.TempDir()
			for f, content := range tt.files {
				path := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.fifo != "" {
				testtree.Fifo(t, dir, tt.fifo)
			}
			cfg := config.Config{Image: specImage, Dir: dir}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			r := newRun(t, resolve(t, cfg, tt.cfgEnv), event.Context{}, plan.Plan{}, nil)
			var got string
			var err error
			testtree.Returns(t, func() { got, err = r.Dockerfile(tmp) })
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatalf("Dockerfile: %v", err)
			}
			want := filepath.Join(dir, tt.wantPath)
			if rest, ok := strings.CutPrefix(tt.wantPath, "TMP/"); ok {
				want = filepath.Join(tmp, rest)
			}
			if got != want {
				t.Errorf("Dockerfile() = %q, want %q", got, want)
			}
			entries, err := os.ReadDir(tmp)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !strings.HasPrefix(tt.wantPath, "TMP/") {
				if len(names) != 0 {
					t.Errorf("tmp holds %q, want nothing written for a service Dockerfile", names)
				}
				return
			}
			content, err := os.ReadFile(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(content, docker.Dockerfile) {
				t.Errorf("%s is not the embedded Dockerfile", got)
			}
			ignore, err := os.ReadFile(got + ".dockerignore")
			switch {
			case tt.wantIgnore && err != nil:
				t.Errorf("no %s.dockerignore beside the embedded Dockerfile: %v", got, err)
			case tt.wantIgnore && !bytes.Equal(ignore, docker.Dockerignore):
				t.Errorf("%s.dockerignore is not the embedded template", got)
			case !tt.wantIgnore && err == nil:
				t.Errorf("%s.dockerignore written although the service has a .dockerignore", got)
			}
			if len(docker.Dockerignore) == 0 || len(docker.Dockerfile) == 0 {
				t.Error("embedded files are empty")
			}
		})
	}
}
