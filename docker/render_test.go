package docker_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/dockerfile"
)

func TestRenderSetsCmdAndExposeInBothImages(t *testing.T) {
	args := []string{"serve", "--addr", ":8080", `quote " and \ back`}
	f, err := dockerfile.Parse(docker.Render(args, []string{"8080", "53/udp"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"prod", "dev"} {
		i := f.Stage(name)
		if i < 0 {
			t.Fatalf("no %s stage", name)
		}
		var cmd []string
		var ports []string
		for _, c := range f.Stages[i].Commands {
			switch c := c.(type) {
			case *instructions.CmdCommand:
				cmd = c.CmdLine
			case *instructions.ExposeCommand:
				ports = c.Ports
			}
		}
		if !slices.Equal(cmd, args) {
			t.Errorf("%s: CMD %q, want %q", name, cmd, args)
		}
		if slices.Sort(ports); !slices.Equal(ports, []string{"53/udp", "8080"}) { // BuildKit sorts them
			t.Errorf("%s: EXPOSE %q", name, ports)
		}
	}
}

func TestRenderWithoutSettingsIsTheDefault(t *testing.T) {
	if !bytes.Equal(docker.Render(nil, nil), docker.Dockerfile) {
		t.Error("Render(nil, nil) differs from the embedded Dockerfile")
	}
}

// TestTemplateHoldsTheRequiredIgnores: gantry init merges the template, so
// what mage check requires must be in it, line for line.
func TestTemplateHoldsTheRequiredIgnores(t *testing.T) {
	t.Parallel()
	lines := strings.Split(string(docker.Dockerignore), "\n")
	for _, p := range docker.RequiredIgnores {
		if !slices.Contains(lines, p) {
			t.Errorf("the .dockerignore template lacks the line %q", p)
		}
	}
}
