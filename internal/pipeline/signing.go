package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/sign"
	"github.com/gantry-build/gantry/internal/supplychain"
	"github.com/gantry-build/gantry/magetools/config"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions' workflow identities.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// WithSigning returns r with the SupplyChain that Config.Signing asks for:
// a key signer, the workflow's keyless identity, or none (off, warned).
// What cannot sign fails here, before anything is built.
func (r Run) WithSigning() (Run, error) {
	mode := r.Config.SigningFor(r.inActions())
	var signer supplychain.Signer
	switch mode {
	case config.SigningOff:
		r.Log.Warn("signing is off (GANTRY_SIGNING): the images are pushed unsigned, with no SBOM and no provenance; README, Verifying an image")
		r.SupplyChain = nil
		return r, nil
	case config.SigningKey:
		key, err := r.keySigner()
		if err != nil {
			return r, err
		}
		signer = key
	case config.SigningKeyless:
		if r.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || r.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
			return r, fmt.Errorf("signing is keyless but this job gets no OIDC token to sign with: give the publish job `permissions: id-token: write` (mage check: workflow-signing), or sign with a key (GANTRY_SIGNING_KEY), or set GANTRY_SIGNING=off")
		}
		signer = sign.Keyless{Token: func(ctx context.Context) (string, error) {
			return sign.ActionsToken(ctx, r.Getenv, http.DefaultClient)
		}}
	}
	verifier, cosign, err := r.Verifier(signer)
	if err != nil {
		return r, err
	}
	r.SupplyChain = supplychain.New(r.registryClient(), signer, verifier, cosign, r.Log)
	return r, nil
}

// keySigner loads Config.SigningKey with COSIGN_PASSWORD, as cosign does.
func (r Run) keySigner() (*sign.KeySigner, error) {
	pem, err := os.ReadFile(r.Config.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("read the signing key: %w; set GANTRY_SIGNING_KEY (Config.SigningKey) to a cosign private key (cosign generate-key-pair)", err)
	}
	signer, err := sign.NewKeySigner(pem, []byte(r.Getenv("COSIGN_PASSWORD")))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.Config.SigningKey, err)
	}
	return signer.(*sign.KeySigner), nil
}

// Verifier returns what verification trusts, and the cosign flags that
// trust the same: Config.VerifyKey; else the public key of signer or of
// Config.SigningKey; else the keyless identity of this repository's
// workflow (Config.Workflow) on the publishing branch and on v* tags.
func (r Run) Verifier(signer supplychain.Signer) (supplychain.Verifier, []string, error) {
	keyFlags := func(path string) []string { return []string{"--key", path, "--insecure-ignore-tlog"} }
	if path := r.Config.VerifyKey; path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read the verification key: %w; set GANTRY_VERIFY_KEY (Config.VerifyKey) to a cosign public key (cosign.pub)", err)
		}
		v, err := sign.NewKeyVerifier(pem)
		if err != nil {
			return nil, nil, fmt.Errorf("verification key %s: %w", path, err)
		}
		return v, keyFlags(path), nil
	}
	key, isKey := signer.(*sign.KeySigner)
	if !isKey && r.Config.SigningKey != "" {
		var err error
		if key, err = r.keySigner(); err != nil {
			return nil, nil, err
		}
	}
	if key != nil {
		v, err := sign.NewKeyVerifier(key.PublicPEM())
		if err != nil {
			return nil, nil, err
		}
		// cosign.key's public half, as cosign generate-key-pair names it.
		return v, keyFlags(strings.TrimSuffix(r.Config.SigningKey, ".key") + ".pub"), nil
	}
	if r.Event.Repository == "" {
		return nil, nil, fmt.Errorf("cannot tell which workflow's keyless signatures to trust: %s; set GANTRY_VERIFY_KEY to verify with a key", r.Event.RepositoryTried)
	}
	trusted, err := sign.PublicGoodRoot()
	if err != nil {
		return nil, nil, fmt.Errorf("fetch Sigstore's trusted root: %w", err)
	}
	id := r.identity()
	v, err := sign.NewKeylessVerifier(trusted, id)
	if err != nil {
		return nil, nil, err
	}
	return v, []string{"--certificate-identity-regexp", id.SANRegexp, "--certificate-oidc-issuer", id.Issuer}, nil
}

// identity is the keyless identity verification trusts: Config.Workflow of
// this repository, run for the publishing branch or a v* tag.
func (r Run) identity() sign.Identity {
	workflow := fmt.Sprintf("%s/%s/%s", r.server(), r.Event.Repository, r.Config.Workflow)
	return sign.Identity{
		SANRegexp: "^" + regexp.QuoteMeta(workflow) + "@refs/(heads/" + regexp.QuoteMeta(r.Config.PublishBranch) + "|tags/v.+)$",
		Issuer:    GitHubIssuer,
	}
}

// registryClient is the run's registry client, which the supply chain
// shares (a fake registry in tests gets the default client).
func (r Run) registryClient() registry.Client {
	if c, ok := r.Registry.(registry.Client); ok {
		return c
	}
	return registry.New()
}

// VerifyImage checks the image ref names (a tag or a digest reference) as a
// deployer would, trusting what Verifier trusts: a signature for any
// trusted ref, provenance naming the commit of its revision label, and an
// SBOM per platform that matches its binary. The report says what passed.
func (r Run) VerifyImage(ctx context.Context, ref string) (supplychain.Report, error) {
	parsed, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return supplychain.Report{}, fmt.Errorf("verify %s: %w; name an image such as ghcr.io/acme/svc:1.2.3", ref, err)
	}
	found, ok, err := r.Registry.Lookup(ctx, ref)
	switch {
	case err != nil:
		return supplychain.Report{}, err
	case !ok:
		return supplychain.Report{}, fmt.Errorf("verify %s: no such image", ref)
	case found.Revision == "":
		return supplychain.Report{}, fmt.Errorf("verify %s: the image has no %s label, so nothing says which commit it is", ref, registry.RevisionLabel)
	}
	verifier, cosign, err := r.Verifier(nil)
	if err != nil {
		return supplychain.Report{}, err
	}
	img := supplychain.Image{Repo: parsed.Context().Name(), Digest: found.Digest, Commit: found.Revision}
	return supplychain.New(r.registryClient(), nil, verifier, cosign, r.Log).Verify(ctx, img, "")
}
