// Package dockerfile reads a Dockerfile with BuildKit's own parser (the
// one buildx will use), so that Gantry refuses a file that cannot give the
// prod and dev targets before any build starts.
package dockerfile

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Stages parses content and returns its stages in order.
func Stages(content []byte) ([]instructions.Stage, error) {
	ast, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return nil, err
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	return stages, err
}

// CheckTargets returns an error unless the Dockerfile at path (content)
// has a stage for every target name.
func CheckTargets(path string, content []byte, targets ...string) error {
	stages, err := Stages(content)
	if err != nil {
		return fmt.Errorf("parse %s: %w; fix the syntax at the line named (BuildKit's parser), or remove the file to use Gantry's default Dockerfile", path, err)
	}
	names := map[string]bool{}
	var have []string
	for _, s := range stages {
		if s.Name != "" {
			names[strings.ToLower(s.Name)] = true
			have = append(have, s.Name)
		}
	}
	for _, t := range targets {
		if !names[strings.ToLower(t)] {
			return fmt.Errorf("%s has no stage %q (its named stages: %s); add `FROM <image> AS %s`, or name the stage in GANTRY_PROD_STAGE/GANTRY_DEV_STAGE (Config.ProdStage/DevStage)",
				path, t, orNone(have), t)
		}
	}
	return nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
