package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/module"
)

// envOf returns a Lookup backed by m; a key absent from m is unset.
func envOf(m map[string]string) Lookup {
	return func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	}
}

// facts returns the facts of a service Acme/Svc with one main package
// ./cmd/api, in an empty temporary directory (so no docker/Dockerfile).
func facts(t *testing.T) Facts {
	t.Helper()
	return Facts{
		Dir:            t.TempDir(),
		ModulePath:     "github.com/Acme/Svc",
		MainCandidates: []string{"./cmd/api"},
		OwnerRepo:      "Acme/Svc",
		HostGOOS:       "linux",
		HostGOARCH:     hostGOARCH,
	}
}

// hostGOARCH is the host's architecture in facts: one no test machine runs,
// so that a default taken from runtime.GOARCH would show.
const hostGOARCH = "s390x"

func mustResolve(t *testing.T, c Config, env map[string]string, f Facts) Config {
	t.Helper()
	r, err := c.Resolve(envOf(env), f)
	if err != nil {
		t.Fatalf("Resolve: unexpected error: %v", err)
	}
	return r
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveDefaults(t *testing.T) {
	t.Parallel()
	f := facts(t)
	got := mustResolve(t, Config{}, nil, f)
	want := Config{
		Service:              "api",
		Dir:                  ".",
		MainPackage:          "./cmd/api",
		Registry:             "ghcr.io",
		Image:                "ghcr.io/acme/svc",
		Platforms:            []string{"linux/amd64", "linux/arm64"},
		PullRequestPlatforms: []string{"linux/amd64"},
		PublishBranch:        "main",
		BuildOtherRefs:       false,
		Dockerfile:           "",
		ProdStage:            "prod",
		DevStage:             "dev",
		ShortSHALength:       7,
		BuildArgs:            nil,
		Attestations:         false,
		Workflow:             ".github/workflows/publish-ghcr.yml",
		Stamp:                Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date", Defaulted: StampFields{true, true, true}},
		GOOS:                 "linux",
		GOARCH:               hostGOARCH,
		ShardDir:             filepath.Join(os.TempDir(), "gantry-shards"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve defaults:\n got  %+v\n want %+v", got, want)
	}
}

func TestResolveSigning(t *testing.T) {
	t.Parallel()
	f := facts(t)
	for _, tc := range []struct {
		name         string
		cfg          Config
		env          map[string]string
		wantSigning  string // in Actions
		wantWorkflow string
		wantErr      string
	}{
		{name: "keyless in GitHub Actions, trusting the running workflow",
			env:         map[string]string{"GITHUB_WORKFLOW_REF": "acme/svc/.github/workflows/container.yml@refs/heads/main"},
			wantSigning: "keyless", wantWorkflow: ".github/workflows/container.yml"},
		{name: "a key wins over Actions", env: map[string]string{"GANTRY_SIGNING_KEY": "/k/cosign.key"},
			wantSigning: "key", wantWorkflow: ".github/workflows/publish-ghcr.yml"},
		{name: "off by choice in Actions", env: map[string]string{"GANTRY_SIGNING": "off"},
			wantSigning: "off", wantWorkflow: ".github/workflows/publish-ghcr.yml"},
		{name: "the workflow set in code", cfg: Config{Workflow: ".github/workflows/release.yml"}, env: map[string]string{"GITHUB_WORKFLOW_REF": "acme/svc/.github/workflows/container.yml@refs/heads/main"},
			wantSigning: "keyless", wantWorkflow: ".github/workflows/release.yml"},
		{name: "key without a key", cfg: Config{Signing: "key"}, wantErr: "set GANTRY_SIGNING_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.Resolve(envOf(tc.env), f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if signing := got.SigningFor(true); signing != tc.wantSigning || got.Workflow != tc.wantWorkflow {
				t.Errorf("SigningFor(true), Workflow = %q, %q; want %q, %q", signing, got.Workflow, tc.wantSigning, tc.wantWorkflow)
			}
		})
	}
}

func TestResolveDefaultConstants(t *testing.T) {
	t.Parallel()
	// The exported defaults are the README's (Tag rules); a change here is a
	// change of the product rules.
	checks := []struct {
		name      string
		got, want any
	}{
		{"DefaultRegistry", DefaultRegistry, "ghcr.io"},
		{"DefaultPublishBranch", DefaultPublishBranch, "main"},
		{"DefaultProdStage", DefaultProdStage, "prod"},
		{"DefaultDevStage", DefaultDevStage, "dev"},
		{"DefaultShortSHALength", DefaultShortSHALength, 7},
		{"DefaultDockerfile", DefaultDockerfile, "docker/Dockerfile"},
		{"DefaultPlatforms", DefaultPlatforms(), []string{"linux/amd64", "linux/arm64"}},
		{"DefaultPullRequestPlatforms", DefaultPullRequestPlatforms(), []string{"linux/amd64"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestResolveDefaultPlatformsAreCopies(t *testing.T) {
	t.Parallel()
	r := mustResolve(t, Config{}, nil, facts(t))
	r.Platforms[0] = "linux/s390x"
	r.PullRequestPlatforms[0] = "linux/s390x"
	if DefaultPlatforms()[0] != "linux/amd64" {
		t.Errorf("changing the resolved Platforms changed DefaultPlatforms: %v", DefaultPlatforms())
	}
	if DefaultPullRequestPlatforms()[0] != "linux/amd64" {
		t.Errorf("changing the resolved PullRequestPlatforms changed DefaultPullRequestPlatforms: %v", DefaultPullRequestPlatforms())
	}
	// A caller's change to what it was given does not reach the next one.
	DefaultPlatforms()[0] = "linux/s390x"
	DefaultPullRequestPlatforms()[0] = "linux/s390x"
	if DefaultPlatforms()[0] != "linux/amd64" || DefaultPullRequestPlatforms()[0] != "linux/amd64" {
		t.Errorf("changing a returned default changed the defaults: %v, %v", DefaultPlatforms(), DefaultPullRequestPlatforms())
	}
}

func TestResolveDockerfileDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		cfg   Config
		env   map[string]string
		want  string
	}{
		{name: "no docker/Dockerfile: embedded default", setup: func(*testing.T, string) {}, want: ""},
		{name: "docker/Dockerfile exists", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "docker", "Dockerfile"), "FROM scratch\n")
		}, want: "docker/Dockerfile"},
		{name: "Dockerfile at the root is not the default", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\n")
		}, want: ""},
		{name: "docker/Dockerfile is a directory", setup: func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "docker", "Dockerfile"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, want: ""},
		{name: "code wins over an existing docker/Dockerfile", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "docker", "Dockerfile"), "FROM scratch\n")
		}, cfg: Config{Dockerfile: "build/Dockerfile"}, want: "build/Dockerfile"},
		{name: "env wins over code and an existing docker/Dockerfile", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "docker", "Dockerfile"), "FROM scratch\n")
		}, cfg: Config{Dockerfile: "build/Dockerfile"}, env: map[string]string{"GANTRY_DOCKERFILE": "ci/Dockerfile"}, want: "ci/Dockerfile"},
		{name: "embedded chooses Gantry's over an existing docker/Dockerfile", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "docker", "Dockerfile"), "FROM scratch AS build\n")
		}, cfg: Config{Dockerfile: EmbeddedDockerfile}, want: ""},
		{name: "embedded from the environment", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "docker", "Dockerfile"), "FROM scratch AS build\n")
		}, env: map[string]string{"GANTRY_DOCKERFILE": "embedded"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := facts(t)
			tt.setup(t, f.Dir)
			got := mustResolve(t, tt.cfg, tt.env, f)
			if got.Dockerfile != tt.want {
				t.Errorf("Dockerfile = %q, want %q", got.Dockerfile, tt.want)
			}
		})
	}
}

