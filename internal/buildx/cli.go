package buildx

import (
	"context"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/run"
)

// CLI runs builds with the docker CLI's buildx plugin, streaming its
// output to the user.
type CLI struct {
	// Log receives the command lines, with the run's fields.
	Log *logrus.Entry
	// DockerConfig, when set, is the Docker configuration directory its
	// commands read (DOCKER_CONFIG): the run's private one after a login.
	DockerConfig string
}

// env is the environment CLI adds to its commands.
func (c CLI) env() []string {
	if c.DockerConfig == "" {
		return nil
	}
	return []string{"DOCKER_CONFIG=" + c.DockerConfig}
}

// Inspect describes the builder buildx will use.
func (c CLI) Inspect(ctx context.Context) (Builder, error) { return Inspect(ctx, c.env()...) }

// Build runs b. For a build that pushes, it returns the digest of the
// pushed index, read from buildx's metadata file.
func (c CLI) Build(ctx context.Context, b Build) (string, error) {
	if b.Output == Push {
		tmp, err := os.MkdirTemp("", "gantry-buildx-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		b.MetadataFile = filepath.Join(tmp, "metadata.json")
	}
	cmd, err := b.Cmd()
	if err != nil {
		return "", err
	}
	cmd.Log, cmd.Stdout, cmd.Stderr = c.Log, b.Stderr, b.Stderr
	cmd.Env = append(cmd.Env, c.env()...)
	if b.Log != nil {
		cmd.Log = b.Log
	}
	if err := run.Run(ctx, cmd); err != nil || b.Output != Push {
		return "", err
	}
	return Digest(b.MetadataFile)
}
