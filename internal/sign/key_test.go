package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/sign"
)

const (
	digestA = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digestB = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	digestC = "sha256:3333333333333333333333333333333333333333333333333333333333333333"

	cosignSignType = "https://sigstore.dev/cosign/sign/v1"
	cycloneDXType  = "https://cyclonedx.org/bom"
	slsaType       = "https://slsa.dev/provenance/v1"
)

// statement is an in-toto v1 statement about digests.
func statement(t *testing.T, predicateType string, predicate any, digests ...string) []byte {
	t.Helper()
	type subject struct {
		Digest map[string]string `json:"digest"`
	}
	s := struct {
		Type          string    `json:"_type"`
		Subject       []subject `json:"subject"`
		PredicateType string    `json:"predicateType"`
		Predicate     any       `json:"predicate"`
	}{Type: "https://in-toto.io/Statement/v1", PredicateType: predicateType, Predicate: predicate}
	for _, d := range digests {
		s.Subject = append(s.Subject, subject{Digest: map[string]string{"sha256": strings.TrimPrefix(d, "sha256:")}})
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bundleJSON is the parts of a bundle the tests look at.
type bundleJSON struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		Certificate *struct {
			RawBytes string `json:"rawBytes"`
		} `json:"certificate"`
		TlogEntries []json.RawMessage `json:"tlogEntries"`
	} `json:"verificationMaterial"`
	DSSEEnvelope struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig string `json:"sig"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

func parseBundle(t *testing.T, b []byte) bundleJSON {
	t.Helper()
	var out bundleJSON
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("bundle is not JSON: %v\n%s", err, b)
	}
	return out
}

func newKey(t *testing.T, password string) (signer sign.Signer, publicPEM []byte) {
	t.Helper()
	priv, pub, err := sign.GenerateKey([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	signer, err = sign.NewKeySigner(priv, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return signer, pub
}

func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	signer, pub := newKey(t, "hunter2")
	verifier, err := sign.NewKeyVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	pkix, _ := pem.Decode(pub)
	sum := sha256.Sum256(pkix.Bytes)
	wantIdentity := "key sha256:" + hex.EncodeToString(sum[:])
	if got := signer.(*sign.KeySigner).PublicPEM(); !bytes.Equal(got, pub) {
		t.Errorf("PublicPEM() = %s, want the public key GenerateKey wrote: %s", got, pub)
	}

	for _, tc := range []struct {
		name          string
		predicateType string
		predicate     any
		subjects      []string
		verifyAs      string
	}{
		{"signature", cosignSignType, map[string]any{}, []string{digestA}, digestA},
		{"sbom", cycloneDXType, map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6"}, []string{digestA}, digestA},
		{"provenance of two subjects, verified as the second", slsaType, map[string]any{"buildDefinition": map[string]any{"buildType": "x"}}, []string{digestA, digestB}, digestB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stmt := statement(t, tc.predicateType, tc.predicate, tc.subjects...)
			b, err := signer.Sign(context.Background(), stmt)
			if err != nil {
				t.Fatal(err)
			}
			// What cosign v3 writes for `cosign attest --key`: a v0.3 bundle,
			// a DSSE in-toto envelope, the key named by its hint, no log entry.
			pb := parseBundle(t, b)
			if pb.MediaType != sign.BundleMediaType {
				t.Errorf("mediaType = %q, want %q", pb.MediaType, sign.BundleMediaType)
			}
			if pb.DSSEEnvelope.PayloadType != "application/vnd.in-toto+json" {
				t.Errorf("payloadType = %q", pb.DSSEEnvelope.PayloadType)
			}
			if payload, _ := base64.StdEncoding.DecodeString(pb.DSSEEnvelope.Payload); !bytes.Equal(payload, stmt) {
				t.Errorf("payload = %s, want the statement %s", payload, stmt)
			}
			if pb.VerificationMaterial.PublicKey == nil || pb.VerificationMaterial.PublicKey.Hint != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("verificationMaterial = %+v, want publicKey.hint %s", pb.VerificationMaterial, base64.StdEncoding.EncodeToString(sum[:]))
			}
			if len(pb.VerificationMaterial.TlogEntries) != 0 {
				t.Errorf("key bundle has %d tlog entries, want none (nothing is uploaded)", len(pb.VerificationMaterial.TlogEntries))
			}

			got, err := verifier.Verify(b, tc.verifyAs)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(got.Statement, stmt) {
				t.Errorf("Statement = %s, want %s", got.Statement, stmt)
			}
			if got.PredicateType != tc.predicateType {
				t.Errorf("PredicateType = %q, want %q", got.PredicateType, tc.predicateType)
			}
			if !slices.Equal(got.Subjects, tc.subjects) {
				t.Errorf("Subjects = %q, want %q", got.Subjects, tc.subjects)
			}
			if got.Identity != wantIdentity || got.Issuer != "" || got.Ref != "" {
				t.Errorf("Identity, Issuer, Ref = %q, %q, %q, want %q, none, none", got.Identity, got.Issuer, got.Ref, wantIdentity)
			}
		})
	}
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestKeyFormats signs with each accepted private key format and verifies
// with the public half.
func TestKeyFormats(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sigstorePriv, sigstorePub, err := sign.GenerateKey([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	// Older cosigns wrote the same encrypted key under another PEM type.
	cosignPriv := bytes.Replace(sigstorePriv, []byte("SIGSTORE"), []byte("COSIGN"), 2)
	if !bytes.Contains(sigstorePriv, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) {
		t.Fatalf("GenerateKey wrote %s, want an ENCRYPTED SIGSTORE PRIVATE KEY", sigstorePriv)
	}
	for _, tc := range []struct {
		name           string
		priv, password []byte
		pub            []byte
	}{
		{"cosign generate-key-pair", sigstorePriv, []byte("pw"), sigstorePub},
		{"older cosign", cosignPriv, []byte("pw"), sigstorePub},
		{"PKCS#8 ECDSA", pkcs8PEM(t, ec), nil, publicPEM(t, ec.Public())},
		{"PKCS#8 Ed25519", pkcs8PEM(t, ed), nil, publicPEM(t, edPub)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			signer, err := sign.NewKeySigner(tc.priv, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			b, err := signer.Sign(context.Background(), statement(t, cosignSignType, map[string]any{}, digestA))
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := sign.NewKeyVerifier(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			got, err := verifier.Verify(b, digestA)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			block, _ := pem.Decode(tc.pub)
			sum := sha256.Sum256(block.Bytes)
			if want := "key sha256:" + hex.EncodeToString(sum[:]); got.Identity != want {
				t.Errorf("verified identity %q, want the key's %q", got.Identity, want)
			}
		})
	}
}

func TestNewKeySignerErrors(t *testing.T) {
	t.Parallel()
	priv, _, err := sign.GenerateKey([]byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	for _, tc := range []struct {
		name, key, password, want string
	}{
		{"wrong password", string(priv), "wrong", "set COSIGN_PASSWORD to the key's password"},
		{"no password", string(priv), "", "set COSIGN_PASSWORD to the key's password"},
		{"not PEM", "cosign.key", "", "no PEM block found"},
		{"SEC1 EC key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})), "", `PEM type "EC PRIVATE KEY" is not supported`},
		{"PKCS#8 garbage", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")})), "", "must be PKCS#8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sign.NewKeySigner([]byte(tc.key), []byte(tc.password))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewKeySigner error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// tamper rewrites one field of a bundle.
func tamper(t *testing.T, b []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeyVerifyRejects(t *testing.T) {
	t.Parallel()
	signer, pub := newKey(t, "pw")
	_, otherPub := newKey(t, "pw")
	stmt := statement(t, cosignSignType, map[string]any{}, digestA, digestB)
	b, err := signer.Sign(context.Background(), stmt)
	if err != nil {
		t.Fatal(err)
	}
	// An attacker's rewrite of the statement to be about another image.
	otherStmt := bytes.Replace(stmt, []byte(strings.TrimPrefix(digestA, "sha256:")), []byte(strings.TrimPrefix(digestC, "sha256:")), 1)
	for _, tc := range []struct {
		name   string
		pub    []byte
		bundle []byte
		digest string
		want   string
	}{
		{"payload retargeted to another image", pub, tamper(t, b, func(m map[string]any) {
			m["dsseEnvelope"].(map[string]any)["payload"] = base64.StdEncoding.EncodeToString(otherStmt)
		}), digestC, "failed to verify signature"},
		{"tampered payload, same subject", pub, tamper(t, b, func(m map[string]any) {
			m["dsseEnvelope"].(map[string]any)["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(stmt, []byte(`"predicate":{}`), []byte(`"predicate":{"x":1}`), 1))
		}), digestA, "failed to verify signature"},
		{"other key", otherPub, b, digestA, "failed to verify signature"},
		{"subject is another image", pub, b, digestC, "bundle attests " + digestA + ", " + digestB + ", not " + digestC},
		{"malformed digest", pub, b, "sha256:abc", "not sha256:<64 hex digits>"},
		{"not a bundle", pub, []byte(`{"mediaType":"x"}`), digestA, "read bundle"},
		{"not in-toto", pub, tamper(t, b, func(m map[string]any) {
			m["dsseEnvelope"].(map[string]any)["payloadType"] = "text/plain"
		}), digestA, "does not hold an in-toto statement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := sign.NewKeyVerifier(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(tc.bundle, tc.digest)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %+v, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
}

func TestNewKeyVerifierRejectsNonKey(t *testing.T) {
	t.Parallel()
	priv, _, err := sign.GenerateKey([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.NewKeyVerifier(priv); err == nil || !strings.Contains(err.Error(), "cosign.pub") {
		t.Fatalf("NewKeyVerifier(private key) error = %v, want one naming cosign.pub", err)
	}
}

// TestCosignVerifiesKeyBundle checks the bundle against cosign itself, when
// it is installed.
func TestCosignVerifiesKeyBundle(t *testing.T) {
	t.Parallel()
	cosign, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign is not on PATH: install cosign v3 to check bundles against it")
	}
	signer, pub := newKey(t, "pw")
	b, err := signer.Sign(context.Background(), statement(t, cycloneDXType, map[string]any{"bomFormat": "CycloneDX"}, digestA))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubPath, bundlePath := filepath.Join(dir, "cosign.pub"), filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(pubPath, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundlePath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cosign, "verify-blob-attestation", "--key", pubPath, "--bundle", bundlePath,
		"--insecure-ignore-tlog", "--type", "cyclonedx", "--digest", strings.TrimPrefix(digestA, "sha256:"), "--digestAlg", "sha256")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}
