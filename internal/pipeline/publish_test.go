package pipeline

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/magetools/config"
)

// fixture is a registry and a repository with history
//
//	c1 -- c2 -- c3   main
//	  \
//	   cs            side
//
// where the run under test builds c2.
type fixture struct {
	host, image    string
	reqs           *registrytest.RequestLog
	dir            string
	c1, c2, c3, cs string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	isolate(t)
	f := &fixture{}
	f.host, f.reqs = newRegistry(t)
	f.image = f.host + "/acme/svc"
	f.dir = newRepo(t)
	f.c1 = commitFile(t, f.dir, "a.txt", "a", date1)
	f.c2 = commitFile(t, f.dir, "b.txt", "b", date2)
	f.c3 = commitFile(t, f.dir, "c.txt", "c", date3)
	gitRun(t, f.dir, nil, "checkout", "-q", "-b", "side", f.c1)
	f.cs = commitFile(t, f.dir, "s.txt", "s", date3)
	gitRun(t, f.dir, nil, "checkout", "-q", "main")
	return f
}

func (f *fixture) short(sha string) string { return sha[:config.DefaultShortSHALength] }

// tag returns the full reference of tag in the fixture's repository.
func (f *fixture) tag(tag string) string { return f.image + ":" + tag }

// run returns the run of c2 for a push to main (release false) or of the
// tag v1.2.3 at c2 (release true), with the checkout in dir.
func (f *fixture) run(t *testing.T, release bool, dir string, mod func(*config.Config)) Run {
	t.Helper()
	ev := event.Context{Kind: event.BranchPush, Name: "local",
		Ref: "refs/heads/main", Branch: "main", Commit: f.c2}
	if release {
		ev = event.Context{Kind: event.TagPush, Name: "local",
			Ref: "refs/tags/v1.2.3", Tag: "v1.2.3", Commit: f.c2}
	}
	cfg := config.Config{Image: f.image, Dir: dir}
	if mod != nil {
		mod(&cfg)
	}
	return makeRun(t, cfg, ev, nil)
}

// noUploads fails when a request since the last reset wrote a blob: a
// registry-side tag moves no layer. Reading configs (GET) is fine; with
// pushCheck, so is CheckPush's upload that is started and cancelled
// without content.
func noUploads(t *testing.T, reqs *registrytest.RequestLog, pushCheck bool) {
	t.Helper()
	for _, r := range reqs.List() {
		method, uri, _ := strings.Cut(r, " ")
		if !strings.Contains(uri, "/blobs/") || method == "GET" || method == "HEAD" {
			continue
		}
		if pushCheck && ((method == "POST" && strings.HasSuffix(uri, "/blobs/uploads/")) ||
			(method == "DELETE" && strings.Contains(uri, "/blobs/uploads/"))) {
			continue
		}
		t.Errorf("request %q: tagging must not upload blobs", r)
	}
}

