// Package plan turns an event and the configuration into what a run will do:
// which targets are built, for which platforms, with which tags, and whether
// anything is pushed. It is the tag table of README.md's Tag rules as a pure
// function, and it refuses any plan that would make an invalid reference, a
// latest tag, or a tag both immutable and moving.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/reference"
	"github.com/gantry-build/gantry/magetools/config"
)

// Target roles; the Dockerfile stage names are configurable.
const (
	Prod = "prod"
	Dev  = "dev"
)

// hashLength is the number of hex digits of the hash that ends a tag cut
// to 128 characters, so that distinct long inputs keep distinct tags.
const hashLength = 12

// Plan is what a run will do.
type Plan struct {
	Event   event.Kind `json:"event"`
	Ref     string     `json:"ref"`
	Commit  string     `json:"commit"`
	Short   string     `json:"short_sha"`
	Version string     `json:"version"`
	Push    bool       `json:"push"`
	Images  []Image    `json:"images"`
	// Reason explains a plan that builds nothing.
	Reason string `json:"reason,omitempty"`
	// Problem is why this run cannot do what its event asks (a v* tag
	// that is not a release version), while what publishes nothing
	// (plan, build, image, check) still works. See Err.
	Problem string `json:"problem,omitempty"`
	// Service is the service the plan is of, in a repository of several
	// (Config.Services); empty for a repository of one.
	Service string `json:"service,omitempty"`
	// Inputs is the service's inputs digest (internal/inputs), recorded
	// on its images; empty when not computed.
	Inputs string `json:"inputs,omitempty"`
	// Skipped says why this push builds nothing of the service: nothing
	// it is built from changed (see Skip).
	Skipped string `json:"skipped,omitempty"`
}

// Err is the Problem as an error, for the targets that act on the event
// (publish, release, ci): they refuse it. Nil when there is none.
func (p Plan) Err() error {
	if p.Problem == "" {
		return nil
	}
	return errors.New(p.Problem)
}

// Image is one Dockerfile target to build.
type Image struct {
	Target    string   `json:"target"`
	Stage     string   `json:"stage"`
	Platforms []string `json:"platforms"`
	// Tags are full references, immutable ones first: they are pushed
	// before the moving ones.
	Tags []string `json:"tags"`
	// Moving lists the tags of Tags that move to newer commits.
	Moving []string `json:"moving,omitempty"`
}

// Immutable returns the tags that name one commit or version forever.
func (i Image) Immutable() []string {
	var out []string
	for _, t := range i.Tags {
		if !slices.Contains(i.Moving, t) {
			out = append(out, t)
		}
	}
	return out
}

// Make computes the plan. cfg must be resolved (config.Config.Resolve).
// Every reference it plans is checked against the grammar registries
// enforce; no tag is latest, and no tag is both immutable and moving.
func Make(ev event.Context, cfg config.Config) (Plan, error) {
	if err := reference.CheckRepository(cfg.Image); err != nil {
		return Plan{}, fmt.Errorf("%w; set GANTRY_IMAGE or Config.Image to a valid repository reference such as ghcr.io/acme/svc, without a tag", err)
	}
	if err := event.CheckCommit(ev.Commit); err != nil {
		return Plan{}, fmt.Errorf("%w; check GITHUB_SHA or the git checkout", err)
	}
	if cfg.ShortSHALength < 4 || cfg.ShortSHALength > 40 {
		return Plan{}, fmt.Errorf("short SHA length %d is out of range; set GANTRY_SHORT_SHA_LENGTH or Config.ShortSHALength to a value from 4 to 40", cfg.ShortSHALength)
	}
	if err := CheckPublishBranch(cfg.PublishBranch, cfg.ShortSHALength); err != nil {
		return Plan{}, err
	}
	p := compute(ev, cfg)
	if err := p.check(); err != nil {
		return Plan{}, err
	}
	return p, nil
}

