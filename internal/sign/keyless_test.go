package sign_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/sign"
	"github.com/gantry-build/gantry/internal/sign/signtest"
)

const (
	actions  = "https://token.actions.githubusercontent.com"
	workflow = "https://github.com/o/r/.github/workflows/ci.yml"
)

var policy = sign.Identity{
	SANRegexp: `^https://github\.com/o/r/\.github/workflows/ci\.yml@refs/(heads/main|tags/v.*)$`,
	Issuer:    actions,
}

func TestKeylessIdentity(t *testing.T) {
	t.Parallel()
	ss := signtest.New(t)
	verifier, err := ss.Verifier(policy)
	if err != nil {
		t.Fatal(err)
	}
	stmt := statement(t, slsaType, map[string]any{"buildDefinition": map[string]any{}}, digestA)
	for _, tc := range []struct {
		name, identity, issuer string
		wantRef                string // empty: rejected
		wantErr                []string
	}{
		{"main branch", workflow + "@refs/heads/main", actions, "refs/heads/main", nil},
		{"release tag", workflow + "@refs/tags/v1.2.3", actions, "refs/tags/v1.2.3", nil},
		{"other branch", workflow + "@refs/heads/feature", actions, "", []string{
			"signed by " + workflow + "@refs/heads/feature (issuer " + actions + ")", "wants an identity matching " + policy.SANRegexp}},
		{"other workflow", "https://github.com/o/r/.github/workflows/pr.yml@refs/heads/main", actions, "", []string{
			"signed by https://github.com/o/r/.github/workflows/pr.yml@refs/heads/main"}},
		{"other repository", "https://github.com/evil/r/.github/workflows/ci.yml@refs/heads/main", actions, "", []string{
			"signed by https://github.com/evil/r/.github/workflows/ci.yml@refs/heads/main"}},
		{"other issuer", workflow + "@refs/heads/main", "https://gitlab.com", "", []string{
			"(issuer https://gitlab.com)", "from issuer " + actions}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			signer := ss.Signer(tc.identity, tc.issuer)
			b, err := signer.Sign(context.Background(), stmt)
			if err != nil {
				t.Fatal(err)
			}
			pb := parseBundle(t, b)
			if pb.VerificationMaterial.Certificate == nil || len(pb.VerificationMaterial.TlogEntries) != 1 {
				t.Fatalf("keyless bundle's verification material = %+v, want a certificate and one tlog entry", pb.VerificationMaterial)
			}
			got, err := verifier.Verify(b, digestA)
			if tc.wantRef == "" {
				for _, want := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("Verify = %+v, %v; want an error containing %q", got, err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Identity != tc.identity || got.Issuer != tc.issuer || got.Ref != tc.wantRef {
				t.Errorf("Identity, Issuer, Ref = %q, %q, %q; want %q, %q, %q", got.Identity, got.Issuer, got.Ref, tc.identity, tc.issuer, tc.wantRef)
			}
			if !bytes.Equal(got.Statement, stmt) || got.PredicateType != slsaType || !slices.Equal(got.Subjects, []string{digestA}) {
				t.Errorf("Verified = %+v, want the statement about %s", got, digestA)
			}
		})
	}
}

func TestKeylessVerifyRejects(t *testing.T) {
	t.Parallel()
	ss := signtest.New(t)
	stmt := statement(t, cosignSignType, map[string]any{}, digestA)
	b, err := ss.Signer(workflow+"@refs/heads/main", actions).Sign(context.Background(), stmt)
	if err != nil {
		t.Fatal(err)
	}
	keySigner, _ := newKey(t, "pw")
	keyBundle, err := keySigner.Sign(context.Background(), stmt)
	if err != nil {
		t.Fatal(err)
	}
	otherSigstore := signtest.New(t)
	for _, tc := range []struct {
		name   string
		ss     *signtest.Sigstore
		bundle []byte
		digest string
		want   string
	}{
		{"tampered payload", ss, tamper(t, b, func(m map[string]any) {
			m["dsseEnvelope"].(map[string]any)["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(stmt, []byte(`"predicate":{}`), []byte(`"predicate":{"x":1}`), 1))
		}), digestA, "does not match envelope payload hash"},
		{"signed in another Sigstore", otherSigstore, b, digestA, "not enough verified log entries"},
		{"no log entry", ss, tamper(t, b, func(m map[string]any) {
			delete(m["verificationMaterial"].(map[string]any), "tlogEntries")
		}), digestA, "not enough verified log entries"},
		{"signed with a key", ss, keyBundle, digestA, "not enough verified log entries"},
		{"subject is another image", ss, b, digestB, "bundle attests " + digestA + ", not " + digestB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := tc.ss.Verifier(policy)
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

func TestNewKeylessVerifierPolicy(t *testing.T) {
	t.Parallel()
	ss := signtest.New(t)
	for _, tc := range []struct {
		name string
		id   sign.Identity
		want string
	}{
		{"no issuer", sign.Identity{SANRegexp: policy.SANRegexp}, "set both the certificate identity regexp and the OIDC issuer"},
		{"no SAN", sign.Identity{Issuer: actions}, "set both the certificate identity regexp and the OIDC issuer"},
		{"bad regexp", sign.Identity{SANRegexp: "(", Issuer: actions}, "fix the regular expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := sign.NewKeylessVerifier(ss.TrustedMaterial(), tc.id); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewKeylessVerifier error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// jwt is an unsigned token with claims, enough for what reads claims
// without verifying them.
func jwt(t *testing.T, claims map[string]string) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(b) + ".c2ln"
}

func TestKeylessSignNeedsToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		token func(context.Context) (string, error)
		want  string
	}{
		{"no token source", nil, "set Keyless.Token"},
		{"token error", func(context.Context) (string, error) { return "", errors.New("no id-token permission") }, "get OIDC token for keyless signing: no id-token permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Unroutable URLs: the token is needed before anything is sent.
			k := sign.Keyless{FulcioURL: "http://127.0.0.1:0", RekorURL: "http://127.0.0.1:0", Token: tc.token}
			if _, err := k.Sign(context.Background(), []byte("{}")); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestActionsToken(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.Header.Get("Authorization") != "bearer request-token":
			http.Error(w, "bad auth "+r.Header.Get("Authorization"), http.StatusUnauthorized)
		case q.Get("audience") != "sigstore" || q.Get("api-version") != "2.0":
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
		default:
			_, _ = w.Write([]byte(`{"count":1,"value":"the.jwt.token"}`))
		}
	}))
	t.Cleanup(srv.Close)
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, tc := range []struct {
		name      string
		vars      map[string]string
		want, err string
	}{
		{"token", map[string]string{
			"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token?api-version=2.0",
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
		}, "the.jwt.token", ""},
		{"unset", map[string]string{}, "", "give the publish job `permissions: id-token: write`"},
		{"token unset", map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL}, "", "give the publish job `permissions: id-token: write`"},
		{"refused", map[string]string{
			"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token?api-version=2.0",
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "stale",
		}, "", "401 Unauthorized: bad auth bearer stale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := sign.ActionsToken(context.Background(), env(tc.vars), srv.Client())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ActionsToken = %q, %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ActionsToken = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestKeylessSignFulcioRefuses(t *testing.T) {
	t.Parallel()
	fulcio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "token expired", http.StatusUnauthorized)
	}))
	t.Cleanup(fulcio.Close)
	token := signtest.Token(workflow+"@refs/heads/main", actions)
	k := sign.Keyless{FulcioURL: fulcio.URL, RekorURL: "http://127.0.0.1:0", Token: func(context.Context) (string, error) { return token, nil }}
	_, err := k.Sign(context.Background(), statement(t, cosignSignType, map[string]any{}, digestA))
	for _, want := range []string{"keyless signing with Fulcio " + fulcio.URL + " and Rekor http://127.0.0.1:0", "Fulcio returned 401: token expired"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Sign error = %v, want one containing %q", err, want)
		}
	}
}
