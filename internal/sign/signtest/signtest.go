// Package signtest is an in-process Sigstore for tests of keyless signing:
// sigstore-go's testing/ca.VirtualSigstore (its Rekor log and timestamp
// authority) with a Fulcio CA and a CT log of our own, so that leaf
// certificates carry what the real Fulcio puts in them for GitHub Actions
// (a URI SAN, the issuer, the source ref, an embedded SCT) and bundles
// verify with the production keyless policy of package sign.
package signtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sigsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/gantry-build/gantry/internal/sign"
)

// Sigstore is a virtual Fulcio, CT log and Rekor, trusted by Verifier.
type Sigstore struct {
	virtual *ca.VirtualSigstore
	// The VirtualSigstore keeps its Fulcio intermediate's key to itself, so
	// leaves with Fulcio's extensions come from this CA instead.
	fulcio    *root.FulcioCertificateAuthority
	fulcioKey *ecdsa.PrivateKey
	ctKey     *ecdsa.PrivateKey
	ctLogID   [32]byte
	ctLogs    map[string]*root.TransparencyLog
}

// New starts a virtual Sigstore for t.
func New(t testing.TB) *Sigstore {
	t.Helper()
	virtual, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatalf("virtual sigstore: %v", err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatalf("virtual Fulcio root: %v", err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatalf("virtual Fulcio intermediate: %v", err)
	}
	ctKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("virtual CT log key: %v", err)
	}
	ctLogID, err := keyID(ctKey.Public())
	if err != nil {
		t.Fatalf("virtual CT log ID: %v", err)
	}
	return &Sigstore{
		virtual: virtual,
		fulcio: &root.FulcioCertificateAuthority{
			Root:                rootCert,
			Intermediates:       []*x509.Certificate{inter},
			ValidityPeriodStart: time.Now().Add(-time.Hour),
			ValidityPeriodEnd:   time.Now().Add(time.Hour),
			URI:                 "https://fulcio.localhost",
		},
		fulcioKey: interKey,
		ctKey:     ctKey,
		ctLogID:   ctLogID,
		ctLogs: map[string]*root.TransparencyLog{hex.EncodeToString(ctLogID[:]): {
			BaseURL:             "https://ctfe.localhost",
			ID:                  ctLogID[:],
			ValidityPeriodStart: time.Now().Add(-time.Hour),
			ValidityPeriodEnd:   time.Now().Add(time.Hour),
			HashFunc:            crypto.SHA256,
			PublicKey:           ctKey.Public(),
			SignatureHashFunc:   crypto.SHA256,
		}},
	}
}

// TrustedMaterial is what a verifier trusts: the virtual Fulcio CA and CT
// log, and the VirtualSigstore's Rekor log and timestamp authority.
func (s *Sigstore) TrustedMaterial() root.TrustedMaterial { return trusted{s} }

// Verifier is sign.NewKeylessVerifier over TrustedMaterial: the production
// policy, unchanged.
func (s *Sigstore) Verifier(id sign.Identity) (sign.Verifier, error) {
	return sign.NewKeylessVerifier(s.TrustedMaterial(), id)
}

// Signer signs keyless as identity (the certificate's URI SAN, e.g.
// https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main) from OIDC
// issuer issuer. The certificate's source repository ref is the part of the
// identity after its last "@", as for a GitHub workflow.
func (s *Sigstore) Signer(identity, issuer string) sign.Signer {
	return &signer{s: s, identity: identity, issuer: issuer}
}

type signer struct {
	s                *Sigstore
	identity, issuer string
}

func (g *signer) Identity() string { return g.identity }

// Sign makes a bundle as sign.Keyless does, with the virtual Fulcio standing
// in for the certificate request and the virtual Rekor for the log upload.
func (g *signer) Sign(ctx context.Context, statement []byte) ([]byte, error) {
	keypair, err := sigsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	leaf, err := g.s.leaf(keypair.GetPublicKey(), g.identity, g.issuer)
	if err != nil {
		return nil, fmt.Errorf("virtual Fulcio: %w", err)
	}
	return sign.BundleStatement(ctx, statement, keypair, sigsign.BundleOptions{
		CertificateProvider: certificateProvider(leaf),
		TransparencyLogs:    []sigsign.Transparency{rekor{g.s.virtual}},
	})
}

type certificateProvider []byte

func (c certificateProvider) GetCertificate(context.Context, sigsign.Keypair, *sigsign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}

