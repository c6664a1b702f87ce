// Package sign signs in-toto statements into Sigstore bundles (v0.3, a DSSE
// envelope of the statement) the way cosign v3 does for `cosign sign` and
// `cosign attest` with the new bundle format, and verifies such bundles
// against a public key or against Sigstore's trusted material and an identity
// policy. All the cryptography is sigstore-go's.
package sign

import (
	"context"
	"fmt"

	sigsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is the media type of the bundles Sign returns.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// inTotoPayloadType is the DSSE payload type of an in-toto statement, the one
// cosign gives every bundle it writes.
const inTotoPayloadType = "application/vnd.in-toto+json"

// Signer signs in-toto statements.
type Signer interface {
	// Sign returns a Sigstore bundle (JSON, media type BundleMediaType)
	// holding a DSSE envelope of statement.
	Sign(ctx context.Context, statement []byte) ([]byte, error)
}

// bundleStatement signs statement as a DSSE envelope with keypair and returns
// the bundle as JSON. It is the one place the bundle's shape is decided (the
// in-toto payload type, protojson encoding, as cosign's
// signcommon.NewAttestationBundle), so key and keyless bundles differ only in
// what opts add: a certificate and a transparency log entry.
func bundleStatement(ctx context.Context, statement []byte, keypair sigsign.Keypair, opts sigsign.BundleOptions) ([]byte, error) {
	opts.Context = ctx
	content := &sigsign.DSSEData{Data: statement, PayloadType: inTotoPayloadType}
	b, err := sigsign.Bundle(content, keypair, opts)
	if err != nil {
		return nil, fmt.Errorf("sign statement: %w", err)
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return out, nil
}
