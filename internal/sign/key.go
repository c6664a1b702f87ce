package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sigsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// PEM block types of the private keys cosign writes (pkg/cosign/keys.go):
// `cosign generate-key-pair` writes the SIGSTORE one, older cosigns the
// COSIGN one; both are scrypt + secretbox over PKCS#8.
const (
	sigstoreKeyType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignKeyType   = "ENCRYPTED COSIGN PRIVATE KEY"
	pkcs8KeyType    = "PRIVATE KEY"
)

// loadOptions are cosign's default key load options
// (cosign.GetDefaultLoadOptions): Ed25519 keys sign Ed25519ph, so a key
// bundle verifies with `cosign verify --key` the same way.
var loadOptions = []signature.LoadOption{options.WithED25519ph()}

// KeySigner signs with a long-lived key, as `cosign sign --key` does with
// --tlog-upload=false: nothing is uploaded (no transparency log), so it works
// offline and in self-hosted CI.
type KeySigner struct {
	keypair *keyPair
}

// NewKeySigner loads a cosign private key (the PEM `cosign generate-key-pair`
// writes, decrypted with password, which callers read from COSIGN_PASSWORD)
// or an unencrypted PKCS#8 PEM key.
func NewKeySigner(keyPEM, password []byte) (Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("read signing key: no PEM block found: pass the private key file `cosign generate-key-pair` wrote (cosign.key)")
	}
	der := block.Bytes
	switch block.Type {
	case sigstoreKeyType, cosignKeyType:
		var err error
		if der, err = encrypted.Decrypt(block.Bytes, password); err != nil {
			return nil, fmt.Errorf("decrypt signing key: %w: set COSIGN_PASSWORD to the key's password", err)
		}
	case pkcs8KeyType:
	default:
		return nil, fmt.Errorf("read signing key: PEM type %q is not supported: use a key from `cosign generate-key-pair` (%s) or an unencrypted PKCS#8 key (%s)", block.Type, sigstoreKeyType, pkcs8KeyType)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key: %w: the key must be PKCS#8 (convert it with `openssl pkcs8 -topk8 -nocrypt`)", err)
	}
	kp, err := newKeyPair(priv)
	if err != nil {
		return nil, err
	}
	return &KeySigner{keypair: kp}, nil
}

// Sign returns a bundle whose verification material is the public key's hint
// (cosign's: base64 of the SHA-256 of the PKIX key), with no log entry.
func (s *KeySigner) Sign(ctx context.Context, statement []byte) ([]byte, error) {
	return bundleStatement(ctx, statement, s.keypair, sigsign.BundleOptions{})
}

// PublicPEM returns the public key as PKIX PEM, as cosign.pub holds it: what
// a verifier of this signer's signatures trusts.
func (s *KeySigner) PublicPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: s.keypair.pkix})
}

// GenerateKey returns a new ECDSA P-256 key pair (cosign's default) in
// cosign's format: the private key PEM-encoded as an ENCRYPTED SIGSTORE
// PRIVATE KEY under password, and the public key as PKIX PEM.
func GenerateKey(password []byte) (privatePEM, publicPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	sealed, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt private key: %w", err)
	}
	publicPEM, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: sigstoreKeyType, Bytes: sealed}), publicPEM, nil
}

// keyIdentity names a key by the SHA-256 of its PKIX encoding, the same for
// the signer and for the verifier that trusts its public half.
func keyIdentity(pkix []byte) string {
	sum := sha256.Sum256(pkix)
	return "key sha256:" + hex.EncodeToString(sum[:])
}

// keyPair is a sigstore-go sign.Keypair over a loaded private key, as
// cosign's internal/key.SignerVerifierKeypair (sigstore-go's own
// EphemeralKeypair can only generate keys, not load one).
type keyPair struct {
	sv   signature.SignerVerifier
	pub  crypto.PublicKey
	pkix []byte
	alg  signature.AlgorithmDetails
}

func newKeyPair(priv crypto.PrivateKey) (*keyPair, error) {
	switch priv.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		return nil, fmt.Errorf("signing key is a %T: use an ECDSA, Ed25519 or RSA key (`cosign generate-key-pair` makes ECDSA P-256)", priv)
	}
	sv, err := signature.LoadDefaultSignerVerifier(priv, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing key's public key: %w", err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	alg, err := signature.GetDefaultAlgorithmDetails(pub, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("signing key's algorithm: %w", err)
	}
	return &keyPair{sv: sv, pub: pub, pkix: pkix, alg: alg}, nil
}

func (k *keyPair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }

func (k *keyPair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}

// GetHint is cosign's key hint: base64 of the SHA-256 of the PKIX key.
func (k *keyPair) GetHint() []byte {
	sum := sha256.Sum256(k.pkix)
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

// GetKeyAlgorithm names the key type the way Fulcio requests do.
func (k *keyPair) GetKeyAlgorithm() string {
	switch k.pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA"
	case *rsa.PublicKey:
		return "RSA"
	default:
		return "ED25519"
	}
}

func (k *keyPair) GetPublicKey() crypto.PublicKey { return k.pub }

func (k *keyPair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// SignData signs data and returns the signature and the digest signed (none
// for pure Ed25519, which hashes inside).
func (k *keyPair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	opts := []signature.SignOption{options.WithContext(ctx)}
	var digest []byte
	if h := k.alg.GetHashType(); h != 0 {
		hasher := h.New()
		hasher.Write(data)
		digest = hasher.Sum(nil)
		opts = append(opts, options.WithDigest(digest))
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	return sig, digest, nil
}