// leaf issues a Fulcio-style code-signing certificate for pub, valid for ten
// minutes from a minute ago, with an SCT from the virtual CT log embedded.
func (s *Sigstore) leaf(pub crypto.PublicKey, identity, issuer string) ([]byte, error) {
	san, err := url.Parse(identity)
	if err != nil {
		return nil, fmt.Errorf("identity %q is not a URI: %w", identity, err)
	}
	exts := []pkix.Extension{
		{Id: certificate.OIDIssuer, Value: []byte(issuer)},
		derString(certificate.OIDIssuerV2, issuer),
	}
	if i := strings.LastIndex(identity, "@"); i >= 0 {
		exts = append(exts, derString(certificate.OIDSourceRepositoryRef, identity[i+1:]))
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        now.Add(10 * time.Minute),
		URIs:            []*url.URL{san},
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	inter := s.fulcio.Intermediates[0]
	// The SCT signs the certificate as it is without the SCT list, so issue
	// it once without, have it logged, then again with the SCT appended.
	pre, err := x509.CreateCertificate(rand.Reader, template, inter, pub, s.fulcioKey)
	if err != nil {
		return nil, err
	}
	sctExt, err := s.sct(pre, inter)
	if err != nil {
		return nil, fmt.Errorf("virtual CT log: %w", err)
	}
	template.ExtraExtensions = append(exts, sctExt)
	return x509.CreateCertificate(rand.Reader, template, inter, pub, s.fulcioKey)
}

// sct returns the SCT list extension for the certificate pre will become.
func (s *Sigstore) sct(pre []byte, inter *x509.Certificate) (pkix.Extension, error) {
	cert, err := ctx509.ParseCertificate(pre)
	if err != nil {
		return pkix.Extension{}, err
	}
	sct := &ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: s.ctLogID}, Timestamp: uint64(time.Now().UnixMilli())}
	leaf := ct.MerkleTreeLeaf{
		Version:  ct.V1,
		LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			EntryType: ct.PrecertLogEntryType,
			Timestamp: sct.Timestamp,
			PrecertEntry: &ct.PreCert{
				IssuerKeyHash:  sha256.Sum256(inter.RawSubjectPublicKeyInfo),
				TBSCertificate: cert.RawTBSCertificate,
			},
		},
	}
	input, err := ct.SerializeSCTSignatureInput(*sct, ct.LogEntry{Leaf: leaf})
	if err != nil {
		return pkix.Extension{}, err
	}
	sig, err := cttls.CreateSignature(*s.ctKey, cttls.SHA256, input) // ct-go wants the key by value
	if err != nil {
		return pkix.Extension{}, err
	}
	sct.Signature = ct.DigitallySigned(sig)
	list, err := x509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{sct})
	if err != nil {
		return pkix.Extension{}, err
	}
	raw, err := cttls.Marshal(*list)
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(raw)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: value}, nil
}

// derString is a Fulcio extension holding a DER UTF8String, as Fulcio
// writes all but the deprecated ones.
func derString(oid asn1.ObjectIdentifier, v string) pkix.Extension {
	value, err := asn1.MarshalWithParams(v, "utf8")
	if err != nil {
		panic(err) // a Go string always marshals
	}
	return pkix.Extension{Id: oid, Value: value}
}

// keyID is the SHA-256 of a PKIX public key, how Rekor and CT logs are named.
func keyID(pub crypto.PublicKey) ([32]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(der), nil
}

// rekor is a sign.Transparency that logs DSSE envelopes in the
// VirtualSigstore's Rekor, with an inclusion proof (which v0.3 bundles need)
// and a signed entry timestamp (which makes the integrated time trusted).
type rekor struct{ virtual *ca.VirtualSigstore }

func (r rekor) GetTransparencyLogEntry(_ context.Context, certPEM []byte, b *protobundle.Bundle) error {
	env := b.GetDsseEnvelope()
	if env == nil || len(env.Signatures) != 1 {
		return errors.New("virtual Rekor logs DSSE envelopes with one signature")
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("virtual Rekor logs keyless signatures only")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	sig := env.Signatures[0].Sig
	envelope := &ssldsse.Envelope{
		PayloadType: env.PayloadType,
		Payload:     base64.StdEncoding.EncodeToString(env.Payload),
		Signatures:  []ssldsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	}
	integrated := time.Now().Unix()
	entry, err := r.virtual.GenerateTlogEntry(cert, envelope, sig, integrated, true)
	if err != nil {
		return err
	}
	tle := entry.TransparencyLogEntry()
	// The VirtualSigstore keeps the entry's SET to itself; sign the same
	// payload again to put it in the bundle.
	set, err := r.virtual.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: integrated,
		LogIndex:       tle.LogIndex,
		LogID:          hex.EncodeToString(tle.LogId.KeyId),
	})
	if err != nil {
		return err
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	b.VerificationMaterial.TlogEntries = append(b.VerificationMaterial.TlogEntries, tle)
	return nil
}

// trusted is the VirtualSigstore's trusted material with the virtual Fulcio
// CA and CT log in place of its own.
type trusted struct{ s *Sigstore }

func (t trusted) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return []root.CertificateAuthority{t.s.fulcio}
}

func (t trusted) CTLogs() map[string]*root.TransparencyLog { return t.s.ctLogs }

func (t trusted) TimestampingAuthorities() []root.TimestampingAuthority {
	return t.s.virtual.TimestampingAuthorities()
}

func (t trusted) RekorLogs() map[string]*root.TransparencyLog { return t.s.virtual.RekorLogs() }

func (t trusted) PublicKeyVerifier(keyID string) (root.TimeConstrainedVerifier, error) {
	return t.s.virtual.PublicKeyVerifier(keyID)
}
