// Package supplychain attaches and checks what lets a deployer verify an
// image Gantry published: a signature, an SBOM per platform and SLSA
// provenance. Each is a Sigstore bundle (a DSSE envelope of an in-toto
// statement) attached to a digest as an OCI 1.1 referrer, as cosign v3
// writes them, so `cosign verify` and `cosign verify-attestation` read them.
// None goes inside the image index: the index stays reproducible, and a
// release that promotes it carries them along, since they hang off its
// digest.
//
// Attest adds only what is missing, so a re-run piles nothing up; Verify
// checks an image as a deployer would, and says how to repeat each check
// with cosign.
package supplychain

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/gantry-build/gantry/internal/provenance"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/sbom"
	"github.com/gantry-build/gantry/internal/sign"
)

// Registry is the registry reads and writes of attesting: registry.Client.
type Registry interface {
	Manifests(ctx context.Context, ref string) ([]registry.Manifest, error)
	Referrers(ctx context.Context, subject string) ([]registry.Referrer, error)
	Attach(ctx context.Context, subject string, a registry.Artifact) (string, error)
	Content(ctx context.Context, ref string) ([]byte, error)
	Image(ctx context.Context, ref string) (v1.Image, error)
}

// Signer signs in-toto statements into Sigstore bundles (sign.KeySigner,
// sign.Keyless).
type Signer interface {
	Sign(ctx context.Context, statement []byte) ([]byte, error)
}

// Verifier checks a bundle against the trusted key or identity, and that
// its statement names digest.
type Verifier interface {
	Verify(bundle []byte, digest string) (sign.Verified, error)
}

// Image is a pushed image index.
type Image struct {
	// Repo is the repository (ghcr.io/acme/widget); Digest the index's.
	Repo, Digest string
	// Commit is the commit the image was built from (its revision label).
	Commit string
}

// Ref returns repo@digest.
func (img Image) Ref() string { return img.Repo + "@" + img.Digest }

// BundleMediaType is the media type of a Sigstore bundle, and so the
// artifact type of every referrer Gantry attaches.
const BundleMediaType = sign.BundleMediaType

// SignaturePredicate is the predicate type of an image signature as cosign
// v3 writes it: a statement about the digest with an empty predicate.
const SignaturePredicate = "https://sigstore.dev/cosign/sign/v1"

// Annotations cosign puts on a bundle referrer, which say what it holds
// without fetching it.
const (
	contentAnnotation   = "dev.sigstore.bundle.content"
	predicateAnnotation = "dev.sigstore.bundle.predicateType"
)

// Attester attaches and verifies the supply-chain artifacts of images.
type Attester struct {
	Registry Registry
	// Signer signs what Attest adds; Verify needs only the Verifier.
	Signer   Signer
	Verifier Verifier
	// Cosign are the flags that make cosign trust what Verifier trusts
	// (--key cosign.pub, or the certificate issuer), for the commands
	// Verify prints.
	Cosign []string
	Log    *logrus.Entry

	// binaries caches the build information of each platform image's
	// binary, by manifest digest: Attest reads it, Verify compares it.
	binaries *sync.Map
}

// New returns an Attester; signer may be nil for one that only verifies.
func New(reg Registry, signer Signer, verifier Verifier, cosign []string, log *logrus.Entry) Attester {
	return Attester{Registry: reg, Signer: signer, Verifier: verifier, Cosign: cosign, Log: log, binaries: &sync.Map{}}
}

// found is what is already attached to an image and verifies.
type found struct {
	platforms []registry.Manifest
	// signatures are the verified signatures of the index.
	signatures []signature
	// provenance is the verified provenance of the index.
	provenance []attested[provenance.Summary]
	// sboms are the verified SBOMs (CycloneDX JSON) by platform digest.
	sboms map[string]attested[[]byte]
	// rejected says why attached bundles did not verify.
	rejected []string
}

// signature is a verified signature and the ref it was made for.
type signature struct {
	sign.Verified
	ref string
}

// attested is what a verified attestation says, and who signed it.
type attested[T any] struct {
	says   T
	signer sign.Verified
}

