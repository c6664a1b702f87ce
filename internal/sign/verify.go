package sign

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Verified is what a verified bundle proves.
type Verified struct {
	Statement     []byte   // the in-toto statement JSON (the DSSE payload)
	PredicateType string   // the statement's predicateType
	Subjects      []string // "sha256:<hex>" of each statement subject that has a sha256 digest
	Identity      string   // the certificate's SAN (keyless) or "key sha256:<hex>"
	Issuer        string   // the OIDC issuer (keyless)
	Ref           string   // keyless: the certificate's source repository ref, e.g. refs/tags/v1.2.3
}

// Verifier checks a bundle's signature against trusted material and an
// identity policy, and that one of the statement's subjects is digest
// ("sha256:<hex>").
type Verifier interface {
	Verify(bundle []byte, digest string) (Verified, error)
}

// Identity is the keyless identity policy: the certificate's SAN must match
// SANRegexp and its OIDC issuer must equal Issuer. For GitHub Actions: SAN
// `^https://github\.com/o/r/\.github/workflows/ci\.yml@refs/(heads/main|tags/v.*)$`,
// issuer https://token.actions.githubusercontent.com.
type Identity struct{ SANRegexp, Issuer string }

type verifier struct {
	sev    *verify.Verifier
	policy verify.PolicyOption
	// identity names what signed, from the verification result.
	identity func(*verify.VerificationResult) Verified
	// mismatch, if set, explains a bundle the identity policy rejected,
	// naming what signed it; nil for other errors.
	mismatch func(*bundle.Bundle, error) error
}

// NewKeyVerifier verifies bundles signed with the private half of publicPEM
// (PKIX PEM, as `cosign generate-key-pair` writes cosign.pub). No
// transparency log entry is required, as `cosign verify --key
// --insecure-ignore-tlog`.
func NewKeyVerifier(publicPEM []byte) (Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(publicPEM)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w: pass the PEM public key (cosign.pub)", err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	sv, err := signature.LoadDefaultVerifier(pub, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	// As cosign's CheckOpts.verificationOptions with a key: the key is trusted
	// whatever hint the bundle names, and for all time.
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	trusted := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	sev, err := verify.NewVerifier(trusted, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, fmt.Errorf("key verifier: %w", err)
	}
	id := keyIdentity(pkix)
	return &verifier{
		sev:      sev,
		policy:   verify.WithKey(),
		identity: func(*verify.VerificationResult) Verified { return Verified{Identity: id} },
	}, nil
}

// NewKeylessVerifier verifies bundles signed with a Fulcio certificate from
// trusted's CAs, as `cosign verify --certificate-identity-regexp
// --certificate-oidc-issuer` does: the certificate must carry an SCT from
// one of trusted's CT logs, the signature must be in one of its Rekor logs,
// and the certificate must have been valid at the log's integrated time.
func NewKeylessVerifier(trusted root.TrustedMaterial, id Identity) (Verifier, error) {
	if id.SANRegexp == "" || id.Issuer == "" {
		return nil, fmt.Errorf("keyless identity policy %+v is incomplete: set both the certificate identity regexp and the OIDC issuer (for GitHub Actions https://token.actions.githubusercontent.com)", id)
	}
	san, err := verify.NewSANMatcher("", id.SANRegexp)
	if err != nil {
		return nil, fmt.Errorf("certificate identity regexp %q: %w: fix the regular expression", id.SANRegexp, err)
	}
	issuer, err := verify.NewIssuerMatcher(id.Issuer, "")
	if err != nil {
		return nil, fmt.Errorf("OIDC issuer %q: %w", id.Issuer, err)
	}
	certID, err := verify.NewCertificateIdentity(san, issuer, certificate.Extensions{})
	if err != nil {
		return nil, fmt.Errorf("keyless identity policy: %w", err)
	}
	sev, err := verify.NewVerifier(trusted,
		verify.WithSignedCertificateTimestamps(1),
		verify.WithTransparencyLog(1),
		verify.WithIntegratedTimestamps(1))
	if err != nil {
		return nil, fmt.Errorf("keyless verifier: %w", err)
	}
	return &verifier{
		sev:    sev,
		policy: verify.WithCertificateIdentity(certID),
		identity: func(res *verify.VerificationResult) Verified {
			c := res.Signature.Certificate
			return Verified{Identity: c.SubjectAlternativeName, Issuer: c.Issuer, Ref: c.SourceRepositoryRef}
		},
		mismatch: func(b *bundle.Bundle, err error) error {
			var noMatch *verify.ErrNoMatchingCertificateIdentity
			if !errors.As(err, &noMatch) {
				return nil
			}
			found := "an unreadable certificate"
			if s, serr := bundleCertificate(b); serr == nil {
				found = fmt.Sprintf("%s (issuer %s)", s.SubjectAlternativeName, s.Issuer)
			}
			return fmt.Errorf("bundle is signed by %s, but the policy wants an identity matching %s from issuer %s: sign from a workflow and ref the policy allows, or change the policy", found, id.SANRegexp, id.Issuer)
		},
	}, nil
}

