package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/sign"
	"github.com/gantry-build/gantry/internal/sign/signtest"
	"github.com/gantry-build/gantry/internal/supplychain"
	"github.com/gantry-build/gantry/internal/testsvc"
)

// cosignPassword protects the tests' signing keys.
const cosignPassword = "e2e-cosign-password"

// signingKey writes a new cosign key pair and returns the environment that
// makes Gantry sign with it, and the public key's path.
func signingKey(t *testing.T) (map[string]string, string) {
	t.Helper()
	private, public, err := sign.GenerateKey([]byte(cosignPassword))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	for path, data := range map[string][]byte{key: private, pub: public} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"GANTRY_SIGNING": "key", "GANTRY_SIGNING_KEY": key, "COSIGN_PASSWORD": cosignPassword}, pub
}

// cosign runs the cosign the test environment installed, offline: no
// transparency log, the test registry over plain HTTP.
func cosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if env.Cosign == "" {
		t.Fatal("the test environment has no cosign: run `scripts/testenv up`")
	}
	verb := args[0]
	args = append([]string{verb, "--insecure-ignore-tlog", "--allow-http-registry"}, args[1:]...)
	out, err := exec.Command(env.Cosign, args...).CombinedOutput()
	t.Logf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	return string(out), err
}

// payload decodes the DSSE payload (the in-toto statement) of the last
// envelope cosign verify-attestation printed.
func payload(t *testing.T, out string) string {
	t.Helper()
	var envelope struct{ Payload []byte }
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &envelope); err != nil {
		t.Fatalf("cosign printed no envelope: %v", err)
	}
	return string(envelope.Payload)
}