// Attest attaches to img whatever of its supply chain is missing or does
// not verify: an SBOM per platform, provenance (build describes the
// build; its subjects and Go version are filled in here) and, last, a
// signature for ref (refs/heads/main, or refs/tags/v1.2.3 for a release,
// whose promoted image then carries main's signature and its own). A
// second run with the same ref adds nothing.
func (a Attester) Attest(ctx context.Context, img Image, ref string, build provenance.Build) error {
	have, err := a.read(ctx, img)
	if err != nil {
		return err
	}
	log := a.Log.WithField("digest", img.Digest)
	// Reading a platform image is most of an SBOM's cost: all at once.
	var platforms errgroup.Group
	for _, p := range have.platforms {
		if _, ok := have.sboms[p.Digest]; ok {
			continue
		}
		platforms.Go(func() error {
			if err := a.attachSBOM(ctx, img, p); err != nil {
				return err
			}
			log.WithField("platform", p.Platform).Info("SBOM attached")
			return nil
		})
	}
	if err := platforms.Wait(); err != nil {
		return err
	}
	if !slices.ContainsFunc(have.provenance, func(p attested[provenance.Summary]) bool { return p.says.Commit == img.Commit }) {
		if err := a.attachProvenance(ctx, img, have.platforms, build); err != nil {
			return err
		}
		log.Info("provenance attached")
	}
	if !slices.ContainsFunc(have.signatures, func(s signature) bool { return s.ref == ref }) {
		stmt, err := statement([]subject{{Name: img.Repo, Digest: img.Digest, Annotations: map[string]string{"ref": ref, "commit": img.Commit}}}, SignaturePredicate, nil)
		if err != nil {
			return err
		}
		if err := a.attach(ctx, img.Ref(), stmt, SignaturePredicate); err != nil {
			return err
		}
		// Who signed shows in the verification that follows: a keyless
		// signer learns its identity only by asking for a token.
		log.WithField("ref", ref).Info("signed")
	}
	return nil
}

// attachSBOM reads the platform image p, and attaches its SBOM to it.
func (a Attester) attachSBOM(ctx context.Context, img Image, p registry.Manifest) error {
	ref := img.Repo + "@" + p.Digest
	image, err := a.Registry.Image(ctx, ref)
	if err != nil {
		return err
	}
	in, err := sbom.FromImage(image, ref, p.Platform)
	if err != nil {
		return fmt.Errorf("SBOM of %s (%s): %w", img.Ref(), p.Platform, err)
	}
	a.binaries.Store(p.Digest, in.Info)
	bom, err := sbom.JSON(in)
	if err != nil {
		return fmt.Errorf("SBOM of %s (%s): %w", img.Ref(), p.Platform, err)
	}
	stmt, err := statement([]subject{{Name: img.Repo, Digest: p.Digest}}, sbom.PredicateType, bom)
	if err != nil {
		return err
	}
	return a.attach(ctx, ref, stmt, sbom.PredicateType)
}

// attachProvenance attaches build's provenance, about the index and every
// platform manifest, to the index.
func (a Attester) attachProvenance(ctx context.Context, img Image, platforms []registry.Manifest, build provenance.Build) error {
	build.Subjects = []provenance.Subject{provenance.IndexSubject(img.Repo, img.Digest)}
	for _, p := range platforms {
		build.Subjects = append(build.Subjects, provenance.PlatformSubject(img.Repo, p.Platform, p.Digest))
		if build.GoVersion == "" {
			if info, err := a.binary(ctx, img, p); err == nil {
				build.GoVersion = info.GoVersion
			}
		}
	}
	stmt, err := provenance.Statement(build)
	if err != nil {
		return fmt.Errorf("provenance of %s: %w", img.Ref(), err)
	}
	return a.attach(ctx, img.Ref(), stmt, provenance.PredicateType)
}

