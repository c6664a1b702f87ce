package adopt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
)

func TestCheckPublishBranch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		branch, refused string // refused: a piece of the error, "" for none
	}{
		{"main", ""},
		{"master", ""},
		{"release/v2", ""},
		{"latest", "never pushes latest"},
		{"LATEST", "never pushes latest"},
		{"deadbee", "short commit SHA"},
		// Refused at a ShortSHALength the team may raise to.
		{"deadbeef00", "short commit SHA"},
		{"0123456789012345678901234567890123456789", "short commit SHA"},
		{"1.2.3", "release version"},
		{"a..b", "not a branch name"},
	} {
		err := CheckPublishBranch(tt.branch)
		if tt.refused == "" && err != nil || tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)) {
			t.Errorf("CheckPublishBranch(%q) = %v, want %q", tt.branch, err, tt.refused)
		}
	}
}

func TestDecidePublishBranch(t *testing.T) {
	t.Parallel()
	origin := func(b string) discover.Fact { return discover.Fact{Value: b, Source: "origin/HEAD"} }
	has := func(branches ...string) func(string) bool {
		return func(b string) bool { return slices.Contains(branches, b) }
	}
	tests := []struct {
		name     string
		found    discover.Fact
		flag     string
		exists   func(string) bool
		want     string
		wantNote string
		wantErr  []string
	}{
		{name: "origin/HEAD's", found: origin("develop"), exists: has(), want: "develop"},
		{name: "latest, main exists", found: origin("latest"), exists: has("main", "master"), want: "main", wantNote: `the branch "latest" (from origin/HEAD) cannot publish`},
		{name: "a short SHA, master exists", found: origin("cafe123"), exists: has("master"), want: "master", wantNote: "init publishes from master instead"},
		{name: "latest, nothing to fall back on", found: origin("latest"), exists: has(),
			wantErr: []string{`"latest" (from origin/HEAD) is refused`, "never pushes latest", "no main or master", "pass -branch"}},
		{name: "the flag wins", found: origin("latest"), flag: "trunk", exists: has("main"), want: "trunk"},
		{name: "a refused flag", found: origin("main"), flag: "1.2.3", exists: has("main"), wantErr: []string{"-branch:", "release version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, notes, err := decidePublishBranch(tt.found, tt.flag, tt.exists)
			if len(tt.wantErr) > 0 {
				for _, piece := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), piece) {
						t.Errorf("err %v, want one with %q", err, piece)
					}
				}
				return
			}
			if err != nil || got.Value != tt.want {
				t.Fatalf("got %q, %v; want %q", got.Value, err, tt.want)
			}
			if tt.wantNote == "" && len(notes) > 0 || tt.wantNote != "" && (len(notes) != 1 || !strings.Contains(notes[0], tt.wantNote)) {
				t.Errorf("notes %q, want one with %q", notes, tt.wantNote)
			}
		})
	}
}

func TestBranchExists(t *testing.T) {
	svc := newService(t) // on main
	exists := branchExists(context.Background(), svc.Dir)
	if !exists("main") || exists("master") {
		t.Errorf("main exists: %t, master exists: %t; want true, false", exists("main"), exists("master"))
	}
	svc.Git(t, "update-ref", "refs/remotes/origin/master", "HEAD")
	if !exists("master") {
		t.Error("origin's master: want it found")
	}
}

// handWritten is an image workflow as teams write it before Gantry.
const handWritten = `name: Publish
on:
  push:
    branches: [main]
jobs:
  image:
    runs-on: ubuntu-latest
    permissions:
      packages: write
    steps:
      - uses: actions/checkout@v4
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ghcr.io/${{ github.repository }}
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: ${{ steps.meta.outputs.tags }}
`

// testWorkflow pushes nothing.
const testWorkflow = "name: Test\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: go test ./...\n"

func TestJudgeWorkflow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, content string
		replace       bool
		why, err      string
	}{
		{name: "Gantry's", content: string(workflow.PublishGHCR)},
		{name: "build-push-action", content: handWritten, replace: true, why: "pushes an image at line 16 (uses: docker/build-push-action@v6 with push: true)"},
		{name: "docker build and push", content: strings.Replace(testWorkflow, "go test ./...", "docker build -t ghcr.io/acme/widget:main . && docker push ghcr.io/acme/widget:main", 1), replace: true,
			why: "builds an image at line 7 (docker build -t ghcr.io/acme/widget:main .), pushes an image at line 7 (docker push ghcr.io/acme/widget:main)"},
		{name: "a test workflow", content: testWorkflow, err: "neither runs mage ci nor builds or pushes an image; move it to another name (git mv .github/workflows/publish-ghcr.yml <new name>) and run gantry init again, or pass -force=workflow"},
		{name: "not a workflow", content: "{{", err: "-force=workflow"},
	} {
		replace, why, err := judgeWorkflow(workflow.Path, []byte(tt.content), "widget")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want one with %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || replace != tt.replace || why != tt.why {
			t.Errorf("%s: %t, %q, %v; want %t, %q", tt.name, replace, why, err, tt.replace, tt.why)
		}
	}
}

