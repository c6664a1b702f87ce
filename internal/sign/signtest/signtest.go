// Package signtest is an in-process Sigstore for tests of keyless signing.
// Fulcio and Rekor v1 are httptest servers, so bundles are made by
// sign.Keyless itself, talking to them through sigstore-go's clients. The
// Rekor log (and timestamp authority) is sigstore-go's
// testing/ca.VirtualSigstore; the Fulcio CA and CT log are our own, because
// the VirtualSigstore keeps its Fulcio key private and its leaves lack what
// the real Fulcio puts in a GitHub Actions certificate (a URI SAN, the
// source ref, an embedded SCT). So bundles verify with package sign's
// production keyless verifier, no check relaxed.
package signtest

import (
	"bytes"
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
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

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
	// The in-process Fulcio and Rekor servers sign.Keyless talks to.
	fulcioURL, rekorURL string
}

// New starts a virtual Sigstore for t, its Fulcio and Rekor served by
// httptest servers closed when t ends.
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
	s := &Sigstore{
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
	fulcio := httptest.NewServer(http.HandlerFunc(s.serveFulcio))
	t.Cleanup(fulcio.Close)
	rekor := httptest.NewServer(http.HandlerFunc(s.serveRekor))
	t.Cleanup(rekor.Close)
	s.fulcioURL, s.rekorURL = fulcio.URL, rekor.URL
	return s
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
// issuer issuer: it is sign.Keyless itself, pointed at the virtual Fulcio and
// Rekor servers, with a token for that identity (Token). The certificate's
// source repository ref is the part of the identity after its last "@", as
// for a GitHub workflow.
func (s *Sigstore) Signer(identity, issuer string) sign.Signer {
	token := Token(identity, issuer)
	return sign.Keyless{
		FulcioURL: s.fulcioURL,
		RekorURL:  s.rekorURL,
		Token:     func(context.Context) (string, error) { return token, nil },
	}
}

// Token is an (unsigned) OIDC token for identity from issuer, as the virtual
// Fulcio reads it: sub is the identity, ref its part after the last "@";
// for GitHub Actions it also has the job_workflow_ref the real one carries.
func Token(identity, issuer string) string {
	claims := map[string]string{"iss": issuer, "sub": identity}
	if i := strings.LastIndex(identity, "@"); i >= 0 {
		claims["ref"] = identity[i+1:]
	}
	if wf, ok := strings.CutPrefix(identity, "https://github.com/"); ok {
		claims["job_workflow_ref"] = wf
	}
	b, err := json.Marshal(claims)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(b) + "." + enc([]byte("unsigned"))
}

// serveFulcio is Fulcio's /api/v2/signingCert: it checks the proof of
// possession (the token's subject signed with the key) and issues a leaf for
// the token's claims. Unlike Fulcio, it trusts the token unverified.
func (s *Sigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.NotFound(w, r)
		return
	}
	var claims struct {
		Issuer  string `json:"iss"`
		Subject string `json:"sub"`
		Ref     string `json:"ref"`
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession []byte `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		http.Error(w, "no bearer token", http.StatusUnauthorized)
		return
	}
	rawClaims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		err = json.Unmarshal(rawClaims, &claims)
	}
	if err != nil {
		http.Error(w, "token claims: "+err.Error(), http.StatusUnauthorized)
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "request: "+err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		http.Error(w, "public key: "+err.Error(), http.StatusBadRequest)
		return
	}
	v, err := signature.LoadDefaultVerifier(pub)
	if err == nil {
		err = v.VerifySignature(bytes.NewReader(req.PublicKeyRequest.ProofOfPossession), strings.NewReader(claims.Subject))
	}
	if err != nil {
		http.Error(w, "proof of possession: "+err.Error(), http.StatusBadRequest)
		return
	}
	leaf, err := s.leaf(pub, claims.Subject, claims.Issuer, claims.Ref)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var chain []string
	for _, der := range [][]byte{leaf, s.fulcio.Intermediates[0].Raw, s.fulcio.Root.Raw} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	}
	writeJSON(w, http.StatusOK, map[string]any{ // sigstore-go's Fulcio client wants 200
		"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}},
	})
}

// leaf issues a Fulcio-style code-signing certificate for pub, valid for ten
// minutes from a minute ago, with an SCT from the virtual CT log embedded.
func (s *Sigstore) leaf(pub crypto.PublicKey, identity, issuer, ref string) ([]byte, error) {
	san, err := url.Parse(identity)
	if err != nil {
		return nil, fmt.Errorf("identity %q is not a URI: %w", identity, err)
	}
	exts := []pkix.Extension{
		{Id: certificate.OIDIssuer, Value: []byte(issuer)},
		derString(certificate.OIDIssuerV2, issuer),
	}
	if ref != "" {
		exts = append(exts, derString(certificate.OIDSourceRepositoryRef, ref))
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

// serveRekor is Rekor v1's entry upload for the dsse kind, logging in the
// VirtualSigstore's log: the answer has an inclusion proof (which v0.3
// bundles need) and a signed entry timestamp (which makes the integrated
// time trusted).
func (s *Sigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Kind string `json:"kind"`
		Spec struct {
			ProposedContent struct {
				Envelope  string   `json:"envelope"`
				Verifiers [][]byte `json:"verifiers"`
			} `json:"proposedContent"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Kind != "dsse" || len(req.Spec.ProposedContent.Verifiers) != 1 {
		http.Error(w, fmt.Sprintf("want a dsse entry with one verifier (%v)", err), http.StatusBadRequest)
		return
	}
	var env ssldsse.Envelope
	if err := json.Unmarshal([]byte(req.Spec.ProposedContent.Envelope), &env); err != nil || len(env.Signatures) != 1 {
		http.Error(w, fmt.Sprintf("want an envelope with one signature (%v)", err), http.StatusBadRequest)
		return
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		http.Error(w, "signature: "+err.Error(), http.StatusBadRequest)
		return
	}
	block, _ := pem.Decode(req.Spec.ProposedContent.Verifiers[0])
	if block == nil || block.Type != "CERTIFICATE" {
		http.Error(w, "the virtual Rekor logs keyless signatures only", http.StatusBadRequest)
		return
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		http.Error(w, "certificate: "+err.Error(), http.StatusBadRequest)
		return
	}
	integrated := time.Now().Unix()
	entry, err := s.virtual.GenerateTlogEntry(cert, &env, sig, integrated, true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	tle := entry.TransparencyLogEntry()
	body := base64.StdEncoding.EncodeToString(tle.CanonicalizedBody)
	logID := hex.EncodeToString(tle.LogId.KeyId)
	// The VirtualSigstore keeps the entry's SET to itself; sign the same
	// payload again for the answer.
	set, err := s.virtual.RekorSignPayload(tlog.RekorPayload{Body: body, IntegratedTime: integrated, LogIndex: tle.LogIndex, LogID: logID})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	proof := tle.InclusionProof
	hashes := []string{}
	for _, h := range proof.Hashes {
		hashes = append(hashes, hex.EncodeToString(h))
	}
	sum := sha256.Sum256(tle.CanonicalizedBody)
	uuid := hex.EncodeToString(sum[:])
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	writeJSON(w, http.StatusCreated, map[string]any{uuid: map[string]any{
		"body":           body,
		"integratedTime": integrated,
		"logID":          logID,
		"logIndex":       tle.LogIndex,
		"verification": map[string]any{
			"signedEntryTimestamp": set,
			"inclusionProof": map[string]any{
				"checkpoint": proof.Checkpoint.Envelope,
				"hashes":     hashes,
				"logIndex":   proof.LogIndex,
				"rootHash":   hex.EncodeToString(proof.RootHash),
				"treeSize":   proof.TreeSize,
			},
		},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client sees a short body if this fails
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
