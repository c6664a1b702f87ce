package e2e

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/supplychain"
	"github.com/gantry-build/gantry/internal/testsvc"
)

// digests returns the digest each tag of repo names.
func digests(t *testing.T, repo string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tag := range tags(t, repo) {
		_, d := index(t, repo+":"+tag)
		out[tag] = d.String()
	}
	return out
}

func pushMain(sha string) testsvc.Event {
	return testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: sha, Repository: "acme/safe"}
}

func pushTag(tag, sha string) testsvc.Event {
	return testsvc.Event{Name: "push", Ref: "refs/tags/" + tag, SHA: sha, Repository: "acme/safe"}
}

// ci runs `mage ci` for the event with env over the test environment.
func ci(t *testing.T, svc *testsvc.Service, ev testsvc.Event, env map[string]string) testsvc.Result {
	t.Helper()
	return svc.Mage(t, testsvc.Merge(ev.Env(t), env), "ci")
}

// TestRegistrySafety proves the promises about tags: immutable tags stay
// immutable, releases promote what main built, moving tags never go back,
// builds are reproducible.
func TestRegistrySafety(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/safe")
	repo := env.Registry + "/" + run + "/safe"
	base := env.GantryEnv(repo)
	a := svc.Git(t, "rev-parse", "HEAD")

	if !t.Run("a re-run changes no digest", func(t *testing.T) {
		if res := ci(t, svc, pushMain(a), base); res.Code != 0 {
			t.Fatalf("first run: exit %d", res.Code)
		}
		first := digests(t, repo)
		res := ci(t, svc, pushMain(a), base)
		if res.Code != 0 {
			t.Fatalf("re-run: exit %d", res.Code)
		}
		if second := digests(t, repo); !maps.Equal(first, second) {
			t.Errorf("digests changed on a re-run:\n%v\n%v", first, second)
		}
		if strings.Count(res.Stderr, "a re-run, not rebuilt") != 2 || logged(res.Stderr, "building") {
			t.Errorf("the re-run rebuilt instead of reusing")
		}
	}) {
		t.FailNow()
	}

	var promoteTime, rebuildTime time.Duration
	t.Run("a release of a commit built on main promotes its digest", func(t *testing.T) {
		svc.Git(t, "tag", "-a", "v2.0.0", "-m", "v2.0.0")
		start := time.Now()
		res := ci(t, svc, pushTag("v2.0.0", a), base)
		promoteTime = time.Since(start)
		if res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		_, sha := index(t, repo+":"+a[:7])
		_, release := index(t, repo+":2.0.0")
		if release != sha || !strings.Contains(res.Stderr, "promoted") || logged(res.Stderr, "building") {
			t.Errorf("2.0.0 = %s, %s = %s; want the same digest, promoted without a build", release, a[:7], sha)
		}
	})

	svc.Write(t, "CHANGES.txt", "commit b\n")
	b := svc.Commit(t, "commit b")
	t.Run("a release of a commit not built on main builds it", func(t *testing.T) {
		svc.Git(t, "tag", "-a", "v2.1.0", "-m", "v2.1.0")
		start := time.Now()
		res := ci(t, svc, pushTag("v2.1.0", b), base)
		rebuildTime = time.Since(start)
		if res.Code != 0 || !strings.Contains(res.Stderr, "building the release") {
			t.Fatalf("exit %d; want a build", res.Code)
		}
		t.Logf("FIGURE release by promotion %s, by rebuild %s (warm cache): ratio %.2f",
			promoteTime.Round(time.Millisecond), rebuildTime.Round(time.Millisecond), promoteTime.Seconds()/rebuildTime.Seconds())
	})

	t.Run("a release version is never overwritten with another commit", func(t *testing.T) {
		before := digests(t, repo)
		svc.Git(t, "tag", "-f", "-a", "v2.0.0", "-m", "moved", b)
		res := ci(t, svc, pushTag("v2.0.0", b), base)
		if res.Code == 0 || !strings.Contains(res.Stderr, "a release version is immutable") || !strings.Contains(res.Stderr, "GANTRY_ALLOW_RELEASE_OVERWRITE") {
			t.Errorf("exit %d; want a refusal naming the override", res.Code)
		}
		if after := digests(t, repo); !maps.Equal(before, after) {
			t.Errorf("registry changed")
		}
	})

	t.Run("an older run that finishes late does not move main", func(t *testing.T) {
		if res := ci(t, svc, pushMain(b), base); res.Code != 0 {
			t.Fatalf("publish b: exit %d", res.Code)
		}
		_, mainB := index(t, repo+":main")
		// The late run's checkout is its own commit, as actions/checkout makes it.
		svc.Git(t, "checkout", "-q", a)
		res := ci(t, svc, pushMain(a), base)
		svc.Git(t, "checkout", "-q", "main")
		if res.Code != 0 {
			t.Fatalf("late run of a: exit %d", res.Code)
		}
		if _, d := index(t, repo+":main"); d != mainB {
			t.Errorf("main moved back to commit a")
		}
		if !strings.Contains(res.Stderr, "leaving it where it is") {
			t.Errorf("the late run did not say it left main alone")
		}
	})

	t.Run("a build from scratch gives the published digests, prod and dev, signed and attested", func(t *testing.T) {
		// The first publish takes its layers from the builder's cache,
		// where earlier tests built them from scratch (dev's tools and
		// Delve included); the second builds everything again
		// (--no-cache). Equal digests prove that a rebuild reproduces
		// what was published, and that the builds are deterministic: a
		// layer that varied between builds would differ here. Everything
		// is on: signatures, SBOMs and provenance hang off the digests,
		// outside the index.
		keyEnv, _ := signingKey(t)
		var builds [2]map[string]string // "<tag> <platform>" -> manifest digest and layers
		for i, name := range []string{"repro-cached", "repro-no-cache"} {
			r := env.Registry + "/" + run + "/" + name
			noCache := map[string]string{"GANTRY_NO_CACHE": strconv.FormatBool(i == 1)}
			if res := ci(t, svc, pushMain(b), testsvc.Merge(env.GantryEnv(r), noCache, keyEnv)); res.Code != 0 {
				t.Fatalf("%s: exit %d", name, res.Code)
			}
			_, prod := index(t, r+":"+b[:7])
			if got := referrers(t, r, prod.String()); got[supplychain.SignaturePredicate] != 1 || got[provenance.PredicateType] != 1 {
				t.Fatalf("%s: referrers %v, want a signature and provenance: signing was not on", name, got)
			}
			builds[i] = map[string]string{}
			for _, tag := range []string{b[:7], b[:7] + "-dev"} {
				idx, d := index(t, r+":"+tag)
				builds[i][tag+" index"] = d.String()
				for platform, img := range platformImages(t, idx) {
					builds[i][tag+" "+platform] = describe(t, img)
				}
			}
		}
		if len(builds[0]) != 6 {
			t.Errorf("%d entries, want an index and two platforms for prod and dev: %v", len(builds[0]), builds[0])
		}
		for key, first := range builds[0] {
			if second := builds[1][key]; second != first {
				t.Errorf("%s differs:\n  %s\n  %s", key, first, second)
			}
		}
	})

	t.Run("each release of a commit carries its own version", func(t *testing.T) {
		// The binaries of 2.1.1 and 2.1.2 differ only in the stamp: same
		// size, same commit time. The second build must not reuse what
		// the first one sent the builder.
		for _, version := range []string{"2.1.1", "2.1.2"} {
			svc.Git(t, "tag", "-a", "v"+version, "-m", "v"+version, b)
			r := env.Registry + "/" + run + "/release-" + version
			if res := ci(t, svc, pushTag("v"+version, b), env.GantryEnv(r)); res.Code != 0 {
				t.Fatalf("%s: exit %d", version, res.Code)
			}
			for _, platform := range []string{"linux/amd64", "linux/arm64"} {
				if got := env.serve(t, r+":"+version, platform, "/version"); !strings.Contains(got, `"version":"`+version+`"`) {
					t.Errorf("%s %s: /version = %q", version, platform, got)
				}
			}
		}
	})

	svc.Write(t, "CHANGES.txt", "commit c\n")
	c := svc.Commit(t, "commit c")
	t.Run("a build failing half-way moves no tag; the other finishes and the re-run reuses it", func(t *testing.T) {
		_, mainBefore := index(t, repo+":main")
		broken := testsvc.Merge(base, map[string]string{"GANTRY_BUILD_ARGS": base["GANTRY_BUILD_ARGS"] + ",DEV_IMAGE=" + env.Registry + "/no/such-image:1"})
		res := ci(t, svc, pushMain(c), broken)
		if res.Code == 0 {
			t.Fatal("the dev build should fail")
		}
		// dev fails while prod builds: prod is not stopped, but finishes,
		// pushed and verified, whatever the timing.
		if !logged(res.Stderr, "built", "target=prod", "tag="+repo+":"+c[:7]) {
			t.Errorf("prod was not built and verified beside the failed dev build:\n%s", res.Stderr)
		}
		if _, d := index(t, repo+":main"); d != mainBefore {
			t.Error("main moved although dev failed")
		}
		if !slices.Contains(tags(t, repo), c[:7]) || slices.Contains(tags(t, repo), c[:7]+"-dev") {
			t.Errorf("tags %v: want %s (prod pushed) and no %s-dev", tags(t, repo), c[:7], c[:7])
		}
		res = ci(t, svc, pushMain(c), base)
		if res.Code != 0 || !logged(res.Stderr, "the tag holds this commit already: a re-run, not rebuilt", "target=prod", "tag="+repo+":"+c[:7]) {
			t.Fatalf("re-run: exit %d; want prod reused", res.Code)
		}
		_, prod := index(t, repo+":"+c[:7])
		if _, d := index(t, repo+":main"); d != prod {
			t.Error("main not moved to c after the re-run")
		}
	})
}