// initOptions are Init's options for a service, with this checkout as Gantry.
func initOptions(t *testing.T, dir string) Options {
	t.Helper()
	opts := Options{Dir: dir, Replace: testsvc.Root(t)}
	var err error
	if opts.GantryVersion, err = Version("", "(devel)", opts.Replace); err != nil {
		t.Fatal(err)
	}
	return opts
}

// TestInitReplacesAnImageWorkflow: the hand-written workflow that the
// release process replaces is replaced, and the report says how to get
// it back; one that is something else stops init before it writes.
func TestInitReplacesAnImageWorkflow(t *testing.T) {
	svc := newService(t)
	svc.Write(t, workflow.Path, handWritten)
	svc.Commit(t, "the image workflow")
	report, err := Init(context.Background(), initOptions(t, svc.Dir))
	if err != nil {
		t.Fatal(err)
	}
	want := workflow.Path + " (replaced the image workflow it held, which pushes an image at line 16 (uses: docker/build-push-action@v6 with push: true); `git checkout -- " + workflow.Path + "` restores it)"
	if !slices.Contains(report.Wrote, want) {
		t.Errorf("wrote %q, want %q among them", report.Wrote, want)
	}
	if got := readFile(t, svc.Dir, workflow.Path); got != string(workflow.PublishGHCR) {
		t.Errorf("the workflow is not Gantry's:\n%s", got)
	}
	svc.Git(t, "checkout", "--", workflow.Path)
	if got := readFile(t, svc.Dir, workflow.Path); got != handWritten {
		t.Errorf("git checkout did not restore it:\n%s", got)
	}
}

func TestInitLeavesAnotherWorkflowAlone(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		commit        bool
		err           string
	}{
		{name: "a test workflow", content: testWorkflow, commit: true, err: "-force=workflow"},
		{name: "an image workflow git does not hold", content: handWritten, err: "it is not in the commit, so git could not restore it: commit it first"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t)
			svc.Write(t, workflow.Path, tt.content)
			if tt.commit {
				svc.Commit(t, "a workflow")
			}
			report, err := Init(context.Background(), initOptions(t, svc.Dir))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want one with %q", err, tt.err)
			}
			if len(report.Wrote) > 0 || readFile(t, svc.Dir, workflow.Path) != tt.content {
				t.Errorf("init wrote %q before it stopped", report.Wrote)
			}
		})
	}
}

// TestInitInASubdirectory: a service in services/api gets its workflow
// at the repository's root, named after it, running in its directory,
// which mage check accepts.
func TestInitInASubdirectory(t *testing.T) {
	svc := newService(t)
	api := filepath.Join(svc.Dir, "services", "api")
	if err := os.MkdirAll(api, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"go.mod", "main.go"} {
		svc.Git(t, "mv", name, "services/api/"+name)
	}
	svc.Write(t, "services/api/.github/workflows/publish-ghcr.yml", string(workflow.PublishGHCR))
	svc.Commit(t, "the service in a subdirectory")
	report, err := Init(context.Background(), initOptions(t, api))
	if err != nil {
		t.Fatal(err)
	}
	const path = "../../.github/workflows/publish-ghcr-widget.yml"
	if !slices.Contains(report.Wrote, path) {
		t.Errorf("wrote %q, want %s", report.Wrote, path)
	}
	var out bytes.Buffer
	if err := report.Write(&out); err != nil || !strings.Contains(out.String(), "decided workflow "+path+" (from the service lies in services/api of its repository") ||
		!strings.Contains(out.String(), "note    .github/workflows/publish-ghcr.yml never runs") {
		t.Errorf("report:\n%s", out.String())
	}
	content := readFile(t, svc.Dir, ".github/workflows/publish-ghcr-widget.yml")
	want, err := workflow.ForService("main", "services/api", "widget")
	if err != nil || content != string(want) {
		t.Fatalf("the workflow is not ForService's (%v):\n%s", err, content)
	}
	for _, f := range conformance.CheckWorkflow(path, []byte(content), conformance.Emulation{}, "main", config.SigningKeyless) {
		t.Errorf("mage check: %+v", f)
	}
}