// Verify checks bundleJSON and returns what it proves about digest.
func (v *verifier) Verify(bundleJSON []byte, digest string) (Verified, error) {
	alg, sum, err := parseDigest(digest)
	if err != nil {
		return Verified{}, err
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return Verified{}, fmt.Errorf("read bundle: %w: pass a Sigstore bundle (%s) as cosign or gantry writes it", err, BundleMediaType)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return Verified{}, fmt.Errorf("bundle holds no DSSE envelope: only attestation bundles (cosign v3 `sign`/`attest` with the new bundle format) are supported")
	}
	if env.PayloadType != inTotoPayloadType {
		return Verified{}, fmt.Errorf("bundle's payload type is %q, not %q: it does not hold an in-toto statement", env.PayloadType, inTotoPayloadType)
	}
	res, err := v.sev.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest(alg, sum), v.policy))
	if err != nil {
		if v.mismatch != nil {
			if idErr := v.mismatch(&b, err); idErr != nil {
				return Verified{}, idErr
			}
		}
		if subjects, serr := statementSubjects(env.Payload); serr == nil && !slices.Contains(subjects, digest) {
			return Verified{}, fmt.Errorf("bundle attests %s, not %s: it was made for another image; verify it against the digest it names", strings.Join(subjects, ", "), digest)
		}
		return Verified{}, fmt.Errorf("verify bundle for %s: %w", digest, err)
	}
	out := v.identity(res)
	out.Statement = env.Payload
	out.PredicateType = res.Statement.GetPredicateType()
	for _, s := range res.Statement.GetSubject() {
		if h, ok := s.GetDigest()["sha256"]; ok {
			out.Subjects = append(out.Subjects, "sha256:"+h)
		}
	}
	return out, nil
}

// parseDigest splits "sha256:<hex>" into what sigstore-go's artifact digest
// policy takes.
func parseDigest(digest string) (string, []byte, error) {
	alg, h, ok := strings.Cut(digest, ":")
	sum, err := hex.DecodeString(h)
	if !ok || alg != "sha256" || err != nil || len(sum) != 32 {
		return "", nil, fmt.Errorf("digest %q is not sha256:<64 hex digits>: pass the image index digest", digest)
	}
	return alg, sum, nil
}

// statementSubjects lists the sha256 subjects of an in-toto statement, to
// explain a digest mismatch (never to decide one: sigstore-go does that).
func statementSubjects(statement []byte) ([]string, error) {
	var s struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(statement, &s); err != nil {
		return nil, err
	}
	var out []string
	for _, sub := range s.Subject {
		if h, ok := sub.Digest["sha256"]; ok {
			out = append(out, "sha256:"+h)
		}
	}
	return out, nil
}

// bundleCertificate summarizes the (not yet trusted) signing certificate, to
// name it in an identity mismatch.
func bundleCertificate(b *bundle.Bundle) (certificate.Summary, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return certificate.Summary{}, err
	}
	c := vc.Certificate()
	if c == nil {
		return certificate.Summary{}, errors.New("bundle has no certificate")
	}
	return certificate.SummarizeCertificate(c)
}
