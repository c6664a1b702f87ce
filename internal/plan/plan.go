// Package plan turns an event and the configuration into what a run will do:
// which targets are built, for which platforms, with which tags, and whether
// anything is pushed. It is the tag table of SPEC.md as a pure function.
package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/magetools/config"
)

// Target roles; the Dockerfile stage names are configurable.
const (
	Prod = "prod"
	Dev  = "dev"
)

// maxTagLength is the limit of the OCI distribution spec.
const maxTagLength = 128

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
func Make(ev event.Context, cfg config.Config) (Plan, error) {
	if _, err := name.NewRepository(cfg.Image, name.StrictValidation); err != nil {
		return Plan{}, fmt.Errorf("image %q is not a valid repository reference (%v); set GANTRY_IMAGE or Config.Image to e.g. ghcr.io/acme/svc, without a tag", cfg.Image, err)
	}
	if ev.Commit == "" || len(ev.Commit) < cfg.ShortSHALength {
		return Plan{}, fmt.Errorf("commit %q is shorter than the short SHA length %d; check GITHUB_SHA or the git checkout", ev.Commit, cfg.ShortSHALength)
	}
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
			return Plan{}, err
		}
		p.Version = version
		p.Push = true
		p.Images = []Image{{Target: Prod, Stage: cfg.ProdStage, Platforms: cfg.Platforms,
			Tags: []string{base + Sanitize(version, "")}}}
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
	return p, nil
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
// do), leading "." and "-" become one "_", and s is cut so that the whole tag
// stays within 128 characters with the suffix kept.
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
	if limit := maxTagLength - len(suffix); len(out) > limit {
		out = out[:limit]
	}
	return out + suffix
}
