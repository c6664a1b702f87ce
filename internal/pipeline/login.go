package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-build/gantry/internal/run"
)

// Login logs buildx and Gantry in to ghcr.io with GITHUB_TOKEN in GitHub
// Actions; elsewhere it does nothing. The token goes to docker on stdin,
// never into a log, and into a Docker configuration private to this run:
// logout restores DOCKER_CONFIG and deletes it, so no credential stays
// behind on a self-hosted runner.
func (r Run) Login(ctx context.Context) (logout func(), err error) {
	token := r.Getenv("GITHUB_TOKEN")
	host, _, _ := strings.Cut(r.Config.Image, "/")
	if token == "" || host != "ghcr.io" {
		return func() {}, nil
	}
	r.Actions().AddMask(token)
	logout, err = privateDockerConfig()
	if err != nil {
		return nil, err
	}
	user := r.Getenv("GITHUB_ACTOR")
	if user == "" {
		user = "github-actions"
	}
	cmd := run.Cmd{Name: "docker", Args: []string{"login", host, "--username", user, "--password-stdin"}, Stdin: strings.NewReader(token), Log: r.Log}
	if err := run.Run(ctx, cmd); err != nil {
		logout()
		return nil, fmt.Errorf("docker login %s: %w; the publishing job needs `permissions: packages: write`", host, err)
	}
	r.Log.WithField("registry", host).Info("logged in for this run")
	return logout, nil
}

// privateDockerConfig points DOCKER_CONFIG, which docker, buildx and
// go-containerregistry all read, at a temporary copy of the user's: the
// same builders, plugins and contexts (linked), and a copy of config.json
// that a login may write to. restore undoes it.
func privateDockerConfig() (restore func(), err error) {
	orig, set := os.LookupEnv("DOCKER_CONFIG")
	dir := orig
	if !set || dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find the Docker configuration: %w; set DOCKER_CONFIG", err)
		}
		dir = filepath.Join(home, ".docker")
	}
	tmp, err := os.MkdirTemp("", "gantry-docker-config-")
	if err != nil {
		return nil, err
	}
	restore = func() {
		if set {
			os.Setenv("DOCKER_CONFIG", orig)
		} else {
			os.Unsetenv("DOCKER_CONFIG")
		}
		os.RemoveAll(tmp)
	}
	if err := linkConfig(dir, tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("prepare a private Docker configuration from %s: %w", dir, err)
	}
	os.Setenv("DOCKER_CONFIG", tmp)
	return restore, nil
}

// linkConfig fills dst with links to every entry of the Docker
// configuration src but config.json, which it copies.
func linkConfig(src, dst string) error {
	entries, err := os.ReadDir(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "config.json" {
			continue
		}
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(filepath.Join(src, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "config.json"), data, 0o600)
}
