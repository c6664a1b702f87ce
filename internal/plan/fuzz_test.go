package plan

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/reference"
	"github.com/gantry-build/gantry/magetools/config"
)

// versionChars is what a version may hold: it goes into -X flags and
// labels, so no space, quote or '=' may ever get there.
var versionChars = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)

// FuzzMake plans arbitrary refs, commits, branches and configuration. The
// seed corpus is in testdata/fuzz/FuzzMake. Invariants: invalid input is an
// error, never a panic; every planned reference is valid under the
// distribution grammar; no tag is latest; immutable and moving tags never
// overlap; distinct commits give distinct immutable tags.
func FuzzMake(f *testing.F) {
	base, err := config.Config{}.Resolve(func(string) (string, bool) { return "", false },
		config.Facts{Dir: f.TempDir(), ModulePath: "github.com/acme/svc", MainCandidates: []string{"."}, OwnerRepo: "acme/svc", HostGOOS: "linux", HostGOARCH: "amd64"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, ref, commit, publishBranch, image string, shortLength, pullRequest int, dirty, buildOther bool) {
		cfg := base
		cfg.PublishBranch, cfg.ShortSHALength, cfg.BuildOtherRefs = publishBranch, shortLength, buildOther
		if image != "" {
			cfg.Image = image
		}
		ev := eventOf(kind, ref, commit, pullRequest, dirty)
		p, err := Make(ev, cfg)
		if err != nil {
			return
		}
		if event.CheckCommit(commit) != nil {
			t.Fatalf("commit %q planned", commit)
		}
		if reference.CheckRepository(cfg.Image) != nil {
			t.Fatalf("image %q planned", cfg.Image)
		}
		if !versionChars.MatchString(p.Version) {
			t.Fatalf("version %q would go into -X flags", p.Version)
		}
		checkInvariants(t, p)

		// Another commit, differing within the short SHA, gets other
		// immutable <sha> tags.
		other := ev
		other.Commit = flipFirst(commit)
		q, err := Make(other, cfg)
		if err != nil {
			t.Fatalf("commit %q planned but %q not: %v", commit, other.Commit, err)
		}
		if p.Push && ev.Kind == event.BranchPush {
			for i := range p.Images {
				for _, tag := range p.Images[i].Immutable() {
					if slices.Contains(q.Images[i].Immutable(), tag) {
						t.Fatalf("commits %s and %s share the immutable tag %s", commit, other.Commit, tag)
					}
				}
			}
		}
	})
}

func eventOf(kind uint8, ref, commit string, pullRequest int, dirty bool) event.Context {
	ev := event.Context{Name: "push", Commit: commit, Dirty: dirty}
	switch kind % 4 {
	case 0:
		ev.Kind, ev.Branch, ev.Ref = event.BranchPush, ref, "refs/heads/"+ref
	case 1:
		ev.Kind, ev.Tag, ev.Ref = event.TagPush, ref, "refs/tags/"+ref
	case 2:
		ev.Kind, ev.Name, ev.Branch, ev.PullRequest = event.PullRequest, "pull_request", ref, pullRequest
	default:
		ev.Kind, ev.Name, ev.Ref = event.Other, "schedule", ref
	}
	return ev
}

// flipFirst changes the first character of a hex commit to another hex digit.
func flipFirst(commit string) string {
	if commit == "" {
		return commit
	}
	c := byte('0')
	if commit[0] == '0' {
		c = '1'
	}
	return string(c) + commit[1:]
}

func checkInvariants(t *testing.T, p Plan) {
	t.Helper()
	seen := map[string]bool{}
	for _, img := range p.Images {
		for _, ref := range img.Tags {
			if err := reference.CheckTagged(ref); err != nil {
				t.Fatalf("invalid reference planned: %v", err)
			}
			if reference.IsLatest(ref[strings.LastIndex(ref, ":")+1:]) {
				t.Fatalf("latest planned: %s", ref)
			}
			if seen[ref] {
				t.Fatalf("tag planned twice: %s", ref)
			}
			seen[ref] = true
		}
		for _, ref := range img.Immutable() {
			if slices.Contains(img.Moving, ref) {
				t.Fatalf("tag both immutable and moving: %s", ref)
			}
		}
		if len(img.Immutable())+len(img.Moving) != len(img.Tags) {
			t.Fatalf("moving tags %v are not among the tags %v", img.Moving, img.Tags)
		}
	}
	if !p.Push && len(p.Images) > 0 {
		for _, img := range p.Images {
			if len(img.Tags) > 0 {
				t.Fatalf("a plan that pushes nothing has tags: %+v", img)
			}
		}
	}
}
