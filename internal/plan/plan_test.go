package plan

import (
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/magetools/config"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

// resolved returns a resolved configuration for the Acme/Svc repository,
// changed by edit (what a service's init() does) and env (GANTRY_*).
func resolved(t *testing.T, edit func(*config.Config), env map[string]string) config.Config {
	t.Helper()
	var c config.Config
	if edit != nil {
		edit(&c)
	}
	r, err := c.Resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		config.Facts{Dir: t.TempDir(), ModulePath: "github.com/Acme/Svc", MainCandidates: []string{"."}, OwnerRepo: "Acme/Svc", HostGOOS: "linux", HostGOARCH: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func push(branch string) event.Context {
	return event.Context{Kind: event.BranchPush, Name: "push", Ref: "refs/heads/" + branch, Branch: branch, Commit: sha}
}

func tag(name string) event.Context {
	return event.Context{Kind: event.TagPush, Name: "push", Ref: "refs/tags/" + name, Tag: name, Commit: sha}
}

func pr(number int) event.Context {
	return event.Context{Kind: event.PullRequest, Name: "pull_request", Ref: "refs/pull/7/merge", Branch: "feature/x", Commit: sha, PullRequest: number}
}

var both = []string{"linux/amd64", "linux/arm64"}

func TestMake(t *testing.T) {
	t.Parallel()
	const img = "ghcr.io/acme/svc:"
	tests := []struct {
		name    string
		ev      event.Context
		edit    func(*config.Config)
		env     map[string]string
		push    bool
		version string
		// images: target -> platforms and tags; nil means no image.
		images []Image
		errHas string
		// problem: the plan is made, pushes and builds nothing, and Err
		// names this.
		problem string
	}{
		{name: "push to main publishes prod and dev", ev: push("main"), push: true, version: "main-0123456",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "0123456", img + "main"}, Moving: []string{img + "main"}},
				{Target: Dev, Stage: "dev", Platforms: both, Tags: []string{img + "0123456-dev", img + "main-dev"}, Moving: []string{img + "main-dev"}},
			}},
		{name: "dirty tree marks the version", ev: func() event.Context { e := push("main"); e.Dirty = true; return e }(), push: true, version: "main-0123456-dirty",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "0123456", img + "main"}, Moving: []string{img + "main"}},
				{Target: Dev, Stage: "dev", Platforms: both, Tags: []string{img + "0123456-dev", img + "main-dev"}, Moving: []string{img + "main-dev"}},
			}},
		{name: "release tag gives prod only without v", ev: tag("v1.2.3"), push: true, version: "1.2.3",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "1.2.3"}}}},
		{name: "major zero release", ev: tag("v0.1.0"), push: true, version: "0.1.0",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "0.1.0"}}}},
		{name: "large numbers", ev: tag("v10.20.300"), push: true, version: "10.20.300",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "10.20.300"}}}},
		{name: "pre-release kept", ev: tag("v1.2.3-rc.1"), push: true, version: "1.2.3-rc.1",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "1.2.3-rc.1"}}}},
		{name: "pre-release with hyphens", ev: tag("v2.0.0-beta-2"), push: true, version: "2.0.0-beta-2",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "2.0.0-beta-2"}}}},
		{name: "build metadata plus becomes underscore", ev: tag("v1.2.3+build.5"), push: true, version: "1.2.3+build.5",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "1.2.3_build.5"}}}},
		{name: "pre-release and build metadata", ev: tag("v1.0.0-alpha.1+sha.abc"), push: true, version: "1.0.0-alpha.1+sha.abc",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "1.0.0-alpha.1_sha.abc"}}}},
		{name: "two-part version is refused", ev: tag("v1.2"), problem: `tag "v1.2" is not a release version`},
		{name: "one-part version is refused", ev: tag("v1"), problem: `tag "v1" is not a release version`},
		{name: "words are refused", ev: tag("vfoo"), problem: `tag "vfoo" is not a release version`},
		{name: "leading zero is refused", ev: tag("v01.2.3"), problem: `tag "v01.2.3" is not a release version`},
		{name: "leading zero in pre-release is refused", ev: tag("v1.2.3-01"), problem: "not a release version"},
		{name: "four parts are refused", ev: tag("v1.2.3.4"), problem: "not a release version"},
		{name: "bare v is refused", ev: tag("v"), problem: "not a release version"},
		{name: "refusal names the fix", ev: tag("v1.2"), problem: "delete the tag and push a valid one"},
		{name: "tag without v does nothing", ev: tag("1.2.3"), version: "1.2.3-0123456"},
		{name: "non-release tag does nothing", ev: tag("deploy-prod"), version: "deploy-prod-0123456"},
		{name: "other branch does nothing", ev: push("develop"), version: "develop-0123456"},
		{name: "branch with slash and hash does nothing, version sanitised", ev: push("feature/fix#12"), version: "feature-fix-12-0123456"},
		{name: "pull request builds both on amd64, pushes nothing", ev: pr(42), version: "pr-42-0123456",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: []string{"linux/amd64"}, Tags: []string{}},
				{Target: Dev, Stage: "dev", Platforms: []string{"linux/amd64"}, Tags: []string{}},
			}},
		{name: "pull request platforms configurable", ev: pr(44), env: map[string]string{"GANTRY_PR_PLATFORMS": "linux/amd64,linux/arm64"}, version: "pr-44-0123456",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{}},
				{Target: Dev, Stage: "dev", Platforms: both, Tags: []string{}},
			}},
		{name: "schedule does nothing", ev: event.Context{Kind: event.Other, Name: "schedule", Ref: "refs/heads/main", Branch: "main", Commit: sha}, version: "main-0123456"},
		{name: "detached HEAD does nothing", ev: event.Context{Kind: event.Other, Name: "local", Commit: sha}, version: "detached-0123456"},
		{name: "other refs built when configured", ev: push("develop"), edit: func(c *config.Config) { c.BuildOtherRefs = true }, version: "develop-0123456",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: []string{"linux/amd64"}, Tags: []string{}},
				{Target: Dev, Stage: "dev", Platforms: []string{"linux/amd64"}, Tags: []string{}},
			}},
		{name: "upper-case owner and repository are lower-cased", ev: tag("v1.0.0"), edit: func(c *config.Config) { c.Image = "GHCR.io/Acme/MySvc" }, push: true, version: "1.0.0",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{"ghcr.io/acme/mysvc:1.0.0"}}}},
		{name: "custom publishing branch publishes", ev: push("release/stable"), edit: func(c *config.Config) { c.PublishBranch = "release/stable" }, push: true, version: "release-stable-0123456",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "0123456", img + "release-stable"}, Moving: []string{img + "release-stable"}},
				{Target: Dev, Stage: "dev", Platforms: both, Tags: []string{img + "0123456-dev", img + "release-stable-dev"}, Moving: []string{img + "release-stable-dev"}},
			}},
		{name: "main is not published when the publishing branch is another", ev: push("main"), env: map[string]string{"GANTRY_PUBLISH_BRANCH": "trunk"}, version: "main-0123456"},
		{name: "custom SHA length", ev: push("main"), edit: func(c *config.Config) { c.ShortSHALength = 12 }, push: true, version: "main-0123456789ab",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "0123456789ab", img + "main"}, Moving: []string{img + "main"}},
				{Target: Dev, Stage: "dev", Platforms: both, Tags: []string{img + "0123456789ab-dev", img + "main-dev"}, Moving: []string{img + "main-dev"}},
			}},
		{name: "SHA length from the environment", ev: tag("v3.0.0"), env: map[string]string{"GANTRY_SHORT_SHA_LENGTH": "9"}, push: true, version: "3.0.0",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "3.0.0"}}}},
		{name: "image from the environment wins over init", ev: tag("v1.0.0"), edit: func(c *config.Config) { c.Image = "ghcr.io/code/svc" }, env: map[string]string{"GANTRY_IMAGE": "registry.example.com/Team/API"}, push: true, version: "1.0.0",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{"registry.example.com/team/api:1.0.0"}}}},
		{name: "platforms from the environment", ev: tag("v1.0.0"), env: map[string]string{"GANTRY_PLATFORMS": "linux/arm64"}, push: true, version: "1.0.0",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: []string{"linux/arm64"}, Tags: []string{img + "1.0.0"}}}},
		{name: "platforms and stages from init", ev: push("main"), edit: func(c *config.Config) {
			c.Platforms = []string{"linux/amd64"}
			c.ProdStage, c.DevStage = "runtime", "debug"
		}, push: true, version: "main-0123456",
			images: []Image{
				{Target: Prod, Stage: "runtime", Platforms: []string{"linux/amd64"}, Tags: []string{img + "0123456", img + "main"}, Moving: []string{img + "main"}},
				{Target: Dev, Stage: "debug", Platforms: []string{"linux/amd64"}, Tags: []string{img + "0123456-dev", img + "main-dev"}, Moving: []string{img + "main-dev"}},
			}},
		{name: "registry from the environment", ev: tag("v1.0.0"), env: map[string]string{"GANTRY_REGISTRY": "localhost:5000"}, push: true, version: "1.0.0",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{"localhost:5000/acme/svc:1.0.0"}}}},
		{name: "short commit is refused", ev: event.Context{Kind: event.BranchPush, Branch: "main", Commit: "abc"}, errHas: `commit "abc" is not a full commit SHA`},
		{name: "commit with an injected flag is refused", ev: event.Context{Kind: event.BranchPush, Branch: "main", Commit: sha + " -X main.version=PWNED"},
			errHas: "is not a full commit SHA (40 or 64 lower-case hex digits)"},
		{name: "upper-case commit is refused", ev: event.Context{Kind: event.BranchPush, Branch: "main", Commit: strings.ToUpper(sha)}, errHas: "lower-case hex"},
		{name: "SHA-256 commit", ev: event.Context{Kind: event.TagPush, Ref: "refs/tags/v1.0.0", Tag: "v1.0.0", Commit: sha + sha[:24]}, push: true, version: "1.0.0",
			images: []Image{{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "1.0.0"}}}},
		{name: "a stray v* tag builds nothing and names the problem", ev: tag("vnext-wip"), problem: `tag "vnext-wip" is not a release version`},
		{name: "publishing branch equal to the short SHA is refused", ev: push("0123456"), edit: func(c *config.Config) { c.PublishBranch = "0123456" },
			errHas: `publishing branch "0123456" would move the tag "0123456", and it looks like a short commit SHA: it is the immutable prod tag of any commit starting with 0123456`},
		{name: "publishing branch shaped like another commit's short SHA is refused", ev: push("main"), edit: func(c *config.Config) { c.PublishBranch = "abcdef1" },
			errHas: "looks like a short commit SHA"},
		{name: "publishing branch of another length than the short SHA is fine", ev: push("cafe"), edit: func(c *config.Config) { c.PublishBranch = "cafe" }, push: true, version: "cafe-0123456",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "0123456", img + "cafe"}, Moving: []string{img + "cafe"}},
				{Target: Dev, Stage: "dev", Platforms: both, Tags: []string{img + "0123456-dev", img + "cafe-dev"}, Moving: []string{img + "cafe-dev"}},
			}},
		{name: "publishing branch named like a release is refused", ev: push("1.2.3"), edit: func(c *config.Config) { c.PublishBranch = "1.2.3" },
			errHas: "it is a release version"},
		{name: "publishing branch whose dev tag is a release version is refused", ev: push("main"), edit: func(c *config.Config) { c.PublishBranch = "1.2.3-" },
			errHas: `would move the tag "1.2.3--dev", and it is a release version: it is the immutable tag of the release v1.2.3--dev`},
		{name: "publishing branch whose tag is a release with build metadata is refused", ev: push("1.2.3+meta"), edit: func(c *config.Config) { c.PublishBranch = "1.2.3+meta" },
			errHas: `would move the tag "1.2.3_meta", and it is a release version: it is the immutable tag of the release v1.2.3+meta`},
		{name: "publishing branch whose prod tag is a commit's dev tag is refused", ev: push("deadbee-dev"), edit: func(c *config.Config) { c.PublishBranch = "deadbee-dev" },
			errHas: `would move the tag "deadbee-dev", and it looks like a short commit SHA with -dev: it is the immutable dev tag of any commit starting with deadbee`},
		{name: "publishing branch sanitised to a commit's dev tag is refused", ev: push("main"), edit: func(c *config.Config) { c.PublishBranch = "deadbee/dev" },
			errHas: "the immutable dev tag of any commit starting with deadbee"},
		{name: "publishing branch with two pluses is no release", ev: push("1.2.3+a+b"), edit: func(c *config.Config) { c.PublishBranch = "1.2.3+a+b" }, push: true, version: "1.2.3_a_b-0123456",
			images: []Image{
				{Target: Prod, Stage: "prod", Platforms: both, Tags: []string{img + "0123456", img + "1.2.3_a_b"}, Moving: []string{img + "1.2.3_a_b"}},
				{Target: Dev, Stage: "dev", Platforms: both, Tags: []string{img + "0123456-dev", img + "1.2.3_a_b-dev"}, Moving: []string{img + "1.2.3_a_b-dev"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Make(tt.ev, resolved(t, tt.edit, tt.env))
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error = %v, want one containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.problem != "" {
				if perr := got.Err(); perr == nil || !strings.Contains(perr.Error(), tt.problem) || got.Push || len(got.Images) > 0 {
					t.Fatalf("plan %+v with problem %v; want no push, no images and a problem containing %q", got, perr, tt.problem)
				}
				return
			}
			if got.Err() != nil {
				t.Errorf("unexpected problem: %v", got.Err())
			}
			if got.Push != tt.push || got.Version != tt.version {
				t.Errorf("push, version = %t, %q; want %t, %q", got.Push, got.Version, tt.push, tt.version)
			}
			if !equalImages(got.Images, tt.images) {
				t.Errorf("images:\n got %+v\nwant %+v", got.Images, tt.images)
			}
			if len(tt.images) == 0 && got.Reason == "" {
				t.Error("a plan that builds nothing must say why")
			}
			for _, im := range got.Images {
				for _, ref := range im.Tags {
					if strings.HasSuffix(ref, ":latest") {
						t.Errorf("latest tag planned: %s", ref)
					}
				}
			}
		})
	}
}

