package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/run"
)

// Login logs buildx and Gantry in to ghcr.io with GITHUB_TOKEN in GitHub
// Actions and returns the run logged in; elsewhere it returns r as it is.
// The token goes to docker on stdin, never into a log, and into a Docker
// configuration private to this run, which the returned run's builder and
// registry read (DOCKER_CONFIG in their commands' environment, a keychain
// on that directory) while this process's environment stays as it was.
// logout deletes it, so no credential stays behind on a self-hosted runner.
func (r Run) Login(ctx context.Context) (loggedIn Run, logout func(), err error) {
	token := r.Getenv("GITHUB_TOKEN")
	host, _, _ := strings.Cut(r.Config.Image, "/")
	if token == "" || host != "ghcr.io" {
		return r, func() {}, nil
	}
	r.Actions().AddMask(token)
	dir, err := privateDockerConfig(r.Getenv("DOCKER_CONFIG"))
	if err != nil {
		return r, nil, err
	}
	logout = func() { os.RemoveAll(dir) }
	user := r.Getenv("GITHUB_ACTOR")
	if user == "" {
		user = "github-actions"
	}
	cmd := run.Cmd{Name: "docker", Args: []string{"login", host, "--username", user, "--password-stdin"},
		Env: []string{"DOCKER_CONFIG=" + dir}, Stdin: strings.NewReader(token), Log: r.Log}
	if err := run.Run(ctx, cmd); err != nil {
		logout()
		return r, nil, fmt.Errorf("docker login %s: %w; the publishing job needs `permissions: packages: write`", host, err)
	}
	r.Log.WithField("registry", host).Info("logged in for this run")
	return r.withDockerConfig(dir), logout, nil
}

// withDockerConfig points the real builder and registry at the Docker
// configuration in dir; a test's fakes stay as they are.
func (r Run) withDockerConfig(dir string) Run {
	if cli, ok := r.Builder.(buildx.CLI); ok {
		cli.DockerConfig = dir
		r.Builder = cli
	}
	if _, ok := r.Registry.(registry.Client); ok {
		r.Registry = registry.NewWithDockerConfig(dir)
	}
	return r
}

// privateDockerConfig makes a temporary copy of the user's Docker
// configuration (userConfig, DOCKER_CONFIG's value, else ~/.docker) that a
// login may write to: the same builders, plugins and contexts (linked),
// and a copy of config.json. It returns the copy's directory.
func privateDockerConfig(userConfig string) (string, error) {
	if userConfig == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the Docker configuration: %w; set DOCKER_CONFIG", err)
		}
		userConfig = filepath.Join(home, ".docker")
	}
	tmp, err := os.MkdirTemp("", "gantry-docker-config-")
	if err != nil {
		return "", fmt.Errorf("make a private Docker configuration: %w", err)
	}
	if err := linkConfig(userConfig, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("prepare a private Docker configuration from %s: %w", userConfig, err)
	}
	return tmp, nil
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