func TestResolveServiceName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		main       string // MainCandidates[0]
		modulePath string
		cfg        Config
		env        map[string]string
		want       string
	}{
		{name: "cmd/api", main: "./cmd/api", modulePath: "github.com/acme/svc", want: "api"},
		{name: "cmd without ./", main: "cmd/worker", modulePath: "github.com/acme/svc", want: "worker"},
		{name: "trailing slash", main: "./cmd/api/", modulePath: "github.com/acme/svc", want: "api"},
		{name: "module root", main: ".", modulePath: "github.com/acme/svc", want: "svc"},
		{name: "module root, ./", main: "./", modulePath: "github.com/acme/svc", want: "svc"},
		{name: "upper-case cmd lower-cased", main: "./cmd/API", modulePath: "github.com/acme/svc", want: "api"},
		{name: "module root lower-cased", main: ".", modulePath: "github.com/Acme/PaymentSvc", want: "paymentsvc"},
		{name: "module root, one-element path", main: ".", modulePath: "svc", want: "svc"},
		{name: "module root, deep path", main: ".", modulePath: "gitlab.com/group/sub/payments", want: "payments"},
		{name: "module root, major version suffix", main: ".", modulePath: "github.com/acme/svc/v2", want: "svc"},
		{name: "GANTRY_MAIN decides the name", main: "./cmd/api", modulePath: "github.com/acme/svc",
			env: map[string]string{"GANTRY_MAIN": "./cmd/worker"}, want: "worker"},
		{name: "Config.MainPackage decides the name", main: "./cmd/api", modulePath: "github.com/acme/svc",
			cfg: Config{MainPackage: "./cmd/cron"}, want: "cron"},
		{name: "Config.Service wins over derivation", main: "./cmd/api", modulePath: "github.com/acme/svc",
			cfg: Config{Service: "payments"}, want: "payments"},
		{name: "GANTRY_SERVICE wins over Config.Service", main: "./cmd/api", modulePath: "github.com/acme/svc",
			cfg: Config{Service: "payments"}, env: map[string]string{"GANTRY_SERVICE": "billing"}, want: "billing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := facts(t)
			f.MainCandidates = []string{tt.main}
			f.ModulePath = tt.modulePath
			got := mustResolve(t, tt.cfg, tt.env, f)
			if got.Service != tt.want {
				t.Errorf("Service = %q, want %q", got.Service, tt.want)
			}
		})
	}
}

func TestResolveMainPackage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		candidates []string
		named      []module.Named
		cfg        Config
		env        map[string]string
		want       string
		errHas     []string
	}{
		{name: "one candidate: root", candidates: []string{"."}, want: "."},
		{name: "one candidate: cmd", candidates: []string{"./cmd/api"}, want: "./cmd/api"},
		{name: "none", candidates: nil, errHas: []string{"no main package", "GANTRY_MAIN", "Config.MainPackage"}},
		{name: "none, empty slice", candidates: []string{}, errHas: []string{"no main package", "GANTRY_MAIN"}},
		{name: "several", candidates: []string{"./cmd/a", "./cmd/b"},
			errHas: []string{"several main packages", "./cmd/a", "./cmd/b", "GANTRY_MAIN"}},
		{name: "the root before ./cmd/<name>", candidates: []string{".", "./cmd/a", "./cmd/b"}, want: "."},
		{name: "./cmd before its helpers", candidates: []string{"./cmd", "./cmd/ucangen"}, want: "./cmd"},
		{name: "a build file names it", candidates: []string{".", "./cmd/a"},
			named: []module.Named{{Package: "./cmd/a", Source: ".goreleaser.yaml builds[0].main"}}, want: "./cmd/a"},
		{name: "GANTRY_MAIN wins over a build file", named: []module.Named{{Package: "./cmd/a", Source: "Makefile line 2"}},
			env: map[string]string{"GANTRY_MAIN": "./cmd/b"}, want: "./cmd/b"},
		{name: "several, Config.MainPackage chooses", candidates: []string{"./cmd/a", "./cmd/b"},
			cfg: Config{MainPackage: "./cmd/b"}, want: "./cmd/b"},
		{name: "several, GANTRY_MAIN chooses", candidates: []string{"./cmd/a", "./cmd/b"},
			env: map[string]string{"GANTRY_MAIN": "./cmd/a"}, want: "./cmd/a"},
		{name: "none, GANTRY_MAIN names one", candidates: nil,
			env: map[string]string{"GANTRY_MAIN": "./internal/app"}, want: "./internal/app"},
		{name: "GANTRY_MAIN wins over Config.MainPackage", candidates: []string{"./cmd/a", "./cmd/b"},
			cfg: Config{MainPackage: "./cmd/b"}, env: map[string]string{"GANTRY_MAIN": "./cmd/a"}, want: "./cmd/a"},
		{name: "empty GANTRY_MAIN is unset", candidates: []string{"./cmd/a"},
			env: map[string]string{"GANTRY_MAIN": ""}, want: "./cmd/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := facts(t)
			f.MainCandidates, f.NamedMains = tt.candidates, tt.named
			got, err := tt.cfg.Resolve(envOf(tt.env), f)
			if tt.errHas != nil {
				if err == nil {
					t.Fatalf("Resolve: want an error containing %q, got MainPackage %q", tt.errHas, got.MainPackage)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.MainPackage != tt.want {
				t.Errorf("MainPackage = %q, want %q", got.MainPackage, tt.want)
			}
		})
	}
}

