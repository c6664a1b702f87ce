package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/magetools/config"
)

// fakeDocker puts a docker on PATH whose `login` stores what it read on
// stdin in $DOCKER_CONFIG/config.json, as docker does without a
// credential helper, and records which DOCKER_CONFIG it saw and whether
// the builders linked there were visible.
func fakeDocker(t *testing.T) (seen string) {
	t.Helper()
	bin := t.TempDir()
	seen = filepath.Join(t.TempDir(), "seen")
	script := "#!/bin/sh\n" +
		"token=$(cat)\n" +
		"printf '{\"auths\":{\"ghcr.io\":{\"auth\":\"%s\"}}}' \"$token\" > \"$DOCKER_CONFIG/config.json\"\n" +
		"{ echo \"$DOCKER_CONFIG\"; cat \"$DOCKER_CONFIG/buildx/current\"; } > " + seen + "\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":/usr/bin:/bin")
	return seen
}

func TestLogin(t *testing.T) {
	const token = "ghs_s3cr3tT0k3n"
	loginRun := func(t *testing.T, image string) Run {
		cfg := config.Config{Image: image, Dir: t.TempDir()}
		r := newRun(t, resolve(t, cfg, nil), event.Context{}, plan.Plan{},
			map[string]string{"GITHUB_TOKEN": token, "GITHUB_ACTOR": "octocat", "DOCKER_CONFIG": os.Getenv("DOCKER_CONFIG")})
		r.Builder = buildx.CLI{Log: r.Log}
		return r
	}

	t.Run("ghcr.io: a private configuration, removed afterwards", func(t *testing.T) {
		seen := fakeDocker(t)
		userConfig := t.TempDir()
		t.Setenv("DOCKER_CONFIG", userConfig)
		if err := os.MkdirAll(filepath.Join(userConfig, "buildx"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(userConfig, "buildx", "current"), []byte("gantry-builder\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		original := `{"auths":{"registry.example":{"auth":"b3RoZXI="}}}`
		if err := os.WriteFile(filepath.Join(userConfig, "config.json"), []byte(original), 0o600); err != nil {
			t.Fatal(err)
		}

		r := loginRun(t, "ghcr.io/acme/svc")
		loggedIn, logout, err := r.Login(context.Background())
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if got := os.Getenv("DOCKER_CONFIG"); got != userConfig {
			t.Errorf("Login set this process's DOCKER_CONFIG to %q", got)
		}
		out, err := os.ReadFile(seen)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		private := lines[0]
		// The builds and registry calls of the run logged in read the
		// private configuration; the run it was made from does not.
		if cli, _ := loggedIn.Builder.(buildx.CLI); cli.DockerConfig != private {
			t.Errorf("the logged-in builder reads the Docker configuration %q, want %q", cli.DockerConfig, private)
		}
		// The fake login's config.json holds the token unencoded, which
		// docker's configuration reader refuses: the error names the
		// configuration the client read, before it contacts the registry.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, _, err := loggedIn.Registry.Lookup(ctx, "ghcr.io/acme/svc:main"); err == nil || !strings.Contains(err.Error(), private) {
			t.Errorf("the logged-in registry's lookup: error %v, want one reading the private Docker configuration %s", err, private)
		}
		if cli, _ := r.Builder.(buildx.CLI); cli.DockerConfig != "" {
			t.Errorf("Login changed the run it was called on: its builder reads %q", cli.DockerConfig)
		}
		if len(lines) != 2 || lines[0] != private || private == userConfig || lines[1] != "gantry-builder" {
			t.Errorf("docker login saw DOCKER_CONFIG and builder %q; want the private %q with the user's builders", lines, private)
		}
		if data, _ := os.ReadFile(filepath.Join(private, "config.json")); !strings.Contains(string(data), token) {
			t.Errorf("the private config.json holds %q, want the login", data)
		}
		if data, _ := os.ReadFile(filepath.Join(userConfig, "config.json")); string(data) != original {
			t.Errorf("the user's config.json changed to %q", data)
		}

		logout()
		if got := os.Getenv("DOCKER_CONFIG"); got != userConfig {
			t.Errorf("DOCKER_CONFIG = %q after logout, want %q", got, userConfig)
		}
		if _, err := os.Stat(private); !os.IsNotExist(err) {
			t.Errorf("the private configuration %s is still there (%v)", private, err)
		}
		if _, err := os.Stat(filepath.Join(userConfig, "buildx", "current")); err != nil {
			t.Errorf("logout removed the user's builders: %v", err)
		}
	})

	t.Run("another registry: no login", func(t *testing.T) {
		seen := fakeDocker(t)
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		before := os.Getenv("DOCKER_CONFIG")
		r := loginRun(t, "127.0.0.1:5000/acme/svc")
		loggedIn, logout, err := r.Login(context.Background())
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if loggedIn.Builder != r.Builder {
			t.Error("Login changed the builder without logging in")
		}
		logout()
		if _, err := os.Stat(seen); !os.IsNotExist(err) {
			t.Error("docker login ran for a registry that is not ghcr.io")
		}
		if got := os.Getenv("DOCKER_CONFIG"); got != before {
			t.Errorf("DOCKER_CONFIG changed to %q", got)
		}
	})
}
