package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/supplychain"
	"github.com/gantry-build/gantry/magetools/config"
)

// fakeChain records what a run asks of its supply chain in the journal,
// and fails the checks of the images named in Fail.
type fakeChain struct {
	journal *journal
	// Fail maps an index digest to the failure Verify reports for it.
	Fail map[string]string
	// builds are the provenance inputs Attest was given.
	builds []provenance.Build
}

func (c *fakeChain) Attest(_ context.Context, img supplychain.Image, ref string, build provenance.Build) error {
	c.journal.add("attest %s for %s", img.Digest, ref)
	c.builds = append(c.builds, build)
	return nil
}

func (c *fakeChain) Verify(_ context.Context, img supplychain.Image, ref string) (supplychain.Report, error) {
	c.journal.add("check %s for %q", img.Digest, ref)
	check := supplychain.Check{What: "signature", OK: true, Detail: "signed", Command: "cosign verify " + img.Ref()}
	if why, ok := c.Fail[img.Digest]; ok {
		check.OK, check.Detail = false, why
	}
	return supplychain.Report{Image: img, Checks: []supplychain.Check{check}}, nil
}

// baseImages points the Dockerfile's base images at one image in the
// fixture's registry, which provenance resolves to its digest.
func baseImages(t *testing.T, f *fixture) func(*config.Config) {
	base := f.host + "/base/image:1"
	pushIndex(t, base, "")
	return func(c *config.Config) {
		c.BuildArgs = map[string]string{"GO_IMAGE": base, "RUNTIME_IMAGE": base, "DEV_IMAGE": base, "NPM_TOKEN": "npm-secret"}
	}
}