// TestResolveStringPrecedence checks for every plain string setting that the
// default applies, that a value set in code wins over it, that GANTRY_* wins
// over both, and that an empty variable counts as unset.
func TestResolveStringPrecedence(t *testing.T) {
	t.Parallel()
	fields := []struct {
		env  string
		set  func(*Config, string)
		get  func(Config) string
		def  string // resolved value with neither code nor env
		code string
		val  string // the environment's value
		want string // resolved value when env is set (often val)
	}{
		{"GANTRY_SERVICE", func(c *Config, v string) { c.Service = v }, func(c Config) string { return c.Service }, "api", "payments", "billing", "billing"},
		{"GANTRY_DESCRIPTION", func(c *Config, v string) { c.Description = v }, func(c Config) string { return c.Description }, "", "Code description", "Env description", "Env description"},
		{"GANTRY_LICENSE", func(c *Config, v string) { c.License = v }, func(c Config) string { return c.License }, "", "MIT", "Apache-2.0", "Apache-2.0"},
		{"GANTRY_DIR", func(c *Config, v string) { c.Dir = v }, func(c Config) string { return c.Dir }, ".", "services/api", "services/worker", "services/worker"},
		{"GANTRY_MAIN", func(c *Config, v string) { c.MainPackage = v }, func(c Config) string { return c.MainPackage }, "./cmd/api", "./cmd/b", "./cmd/c", "./cmd/c"},
		{"GANTRY_REGISTRY", func(c *Config, v string) { c.Registry = v }, func(c Config) string { return c.Registry }, "ghcr.io", "registry.example.com", "docker.io", "docker.io"},
		{"GANTRY_IMAGE", func(c *Config, v string) { c.Image = v }, func(c Config) string { return c.Image }, "ghcr.io/acme/svc", "ghcr.io/acme/code", "ghcr.io/acme/env", "ghcr.io/acme/env"},
		{"GANTRY_PUBLISH_BRANCH", func(c *Config, v string) { c.PublishBranch = v }, func(c Config) string { return c.PublishBranch }, "main", "trunk", "release", "release"},
		{"GANTRY_DOCKERFILE", func(c *Config, v string) { c.Dockerfile = v }, func(c Config) string { return c.Dockerfile }, "", "build/Dockerfile", "ci/Dockerfile", "ci/Dockerfile"},
		{"GANTRY_PROD_STAGE", func(c *Config, v string) { c.ProdStage = v }, func(c Config) string { return c.ProdStage }, "prod", "runtime", "final", "final"},
		{"GANTRY_DEV_STAGE", func(c *Config, v string) { c.DevStage = v }, func(c Config) string { return c.DevStage }, "dev", "debug", "devel", "devel"},
		{"GANTRY_CACHE", func(c *Config, v string) { c.Cache = v }, func(c Config) string { return c.Cache }, "", "local:/var/cache/gantry", "registry:ghcr.io/acme/cache", "registry:ghcr.io/acme/cache"},
		{"GANTRY_SIGNING", func(c *Config, v string) { c.Signing = v }, func(c Config) string { return c.Signing }, "", "keyless", "off", "off"},
	}
	for _, f := range fields {
		t.Run(f.env, func(t *testing.T) {
			t.Parallel()
			cases := []struct {
				name string
				code string
				env  map[string]string
				want string
			}{
				{"default", "", nil, f.def},
				{"code over default", f.code, nil, f.code},
				{"env over default", "", map[string]string{f.env: f.val}, f.want},
				{"env over code", f.code, map[string]string{f.env: f.val}, f.want},
				{"empty env keeps code", f.code, map[string]string{f.env: ""}, f.code},
				{"empty env keeps default", "", map[string]string{f.env: ""}, f.def},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					var cfg Config
					if c.code != "" {
						f.set(&cfg, c.code)
					}
					got := mustResolve(t, cfg, c.env, facts(t))
					if g := f.get(got); g != c.want {
						t.Errorf("%s: got %q, want %q", f.env, g, c.want)
					}
				})
			}
		})
	}
}

func TestResolveImage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       Config
		env       map[string]string
		ownerRepo string
		want      string
	}{
		{name: "from OwnerRepo, lower-cased", ownerRepo: "Acme/Svc", want: "ghcr.io/acme/svc"},
		{name: "already lower case", ownerRepo: "acme/svc", want: "ghcr.io/acme/svc"},
		{name: "Config.Registry changes the default image", cfg: Config{Registry: "Registry.Example.com"}, ownerRepo: "Acme/Svc",
			want: "registry.example.com/acme/svc"},
		{name: "GANTRY_REGISTRY changes the default image", env: map[string]string{"GANTRY_REGISTRY": "quay.io"}, ownerRepo: "Acme/Svc",
			want: "quay.io/acme/svc"},
		{name: "GANTRY_REGISTRY does not change Config.Image", cfg: Config{Image: "ghcr.io/acme/fixed"},
			env: map[string]string{"GANTRY_REGISTRY": "quay.io"}, ownerRepo: "Acme/Svc", want: "ghcr.io/acme/fixed"},
		{name: "Config.Image lower-cased", cfg: Config{Image: "GHCR.io/Acme/Other"}, ownerRepo: "Acme/Svc", want: "ghcr.io/acme/other"},
		{name: "GANTRY_IMAGE lower-cased", env: map[string]string{"GANTRY_IMAGE": "ghcr.io/BigCorp/API"}, ownerRepo: "Acme/Svc",
			want: "ghcr.io/bigcorp/api"},
		{name: "Config.Image without OwnerRepo", cfg: Config{Image: "ghcr.io/acme/svc"}, want: "ghcr.io/acme/svc"},
		{name: "GANTRY_IMAGE without OwnerRepo", env: map[string]string{"GANTRY_IMAGE": "ghcr.io/acme/svc"}, want: "ghcr.io/acme/svc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := facts(t)
			f.OwnerRepo = tt.ownerRepo
			got := mustResolve(t, tt.cfg, tt.env, f)
			if got.Image != tt.want {
				t.Errorf("Image = %q, want %q", got.Image, tt.want)
			}
		})
	}
}

func TestResolvePlatforms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    Config
		env    map[string]string
		want   []string
		wantPR []string
	}{
		{name: "defaults", want: []string{"linux/amd64", "linux/arm64"}, wantPR: []string{"linux/amd64"}},
		{name: "code over default", cfg: Config{Platforms: []string{"linux/arm64"}, PullRequestPlatforms: []string{"linux/arm64", "linux/amd64"}},
			want: []string{"linux/arm64"}, wantPR: []string{"linux/arm64", "linux/amd64"}},
		{name: "env over default, list trimmed", env: map[string]string{"GANTRY_PLATFORMS": " linux/amd64 , linux/arm/v7,,linux/riscv64 ", "GANTRY_PR_PLATFORMS": "linux/arm64"},
			want: []string{"linux/amd64", "linux/arm/v7", "linux/riscv64"}, wantPR: []string{"linux/arm64"}},
		{name: "env over code", cfg: Config{Platforms: []string{"linux/arm64"}, PullRequestPlatforms: []string{"linux/arm64"}},
			env:  map[string]string{"GANTRY_PLATFORMS": "linux/s390x", "GANTRY_PR_PLATFORMS": "linux/ppc64le,linux/386"},
			want: []string{"linux/s390x"}, wantPR: []string{"linux/ppc64le", "linux/386"}},
		{name: "empty env keeps code", cfg: Config{Platforms: []string{"linux/arm64"}, PullRequestPlatforms: []string{"linux/arm64"}},
			env:  map[string]string{"GANTRY_PLATFORMS": "", "GANTRY_PR_PLATFORMS": ""},
			want: []string{"linux/arm64"}, wantPR: []string{"linux/arm64"}},
		{name: "every known platform", env: map[string]string{"GANTRY_PLATFORMS": "linux/amd64,linux/arm64,linux/arm/v6,linux/arm/v7,linux/386,linux/ppc64le,linux/s390x,linux/riscv64,linux/mips64le,linux/loong64"},
			want:   []string{"linux/amd64", "linux/arm64", "linux/arm/v6", "linux/arm/v7", "linux/386", "linux/ppc64le", "linux/s390x", "linux/riscv64", "linux/mips64le", "linux/loong64"},
			wantPR: []string{"linux/amd64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustResolve(t, tt.cfg, tt.env, facts(t))
			if !reflect.DeepEqual(got.Platforms, tt.want) {
				t.Errorf("Platforms = %q, want %q", got.Platforms, tt.want)
			}
			if !reflect.DeepEqual(got.PullRequestPlatforms, tt.wantPR) {
				t.Errorf("PullRequestPlatforms = %q, want %q", got.PullRequestPlatforms, tt.wantPR)
			}
		})
	}
}