// compute applies the tag table; Make checks its result.
func compute(ev event.Context, cfg config.Config) Plan {
	short := ev.Commit[:cfg.ShortSHALength]
	p := Plan{Event: ev.Kind, Ref: ev.Ref, Commit: ev.Commit, Short: short, Images: []Image{}}
	base := cfg.Image + ":"

	switch {
	case ev.Kind == event.BranchPush && ev.Branch == cfg.PublishBranch:
		branch := Sanitize(ev.Branch, "")
		p.Version = versionOf(branch, short, ev.Dirty)
		p.Push = true
		p.Images = []Image{
			{Target: Prod, Stage: cfg.ProdStage, Platforms: cfg.Platforms,
				Tags:   []string{base + short, base + branch},
				Moving: []string{base + branch}},
			{Target: Dev, Stage: cfg.DevStage, Platforms: cfg.Platforms,
				Tags:   []string{base + short + "-dev", base + Sanitize(ev.Branch, "-dev")},
				Moving: []string{base + Sanitize(ev.Branch, "-dev")}},
		}
	case ev.Kind == event.TagPush && strings.HasPrefix(ev.Tag, "v"):
		version, err := ReleaseVersion(ev.Tag)
		if err != nil {
			// Only a release needs a valid version: the plan of this
			// commit still builds and checks, and says what is wrong.
			p.Version = versionOf(Sanitize(ev.Tag, ""), short, ev.Dirty)
			p.Problem = err.Error()
			p.Reason = "not a release: " + p.Problem
			return p
		}
		p.Version = version
		p.Push = true
		p.Images = []Image{{Target: Prod, Stage: cfg.ProdStage, Platforms: cfg.Platforms,
			Tags: []string{base + releaseTag(version)}}}
	case ev.Kind == event.PullRequest:
		p.Version = versionOf("pr-"+strconv.Itoa(ev.PullRequest), short, ev.Dirty)
		p.Images = buildOnly(cfg)
		p.Reason = "pull request: both targets are built to prove they compile; nothing is pushed"
	default:
		p.Version = versionOf(Sanitize(refName(ev), ""), short, ev.Dirty)
		p.Reason = otherReason(ev, cfg)
		if cfg.BuildOtherRefs {
			p.Images = buildOnly(cfg)
			p.Reason += "; BuildOtherRefs is set, so both targets are built, nothing is pushed"
		}
	}
	return p
}

// CheckPublishBranch refuses a publishing branch whose moving tags could
// be latest or an immutable tag another run pushes, with short SHAs of
// shortSHALength digits: every moving tag, prod's and dev's, is checked
// against the form of every immutable tag. gantry init checks the branch
// it writes with it too.
func CheckPublishBranch(branch string, shortSHALength int) error {
	for _, suffix := range []string{"", "-dev"} {
		tag := Sanitize(branch, suffix)
		why := immutableTagForm(tag, shortSHALength)
		if reference.IsLatest(tag) {
			why = "Gantry never pushes latest (every reference names an explicit version)"
		}
		if why != "" {
			return fmt.Errorf("publishing branch %q would move the tag %q, and %s; publish from a branch with another name, e.g. main (GANTRY_PUBLISH_BRANCH, Config.PublishBranch)", branch, tag, why)
		}
	}
	return nil
}

// immutableTagForm says which immutable tag tag has the form of: a
// commit's prod (<sha>) or dev (<sha>-dev) tag for a short SHA of
// shortLength hex digits, or a release's (the tag of a release version,
// its + as _). It is "" for none.
func immutableTagForm(tag string, shortLength int) string {
	isShortSHA := func(s string) bool { return len(s) == shortLength && hexDigits.MatchString(s) }
	if isShortSHA(tag) {
		return fmt.Sprintf("it looks like a short commit SHA: it is the immutable prod tag of any commit starting with %s", tag)
	}
	if sha, ok := strings.CutSuffix(tag, "-dev"); ok && isShortSHA(sha) {
		return fmt.Sprintf("it looks like a short commit SHA with -dev: it is the immutable dev tag of any commit starting with %s", sha)
	}
	// Sanitize turns semver's one + into _, and leaves a version alone otherwise.
	if v, err := semver.StrictNewVersion(strings.Replace(tag, "_", "+", 1)); err == nil && releaseTag(v.String()) == tag {
		return fmt.Sprintf("it is a release version: it is the immutable tag of the release v%s", v)
	}
	return ""
}

var hexDigits = regexp.MustCompile(`^[0-9a-f]+$`)

