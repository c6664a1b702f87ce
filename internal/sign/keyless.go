package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sigsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// Sigstore's public-good instance, the default for Keyless.
const (
	PublicGoodFulcio = "https://fulcio.sigstore.dev"
	PublicGoodRekor  = "https://rekor.sigstore.dev"
)

// Keyless signs with an ephemeral key and a Fulcio certificate for the OIDC
// identity of Token (in GitHub Actions, the workflow's), and logs the
// signature in Rekor: what `cosign sign` does in Actions. Empty URLs mean
// the public-good instance.
type Keyless struct {
	FulcioURL, RekorURL string
	Token               func(ctx context.Context) (string, error) // the OIDC ID token
}

// Sign gets a token, a certificate for a fresh key, and a Rekor v1 entry (as
// cosign v3 does without a signing config: an integrated timestamp, so no
// timestamp authority is needed).
func (k Keyless) Sign(ctx context.Context, statement []byte) ([]byte, error) {
	if k.Token == nil {
		return nil, errors.New("keyless signing has no OIDC token source: set Keyless.Token (in GitHub Actions, ActionsToken)")
	}
	token, err := k.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("get OIDC token for keyless signing: %w", err)
	}
	keypair, err := sigsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("generate ephemeral key: %w", err)
	}
	fulcioURL, rekorURL := or(k.FulcioURL, PublicGoodFulcio), or(k.RekorURL, PublicGoodRekor)
	// Timeouts and retries as cosign's bundle.SignData.
	b, err := bundleStatement(ctx, statement, keypair, sigsign.BundleOptions{
		CertificateProvider:        sigsign.NewFulcio(&sigsign.FulcioOptions{BaseURL: fulcioURL, Timeout: 30 * time.Second, Retries: 1}),
		CertificateProviderOptions: &sigsign.CertificateProviderOptions{IDToken: token},
		TransparencyLogs: []sigsign.Transparency{
			sigsign.NewRekor(&sigsign.RekorOptions{BaseURL: rekorURL, Timeout: 90 * time.Second, Retries: 1, Version: 1}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("keyless signing with Fulcio %s and Rekor %s: %w", fulcioURL, rekorURL, err)
	}
	return b, nil
}

// actionsIssuer is the OIDC issuer of GitHub Actions tokens.
const actionsIssuer = "https://token.actions.githubusercontent.com"

// ActionsToken returns a GitHub Actions OIDC token with audience "sigstore",
// from the endpoint the runner names in ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN (set only for jobs allowed to request one).
func ActionsToken(ctx context.Context, getenv func(string) string, client *http.Client) (string, error) {
	reqURL, bearer := getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || bearer == "" {
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are unset, so this job cannot get an OIDC token for keyless signing: give the publish job `permissions: id-token: write` (or sign with a key)")
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL %q: %w", reqURL, err)
	}
	q := u.Query()
	q.Set("audience", "sigstore")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("OIDC token request: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+bearer)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get OIDC token from %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read OIDC token from %s: %w", u.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get OIDC token from %s: %s: %s: check the job's `permissions: id-token: write`", u.Host, resp.Status, strings.TrimSpace(string(body)))
	}
	var tok struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.Value == "" {
		return "", fmt.Errorf("OIDC token response from %s has no \"value\" (%v): is ACTIONS_ID_TOKEN_REQUEST_URL the runner's token endpoint?", u.Host, err)
	}
	return tok.Value, nil
}

// PublicGoodRoot fetches Sigstore's public-good trusted root through TUF
// (sigstore-go's default options: the embedded root of trust and the
// public-good mirror), cached under the user cache directory.
func PublicGoodRoot() (root.TrustedMaterial, error) {
	opts := tuf.DefaultOptions()
	if dir, err := os.UserCacheDir(); err == nil {
		opts.CachePath = filepath.Join(dir, "gantry", "sigstore-tuf")
	}
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("fetch Sigstore's trusted root from %s: %w: check network access to it (or remove the cache at %s)", opts.RepositoryBaseURL, err, opts.CachePath)
	}
	return tr, nil
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