func TestResolveBools(t *testing.T) {
	t.Parallel()
	fields := []struct {
		env string
		set func(*Config, bool)
		get func(Config) bool
	}{
		{"GANTRY_BUILD_OTHER_REFS", func(c *Config, v bool) { c.BuildOtherRefs = v }, func(c Config) bool { return c.BuildOtherRefs }},
		{"GANTRY_ATTESTATIONS", func(c *Config, v bool) { c.Attestations = v }, func(c Config) bool { return c.Attestations }},
		{"GANTRY_CGO", func(c *Config, v bool) { c.CGO = v }, func(c Config) bool { return c.CGO }},
		{"GANTRY_RELEASE_REBUILD", func(c *Config, v bool) { c.ReleaseRebuild = v }, func(c Config) bool { return c.ReleaseRebuild }},
	}
	for _, f := range fields {
		t.Run(f.env, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name string
				code bool
				env  map[string]string
				want bool
			}{
				{name: "default false", want: false},
				{name: "code true", code: true, want: true},
				{name: "env true", env: map[string]string{f.env: "true"}, want: true},
				{name: "env 1", env: map[string]string{f.env: "1"}, want: true},
				{name: "env TRUE", env: map[string]string{f.env: "TRUE"}, want: true},
				{name: "env false over code true", code: true, env: map[string]string{f.env: "false"}, want: false},
				{name: "env 0 over code true", code: true, env: map[string]string{f.env: "0"}, want: false},
				{name: "empty env keeps code", code: true, env: map[string]string{f.env: ""}, want: true},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					var c Config
					f.set(&c, tt.code)
					got := mustResolve(t, c, tt.env, facts(t))
					if g := f.get(got); g != tt.want {
						t.Errorf("%s: got %v, want %v", f.env, g, tt.want)
					}
				})
			}
		})
	}
}

func TestServiceDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dir  string
		env  map[string]string
		want string
	}{
		{name: "default", want: "."},
		{name: "code", dir: "services/api", want: "services/api"},
		{name: "env over default", env: map[string]string{"GANTRY_DIR": "svc"}, want: "svc"},
		{name: "env over code", dir: "services/api", env: map[string]string{"GANTRY_DIR": "services/worker"}, want: "services/worker"},
		{name: "empty env keeps code", dir: "services/api", env: map[string]string{"GANTRY_DIR": ""}, want: "services/api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Config{Dir: tt.dir}
			if got := c.ServiceDir(envOf(tt.env)); got != tt.want {
				t.Errorf("ServiceDir = %q, want %q", got, tt.want)
			}
			r := mustResolve(t, c, tt.env, facts(t))
			if r.Dir != tt.want {
				t.Errorf("resolved Dir = %q, want %q", r.Dir, tt.want)
			}
			if c.Dir != tt.dir {
				t.Errorf("ServiceDir/Resolve changed the caller's Dir to %q", c.Dir)
			}
		})
	}
}

func TestResolveShortSHALength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code int
		env  map[string]string
		want int
	}{
		{name: "default", want: 7},
		{name: "code", code: 12, want: 12},
		{name: "env over default", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "9"}, want: 9},
		{name: "env over code", code: 12, env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "8"}, want: 8},
		{name: "lower bound", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "4"}, want: 4},
		{name: "upper bound", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "40"}, want: 40},
		{name: "code lower bound", code: 4, want: 4},
		{name: "code upper bound", code: 40, want: 40},
		{name: "empty env keeps code", code: 10, env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": ""}, want: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustResolve(t, Config{ShortSHALength: tt.code}, tt.env, facts(t))
			if got.ShortSHALength != tt.want {
				t.Errorf("ShortSHALength = %d, want %d", got.ShortSHALength, tt.want)
			}
		})
	}
}

func TestResolveStamp(t *testing.T) {
	t.Parallel()
	defaults := Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date"}
	custom := Stamp{Version: "example.com/svc/internal/build.Version", Commit: "example.com/svc/internal/build.Commit", Date: "example.com/svc/internal/build.Date"}
	tests := []struct {
		name string
		code Stamp
		env  map[string]string
		want Stamp
	}{
		{name: "defaults", want: defaults},
		{name: "code over defaults", code: custom, want: custom},
		{name: "code sets only Version: the others keep their defaults", code: Stamp{Version: "pkg.V"}, want: Stamp{Version: "pkg.V", Commit: "main.commit", Date: "main.date"}},
		{name: "code switches the date off with -", code: Stamp{Date: "-"}, want: Stamp{Version: "main.version", Commit: "main.commit"}},
		{name: "GANTRY_STAMP_VERSION over default", env: map[string]string{"GANTRY_STAMP_VERSION": "x.V"},
			want: Stamp{Version: "x.V", Commit: "main.commit", Date: "main.date"}},
		{name: "GANTRY_STAMP_COMMIT over default", env: map[string]string{"GANTRY_STAMP_COMMIT": "x.C"},
			want: Stamp{Version: "main.version", Commit: "x.C", Date: "main.date"}},
		{name: "GANTRY_STAMP_DATE over default", env: map[string]string{"GANTRY_STAMP_DATE": "x.D"},
			want: Stamp{Version: "main.version", Commit: "main.commit", Date: "x.D"}},
		{name: "all three over code", code: custom,
			env:  map[string]string{"GANTRY_STAMP_VERSION": "x.V", "GANTRY_STAMP_COMMIT": "x.C", "GANTRY_STAMP_DATE": "x.D"},
			want: Stamp{Version: "x.V", Commit: "x.C", Date: "x.D"}},
		{name: "one over code keeps the other code values", code: custom, env: map[string]string{"GANTRY_STAMP_COMMIT": "x.C"},
			want: Stamp{Version: custom.Version, Commit: "x.C", Date: custom.Date}},
		{name: "GANTRY_STAMP_VERSION=- switches the version off", env: map[string]string{"GANTRY_STAMP_VERSION": "-"},
			want: Stamp{Version: "", Commit: "main.commit", Date: "main.date"}},
		{name: "GANTRY_STAMP_COMMIT=- switches the commit off", env: map[string]string{"GANTRY_STAMP_COMMIT": "-"},
			want: Stamp{Version: "main.version", Commit: "", Date: "main.date"}},
		{name: "GANTRY_STAMP_DATE=- switches a code-set date off", code: custom, env: map[string]string{"GANTRY_STAMP_DATE": "-"},
			want: Stamp{Version: custom.Version, Commit: custom.Commit, Date: ""}},
		{name: "Defaulted set in code is Resolve's to say", code: Stamp{Version: "x.V", Defaulted: StampFields{Version: true}},
			want: Stamp{Version: "x.V", Commit: "main.commit", Date: "main.date"}},
		{name: "all switched off", env: map[string]string{"GANTRY_STAMP_VERSION": "-", "GANTRY_STAMP_COMMIT": "-", "GANTRY_STAMP_DATE": "-"},
			want: Stamp{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustResolve(t, Config{Stamp: tt.code}, tt.env, facts(t))
			// What took its default is exactly what nothing set.
			tt.want.Defaulted = StampFields{tt.code.Version == "" && tt.env["GANTRY_STAMP_VERSION"] == "",
				tt.code.Commit == "" && tt.env["GANTRY_STAMP_COMMIT"] == "", tt.code.Date == "" && tt.env["GANTRY_STAMP_DATE"] == ""}
			if got.Stamp != tt.want {
				t.Errorf("Stamp = %+v, want %+v", got.Stamp, tt.want)
			}
		})
	}
}

func TestResolveBuildArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code map[string]string
		env  map[string]string
		want map[string]string
	}{
		{name: "none", want: nil},
		{name: "code only", code: map[string]string{"A": "1"}, want: map[string]string{"A": "1"}},
		{name: "env only", env: map[string]string{"GANTRY_BUILD_ARGS": "GO_IMAGE=golang:1.26,CGO=0"},
			want: map[string]string{"GO_IMAGE": "golang:1.26", "CGO": "0"}},
		{name: "env adds to and replaces code keys", code: map[string]string{"A": "1", "B": "2"},
			env:  map[string]string{"GANTRY_BUILD_ARGS": "B=3,C=4"},
			want: map[string]string{"A": "1", "B": "3", "C": "4"}},
		{name: "empty value allowed", env: map[string]string{"GANTRY_BUILD_ARGS": "EMPTY="}, want: map[string]string{"EMPTY": ""}},
		{name: "value keeps later =", env: map[string]string{"GANTRY_BUILD_ARGS": "OPTS=a=b"}, want: map[string]string{"OPTS": "a=b"}},
		{name: "spaces and empty entries ignored", env: map[string]string{"GANTRY_BUILD_ARGS": " A=1 , ,B=2,"},
			want: map[string]string{"A": "1", "B": "2"}},
		{name: "later entry wins", env: map[string]string{"GANTRY_BUILD_ARGS": "A=1,A=2"}, want: map[string]string{"A": "2"}},
		{name: "empty env keeps code", code: map[string]string{"A": "1"}, env: map[string]string{"GANTRY_BUILD_ARGS": ""},
			want: map[string]string{"A": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var before map[string]string
			if tt.code != nil {
				before = make(map[string]string, len(tt.code))
				for k, v := range tt.code {
					before[k] = v
				}
			}
			c := Config{BuildArgs: tt.code}
			got := mustResolve(t, c, tt.env, facts(t))
			if !reflect.DeepEqual(got.BuildArgs, tt.want) {
				t.Errorf("BuildArgs = %v, want %v", got.BuildArgs, tt.want)
			}
			if !reflect.DeepEqual(c.BuildArgs, before) {
				t.Errorf("Resolve mutated the caller's BuildArgs: now %v, was %v", c.BuildArgs, before)
			}
			// The resolved map must be a copy: changing it leaves the
			// caller's map alone.
			if got.BuildArgs != nil && tt.code != nil {
				got.BuildArgs["INJECTED"] = "x"
				if _, ok := c.BuildArgs["INJECTED"]; ok {
					t.Errorf("resolved BuildArgs shares its storage with the caller's map")
				}
			}
		})
	}
}