// sbomPackages returns the names of the components of the SBOM attached
// to repo@digest, verified with verifier.
func sbomPackages(t *testing.T, verifier sign.Verifier, repo, digest string) []string {
	t.Helper()
	ctx := context.Background()
	referrers, err := registry.New().Referrers(ctx, repo+"@"+digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range referrers {
		if r.Annotations["dev.sigstore.bundle.predicateType"] != "https://cyclonedx.org/bom" {
			continue
		}
		bundle, err := registry.New().Content(ctx, repo+"@"+r.Digest)
		if err != nil {
			t.Fatal(err)
		}
		v, err := verifier.Verify(bundle, digest)
		if err != nil {
			t.Fatal(err)
		}
		var stmt struct {
			Predicate struct{ Components []struct{ Name string } }
		}
		if err := json.Unmarshal(v.Statement, &stmt); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range stmt.Predicate.Components {
			names = append(names, c.Name)
		}
		return names
	}
	t.Fatalf("no SBOM attached to %s", digest)
	return nil
}

// platformDigests returns the digest of each platform manifest of the
// index ref names.
func platformDigests(t *testing.T, ref string) map[string]string {
	t.Helper()
	idx, _ := index(t, ref)
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range m.Manifests {
		out[d.Platform.String()] = d.Digest.String()
	}
	return out
}

// referrers returns the artifacts attached to repo@digest by their
// predicate type, read through the referrers tag schema (the test
// registry has no referrers API).
func referrers(t *testing.T, repo, digest string) map[string]int {
	t.Helper()
	list, err := registry.New().Referrers(context.Background(), repo+"@"+digest)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range list {
		out[r.Annotations["dev.sigstore.bundle.predicateType"]]++
	}
	return out
}

// TestSupplyChain proves that what publish and release attach verifies with
// Gantry's own verify and with cosign, that a re-run adds nothing, that a
// release adds its own signature to main's attestations, that tampering
// fails verify and publish with nothing moved, and that keyless identities
// are checked against a virtual Sigstore.
func TestSupplyChain(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/signed")
	repo := env.Registry + "/" + run + "/signed"
	keyEnv, pub := signingKey(t)
	base := testsvc.Merge(env.GantryEnv(repo), keyEnv)
	first := svc.Git(t, "rev-parse", "HEAD")
	event := func(sha string) testsvc.Event {
		return testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: sha, Repository: "acme/signed"}
	}
	if res := ci(t, svc, event(first), base); res.Code != 0 {
		t.Fatalf("publish %s: exit %d", first[:7], res.Code)
	}
	svc.Write(t, "NOTES.txt", "a second commit\n")
	second := svc.Commit(t, "second commit")
	summary := filepath.Join(t.TempDir(), "summary.md")
	if res := ci(t, svc, event(second), testsvc.Merge(base, map[string]string{"GITHUB_STEP_SUMMARY": summary})); res.Code != 0 {
		t.Fatalf("publish %s: exit %d", second[:7], res.Code)
	}
	short := second[:7]
	_, prod := index(t, repo+":"+short)
	_, dev := index(t, repo+":"+short+"-dev")
	platforms := platformDigests(t, repo+":"+short)

	t.Run("each image carries a signature and provenance, each platform an SBOM", func(t *testing.T) {
		for _, digest := range []v1.Hash{prod, dev} {
			got := referrers(t, repo, digest.String())
			want := map[string]int{supplychain.SignaturePredicate: 1, provenance.PredicateType: 1}
			if !maps.Equal(got, want) {
				t.Errorf("%s: referrers %v, want %v", digest, got, want)
			}
		}
		for platform, digest := range platforms {
			if got := referrers(t, repo, digest); got["https://cyclonedx.org/bom"] != 1 {
				t.Errorf("%s: referrers %v, want one SBOM", platform, got)
			}
		}
		fallback := "sha256-" + strings.TrimPrefix(prod.String(), "sha256:")
		if all := allTags(t, repo); !slices.Contains(all, fallback) {
			t.Errorf("no referrers tag %s in %v: the registry has no referrers API, so the fallback must be there", fallback, all)
		}
		written, _ := os.ReadFile(summary)
		for _, want := range []string{"#### Verified: prod `" + prod.String() + "`", "cosign verify --key", "cosign verify-attestation --key"} {
			if !strings.Contains(string(written), want) {
				t.Errorf("job summary lacks %q:\n%s", want, written)
			}
		}
	})

	t.Run("dev's SBOM lists its tools beside its base's packages", func(t *testing.T) {
		for platform, digest := range platformDigests(t, repo+":"+short+"-dev") {
			names := sbomPackages(t, keyVerifier(t, pub), repo, digest)
			for _, want := range []string{"curl", "jq", "strace", "libc6", "github.com/acme/signed", "stdlib"} {
				if !slices.Contains(names, want) {
					t.Errorf("%s: the SBOM lacks %s (it lists %d components)", platform, want, len(names))
				}
			}
		}
	})

	t.Run("mage verify accepts it, and prints the cosign commands", func(t *testing.T) {
		res := svc.Mage(t, testsvc.Merge(base, map[string]string{"GANTRY_VERIFY_KEY": pub}), "verify", "-ref="+repo+":"+short)
		if res.Code != 0 {
			t.Fatalf("mage verify: exit %d\n%s", res.Code, res.Stdout)
		}
		for _, want := range []string{"ok   signature", "ok   provenance: built from https://github.com/acme/signed at " + second[:12],
			"ok   SBOM linux/amd64", "ok   SBOM linux/arm64", "cosign verify --key " + pub} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("mage verify output lacks %q:\n%s", want, res.Stdout)
			}
		}
	})

	t.Run("cosign verify and verify-attestation accept it, and refuse another key", func(t *testing.T) {
		ref := repo + "@" + prod.String()
		if _, err := cosign(t, "verify", "--key", pub, ref); err != nil {
			t.Errorf("cosign verify: %v", err)
		}
		out, err := cosign(t, "verify-attestation", "--key", pub, "--type", "slsaprovenance1", ref)
		if err != nil {
			t.Errorf("cosign verify-attestation slsaprovenance1: %v", err)
		} else if stmt := payload(t, out); !strings.Contains(stmt, `"gitCommit":"`+second+`"`) {
			t.Errorf("the provenance cosign verified does not name the commit %s:\n%s", second, stmt)
		}
		if _, err := cosign(t, "verify-attestation", "--key", pub, "--type", "cyclonedx", repo+"@"+platforms["linux/arm64"]); err != nil {
			t.Errorf("cosign verify-attestation cyclonedx: %v", err)
		}
		_, other := signingKey(t)
		if _, err := cosign(t, "verify", "--key", other, ref); err == nil {
			t.Error("cosign verify accepted the signature with another key")
		}
	})

	t.Run("a re-run adds nothing", func(t *testing.T) {
		before := referrers(t, repo, prod.String())
		if res := ci(t, svc, event(second), base); res.Code != 0 {
			t.Fatalf("re-run: exit %d", res.Code)
		}
		if after := referrers(t, repo, prod.String()); !maps.Equal(before, after) {
			t.Errorf("referrers %v after the re-run, %v before", after, before)
		}
	})

	tamperCases(t, svc, repo, base, event(second), first, second)

	t.Run("a release adds its signature beside main's attestations", func(t *testing.T) {
		svc.Git(t, "tag", "-a", "v1.0.0", "-m", "v1.0.0", second)
		ev := testsvc.Event{Name: "push", Ref: "refs/tags/v1.0.0", SHA: second, Repository: "acme/signed"}
		if res := ci(t, svc, ev, base); res.Code != 0 {
			t.Fatalf("release: exit %d", res.Code)
		}
		if _, d := index(t, repo+":1.0.0"); d != prod {
			t.Fatalf("1.0.0 = %s, not main's %s: not a promotion", d, prod)
		}
		got := referrers(t, repo, prod.String())
		want := map[string]int{supplychain.SignaturePredicate: 2, provenance.PredicateType: 1}
		if !maps.Equal(got, want) {
			t.Errorf("referrers %v, want main's signature and provenance plus the release's signature: %v", got, want)
		}
		report := verifyWithKey(t, repo, prod.String(), second, pub, "refs/tags/v1.0.0")
		if err := report.Err(); err != nil {
			t.Errorf("the release does not verify with its own signature: %v", err)
		}
	})

	t.Run("keyless: identities are checked against a virtual Sigstore", func(t *testing.T) {
		keyless(t, repo, short, second)
	})
}