func TestExisting(t *testing.T) {
	tests := []struct {
		name    string
		release bool
		allow   bool
		image   int // index in Plan.Images
		// setup pushes fixtures; it returns the digest the result must carry.
		setup   func(t *testing.T, f *fixture) string
		wantHow string
		wantErr func(f *fixture) []string
		// after checks the registry afterwards.
		after func(t *testing.T, f *fixture, digest string)
	}{
		{
			name: "re-run of main: <sha> holds this commit",
			setup: func(t *testing.T, f *fixture) string {
				return pushIndex(t, f.tag(f.short(f.c2)), f.c2)
			},
			wantHow: Reused,
		},
		{
			name:  "re-run of main, dev",
			image: 1,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), f.c2) // prod: not this image's tag
				return pushIndex(t, f.tag(f.short(f.c2)+"-dev"), f.c2)
			},
			wantHow: Reused,
		},
		{
			name:    "first run of main",
			setup:   func(t *testing.T, f *fixture) string { return "" },
			wantHow: "",
		},
		{
			name:  "dev not yet built although prod is",
			image: 1,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), f.c2)
				return ""
			},
			wantHow: "",
		},
		{
			name: "<sha> holds another commit",
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), f.c1)
				return ""
			},
			wantErr: func(f *fixture) []string {
				return []string{f.tag(f.short(f.c2)), f.c1[:12], f.c2[:12], "GANTRY_SHORT_SHA_LENGTH"}
			},
		},
		{
			name:    "release promotes the main build",
			release: true,
			setup: func(t *testing.T, f *fixture) string {
				return pushIndex(t, f.tag(f.short(f.c2)), f.c2)
			},
			wantHow: Promoted,
			after: func(t *testing.T, f *fixture, digest string) {
				if got := digestOf(t, f.tag("1.2.3")); got != digest {
					t.Errorf("1.2.3 resolves to %q, want the main build %q", got, digest)
				}
				if got := digestOf(t, f.tag(f.short(f.c2))); got != digest {
					t.Errorf("<sha> resolves to %q, want %q", got, digest)
				}
			},
		},
		{
			name:    "release re-run: <version> holds this commit",
			release: true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), f.c2)
				return pushIndex(t, f.tag("1.2.3"), f.c2)
			},
			wantHow: Reused,
		},
		{
			name:    "release without a main build",
			release: true,
			setup:   func(t *testing.T, f *fixture) string { return "" },
			wantHow: "",
			after: func(t *testing.T, f *fixture, _ string) {
				if got := digestOf(t, f.tag("1.2.3")); got != "" {
					t.Errorf("1.2.3 resolves to %q, want no tag before the build", got)
				}
			},
		},
		{
			name:    "release whose <sha> holds another commit",
			release: true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), f.c1)
				return ""
			},
			wantHow: "",
			after: func(t *testing.T, f *fixture, _ string) {
				if got := digestOf(t, f.tag("1.2.3")); got != "" {
					t.Errorf("1.2.3 resolves to %q: another commit's image was promoted", got)
				}
			},
		},
		{
			name:    "release whose <sha> has no revision label",
			release: true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), "")
				return ""
			},
			wantHow: "",
		},
		{
			name:    "<version> holds another commit",
			release: true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), f.c2)
				pushIndex(t, f.tag("1.2.3"), f.c1)
				return ""
			},
			wantErr: func(f *fixture) []string {
				return []string{f.tag("1.2.3"), f.c1[:12], f.c2[:12], "GANTRY_ALLOW_RELEASE_OVERWRITE", "git tag v<next>"}
			},
		},
		{
			name:    "<version> holds an unlabelled image",
			release: true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag("1.2.3"), "")
				return ""
			},
			wantErr: func(f *fixture) []string { return []string{"GANTRY_ALLOW_RELEASE_OVERWRITE"} },
		},
		{
			name:    "overwrite allowed, main build promoted",
			release: true,
			allow:   true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag("1.2.3"), f.c1)
				return pushIndex(t, f.tag(f.short(f.c2)), f.c2)
			},
			wantHow: Promoted,
			after: func(t *testing.T, f *fixture, digest string) {
				if got := digestOf(t, f.tag("1.2.3")); got != digest {
					t.Errorf("1.2.3 resolves to %q, want the main build %q", got, digest)
				}
			},
		},
		{
			name:    "overwrite allowed, no main build",
			release: true,
			allow:   true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag("1.2.3"), f.c1)
				return ""
			},
			wantHow: "",
		},
		{
			name:  "overwrite allowed does not hide a short SHA collision",
			allow: true,
			setup: func(t *testing.T, f *fixture) string {
				pushIndex(t, f.tag(f.short(f.c2)), f.c1)
				return ""
			},
			wantErr: func(f *fixture) []string { return []string{"GANTRY_SHORT_SHA_LENGTH"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			want := tt.setup(t, f)
			r := f.run(t, tt.release, f.dir, func(c *config.Config) { c.AllowReleaseOverwrite = tt.allow })
			img := r.Plan.Images[tt.image]
			before := map[string]string{}
			for _, tag := range img.Tags {
				before[tag] = digestOf(t, tag)
			}
			f.reqs.Reset()
			res, err := r.existing(context.Background(), img)
			noUploads(t, f.reqs, false)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr(f)...)
				for tag, d := range before {
					if got := digestOf(t, tag); got != d {
						t.Errorf("%s moved from %q to %q on an error", tag, d, got)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("existing: %v", err)
			}
			if res.How != tt.wantHow || res.Digest != want {
				t.Errorf("existing() = How %q, Digest %q; want How %q, Digest %q", res.How, res.Digest, tt.wantHow, want)
			}
			if res.Image.Target != img.Target || strings.Join(res.Image.Tags, ",") != strings.Join(img.Tags, ",") {
				t.Errorf("existing() Image = %+v, want %+v", res.Image, img)
			}
			if res.How != "" {
				// What Publish does next with an image it need not build.
				if _, err := r.finish(context.Background(), res); err != nil {
					t.Fatalf("finish: %v", err)
				}
			}
			if tt.wantHow == "" {
				for tag, d := range before {
					if got := digestOf(t, tag); got != d {
						t.Errorf("%s moved from %q to %q although a build is needed", tag, d, got)
					}
				}
			}
			if tt.after != nil {
				tt.after(t, f, want)
			}
		})
	}

	t.Run("registry unreachable", func(t *testing.T) {
		f := newFixture(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := l.Addr().String()
		l.Close()
		f.image = closed + "/acme/svc"
		for _, release := range []bool{false, true} {
			r := f.run(t, release, f.dir, nil)
			_, err := r.existing(context.Background(), r.Plan.Images[0])
			wantErr(t, err, closed, "reachable")
		}
	})
}