func TestResolveDoesNotMutateReceiver(t *testing.T) {
	t.Parallel()
	c := Config{
		Service:              "svc",
		Platforms:            []string{"linux/arm64"},
		PullRequestPlatforms: []string{"linux/arm64"},
		BuildArgs:            map[string]string{"A": "1"},
		Stamp:                Stamp{Version: "a.V"},
	}
	want := Config{
		Service:              "svc",
		Platforms:            []string{"linux/arm64"},
		PullRequestPlatforms: []string{"linux/arm64"},
		BuildArgs:            map[string]string{"A": "1"},
		Stamp:                Stamp{Version: "a.V"},
	}
	env := map[string]string{
		"GANTRY_SERVICE":       "other",
		"GANTRY_PLATFORMS":     "linux/amd64",
		"GANTRY_PR_PLATFORMS":  "linux/amd64",
		"GANTRY_BUILD_ARGS":    "A=2,B=3",
		"GANTRY_STAMP_VERSION": "b.V",
		"GANTRY_IMAGE":         "ghcr.io/x/y",
	}
	got := mustResolve(t, c, env, facts(t))
	if got.Service != "other" || got.BuildArgs["A"] != "2" || got.Stamp.Version != "b.V" {
		t.Fatalf("environment not applied: %+v", got)
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Resolve changed the caller's Config:\n got  %+v\n want %+v", c, want)
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    Config
		env    map[string]string
		facts  func(*Facts)
		errHas []string
	}{
		{name: "build arg without =", env: map[string]string{"GANTRY_BUILD_ARGS": "A=1,NOVALUE"},
			errHas: []string{"GANTRY_BUILD_ARGS", `"NOVALUE"`, "KEY=VALUE"}},
		{name: "build arg without key", env: map[string]string{"GANTRY_BUILD_ARGS": "=value"},
			errHas: []string{"GANTRY_BUILD_ARGS", `"=value"`, "KEY=VALUE"}},
		{name: "short SHA length not a number", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "seven"},
			errHas: []string{"GANTRY_SHORT_SHA_LENGTH", `"seven"`, "not a number", "4 to 40"}},
		{name: "short SHA length a fraction", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "7.5"},
			errHas: []string{"GANTRY_SHORT_SHA_LENGTH", "4 to 40"}},
		{name: "short SHA length 3", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "3"},
			errHas: []string{"GANTRY_SHORT_SHA_LENGTH", "3", "4 to 40"}},
		{name: "short SHA length 41", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "41"},
			errHas: []string{"GANTRY_SHORT_SHA_LENGTH", "41", "4 to 40"}},
		{name: "short SHA length negative", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "-1"},
			errHas: []string{"GANTRY_SHORT_SHA_LENGTH", "4 to 40"}},
		{name: "short SHA length 0", env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "0"},
			errHas: []string{"GANTRY_SHORT_SHA_LENGTH", "4 to 40"}},
		{name: "Config.ShortSHALength 3", cfg: Config{ShortSHALength: 3},
			errHas: []string{"Config.ShortSHALength", "GANTRY_SHORT_SHA_LENGTH", "4 to 40"}},
		{name: "Config.ShortSHALength 41", cfg: Config{ShortSHALength: 41},
			errHas: []string{"Config.ShortSHALength", "4 to 40"}},
		{name: "build other refs not a bool", env: map[string]string{"GANTRY_BUILD_OTHER_REFS": "yes"},
			errHas: []string{"GANTRY_BUILD_OTHER_REFS", `"yes"`, "true or false"}},
		{name: "attestations not a bool", env: map[string]string{"GANTRY_ATTESTATIONS": "on"},
			errHas: []string{"GANTRY_ATTESTATIONS", `"on"`, "true or false"}},
		{name: "cache of an unknown kind", env: map[string]string{"GANTRY_CACHE": "s3:bucket"},
			errHas: []string{`"s3:bucket"`, "GANTRY_CACHE", "registry:"}},
		{name: "signing of an unknown mode", env: map[string]string{"GANTRY_SIGNING": "cosign"},
			errHas: []string{`"cosign"`, "GANTRY_SIGNING", "keyless, key or off"}},
		{name: "signing in upper case", cfg: Config{Signing: "Keyless"},
			errHas: []string{`"Keyless"`, "Config.Signing"}},
		{name: "platform linux/amd65", env: map[string]string{"GANTRY_PLATFORMS": "linux/amd64,linux/amd65"},
			errHas: []string{"unknown platform", `"linux/amd65"`, "GANTRY_PLATFORMS", "linux/amd64"}},
		{name: "platform windows/amd64", env: map[string]string{"GANTRY_PLATFORMS": "windows/amd64"},
			errHas: []string{"unknown platform", `"windows/amd64"`, "GANTRY_PLATFORMS"}},
		{name: "platform without os", env: map[string]string{"GANTRY_PLATFORMS": "amd64"},
			errHas: []string{"unknown platform", `"amd64"`, "os/arch"}},
		{name: "PR platform unknown", env: map[string]string{"GANTRY_PR_PLATFORMS": "linux/amd65"},
			errHas: []string{"unknown platform", `"linux/amd65"`, "GANTRY_PR_PLATFORMS"}},
		{name: "code platform unknown", cfg: Config{Platforms: []string{"darwin/arm64"}},
			errHas: []string{"unknown platform", `"darwin/arm64"`, "Config.Platforms"}},
		{name: "platform upper case", env: map[string]string{"GANTRY_PLATFORMS": "Linux/AMD64"},
			errHas: []string{"unknown platform", `"Linux/AMD64"`}},
		{name: "prod and dev equal by env", env: map[string]string{"GANTRY_DEV_STAGE": "prod"},
			errHas: []string{`"prod"`, "GANTRY_PROD_STAGE", "GANTRY_DEV_STAGE"}},
		{name: "prod and dev equal in code", cfg: Config{ProdStage: "final", DevStage: "final"},
			errHas: []string{`"final"`, "different names"}},
		{name: "prod set to the default dev name", cfg: Config{ProdStage: "dev"},
			errHas: []string{`"dev"`, "GANTRY_PROD_STAGE"}},
		{name: "no OwnerRepo and no Image", facts: func(f *Facts) { f.OwnerRepo, f.OwnerRepoTried = "", "GITHUB_REPOSITORY is empty" },
			errHas: []string{"GANTRY_IMAGE", "Config.Image", "GITHUB_REPOSITORY is empty"}},
		{name: "publishing branch latest", env: map[string]string{"GANTRY_PUBLISH_BRANCH": "latest"},
			errHas: []string{`publishing branch "latest"`, "never pushes latest", "GANTRY_PUBLISH_BRANCH"}},
		{name: "publishing branch Latest", cfg: Config{PublishBranch: "Latest"},
			errHas: []string{"never pushes latest", "Config.PublishBranch"}},
		{name: "publishing branch git refuses", env: map[string]string{"GANTRY_PUBLISH_BRANCH": "a b"},
			errHas: []string{`publishing branch "a b" is not a branch name`}},
		{name: "main package read as a flag", env: map[string]string{"GANTRY_MAIN": "-toolexec=x"},
			errHas: []string{`main package "-toolexec=x" starts with '-'`, "GANTRY_MAIN", "./cmd/<name>"}},
		{name: "main package outside the module", cfg: Config{MainPackage: "./../other"},
			errHas: []string{"lies outside the module", "Config.MainPackage"}},
		{name: "main package pattern", env: map[string]string{"GANTRY_MAIN": "./cmd/..."},
			errHas: []string{"pattern of several packages"}},
		{name: "main package with a space", env: map[string]string{"GANTRY_MAIN": "./cmd/a -race"},
			errHas: []string{"holds a space"}},
		{name: "stamp variable injecting a flag", env: map[string]string{"GANTRY_STAMP_VERSION": "main.version=x -X main.commit"},
			errHas: []string{`stamp variable "main.version=x -X main.commit"`, "GANTRY_STAMP_VERSION", "main.version"}},
		{name: "stamp variable without package", cfg: Config{Stamp: Stamp{Commit: "commit"}},
			errHas: []string{`stamp variable "commit"`, "Config.Stamp.Commit"}},
		{name: "stamp variable read as a flag", env: map[string]string{"GANTRY_STAMP_DATE": "-s.x"},
			errHas: []string{`stamp variable "-s.x"`, "GANTRY_STAMP_DATE"}},
		{name: "empty build argument name in code", cfg: Config{BuildArgs: map[string]string{"": "x"}},
			errHas: []string{`build argument name ""`, "Config.BuildArgs"}},
		{name: "build argument name with a space", cfg: Config{BuildArgs: map[string]string{"A B": "x"}},
			errHas: []string{`build argument name "A B"`}},
		{name: "build argument Gantry sets", env: map[string]string{"GANTRY_BUILD_ARGS": "GO_LDFLAGS=-X main.version=PWNED"},
			errHas: []string{"build argument GO_LDFLAGS is set by Gantry", "GANTRY_BUILD_ARGS"}},
		{name: "comma in a build argument value", env: map[string]string{"GANTRY_BUILD_ARGS": "A=1,2"},
			errHas: []string{`GANTRY_BUILD_ARGS entry "2" is not KEY=VALUE`, "cannot hold one", "Config.BuildArgs"}},
		{name: "stage name with a space", env: map[string]string{"GANTRY_PROD_STAGE": "my prod"},
			errHas: []string{`stage name "my prod"`, "GANTRY_PROD_STAGE"}},
		{name: "stage name read as a flag", cfg: Config{DevStage: "--dev"},
			errHas: []string{`stage name "--dev"`, "Config.DevStage"}},
		{name: "prod and dev stages differing only in case", cfg: Config{ProdStage: "Final", DevStage: "final"},
			errHas: []string{"different names"}},
		{name: "duplicate platform", env: map[string]string{"GANTRY_PLATFORMS": "linux/amd64,linux/arm64,linux/amd64"},
			errHas: []string{`platform "linux/amd64" is listed twice`, "GANTRY_PLATFORMS"}},
		{name: "duplicate pull request platform", cfg: Config{PullRequestPlatforms: []string{"linux/arm64", "linux/arm64"}},
			errHas: []string{"listed twice", "Config.PullRequestPlatforms"}},
		{name: "registry with a scheme", env: map[string]string{"GANTRY_REGISTRY": "https://ghcr.io"},
			errHas: []string{`registry "https://ghcr.io" has a URL scheme`, "host name only", "GANTRY_REGISTRY"}},
		{name: "registry with a path", cfg: Config{Registry: "ghcr.io/acme"},
			errHas: []string{"not a host name", "Config.Registry"}},
		{name: "image with an empty component", env: map[string]string{"GANTRY_IMAGE": "ghcr.io/acme//widget"},
			errHas: []string{`path component "" is not a valid image name component`, "GANTRY_IMAGE"}},
		{name: "image with a leading dash", env: map[string]string{"GANTRY_IMAGE": "ghcr.io/acme/-widget-"},
			errHas: []string{`"-widget-" is not a valid image name component`}},
		{name: "image from a repository going up", facts: func(f *Facts) { f.OwnerRepo = "../../x" },
			errHas: []string{`".." is not a valid image name component`, "GANTRY_IMAGE"}},
		{name: "a 300-character service name", env: map[string]string{"GANTRY_SERVICE": strings.Repeat("a", 300)},
			errHas: []string{"is 300 characters long", "at most 128", "GANTRY_SERVICE"}},
		{name: "description on two lines", cfg: Config{Description: "a\nb"},
			errHas: []string{"control character", "Config.Description"}},
		{name: "unknown GOOS", env: map[string]string{"GANTRY_GOOS": "linux -x"},
			errHas: []string{`GOOS "linux -x"`, "GANTRY_GOOS", "darwin"}},
		{name: "unknown GOARCH", cfg: Config{GOARCH: "amd65"},
			errHas: []string{`GOARCH "amd65"`, "Config.GOARCH", "arm64"}},
		{name: "service directory read as a flag", env: map[string]string{"GANTRY_DIR": "-svc"},
			errHas: []string{`service directory "-svc" starts with '-'`, "./-svc"}},
		{name: "absolute Dockerfile", env: map[string]string{"GANTRY_DOCKERFILE": "/etc/Dockerfile"},
			errHas: []string{`Dockerfile "/etc/Dockerfile" is an absolute path`, "relative to the service directory", "GANTRY_DOCKERFILE"}},
		{name: "Dockerfile outside the service directory with no repository known", env: map[string]string{"GANTRY_DOCKERFILE": "../Dockerfile"},
			errHas: []string{`Dockerfile "../Dockerfile" lies outside the repository`, "could not be rebuilt from the commit"}},
		{name: "Dockerfile outside the repository", cfg: Config{Dockerfile: "../../../Dockerfile"},
			facts:  func(f *Facts) { f.RepoRoot = filepath.Dir(f.Dir); f.Dir = filepath.Join(f.Dir, "svc") },
			errHas: []string{"lies outside the repository", "Config.Dockerfile"}},
		{name: "no main package", facts: func(f *Facts) { f.MainCandidates = nil },
			errHas: []string{"GANTRY_MAIN"}},
		{name: "several main packages", facts: func(f *Facts) { f.MainCandidates = []string{"./cmd/a", "./cmd/b"} },
			errHas: []string{"./cmd/a, ./cmd/b", "GANTRY_MAIN"}},
		{name: "a build tag with a space", cfg: Config{Tags: []string{"a b"}}, errHas: []string{`"a b"`, "GANTRY_TAGS"}},
		{name: "a build tag that is a flag", env: map[string]string{"GANTRY_TAGS": "-x"}, errHas: []string{`"-x"`, "Go build tag"}},
		{name: "a linker flag with a quote", cfg: Config{LDFlags: []string{`-extldflags="-static"`}}, errHas: []string{"not one flag", "-extldflags=-static", "Config.LDFlags"}},
		{name: "a linker flag that is not a flag", env: map[string]string{"GANTRY_LDFLAGS": "static"}, errHas: []string{`"static"`, "GANTRY_LDFLAGS"}},
		{name: "a linker flag forging a stamp", env: map[string]string{"GANTRY_LDFLAGS": "-X=main.commit=0123456"}, errHas: []string{`"-X=main.commit=0123456" is refused`, "Config.Stamp", "-extldflags"}},
		{name: "a linker flag forging a stamp, two dashes", cfg: Config{LDFlags: []string{"--X=main.version=v9.9.9"}}, errHas: []string{`"--X=main.version=v9.9.9" is refused`, "-X stamps are Gantry's"}},
		{name: "a linker flag undoing the strip", env: map[string]string{"GANTRY_LDFLAGS": "-s=false"}, errHas: []string{`"-s=false" is refused`, "strips the prod binary"}},
		{name: "a linker flag keeping DWARF", cfg: Config{LDFlags: []string{"-w=0"}}, errHas: []string{`"-w=0" is refused`, "strips"}},
		{name: "a linker flag changing the binary's format", env: map[string]string{"GANTRY_LDFLAGS": "-H=windows"}, errHas: []string{`"-H=windows" is refused`, "GANTRY_GOOS"}},
		{name: "a linker flag writing elsewhere", env: map[string]string{"GANTRY_LDFLAGS": "-o=/tmp/svc"}, errHas: []string{`"-o=/tmp/svc" is refused`, "names the output"}},
		{name: "a linker flag changing the build mode", env: map[string]string{"GANTRY_LDFLAGS": "-buildmode=pie"}, errHas: []string{`"-buildmode=pie" is refused`, "executable"}},
		{name: "a linker flag not on the allow-list", env: map[string]string{"GANTRY_LDFLAGS": "-cpuprofile=/etc/x"}, errHas: []string{`"-cpuprofile=/etc/x" is refused`, "not one of the linker flags a service may add", "-buildid, "}},
		{name: "a linker flag without its value", env: map[string]string{"GANTRY_LDFLAGS": "-r"}, errHas: []string{`"-r" takes a value`, "-r=VALUE"}},
		{name: "a cgo link flag with cgo", env: map[string]string{"GANTRY_CGO": "true", "GANTRY_LDFLAGS": "--linkmode=internal"}, errHas: []string{`"--linkmode=internal" is Gantry's with cgo`, "-linkmode=external -extldflags=-static"}},
		{name: "extldflags with cgo", cfg: Config{CGO: true, LDFlags: []string{"-extldflags=-lm"}}, errHas: []string{`"-extldflags=-lm" is Gantry's with cgo`}},
		{name: "a port that is no number", env: map[string]string{"GANTRY_PORTS": "http"}, errHas: []string{`"http"`, "PORT/PROTOCOL"}},
		{name: "a port out of range", cfg: Config{Ports: []string{"70000"}}, errHas: []string{`"70000"`, "1 to 65535"}},
		{name: "an argument with a new line", cfg: Config{Args: []string{"serve\n--x"}}, errHas: []string{"control character", "Config.Args"}},
		{name: "args with the service's own Dockerfile", cfg: Config{Args: []string{"serve"}, Dockerfile: "build/Dockerfile"},
			errHas: []string{"embedded Dockerfile", "build/Dockerfile", "CMD and EXPOSE", `"embedded"`}},
		{name: "a prepare command that is a flag", env: map[string]string{"GANTRY_PREPARE": "--generate"}, errHas: []string{"program to run", "GANTRY_PREPARE"}},
		{name: "a build argument Gantry sets from Config.CGO", cfg: Config{BuildArgs: map[string]string{"CGO_ENABLED": "1"}}, errHas: []string{"CGO_ENABLED is set by Gantry", "CGO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := facts(t)
			if tt.facts != nil {
				tt.facts(&f)
			}
			got, err := tt.cfg.Resolve(envOf(tt.env), f)
			if err == nil {
				t.Fatalf("Resolve: want an error mentioning %q, got none (config %+v)", tt.errHas, got)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestResolveDockerfileInRepository: a Dockerfile outside the service's
// directory but inside its repository (a monorepo's shared one) is fine;
// a link inside the repository to a file outside is not.
func TestResolveDockerfileInRepository(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	svc := filepath.Join(root, "services", "api")
	writeFile(t, filepath.Join(root, "docker", "Dockerfile"), "FROM scratch AS prod\n")
	f := facts(t)
	f.Dir, f.RepoRoot = svc, root
	got := mustResolve(t, Config{Dockerfile: "../../docker/Dockerfile"}, nil, f)
	if got.Dockerfile != "../../docker/Dockerfile" {
		t.Errorf("Dockerfile = %q", got.Dockerfile)
	}

	outside := filepath.Join(t.TempDir(), "Dockerfile")
	writeFile(t, outside, "FROM scratch AS prod\n")
	if err := os.MkdirAll(svc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(svc, "Dockerfile.link")); err != nil {
		t.Fatal(err)
	}
	_, err := Config{Dockerfile: "Dockerfile.link"}.Resolve(envOf(nil), f)
	if err == nil || !strings.Contains(err.Error(), "is a link to") || !strings.Contains(err.Error(), "commit the Dockerfile itself") {
		t.Errorf("a link out of the repository: err = %v", err)
	}
}

// TestResolveWithoutImage: when nothing names the image, the rest of the
// configuration is still resolved and valid, for targets that need no
// image (check), and the error wraps ErrNoImage.
func TestResolveWithoutImage(t *testing.T) {
	t.Parallel()
	f := facts(t)
	f.OwnerRepo, f.OwnerRepoTried = "", `the origin remote "https://gitlab.com/a/b" is not on github.com`
	got, err := Config{}.Resolve(envOf(nil), f)
	if !errors.Is(err, ErrNoImage) {
		t.Fatalf("err = %v, want ErrNoImage", err)
	}
	if !strings.Contains(err.Error(), "gitlab.com") || !strings.Contains(err.Error(), "set GANTRY_IMAGE") {
		t.Errorf("err = %v, want where it looked and the fix", err)
	}
	if got.Image != "" || got.Service != "api" || got.ProdStage != "prod" {
		t.Errorf("config with ErrNoImage = %+v, want the rest resolved", got)
	}
	// Any other error wins over ErrNoImage.
	if _, err := (Config{ProdStage: "a b"}).Resolve(envOf(nil), f); errors.Is(err, ErrNoImage) {
		t.Errorf("an invalid setting must not be hidden behind ErrNoImage: %v", err)
	}
}

func TestResolveGoPlatform(t *testing.T) {
	t.Parallel()
	got := mustResolve(t, Config{GOOS: "darwin"}, map[string]string{"GANTRY_GOARCH": "arm64"}, facts(t))
	if got.GOOS != "darwin" || got.GOARCH != "arm64" {
		t.Errorf("GOOS/GOARCH = %s/%s, want darwin/arm64", got.GOOS, got.GOARCH)
	}
	// The default is the host's as the go command reports it (Facts),
	// not the platform the mage binary itself was built for.
	got = mustResolve(t, Config{}, map[string]string{"GANTRY_GOOS": "windows"}, facts(t))
	if got.GOOS != "windows" || got.GOARCH != hostGOARCH {
		t.Errorf("GOOS/GOARCH = %s/%s, want windows/%s", got.GOOS, got.GOARCH, hostGOARCH)
	}
}

// TestLinkerFlagsAServiceMayAdd: the allow-list takes the flags services
// use, in Go's spellings.
func TestLinkerFlagsAServiceMayAdd(t *testing.T) {
	for _, flag := range []string{"-buildid=", "-extldflags=-static", "--extld=clang", "-linkmode=internal", "-r=/opt/lib", "-checklinkname=0", "-compressdwarf", "-B=gobuildid", "-bindnow"} {
		if err := CheckLDFlag(flag); err != nil {
			t.Errorf("CheckLDFlag(%q) = %v, want nil", flag, err)
		}
	}
}

func TestResolveBuildOptions(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GANTRY_TAGS": "netgo, sqlite_fts5", "GANTRY_LDFLAGS": "-buildid=  -extldflags=-static", "GANTRY_ARGS": "serve --port 8080",
		"GANTRY_PORTS": "8080,53/udp", "GANTRY_PREPARE": "go generate ./web"}
	got := mustResolve(t, Config{Tags: []string{"code"}, Args: []string{"from", "code"}}, env, facts(t))
	want := Config{Tags: []string{"netgo", "sqlite_fts5"}, LDFlags: []string{"-buildid=", "-extldflags=-static"}, Args: []string{"serve", "--port", "8080"},
		Ports: []string{"8080", "53/udp"}, Prepare: []string{"go", "generate", "./web"}}
	for _, f := range []struct {
		name      string
		got, want []string
	}{{"Tags", got.Tags, want.Tags}, {"LDFlags", got.LDFlags, want.LDFlags}, {"Args", got.Args, want.Args}, {"Ports", got.Ports, want.Ports}, {"Prepare", got.Prepare, want.Prepare}} {
		if !slices.Equal(f.got, f.want) {
			t.Errorf("%s = %q, want %q (the environment wins)", f.name, f.got, f.want)
		}
	}
	if code := mustResolve(t, Config{Args: []string{"serve", "--addr", ":8080 x"}}, nil, facts(t)); !slices.Equal(code.Args, []string{"serve", "--addr", ":8080 x"}) {
		t.Errorf("Args from code = %q", code.Args)
	}
}

func TestSigningFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		signing   string
		inActions bool
		want      string
	}{
		{"", true, SigningKeyless},
		{"", false, SigningOff},
		{SigningKey, true, SigningKey},
		{SigningOff, true, SigningOff},
		{SigningKeyless, false, SigningKeyless},
	}
	for _, tt := range tests {
		if got := (Config{Signing: tt.signing}).SigningFor(tt.inActions); got != tt.want {
			t.Errorf("Signing %q, in Actions %t: SigningFor = %q, want %q", tt.signing, tt.inActions, got, tt.want)
		}
	}
}

