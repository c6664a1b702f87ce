package buildx

import (
	"context"
	"os"
	"path/filepath"

	"github.com/gantry-build/gantry/internal/run"
)

// CLI runs builds with the docker CLI's buildx plugin, streaming its
// output to the user.
type CLI struct{}

// Inspect describes the builder buildx will use.
func (CLI) Inspect(ctx context.Context) (Builder, error) { return Inspect(ctx) }

// Build runs b. For a build that pushes, it returns the digest of the
// pushed index, read from buildx's metadata file.
func (CLI) Build(ctx context.Context, b Build) (string, error) {
	if b.Output != Push {
		return "", run.Run(ctx, b.Cmd())
	}
	tmp, err := os.MkdirTemp("", "gantry-buildx-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	b.MetadataFile = filepath.Join(tmp, "metadata.json")
	if err := run.Run(ctx, b.Cmd()); err != nil {
		return "", err
	}
	return Digest(b.MetadataFile)
}