// shallowClone makes repository A with commits a1, a2 and a clone of it
// with depth 1 (holding a2 only); without origin unless keepOrigin.
func shallowClone(t *testing.T, keepOrigin bool) (clone, a1, a2 string) {
	t.Helper()
	a := newRepo(t)
	a1 = commitFile(t, a, "a.txt", "a", date1)
	a2 = commitFile(t, a, "b.txt", "b", date2)
	parent := t.TempDir()
	gitRun(t, parent, nil, "clone", "-q", "--depth", "1", "file://"+a, "B")
	clone = parent + "/B"
	if !keepOrigin {
		gitRun(t, clone, nil, "remote", "remove", "origin")
	}
	if got := gitRun(t, clone, nil, "rev-parse", "--is-shallow-repository"); got != "true" {
		t.Fatalf("clone is not shallow: %q", got)
	}
	if err := gitCatFile(t, clone, a1); err == nil {
		t.Fatalf("the shallow clone holds %s", a1)
	}
	return clone, a1, a2
}

func gitCatFile(t *testing.T, dir, sha string) error {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "-e", sha+"^{commit}")
	cmd.Dir = dir
	return cmd.Run()
}

func TestShouldMove(t *testing.T) {
	const unknown = "1111111111111111111111111111111111111111"
	tests := []struct {
		name    string
		current func(f *fixture) (rev string, present bool)
		want    bool
		wantErr []string
	}{
		{name: "tag missing", current: func(f *fixture) (string, bool) { return "", false }, want: true},
		{name: "same commit", current: func(f *fixture) (string, bool) { return f.c2, true }, want: true},
		{name: "current is an ancestor", current: func(f *fixture) (string, bool) { return f.c1, true }, want: true},
		{name: "current is a descendant", current: func(f *fixture) (string, bool) { return f.c3, true }, want: false},
		{name: "current is on a diverged branch", current: func(f *fixture) (string, bool) { return f.cs, true }, want: false},
		{name: "current commit unknown to the clone", current: func(f *fixture) (string, bool) { return unknown, true }, want: false},
		{name: "current image has no revision label", current: func(f *fixture) (string, bool) { return "", true },
			wantErr: []string{registry.RevisionLabel, "delete the tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.run(t, false, f.dir, nil)
			tag := r.Plan.Images[0].Moving[0]
			if tag != f.tag("main") {
				t.Fatalf("moving tag %q, want %q", tag, f.tag("main"))
			}
			rev, present := tt.current(f)
			if present {
				pushIndex(t, tag, rev)
			}
			got, err := r.shouldMove(context.Background(), tag)
			if tt.wantErr != nil {
				wantErr(t, err, append(tt.wantErr, tag)...)
				if got {
					t.Error("shouldMove = true with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("shouldMove: %v", err)
			}
			if got != tt.want {
				t.Errorf("shouldMove(%s) = %v, want %v", tag, got, tt.want)
			}
		})
	}
}

func TestShouldMoveShallow(t *testing.T) {
	tests := []struct {
		name       string
		keepOrigin bool
		current    func(a1, a2 string) string
		want       bool
		wantErr    []string
		unshallow  bool
	}{
		{name: "without origin, lacking the current commit",
			current: func(a1, a2 string) string { return a1 },
			wantErr: []string{"shallow", "no origin", "fetch-depth: 0"}},
		{name: "without origin, same commit",
			current: func(a1, a2 string) string { return a2 }, want: true},
		{name: "with origin: the history is fetched",
			keepOrigin: true,
			current:    func(a1, a2 string) string { return a1 }, want: true, unshallow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			host, _ := newRegistry(t)
			clone, a1, a2 := shallowClone(t, tt.keepOrigin)
			ev := event.Context{Kind: event.BranchPush, Ref: "refs/heads/main", Branch: "main", Commit: a2}
			r := makeRun(t, config.Config{Image: host + "/acme/svc", Dir: clone}, ev, nil)
			tag := r.Plan.Images[0].Moving[0]
			current := tt.current(a1, a2)
			pushIndex(t, tag, current)
			got, err := r.shouldMove(context.Background(), tag)
			if tt.wantErr != nil {
				wantErr(t, err, append(tt.wantErr, current[:12])...)
				return
			}
			if err != nil {
				t.Fatalf("shouldMove: %v", err)
			}
			if got != tt.want {
				t.Errorf("shouldMove = %v, want %v", got, tt.want)
			}
			if tt.unshallow {
				if s := gitRun(t, clone, nil, "rev-parse", "--is-shallow-repository"); s != "false" {
					t.Errorf("clone is still shallow (%q)", s)
				}
			}
		})
	}
}

func TestMoveTags(t *testing.T) {
	const unknown = "2222222222222222222222222222222222222222"
	tests := []struct {
		name string
		// main and main-dev before; "" absent, "nolabel" an unlabelled image
		current func(f *fixture) string
		moved   bool
		wantErr []string
	}{
		{name: "tag missing", current: func(f *fixture) string { return "" }, moved: true},
		{name: "older commit", current: func(f *fixture) string { return f.c1 }, moved: true},
		{name: "another build of this commit", current: func(f *fixture) string { return f.c2 }, moved: true},
		{name: "newer commit", current: func(f *fixture) string { return f.c3 }, moved: false},
		{name: "diverged commit", current: func(f *fixture) string { return f.cs }, moved: false},
		{name: "unknown commit", current: func(f *fixture) string { return unknown }, moved: false},
		{name: "no revision label", current: func(f *fixture) string { return "nolabel" },
			wantErr: []string{registry.RevisionLabel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.run(t, false, f.dir, nil)
			for i, img := range r.Plan.Images {
				built := pushIndex(t, img.Immutable()[0], f.c2)
				moving := img.Moving[0]
				switch cur := tt.current(f); cur {
				case "":
				case "nolabel":
					pushIndex(t, moving, "")
				default:
					pushIndex(t, moving, cur)
				}
				before := digestOf(t, moving)
				if before == built {
					t.Fatal("fixtures are equal")
				}
				f.reqs.Reset()
				err := r.moveTags(context.Background(), []Result{{Image: img, Digest: built, How: Built}})
				noUploads(t, f.reqs, false)
				after := digestOf(t, moving)
				if tt.wantErr != nil {
					wantErr(t, err, tt.wantErr...)
					if after != before {
						t.Errorf("image %d: %s moved on an error", i, moving)
					}
					continue
				}
				if err != nil {
					t.Fatalf("moveTags: %v", err)
				}
				switch {
				case tt.moved && after != built:
					t.Errorf("image %d: %s = %q, want moved to %q", i, moving, after, built)
				case !tt.moved && after != before:
					t.Errorf("image %d: %s = %q, want left at %q", i, moving, after, before)
				}
				if got := digestOf(t, img.Immutable()[0]); got != built {
					t.Errorf("image %d: immutable tag changed to %q", i, got)
				}
			}
		})
	}
}

// TestPublishWithoutBuild runs Publish and Release end to end against the
// registry where every image already exists, so nothing is built.
func TestPublishWithoutBuild(t *testing.T) {
	t.Run("re-run moves the moving tags forward", func(t *testing.T) {
		f := newFixture(t)
		prod := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		dev := pushIndex(t, f.tag(f.short(f.c2)+"-dev"), f.c2)
		pushIndex(t, f.tag("main"), f.c1)
		pushIndex(t, f.tag("main-dev"), f.c1)
		r := f.run(t, false, f.dir, nil)
		res, err := r.Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if len(res) != 2 || res[0].How != Reused || res[1].How != Reused || res[0].Digest != prod || res[1].Digest != dev {
			t.Errorf("Publish results = %+v, want prod %s and dev %s reused", res, prod, dev)
		}
		if got := digestOf(t, f.tag("main")); got != prod {
			t.Errorf("main = %q, want %q", got, prod)
		}
		if got := digestOf(t, f.tag("main-dev")); got != dev {
			t.Errorf("main-dev = %q, want %q", got, dev)
		}
	})
	t.Run("a newer main stays", func(t *testing.T) {
		f := newFixture(t)
		pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		pushIndex(t, f.tag(f.short(f.c2)+"-dev"), f.c2)
		newer := pushIndex(t, f.tag("main"), f.c3)
		res, err := f.run(t, false, f.dir, nil).Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if len(res) != 2 {
			t.Errorf("results %+v, want 2", res)
		}
		if got := digestOf(t, f.tag("main")); got != newer {
			t.Errorf("main = %q, want left at the newer %q", got, newer)
		}
	})
	t.Run("verification failure leaves the moving tags", func(t *testing.T) {
		f := newFixture(t)
		pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		pushIndex(t, f.tag(f.short(f.c2)+"-dev"), f.c2)
		old := pushIndex(t, f.tag("main"), f.c1)
		// Three platforms wanted, two pushed.
		r := f.run(t, false, f.dir, func(c *config.Config) {
			c.Platforms = []string{"linux/amd64", "linux/arm64", "linux/s390x"}
		})
		_, err := r.Publish(context.Background())
		wantErr(t, err, "linux/s390x is missing")
		if got := digestOf(t, f.tag("main")); got != old {
			t.Errorf("main = %q, want left at %q", got, old)
		}
	})
	t.Run("unlabelled moving tag stops before any build", func(t *testing.T) {
		f := newFixture(t)
		pushIndex(t, f.tag("main-dev"), "")
		// The run's forbiddenBuilder fails the test if it builds.
		_, err := f.run(t, false, f.dir, nil).Publish(context.Background())
		wantErr(t, err, f.tag("main-dev"), registry.RevisionLabel)
	})
	t.Run("release promotes without a build", func(t *testing.T) {
		f := newFixture(t)
		prod := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		f.reqs.Reset()
		res, err := f.run(t, true, f.dir, nil).Release(context.Background())
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		noUploads(t, f.reqs, true)
		if len(res) != 1 || res[0].How != Promoted || res[0].Digest != prod {
			t.Errorf("Release results = %+v, want prod %s promoted", res, prod)
		}
		if got := digestOf(t, f.tag("1.2.3")); got != prod {
			t.Errorf("1.2.3 = %q, want %q", got, prod)
		}
		if got := digestOf(t, f.tag("main")); got != "" {
			t.Errorf("a release set main to %q", got)
		}
	})
	t.Run("release of another commit's version is refused", func(t *testing.T) {
		f := newFixture(t)
		pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		old := pushIndex(t, f.tag("1.2.3"), f.c1)
		_, err := f.run(t, true, f.dir, nil).Release(context.Background())
		wantErr(t, err, "GANTRY_ALLOW_RELEASE_OVERWRITE")
		if got := digestOf(t, f.tag("1.2.3")); got != old {
			t.Errorf("1.2.3 = %q, want left at %q", got, old)
		}
	})
}

// TestPromotedReleaseVersion: a release is stamped and labelled with its
// version (README: "The stamped version is the release version on a tag";
// e2e_test.go expects the label 1.2.3 on a release of a commit main
// published). Promotion re-tags the main build, whose labels are those
// Spec gave it for the push to main.
// TestPromotedReleaseKeepsMainBytes: a promoted release is the very index
// main pushed, labels and stamps included (README, Decisions).
func TestPromotedReleaseKeepsMainBytes(t *testing.T) {
	f := newFixture(t)
	mainRun := f.run(t, false, f.dir, nil)
	labels := mainRun.labels() // what the main build of c2 carries
	var adds []mutate.IndexAddendum
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		img := platformImage(t, p, f.c2, "65532:65532")
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.Labels = labels
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		platform, _ := v1.ParsePlatform(p)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	ref, err := name.NewTag(f.tag(f.short(f.c2)), name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}

	release := f.run(t, true, f.dir, nil)
	res, err := release.existing(context.Background(), release.Plan.Images[0])
	if err != nil {
		t.Fatalf("existing: %v", err)
	}
	if res.How != Promoted {
		t.Fatalf("How = %q, want %q", res.How, Promoted)
	}
	if _, err := release.finish(context.Background(), res); err != nil {
		t.Fatalf("finish: %v", err)
	}
	want := labels["org.opencontainers.image.version"]
	if got := versionLabel(t, f.tag("1.2.3")); got != want || !strings.HasPrefix(got, "main-") {
		t.Errorf("1.2.3 has version label %q, want main's %q: promotion must not change the bytes", got, want)
	}
}

// versionLabel returns the version label of ref's first platform image.
func versionLabel(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config.Labels["org.opencontainers.image.version"]
}