func TestResolveShard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		code       Config
		env        map[string]string
		shard, dir string
		wantErr    []string
	}{
		{name: "off", dir: filepath.Join(os.TempDir(), "gantry-shards")},
		{name: "a platform job in Actions", env: map[string]string{"GANTRY_SHARD": "linux/arm64", "RUNNER_TEMP": "/home/runner/work/_temp"},
			shard: "linux/arm64", dir: "/home/runner/work/_temp/gantry-shards"},
		{name: "finalize, its own directory", code: Config{Shard: "linux/amd64"}, env: map[string]string{"GANTRY_SHARD": "finalize", "GANTRY_SHARD_DIR": "/tmp/shards"},
			shard: "finalize", dir: "/tmp/shards"},
		{name: "a platform of the configured ones", code: Config{Platforms: []string{"linux/amd64", "linux/arm/v7"}, Shard: "linux/arm/v7", ShardDir: "out"},
			shard: "linux/arm/v7", dir: "out"},
		{name: "a platform not planned", env: map[string]string{"GANTRY_SHARD": "linux/s390x"},
			wantErr: []string{`GANTRY_SHARD="linux/s390x"`, "linux/amd64, linux/arm64", "matrix.platform", "finalize"}},
		{name: "a typo", env: map[string]string{"GANTRY_SHARD": "finalise"}, wantErr: []string{`"finalise"`, `neither "finalize"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.code.Resolve(envOf(tt.env), facts(t))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Resolve: no error, want one mentioning %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Shard != tt.shard || got.ShardDir != tt.dir {
				t.Errorf("Shard, ShardDir = %q, %q; want %q, %q", got.Shard, got.ShardDir, tt.shard, tt.dir)
			}
		})
	}
}

// TestResolveWorkflowOfASubdirectory: outside Actions, a service in a
// subdirectory of its repository trusts the workflow gantry init writes
// for it at the repository's root; one at the root, publish-ghcr.yml.
func TestResolveWorkflowOfASubdirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	svc := filepath.Join(root, "services", "api")
	if err := os.MkdirAll(svc, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir, root string
		env             map[string]string
		want            string
	}{
		{name: "in a subdirectory", dir: svc, root: root, want: ".github/workflows/publish-ghcr-api.yml"},
		{name: "at the root", dir: root, root: root, want: ".github/workflows/publish-ghcr.yml"},
		{name: "no repository known", dir: svc, want: ".github/workflows/publish-ghcr.yml"},
		{name: "in Actions, the running workflow", dir: svc, root: root, env: map[string]string{"GITHUB_WORKFLOW_REF": "acme/svc/.github/workflows/api.yml@refs/heads/main"},
			want: ".github/workflows/api.yml"},
	} {
		f := facts(t)
		f.Dir, f.RepoRoot = tt.dir, tt.root
		if got := mustResolve(t, Config{}, tt.env, f).Workflow; got != tt.want {
			t.Errorf("%s: Workflow = %q, want %q", tt.name, got, tt.want)
		}
	}
}