func equalImages(a, b []Image) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Target != b[i].Target || a[i].Stage != b[i].Stage ||
			strings.Join(a[i].Platforms, ",") != strings.Join(b[i].Platforms, ",") ||
			strings.Join(a[i].Tags, ",") != strings.Join(b[i].Tags, ",") ||
			strings.Join(a[i].Moving, ",") != strings.Join(b[i].Moving, ",") {
			return false
		}
	}
	return true
}

func TestLongBranchKeepsSuffixWithin128(t *testing.T) {
	t.Parallel()
	branch := strings.Repeat("a", 200)
	cfg := resolved(t, func(c *config.Config) { c.PublishBranch = branch }, nil)
	p, err := Make(push(branch), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range p.Images {
		for _, ref := range im.Tags {
			tagPart := ref[strings.LastIndex(ref, ":")+1:]
			if len(tagPart) > 128 {
				t.Errorf("tag of %d characters: %s", len(tagPart), tagPart)
			}
		}
	}
	if dev := p.Images[1].Moving[0]; !strings.HasSuffix(dev, "-dev") || len(dev[strings.LastIndex(dev, ":")+1:]) != 128 {
		t.Errorf("dev moving tag = %s, want 128 characters ending in -dev", dev)
	}
}

// TestLongTagsStayDistinct: two pre-releases that differ only after the
// 128th character still get two tags.
func TestLongTagsStayDistinct(t *testing.T) {
	t.Parallel()
	cfg := resolved(t, nil, nil)
	long := "v1.2.3-" + strings.Repeat("a", 143)
	first, err := Make(tag(long+"1"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Make(tag(long+"2"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := first.Images[0].Tags[0], second.Images[0].Tags[0]
	if a == b {
		t.Fatalf("two pre-releases give one tag %s", a)
	}
	for _, ref := range []string{a, b} {
		tag := ref[strings.LastIndex(ref, ":")+1:]
		if len(tag) != 128 || !strings.HasPrefix(tag, "1.2.3-aaaa") {
			t.Errorf("tag %s: want 128 characters keeping the start of the version", tag)
		}
	}
}

func TestInvalidReleaseTagIsAProblemNotAnError(t *testing.T) {
	t.Parallel()
	p, err := Make(tag("vnext-wip"), resolved(t, nil, nil))
	if err != nil {
		t.Fatalf("a stray v* tag must not stop the plan: %v", err)
	}
	if p.Push || len(p.Images) != 0 {
		t.Errorf("plan of an invalid release tag pushes or builds: %+v", p)
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), `tag "vnext-wip" is not a release version`) || !strings.Contains(err.Error(), "delete the tag and push a valid one") {
		t.Errorf("Err() = %v, want the problem and the fix", err)
	}
	if !strings.Contains(p.Reason, "vnext-wip") {
		t.Errorf("Reason %q does not name the tag", p.Reason)
	}
	if ok, _ := Make(tag("v1.0.0"), resolved(t, nil, nil)); ok.Err() != nil {
		t.Errorf("a valid release has a problem: %v", ok.Err())
	}
}

// TestMakeRefusesBadConfiguration: Make checks what it is given even when
// the configuration did not come through Resolve.
func TestMakeRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		edit   func(*config.Config)
		errHas string
	}{
		{"latest publishing branch", func(c *config.Config) { c.PublishBranch = "latest" }, "never pushes latest"},
		{"Latest publishing branch", func(c *config.Config) { c.PublishBranch = "Latest" }, "never pushes latest"},
		{"image with an empty path component", func(c *config.Config) { c.Image = "ghcr.io/acme//widget" }, `path component "" is not a valid image name component`},
		{"image with a leading dash", func(c *config.Config) { c.Image = "ghcr.io/acme/-widget-" }, "not a valid image name component"},
		{"image with a scheme", func(c *config.Config) { c.Image = "https://ghcr.io/acme/widget" }, "has a URL scheme"},
		{"image with a tag", func(c *config.Config) { c.Image = "ghcr.io/acme/svc:latest" }, "has a tag"},
		{"image going up", func(c *config.Config) { c.Image = "ghcr.io/../../x" }, "not a valid image name component"},
		{"short SHA length 0", func(c *config.Config) { c.ShortSHALength = 0 }, "out of range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := resolved(t, nil, nil)
			tt.edit(&cfg)
			_, err := Make(push(cfg.PublishBranch), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Make = %v, want an error containing %q", err, tt.errHas)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, suffix, want string }{
		{"main", "", "main"},
		{"feature/x", "-dev", "feature-x-dev"},
		{"fix#12", "", "fix-12"},
		{"über", "", "_ber"},
		{"--x", "", "_x"},
		{".hidden", "", "_hidden"},
		{"-dash", "", "_dash"},
		{"1.2.3+meta", "", "1.2.3_meta"},
		{"", "", "_"},
		{"a b\tc", "", "a-b-c"},
		{"UPPER_case.1-2", "", "UPPER_case.1-2"},
	} {
		if got := Sanitize(tt.in, tt.suffix); got != tt.want {
			t.Errorf("Sanitize(%q, %q) = %q, want %q", tt.in, tt.suffix, got, tt.want)
		}
	}
}

func TestImmutable(t *testing.T) {
	t.Parallel()
	im := Image{Tags: []string{"r:abc", "r:main"}, Moving: []string{"r:main"}}
	if got := im.Immutable(); len(got) != 1 || got[0] != "r:abc" {
		t.Errorf("Immutable() = %v", got)
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	p, err := Make(push("main"), resolved(t, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"push:    true", "ghcr.io/acme/svc:0123456  ", "ghcr.io/acme/svc:main-dev", "moving", "immutable"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