// verifyWithKey verifies repo@digest against the public key at pub,
// requiring a signature for ref.
func verifyWithKey(t *testing.T, repo, digest, commit, pub, ref string) supplychain.Report {
	t.Helper()
	a := supplychain.New(registry.New(), nil, keyVerifier(t, pub), nil, logrus.NewEntry(logrus.New()))
	report, err := a.Verify(context.Background(), supplychain.Image{Repo: repo, Digest: digest, Commit: commit}, ref)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// keyVerifier verifies with the public key at pub.
func keyVerifier(t *testing.T, pub string) sign.Verifier {
	t.Helper()
	pem, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := sign.NewKeyVerifier(pem)
	if err != nil {
		t.Fatal(err)
	}
	return verifier
}

// allTags lists every tag of repo, the referrers tags included.
func allTags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	list, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// tamperCases change what is attached to the second commit's prod image,
// one way at a time, with main's moving tag put back on the first commit:
// mage verify must fail, and a re-run of the second commit's publish must
// fail and leave main on the first commit. Each case is undone after it,
// and a last re-run, with nothing tampered, moves main forwards: the
// checks do not always fail.
func tamperCases(t *testing.T, svc *testsvc.Service, repo string, base map[string]string, ev testsvc.Event, first, second string) {
	ctx := context.Background()
	short := second[:7]
	_, prod := index(t, repo+":"+short)
	_, old := index(t, repo+":"+first[:7])
	platforms := platformDigests(t, repo+":"+short)
	client := registry.New()

	// fallback reads and writes the referrers tag of a digest.
	fallback := func(digest string) name.Tag {
		tag, err := name.NewTag(repo + ":sha256-" + strings.TrimPrefix(digest, "sha256:"))
		if err != nil {
			t.Fatal(err)
		}
		return tag
	}
	readIndex := func(digest string) v1.ImageIndex {
		idx, err := remote.Index(fallback(digest))
		if err != nil {
			t.Fatal(err)
		}
		return idx
	}
	// without drops the referrers of predicateType from digest's referrers
	// tag, and returns how to put them back.
	without := func(digest, predicateType string) func() {
		before := readIndex(digest)
		after := mutate.RemoveManifests(before, func(d v1.Descriptor) bool {
			return d.Annotations["dev.sigstore.bundle.predicateType"] == predicateType
		})
		if err := remote.WriteIndex(fallback(digest), after); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := remote.WriteIndex(fallback(digest), before); err != nil {
				t.Fatal(err)
			}
		}
	}
	moveTag := func(tag string, to v1.Hash) {
		if err := client.Tag(ctx, repo+"@"+to.String(), repo+":"+tag); err != nil {
			t.Fatal(err)
		}
	}
	keyEnv := map[string]string{"GANTRY_VERIFY_KEY": strings.TrimSuffix(base["GANTRY_SIGNING_KEY"], ".key") + ".pub"}

	cases := []struct {
		name   string
		tamper func(t *testing.T) (undo func())
		// ref is what mage verify checks; failure what it must say.
		ref, failure string
	}{
		{name: "a platform manifest swapped after signing", ref: repo + ":" + short, failure: "no signature by the trusted signer",
			tamper: func(t *testing.T) func() {
				idx, _ := index(t, repo+":"+short)
				amd, err := idx.Image(mustHash(t, platforms["linux/amd64"]))
				if err != nil {
					t.Fatal(err)
				}
				swapped := mutate.AppendManifests(mutate.IndexMediaType(mutate.RemoveManifests(idx, func(d v1.Descriptor) bool {
					return d.Platform != nil && d.Platform.Architecture == "arm64"
				}), types.OCIImageIndex), mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
				tag, _ := name.NewTag(repo + ":" + short)
				if err := remote.WriteIndex(tag, swapped); err != nil {
					t.Fatal(err)
				}
				return func() { moveTag(short, prod) }
			}},
		{name: "an SBOM removed", ref: repo + ":" + short, failure: "no signed SBOM is attached",
			tamper: func(t *testing.T) func() { return without(platforms["linux/arm64"], "https://cyclonedx.org/bom") }},
		{name: "a signature from another identity", ref: repo + ":" + short, failure: "no signature by the trusted signer",
			tamper: func(t *testing.T) func() {
				undo := without(prod.String(), supplychain.SignaturePredicate)
				otherEnv, _ := signingKey(t)
				other := keySigner(t, otherEnv["GANTRY_SIGNING_KEY"])
				stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"` + repo + `","digest":{"sha256":"` + strings.TrimPrefix(prod.String(), "sha256:") + `"}}],"predicateType":"` + supplychain.SignaturePredicate + `","predicate":{}}`
				attach(t, other, repo+"@"+prod.String(), stmt, supplychain.SignaturePredicate)
				return func() {
					undo()
				}
			}},
		{name: "a provenance naming another commit", ref: repo + ":" + short, failure: "the provenance names commit " + first,
			tamper: func(t *testing.T) func() {
				undo := without(prod.String(), provenance.PredicateType)
				stmt, err := provenance.Statement(provenance.Build{
					Subjects:   []provenance.Subject{provenance.IndexSubject(repo, prod.String())},
					Repository: "https://github.com/acme/signed", Commit: first, Ref: "refs/heads/main", Target: "prod",
					Platforms: []string{"linux/amd64", "linux/arm64"}, Dockerfile: provenance.Dockerfile{Path: "embedded", Digest: prod.String()},
					GoVersion: "go1.26.8", Builder: "https://github.com/gantry-build/gantry@devel", GantryVersion: "devel",
				})
				if err != nil {
					t.Fatal(err)
				}
				attach(t, keySigner(t, base["GANTRY_SIGNING_KEY"]), repo+"@"+prod.String(), string(stmt), provenance.PredicateType)
				return undo
			}},
	}
	for _, tc := range cases {
		t.Run("tampering: "+tc.name+" fails verify and publish, nothing moved", func(t *testing.T) {
			moveTag("main", old)
			undo := tc.tamper(t)
			defer undo()
			res := svc.Mage(t, testsvc.Merge(base, keyEnv), "verify", "-ref="+tc.ref)
			if res.Code == 0 || !strings.Contains(res.Stdout+res.Stderr, tc.failure) {
				t.Errorf("mage verify: exit %d; want a failure saying %q", res.Code, tc.failure)
			}
			res = ci(t, svc, ev, base)
			if res.Code == 0 || !strings.Contains(res.Stderr, tc.failure) {
				t.Errorf("publish: exit %d; want a failure saying %q", res.Code, tc.failure)
			}
			if _, d := index(t, repo+":main"); d != old {
				t.Errorf("main moved to %s; it must stay on the first commit's %s", d, old)
			}
		})
	}
	t.Run("untampered, the re-run moves main forwards", func(t *testing.T) {
		moveTag("main", old)
		if res := ci(t, svc, ev, base); res.Code != 0 {
			t.Fatalf("re-run: exit %d", res.Code)
		}
		if _, d := index(t, repo+":main"); d != prod {
			t.Errorf("main = %s, want %s", d, prod)
		}
	})
}

func mustHash(t *testing.T, digest string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(digest)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// keySigner loads the cosign key at path.
func keySigner(t *testing.T, path string) sign.Signer {
	t.Helper()
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewKeySigner(pem, []byte(cosignPassword))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// attach signs stmt with signer and attaches it to subject as Gantry does.
func attach(t *testing.T, signer sign.Signer, subject, stmt, predicateType string) {
	t.Helper()
	bundle, err := signer.Sign(context.Background(), []byte(stmt))
	if err != nil {
		t.Fatal(err)
	}
	_, err = registry.New().Attach(context.Background(), subject, registry.Artifact{
		ArtifactType: supplychain.BundleMediaType, Content: bundle,
		Annotations: map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": predicateType},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// keyless attests a copy of the prod image of commit with certificates of
// a virtual Sigstore, then checks what a keyless verifier accepts: the
// publishing workflow on main and on a v* tag, not another repository's
// workflow, not another issuer.
func keyless(t *testing.T, repo, short, commit string) {
	ctx := context.Background()
	idx, digest := index(t, repo+":"+short)
	copyRepo := repo + "-keyless"
	tag, _ := name.NewTag(copyRepo + ":" + short)
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	img := supplychain.Image{Repo: copyRepo, Digest: digest.String(), Commit: commit}
	vs := signtest.New(t)
	const workflow = "https://github.com/acme/signed/.github/workflows/publish-ghcr.yml"
	trusted := sign.Identity{SANRegexp: "^" + strings.ReplaceAll(workflow, ".", `\.`) + "@refs/(heads/main|tags/v.+)$", Issuer: "https://token.actions.githubusercontent.com"}
	log := logrus.NewEntry(logrus.New())
	build := provenance.Build{Repository: "https://github.com/acme/signed", Commit: commit, Ref: "refs/heads/main", Target: "prod",
		Platforms: []string{"linux/amd64", "linux/arm64"}, Dockerfile: provenance.Dockerfile{Path: "embedded", Digest: digest.String()},
		Builder: workflow + "@refs/heads/main", GantryVersion: "devel"}

	main := supplychain.New(registry.New(), vs.Signer(workflow+"@refs/heads/main", trusted.Issuer), verifier(t, vs, trusted), nil, log)
	if err := main.Attest(ctx, img, "refs/heads/main", build); err != nil {
		t.Fatalf("attest with main's identity: %v", err)
	}
	report, err := main.Verify(ctx, img, "refs/heads/main")
	if err != nil || report.Err() != nil {
		t.Fatalf("verify main's keyless attestations: %v %v", err, report.Err())
	}
	if c := report.Checks[0]; !strings.Contains(c.Command, "--certificate-identity "+workflow+"@refs/heads/main") || !strings.Contains(c.Command, "--certificate-oidc-issuer") {
		t.Errorf("the signature's cosign command is not pinned to the identity: %s", c.Command)
	}

	release := supplychain.New(registry.New(), vs.Signer(workflow+"@refs/tags/v1.0.0", trusted.Issuer), verifier(t, vs, trusted), nil, log)
	if err := release.Attest(ctx, img, "refs/tags/v1.0.0", provenance.Build{}); err != nil {
		t.Fatalf("attest with the release's identity: %v", err)
	}
	if report, err := release.Verify(ctx, img, "refs/tags/v1.0.0"); err != nil || report.Err() != nil {
		t.Errorf("verify the release signature beside main's attestations: %v %v", err, report.Err())
	}
	if got := referrers(t, copyRepo, digest.String())[supplychain.SignaturePredicate]; got != 2 {
		t.Errorf("%d signatures, want main's and the release's", got)
	}

	for name, id := range map[string]sign.Identity{
		"another repository's workflow": {SANRegexp: `^https://github\.com/acme/other/.+$`, Issuer: trusted.Issuer},
		"another issuer":                {SANRegexp: trusted.SANRegexp, Issuer: "https://accounts.google.com"},
	} {
		a := supplychain.New(registry.New(), nil, verifier(t, vs, id), nil, log)
		report, err := a.Verify(ctx, img, "")
		if err != nil {
			t.Fatal(err)
		}
		if report.Err() == nil {
			t.Errorf("%s: verified; the identity must be refused", name)
		}
	}
}

// verifier is the virtual Sigstore's keyless verifier of id.
func verifier(t *testing.T, vs *signtest.Sigstore, id sign.Identity) sign.Verifier {
	t.Helper()
	v, err := vs.Verifier(id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