// TestFaults puts a fault-injecting proxy between Gantry (and BuildKit) and
// the registry. Each fault gives a clear error and a non-zero exit, or is
// retried; a moving tag never names an image whose immutable tag is missing.
func TestFaults(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/faults")
	sha := svc.Git(t, "rev-parse", "HEAD")
	proxy := startProxy(t, "5001")
	amd64 := map[string]string{"GANTRY_PLATFORMS": "linux/amd64"}
	n := 0
	// fresh returns the environment for a repository nobody used yet.
	fresh := func() (string, map[string]string) {
		n++
		repo := "localhost:5001/" + run + "/faults-" + string(rune('a'+n))
		return repo, testsvc.Merge(env.GantryEnv(repo), amd64)
	}
	// consistent checks the invariant: each moving tag names the same
	// digest as its immutable tag.
	consistent := func(t *testing.T, repo string) {
		have := tags(t, repo)
		for moving, immutable := range map[string]string{"main": sha[:7], "main-dev": sha[:7] + "-dev"} {
			if !slices.Contains(have, moving) {
				continue
			}
			if !slices.Contains(have, immutable) {
				t.Errorf("%s exists without %s", moving, immutable)
				continue
			}
			_, m := index(t, repo+":"+moving)
			if _, i := index(t, repo+":"+immutable); m != i {
				t.Errorf("%s and %s differ", moving, immutable)
			}
		}
	}

	for _, tt := range []struct {
		name   string
		rule   func(r *http.Request) fault
		ok     bool   // the run succeeds (the fault is retried)
		errHas string // else: the error names this
	}{
		{name: "401 on every request: not logged in", rule: func(*http.Request) fault { return fault{status: 401} }, errHas: "docker login"},
		{name: "403 on every request: credentials refused", rule: func(*http.Request) fault { return fault{status: 403} }, errHas: "refused these credentials"},
		{name: "503 on every request: registry down", rule: func(*http.Request) fault { return fault{status: 503} }, errHas: "cannot push to"},
		{name: "two 503 answers to the moving tag are retried", ok: true, rule: func() func(*http.Request) fault {
			failures := 0
			return func(r *http.Request) fault {
				if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/main") && failures < 2 {
					failures++
					return fault{status: 503}
				}
				return pass
			}
		}()},
		{name: "the moving tag always fails: immutable tags stay, main is not set", errHas: "tag localhost:5001", rule: func(r *http.Request) fault {
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/main") {
				return fault{status: 500}
			}
			return pass
		}},
		{name: "a connection cut in the middle of a push", errHas: "build and push", rule: func() func(*http.Request) fault {
			cuts := 0
			return func(r *http.Request) fault {
				if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") && cuts < 1000 {
					cuts++
					return fault{cut: true}
				}
				return pass
			}
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, e := fresh()
			proxy.set(tt.rule)
			res := ci(t, svc, pushMain(sha), e)
			proxy.set(func(*http.Request) fault { return pass })
			switch {
			case tt.ok && res.Code != 0:
				t.Errorf("exit %d; the fault should have been retried", res.Code)
			case tt.ok && !slices.Contains(tags(t, repo), "main"):
				t.Errorf("main not set after retries")
			case !tt.ok && (res.Code == 0 || !strings.Contains(res.Stderr, tt.errHas)):
				t.Errorf("exit %d; want a non-zero exit and an error with %q", res.Code, tt.errHas)
			}
			consistent(t, repo)
		})
	}

	t.Run("the registry is unreachable", func(t *testing.T) {
		repo := "localhost:5002/" + run + "/unreachable"
		res := ci(t, svc, pushMain(sha), testsvc.Merge(env.GantryEnv(repo), amd64))
		if res.Code == 0 || !strings.Contains(res.Stderr, "is localhost:5002 reachable") {
			t.Errorf("exit %d; want an error naming the registry", res.Code)
		}
	})

	t.Run("Ctrl-C in the middle of a build", func(t *testing.T) {
		repo, e := fresh()
		bin := t.TempDir() + "/mage"
		if res := svc.Mage(t, nil, "-compile", bin); res.Code != 0 {
			t.Fatal("mage -compile failed")
		}
		cmd := svc.Command(testsvc.Merge(pushMain(sha).Env(t), e, map[string]string{"GANTRY_NO_CACHE": "true"}), bin, "ci")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var stderr testsvc.SyncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(2 * time.Minute); !logged(stderr.String(), "building", "target=prod") && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // as a terminal does: the whole group
		err := cmd.Wait()
		t.Logf("stderr:\n%s", stderr.String())
		if err == nil || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("exit %v; want a non-zero exit saying the run was cancelled", err)
		}
		if have := tags(t, repo); slices.Contains(have, "main") || slices.Contains(have, "main-dev") {
			t.Errorf("moving tags set by an interrupted run: %v", have)
		}
	})
}

// describe names an image by its manifest digest and its layers' digests,
// so that two builds that differ show which layers do.
func describe(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := d.String() + " layers"
	for _, l := range layers {
		ld, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out += " " + ld.String()[len("sha256:"):][:12]
	}
	return out
}
