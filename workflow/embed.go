// Package workflow embeds the Container workflow that a service adopts as
// .github/workflows/publish-ghcr.yml. go:embed cannot reach .github from
// here, so publish-ghcr.yml is a copy of the repository's own workflow; a
// test keeps the two byte-identical.
package workflow

import (
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// Path is where a service keeps the workflow, relative to its repository root.
const Path = ".github/workflows/publish-ghcr.yml"

// PublishGHCR is the workflow template.
//
//go:embed publish-ghcr.yml
var PublishGHCR []byte

// templateBranches is the publishing branch of the template.
const templateBranches = "    branches: [main]\n"

// ForBranch is the template for a service whose publishing branch
// (Config.PublishBranch) is branch: its push trigger names that branch.
// The template file itself stays as it is, byte for byte the repository's
// own workflow.
func ForBranch(branch string) ([]byte, error) {
	if strings.Count(string(PublishGHCR), templateBranches) != 1 {
		return nil, fmt.Errorf("the workflow template has no single %q line to name the branch in", strings.TrimSpace(templateBranches))
	}
	if branch == "main" {
		return PublishGHCR, nil
	}
	if branch == "" || strings.ContainsAny(branch, "\n\r") {
		return nil, fmt.Errorf("publishing branch %q cannot name a workflow branch", branch)
	}
	quoted := strconv.Quote(branch) // a YAML double-quoted scalar
	return bytes.Replace(PublishGHCR, []byte(templateBranches), []byte("    branches: ["+quoted+"]\n"), 1), nil
}
