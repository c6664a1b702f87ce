package plan

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/reference"
	"github.com/gantry-build/gantry/magetools/config"
)

// versionChars is what a version may hold: it goes into -X flags and
// labels, so no space, quote or '=' may ever get there.
var versionChars = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)

// fullSHA is a commit Make must accept: 40 or 64 lower-case hex digits.
var fullSHA = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// FuzzMake plans arbitrary events and configuration; the seed corpus is in
// testdata/fuzz/FuzzMake. Each input is planned as given: a commit that is
// no full SHA, an image registries refuse or a short SHA length outside
// 4..40 must be refused, and nothing may panic. The input is then made
// valid (a commit derived from the given one, the default image, a length
// within range) and must be planned, to the tag table of README.md's Tag
// rules, unless a moving tag of the publishing branch is latest or another
// run's immutable tag, which is found by planning that run.
func FuzzMake(f *testing.F) {
	base, err := config.Config{}.Resolve(func(string) (string, bool) { return "", false },
		config.Facts{Dir: f.TempDir(), ModulePath: "github.com/acme/svc", MainCandidates: []string{"."}, OwnerRepo: "acme/svc"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, ref, commit, publishBranch, image string, shortLength, pullRequest int, dirty, buildOther bool) {
		cfg := base
		cfg.PublishBranch, cfg.ShortSHALength, cfg.BuildOtherRefs = publishBranch, shortLength, buildOther
		if image != "" {
			cfg.Image = image
		}
		ev := eventOf(kind, ref, commit, publishBranch, pullRequest, dirty)
		givenEvent, givenConfig := ev, cfg

		var invalid []string
		if !fullSHA.MatchString(ev.Commit) {
			invalid = append(invalid, fmt.Sprintf("commit %q", ev.Commit))
			sum := sha1.Sum([]byte(commit))
			ev.Commit = hex.EncodeToString(sum[:])
		}
		if reference.CheckRepository(cfg.Image) != nil {
			invalid = append(invalid, fmt.Sprintf("image %q", cfg.Image))
			cfg.Image = base.Image
		}
		if cfg.ShortSHALength < 4 || cfg.ShortSHALength > 40 {
			invalid = append(invalid, fmt.Sprintf("short SHA length %d", cfg.ShortSHALength))
			cfg.ShortSHALength = 4 + int(uint(shortLength)%37)
		}
		if len(invalid) > 0 {
			if p, err := Make(givenEvent, givenConfig); err == nil {
				t.Fatalf("planned with %s: %+v", strings.Join(invalid, ", "), p)
			}
		}

		p, err := Make(ev, cfg)
		if taken := takenMovingTag(t, cfg); taken != "" {
			if err == nil {
				t.Fatalf("publishing branch %q planned, yet %s", publishBranch, taken)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid input refused: %v", err)
		}
		checkTable(t, ev, cfg, p)
	})
}

// eventOf makes the event of a fuzz input: kind picks a push of branch ref,
// a push of tag ref, a pull request from ref, another event, or a push of
// the publishing branch.
func eventOf(kind uint8, ref, commit, publishBranch string, pullRequest int, dirty bool) event.Context {
	ev := event.Context{Name: "push", Commit: commit, Dirty: dirty}
	switch kind % 5 {
	case 0:
		ev.Kind, ev.Branch, ev.Ref = event.BranchPush, ref, "refs/heads/"+ref
	case 1:
		ev.Kind, ev.Tag, ev.Ref = event.TagPush, ref, "refs/tags/"+ref
	case 2:
		ev.Kind, ev.Name, ev.Branch, ev.PullRequest = event.PullRequest, "pull_request", ref, pullRequest
	case 3:
		ev.Kind, ev.Name, ev.Ref = event.Other, "schedule", ref
	default:
		ev.Kind, ev.Branch, ev.Ref = event.BranchPush, publishBranch, "refs/heads/"+publishBranch
	}
	return ev
}

// takenMovingTag says which moving tag of cfg's publishing branch may not
// move: latest, or the immutable tag of another run. The runs that could
// push it are planned, with main as the publishing branch: a push of a
// commit starting with the tag (without -dev), and a push of the release
// whose version is the tag (its _ as semver's +). "" when none.
func takenMovingTag(t *testing.T, cfg config.Config) string {
	t.Helper()
	other := cfg
	other.PublishBranch = "main"
	for _, suffix := range []string{"", "-dev"} {
		moving := Sanitize(cfg.PublishBranch, suffix)
		if reference.IsLatest(moving) {
			return fmt.Sprintf("it moves %s", moving)
		}
		var runs []event.Context
		for _, prefix := range []string{moving, strings.TrimSuffix(moving, "-dev")} {
			if len(prefix) > 40 {
				continue
			}
			if commit := prefix + strings.Repeat("0", 40-len(prefix)); fullSHA.MatchString(commit) {
				runs = append(runs, event.Context{Kind: event.BranchPush, Name: "push", Ref: "refs/heads/main", Branch: "main", Commit: commit})
			}
		}
		release := "v" + strings.Replace(moving, "_", "+", 1)
		runs = append(runs, event.Context{Kind: event.TagPush, Name: "push", Ref: "refs/tags/" + release, Tag: release, Commit: strings.Repeat("f", 40)})
		for _, run := range runs {
			q, err := Make(run, other)
			if err != nil {
				t.Fatalf("plan of %s at %s: %v", run.Ref, run.Commit, err)
			}
			for _, img := range q.Images {
				if slices.Contains(img.Immutable(), cfg.Image+":"+moving) {
					return fmt.Sprintf("it moves %s, which a push of %s at %s pushes as immutable", moving, run.Ref, run.Commit)
				}
			}
		}
	}
	return ""
}

// checkTable checks p against the tag table for a valid ev and cfg.
func checkTable(t *testing.T, ev event.Context, cfg config.Config, p Plan) {
	t.Helper()
	repo, short := cfg.Image+":", ev.Commit[:cfg.ShortSHALength]
	if !versionChars.MatchString(p.Version) {
		t.Fatalf("version %q would go into -X flags", p.Version)
	}
	for _, img := range p.Images {
		for _, ref := range img.Tags {
			if err := reference.CheckTagged(ref); err != nil || !strings.HasPrefix(ref, repo) {
				t.Fatalf("reference %s planned (%v), want a valid tag of %s", ref, err, cfg.Image)
			}
			if reference.IsLatest(strings.TrimPrefix(ref, repo)) {
				t.Fatalf("latest planned: %s", ref)
			}
		}
	}
	suffix := "-" + short
	if ev.Dirty {
		suffix += "-dirty"
	}
	want := []Image{} // what is built; nil for nothing
	switch release, isRelease := strings.CutPrefix(ev.Tag, "v"); {
	case ev.Kind == event.BranchPush && ev.Branch == cfg.PublishBranch:
		moving, movingDev := repo+Sanitize(ev.Branch, ""), repo+Sanitize(ev.Branch, "-dev")
		want = []Image{
			{Target: Prod, Stage: cfg.ProdStage, Platforms: cfg.Platforms, Tags: []string{repo + short, moving}, Moving: []string{moving}},
			{Target: Dev, Stage: cfg.DevStage, Platforms: cfg.Platforms, Tags: []string{repo + short + "-dev", movingDev}, Moving: []string{movingDev}},
		}
		if !p.Push || p.Version != Sanitize(ev.Branch, "")+suffix {
			t.Fatalf("push to the publishing branch %q: push %t, version %q; want a push of %s", ev.Branch, p.Push, p.Version, Sanitize(ev.Branch, "")+suffix)
		}
	case ev.Kind == event.TagPush && isRelease:
		if _, err := semver.StrictNewVersion(release); err != nil {
			if p.Push || len(p.Images) > 0 || p.Err() == nil {
				t.Fatalf("tag %q is no release, yet plan %+v", ev.Tag, p)
			}
			return
		}
		want = []Image{{Target: Prod, Stage: cfg.ProdStage, Platforms: cfg.Platforms, Tags: []string{repo + Sanitize(release, "")}}}
		if !p.Push || p.Version != release || p.Err() != nil {
			t.Fatalf("release %q: push %t, version %q, problem %v; want a push of version %s", ev.Tag, p.Push, p.Version, p.Err(), release)
		}
	default:
		if ev.Kind == event.PullRequest || cfg.BuildOtherRefs {
			want = []Image{
				{Target: Prod, Stage: cfg.ProdStage, Platforms: cfg.PullRequestPlatforms, Tags: []string{}},
				{Target: Dev, Stage: cfg.DevStage, Platforms: cfg.PullRequestPlatforms, Tags: []string{}},
			}
		}
		if p.Push || !strings.HasSuffix(p.Version, suffix) || p.Reason == "" || p.Err() != nil {
			t.Fatalf("%s event %q: plan %+v; want no push, a version ending in %s, a reason and no problem", ev.Kind, ev.Ref, p, suffix)
		}
	}
	if !equalImages(p.Images, want) {
		t.Fatalf("%s event %q, publishing branch %q: images\n got %+v\nwant %+v", ev.Kind, ev.Ref, cfg.PublishBranch, p.Images, want)
	}
}
