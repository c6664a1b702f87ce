package supplychain

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/sbom"
	"github.com/gantry-build/gantry/internal/sign"
)

// Check is one thing Verify checked.
type Check struct {
	// What was checked: "signature", "provenance", "SBOM linux/arm64".
	What string
	OK   bool
	// Detail says what was found: the signer, the commit, or what is wrong.
	Detail string
	// Command repeats the check with cosign.
	Command string
}

// Report is what Verify found.
type Report struct {
	Image  Image
	Checks []Check
}

// Err returns an error naming every failed check, or nil.
func (r Report) Err() error {
	var failed []string
	for _, c := range r.Checks {
		if !c.OK {
			failed = append(failed, c.What+": "+c.Detail)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%s does not verify: %s", r.Image.Ref(), strings.Join(failed, "; "))
}

// Verify checks img as a deployer would: a signature for ref by the
// trusted key or identity (any accepted ref when ref is empty); a
// provenance whose subject is the digest and whose source commit is
// img.Commit; for every platform, an SBOM whose Go modules are those of
// the binary in the image. The report's error (Err) names every failure.
func (a Attester) Verify(ctx context.Context, img Image, ref string) (Report, error) {
	have, err := a.read(ctx, img)
	if err != nil {
		return Report{}, err
	}
	report := Report{Image: img}
	report.Checks = append(report.Checks, a.checkSignature(img, ref, have), a.checkProvenance(img, have))
	for _, p := range have.platforms {
		c := Check{What: "SBOM " + p.Platform}
		args := []string{"--type", "cyclonedx", img.Repo + "@" + p.Digest}
		bom, ok := have.sboms[p.Digest]
		if !ok {
			c.Detail = "no signed SBOM is attached to " + p.Digest + rejected(have)
			c.Command = a.command("verify-attestation", args...)
			report.Checks = append(report.Checks, c)
			continue
		}
		c.Command = a.pinned("verify-attestation", bom.signer, args...)
		c.OK, c.Detail = a.compareModules(ctx, img, p, bom.says)
		report.Checks = append(report.Checks, c)
	}
	if len(have.platforms) == 0 {
		report.Checks = append(report.Checks, Check{What: "SBOM", Detail: img.Ref() + " lists no platform image"})
	}
	return report, nil
}

// checkSignature checks that a verified signature for ref is attached.
func (a Attester) checkSignature(img Image, ref string, have found) Check {
	c := Check{What: "signature"}
	for _, s := range have.signatures {
		if ref != "" && s.ref != ref {
			continue
		}
		c.OK, c.Detail = true, fmt.Sprintf("signed by %s for %s", s.Identity, s.ref)
		c.Command = a.pinned("verify", s.Verified, img.Ref())
		return c
	}
	c.Command = a.command("verify", img.Ref())
	var refs []string
	for _, s := range have.signatures {
		refs = append(refs, s.ref)
	}
	switch {
	case len(refs) > 0:
		slices.Sort(refs)
		c.Detail = fmt.Sprintf("no signature for %s; signed for %s only", ref, strings.Join(refs, ", "))
	default:
		c.Detail = "no signature by the trusted signer is attached" + rejected(have)
	}
	return c
}

// checkProvenance checks that a verified provenance names img's commit.
func (a Attester) checkProvenance(img Image, have found) Check {
	args := []string{"--type", "slsaprovenance1", img.Ref()}
	c := Check{What: "provenance", Command: a.command("verify-attestation", args...)}
	var commits []string
	for _, p := range have.provenance {
		if !slices.ContainsFunc(p.says.Subjects, func(s provenance.Subject) bool { return s.Digest == img.Digest }) {
			continue
		}
		if p.says.Commit == img.Commit {
			c.OK, c.Detail = true, fmt.Sprintf("built from %s at %.12s (%s), signed by %s", p.says.Repository, p.says.Commit, p.says.Ref, p.signer.Identity)
			c.Command = a.pinned("verify-attestation", p.signer, args...)
			return c
		}
		commits = append(commits, p.says.Commit)
	}
	if len(commits) > 0 {
		c.Detail = fmt.Sprintf("the provenance names commit %s, but the image's revision label says %s", strings.Join(commits, ", "), img.Commit)
		return c
	}
	c.Detail = "no signed provenance about " + img.Digest + " is attached" + rejected(have)
	return c
}

// compareModules compares the Go modules an SBOM lists with those of the
// binary in platform image p.
func (a Attester) compareModules(ctx context.Context, img Image, p registry.Manifest, bom []byte) (bool, string) {
	listed, err := sbom.Modules(bom)
	if err != nil {
		return false, err.Error()
	}
	info, err := a.binary(ctx, img, p)
	if err != nil {
		return false, err.Error()
	}
	if diff := sbom.Diff(listed, sbom.BinaryModules(info)); len(diff) > 0 {
		return false, "the SBOM does not match the binary: " + strings.Join(diff, "; ")
	}
	return true, fmt.Sprintf("%d Go modules, as the binary has (%s)", len(listed), info.GoVersion)
}

// rejected says why attached bundles did not verify, if any did not.
func rejected(have found) string {
	if len(have.rejected) == 0 {
		return ""
	}
	return " (attached but not verified: " + strings.Join(have.rejected, "; ") + ")"
}

// command returns the cosign command that repeats a check.
func (a Attester) command(verb string, args ...string) string {
	words := append([]string{"cosign", verb}, a.Cosign...)
	return shellJoin(append(words, args...))
}

// pinned returns the cosign command that repeats a check of what signer
// signed, pinned to its certificate identity when keyless.
func (a Attester) pinned(verb string, signer sign.Verified, args ...string) string {
	if signer.Issuer == "" {
		return a.command(verb, args...)
	}
	words := []string{"cosign", verb, "--certificate-identity", signer.Identity, "--certificate-oidc-issuer", signer.Issuer}
	return shellJoin(append(words, args...))
}

// shellJoin quotes words for a POSIX shell where they need it.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
			quoted[i] = w
			continue
		}
		quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