// releaseTag is the image tag of a release version.
func releaseTag(version string) string { return Sanitize(version, "") }

// check refuses a plan with an invalid reference, a latest tag, a tag
// planned twice or a tag both immutable and moving.
func (p Plan) check() error {
	seen := map[string]bool{}
	for _, img := range p.Images {
		for _, ref := range img.Tags {
			if err := reference.CheckTagged(ref); err != nil {
				return fmt.Errorf("the plan would push %s: %w; report this as a bug in Gantry, and meanwhile change the branch, tag or configuration that gave it", ref, err)
			}
			if tag := ref[strings.LastIndex(ref, ":")+1:]; reference.IsLatest(tag) {
				return fmt.Errorf("the plan would push %s, and Gantry never pushes latest; change the branch, tag or configuration that gave it", ref)
			}
			if seen[ref] {
				return fmt.Errorf("the plan would push %s twice, as immutable and moving tags overlap; change the publishing branch (GANTRY_PUBLISH_BRANCH) or the short SHA length (GANTRY_SHORT_SHA_LENGTH) so that they differ", ref)
			}
			seen[ref] = true
		}
	}
	return nil
}

// ReleaseVersion maps a v* tag to the image tag: v1.2.3 gives 1.2.3, a
// pre-release is kept. Anything that is not strict semver is an error.
func ReleaseVersion(tag string) (string, error) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	if err != nil || !strings.HasPrefix(tag, "v") {
		return "", fmt.Errorf("tag %q is not a release version: %v; release tags are v<MAJOR>.<MINOR>.<PATCH>[-<pre-release>] (semver 2.0, e.g. v1.2.3 or v1.2.3-rc.1): delete the tag and push a valid one", tag, err)
	}
	return v.String(), nil
}

func buildOnly(cfg config.Config) []Image {
	return []Image{
		{Target: Prod, Stage: cfg.ProdStage, Platforms: cfg.PullRequestPlatforms, Tags: []string{}},
		{Target: Dev, Stage: cfg.DevStage, Platforms: cfg.PullRequestPlatforms, Tags: []string{}},
	}
}

func otherReason(ev event.Context, cfg config.Config) string {
	switch ev.Kind {
	case event.BranchPush:
		return fmt.Sprintf("push to branch %q, which is not the publishing branch %q: nothing to do", ev.Branch, cfg.PublishBranch)
	case event.TagPush:
		return fmt.Sprintf("tag %q does not start with v, so it is not a release: nothing to do", ev.Tag)
	case event.Other:
		if ev.Ref == "" {
			return "detached HEAD with no v* tag: nothing to do"
		}
	}
	return fmt.Sprintf("event %q on %q is not a push to %q, a v* tag or a pull request: nothing to do", ev.Name, ev.Ref, cfg.PublishBranch)
}

func refName(ev event.Context) string {
	switch {
	case ev.Branch != "":
		return ev.Branch
	case ev.Tag != "":
		return ev.Tag
	default:
		return "detached"
	}
}

// versionOf is the version stamped into a non-release build.
func versionOf(ref, short string, dirty bool) string {
	v := ref + "-" + short
	if dirty {
		v += "-dirty"
	}
	return v
}

// Sanitize makes s+suffix a valid tag: characters outside [A-Za-z0-9_.-]
// become "-" ("+" of semver build metadata becomes "_", as Helm and others
// do), leading "." and "-" become one "_", and a tag longer than 128
// characters keeps the start of s, then "-" and 12 hex digits of the SHA-256
// of the whole of s, then the suffix: two long inputs that differ only
// after the cut still give two tags.
func Sanitize(s, suffix string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		case r == '+':
			b.WriteRune('_')
		default:
			b.WriteRune('-')
		}
	}
	out := b.String()
	if out == "" || out[0] == '.' || out[0] == '-' {
		out = "_" + strings.TrimLeft(out, ".-")
	}
	if limit := reference.MaxTagLength - len(suffix); len(out) > limit {
		sum := sha256.Sum256([]byte(s))
		out = out[:limit-1-hashLength] + "-" + hex.EncodeToString(sum[:])[:hashLength]
	}
	return out + suffix
}