// attach signs stmt and attaches the bundle to subject.
func (a Attester) attach(ctx context.Context, subject string, stmt []byte, predicateType string) error {
	if a.Signer == nil {
		return fmt.Errorf("attach %s to %s: no signer: set GANTRY_SIGNING (Config.Signing)", predicateType, subject)
	}
	bundle, err := a.Signer.Sign(ctx, stmt)
	if err != nil {
		return fmt.Errorf("sign %s of %s: %w", predicateType, subject, err)
	}
	_, err = a.Registry.Attach(ctx, subject, registry.Artifact{
		ArtifactType: BundleMediaType,
		Content:      bundle,
		Annotations:  map[string]string{contentAnnotation: "dsse-envelope", predicateAnnotation: predicateType},
	})
	if err != nil {
		return fmt.Errorf("attach %s to %s: %w", predicateType, subject, err)
	}
	return nil
}

// read returns what is attached to img and verifies.
func (a Attester) read(ctx context.Context, img Image) (found, error) {
	platforms, err := a.Registry.Manifests(ctx, img.Ref())
	if err != nil {
		return found{}, err
	}
	have := found{platforms: platforms, sboms: map[string]attested[[]byte]{}}
	bundles, err := a.bundles(ctx, img.Repo, img.Digest, &have)
	if err != nil {
		return found{}, err
	}
	for _, v := range bundles {
		switch v.PredicateType {
		case SignaturePredicate:
			have.signatures = append(have.signatures, signature{v, signedRef(v)})
		case provenance.PredicateType:
			s, err := provenance.Read(v.Statement)
			if err != nil {
				have.rejected = append(have.rejected, fmt.Sprintf("provenance signed by %s: %v", v.Identity, err))
				continue
			}
			have.provenance = append(have.provenance, attested[provenance.Summary]{s, v})
		}
	}
	for _, p := range platforms {
		bundles, err := a.bundles(ctx, img.Repo, p.Digest, &have)
		if err != nil {
			return found{}, err
		}
		for _, v := range bundles {
			if v.PredicateType != sbom.PredicateType {
				continue
			}
			bom, err := predicate(v.Statement)
			if err != nil {
				have.rejected = append(have.rejected, fmt.Sprintf("SBOM of %s signed by %s: %v", p.Platform, v.Identity, err))
				continue
			}
			have.sboms[p.Digest] = attested[[]byte]{bom, v}
		}
	}
	return have, nil
}

// bundles returns the verified bundles attached to repo@digest; those that
// do not verify are noted in have.rejected.
func (a Attester) bundles(ctx context.Context, repo, digest string, have *found) ([]sign.Verified, error) {
	referrers, err := a.Registry.Referrers(ctx, repo+"@"+digest)
	if err != nil {
		return nil, err
	}
	var verified []sign.Verified
	for _, r := range referrers {
		if r.ArtifactType != BundleMediaType {
			continue
		}
		content, err := a.Registry.Content(ctx, repo+"@"+r.Digest)
		if err != nil {
			return nil, err
		}
		v, err := a.Verifier.Verify(content, digest)
		if err != nil {
			have.rejected = append(have.rejected, fmt.Sprintf("%s (%s): %v", r.Digest, r.Annotations[predicateAnnotation], err))
			continue
		}
		verified = append(verified, v)
	}
	return verified, nil
}

// signedRef returns the git ref a verified signature was made for: the
// certificate's source ref when keyless, else the ref the signer put in
// the statement.
func signedRef(v sign.Verified) string {
	if v.Ref != "" {
		return v.Ref
	}
	subjects, err := subjectsOf(v.Statement)
	if err != nil || len(subjects) == 0 {
		return ""
	}
	return subjects[0].Annotations["ref"]
}

// binary returns the build information of platform image p's binary.
func (a Attester) binary(ctx context.Context, img Image, p registry.Manifest) (*debug.BuildInfo, error) {
	if info, ok := a.binaries.Load(p.Digest); ok {
		return info.(*debug.BuildInfo), nil
	}
	ref := img.Repo + "@" + p.Digest
	image, err := a.Registry.Image(ctx, ref)
	if err != nil {
		return nil, err
	}
	// The SBOM's own reading of the image, so that what is compared is
	// read the way the SBOM was made.
	in, err := sbom.FromImage(image, ref, p.Platform)
	if err != nil {
		return nil, fmt.Errorf("read the binary of %s: %w", ref, err)
	}
	a.binaries.Store(p.Digest, in.Info)
	return in.Info, nil
}