func TestPublishAttests(t *testing.T) {
	t.Run("each build is attested and verified before its immutable tag; moving tags last", func(t *testing.T) {
		f := newFixture(t)
		r := f.run(t, false, f.dir, baseImages(t, f))
		_, j, _ := withFakes(t, &r)
		chain := &fakeChain{journal: j}
		r.SupplyChain = chain
		res, err := r.Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		sha := f.short(f.c2)
		checkOrder(t, j.list(), []string{"check push"}, [][]string{
			{"build prod", "verify " + res[0].Digest, "attest " + res[0].Digest + " for refs/heads/main", `check ` + res[0].Digest + ` for "refs/heads/main"`, "tag " + sha},
			{"build dev", "verify " + res[1].Digest, "attest " + res[1].Digest + " for refs/heads/main", `check ` + res[1].Digest + ` for "refs/heads/main"`, "tag " + sha + "-dev"},
		}, []string{"tag main", "tag main-dev"})
		if len(res[0].Checks) != 1 || !res[0].Checks[0].OK {
			t.Errorf("prod's result carries checks %+v, want the passed signature check", res[0].Checks)
		}
		base := digestOf(t, f.host+"/base/image:1")
		for _, b := range chain.builds {
			if len(b.BaseImages) != 1 || b.BaseImages[0].Digest != base {
				t.Errorf("provenance base images %+v, want the one base image by its digest %s", b.BaseImages, base)
			}
			if got := b.BuildArgs["NPM_TOKEN"]; got != "***" {
				t.Errorf("provenance records the secret build argument NPM_TOKEN as %q, want ***", got)
			}
			if b.Commit != f.c2 || b.Ref != "refs/heads/main" || b.Dockerfile.Path != "embedded" || !strings.HasPrefix(b.Dockerfile.Digest, "sha256:") || b.BuildArgs["MAIN_PACKAGE"] == "" {
				t.Errorf("provenance input %+v lacks the commit, ref, Dockerfile or build arguments", b)
			}
		}
	})

	t.Run("a check that fails tags nothing and moves nothing", func(t *testing.T) {
		f := newFixture(t)
		old := pushIndex(t, f.tag("main"), f.c1)
		r := f.run(t, false, f.dir, baseImages(t, f))
		_, j, _ := withFakes(t, &r)
		chain := &fakeChain{journal: j, Fail: map[string]string{}}
		r.SupplyChain = chain
		first, err := r.Publish(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Publish again, with prod's check failing: a re-run finds the tag
		// and must verify what it holds.
		old = pushIndex(t, f.tag("main"), f.c1)
		chain.Fail[first[0].Digest] = "no signature by the trusted signer"
		j.entries = nil
		_, err = r.Publish(context.Background())
		wantErr(t, err, "no signature by the trusted signer", "was not published by this process", "delete the tag and re-run")
		if got := digestOf(t, f.tag("main")); got != old {
			t.Errorf("main moved to %s after a failed check", got)
		}
		if slices.ContainsFunc(j.list(), func(e string) bool { return e == "tag main" || strings.HasPrefix(e, "attest") }) {
			t.Errorf("effects %q: a re-run attests or moves nothing when a check fails", j.list())
		}
	})

	t.Run("a release verifies main's image, then signs for its tag, then tags the version", func(t *testing.T) {
		f := newFixture(t)
		mainBuild := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		r := f.run(t, true, f.dir, nil)
		_, j, _ := withFakes(t, &r)
		r.SupplyChain = &fakeChain{journal: j}
		if _, err := r.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := []string{"check push", fmt.Sprintf("check %s for %q", mainBuild, ""), "attest " + mainBuild + " for refs/tags/v1.2.3",
			fmt.Sprintf("check %s for %q", mainBuild, "refs/tags/v1.2.3"), "verify " + mainBuild, "tag 1.2.3"}
		got := slices.DeleteFunc(j.list(), func(e string) bool { return strings.HasPrefix(e, "verify") })
		want = slices.DeleteFunc(want, func(e string) bool { return strings.HasPrefix(e, "verify") })
		if !slices.Equal(got, want) {
			t.Errorf("effects %q, want %q", got, want)
		}
	})

	t.Run("a release of an image whose checks fail promotes nothing", func(t *testing.T) {
		f := newFixture(t)
		mainBuild := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		r := f.run(t, true, f.dir, nil)
		_, j, _ := withFakes(t, &r)
		r.SupplyChain = &fakeChain{journal: j, Fail: map[string]string{mainBuild: "no signed SBOM is attached"}}
		_, err := r.Release(context.Background())
		wantErr(t, err, "does not verify, so the release cannot promote it", "GANTRY_RELEASE_REBUILD")
		if got := digestOf(t, f.tag("1.2.3")); got != "" {
			t.Errorf("1.2.3 = %s after a failed check", got)
		}
		if slices.ContainsFunc(j.list(), func(e string) bool { return strings.HasPrefix(e, "attest") }) {
			t.Errorf("effects %q: nothing may be signed for the release", j.list())
		}
	})
}

func TestWithSigning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     config.Config
		env     map[string]string
		signing bool
		wantErr []string
	}{
		{name: "off outside Actions", env: map[string]string{}},
		{name: "keyless in Actions without an OIDC token fails before any build", env: map[string]string{"GITHUB_ACTIONS": "true"},
			wantErr: []string{"no OIDC token", "id-token: write", "GANTRY_SIGNING"}},
		{name: "a key that is not there", cfg: config.Config{SigningKey: "/nonexistent/cosign.key"}, env: map[string]string{},
			wantErr: []string{"read the signing key", "GANTRY_SIGNING_KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run{Config: tc.cfg, Getenv: getenv(tc.env), Log: logrus.NewEntry(logrus.New())}
			got, err := r.WithSigning()
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SupplyChain != nil {
				t.Errorf("SupplyChain %v, want none: signing is off", got.SupplyChain)
			}
		})
	}
}

// TestRepoPath: provenance names the Dockerfile by its path in the
// repository, whatever directory the service is in.
func TestRepoPath(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		dir, rel, want, wantErr string
	}{
		{dir: ".", rel: "docker/Dockerfile", want: "docker/Dockerfile"},
		{dir: "examples/hello", rel: "../../docker/Dockerfile", want: "docker/Dockerfile"},
		{dir: "services/api", rel: "Dockerfile", want: "services/api/Dockerfile"},
		{dir: ".", rel: "../elsewhere/Dockerfile", wantErr: "outside the repository"},
	} {
		dir := filepath.Join(f.dir, tc.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := Run{Config: config.Config{Dir: dir}}.repoPath(context.Background(), tc.rel)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("repoPath(%s, %s) = %q, %v; want an error saying %q", tc.dir, tc.rel, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("repoPath(%s, %s) = %q, %v; want %q", tc.dir, tc.rel, got, err, tc.want)
		}
	}
}
