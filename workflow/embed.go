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

// Matrix is the workflow template for a matrix of native runners (gantry
// init -matrix): a platform job per platform, pushing by digest, and a
// finalize job that publishes (Config.Shard).
//
//go:embed publish-ghcr-matrix.yml
var Matrix []byte

// templateBranches is the publishing branch of the template.
const templateBranches = "    branches: [main]\n"

// ForBranch is the template for a service whose publishing branch
// (Config.PublishBranch) is branch: its push trigger names that branch.
// The template file itself stays as it is, byte for byte the repository's
// own workflow.
func ForBranch(branch string) ([]byte, error) { return forBranch(PublishGHCR, branch) }

// MatrixForBranch is ForBranch for the Matrix template.
func MatrixForBranch(branch string) ([]byte, error) { return forBranch(Matrix, branch) }

// MatrixForService is the Matrix template for a service whose module
// root is the directory dir of its repository. Only a service at the
// root has one: the edits ForService makes for a subdirectory are the
// single-runner template's.
func MatrixForService(branch, dir string) ([]byte, error) {
	if dir != "" && dir != "." {
		return nil, fmt.Errorf("the matrix workflow is written only for a service at its repository's root, and this one is in %s; run gantry init without -matrix, or split the workflow's publish job by hand as the matrix template does (README, Scaling out)", dir)
	}
	return MatrixForBranch(branch)
}

func forBranch(template []byte, branch string) ([]byte, error) {
	if strings.Count(string(template), templateBranches) != 1 {
		return nil, fmt.Errorf("the workflow template has no single %q line to name the branch in", strings.TrimSpace(templateBranches))
	}
	if branch == "main" {
		return template, nil
	}
	if branch == "" || strings.ContainsAny(branch, "\n\r") {
		return nil, fmt.Errorf("publishing branch %q cannot name a workflow branch", branch)
	}
	return bytes.Replace(template, []byte(templateBranches), []byte("    branches: ["+BranchFilter(branch)+"]\n"), 1), nil
}

// filterSpecials are the characters of GitHub's filter patterns that a
// literal name escapes with \ (workflow syntax, "Filter pattern cheat
// sheet"); a leading ! negates. A ] outside a class is literal, and
// actionlint refuses it escaped.
const filterSpecials = `*?+[!\`

// BranchFilter is the item of an on.push.branches list that matches
// exactly branch: a filter pattern with its special characters escaped
// (c++ gives c\+\+, and !main no longer excludes main), as a YAML
// double-quoted scalar, so that YAML reinterprets nothing either.
func BranchFilter(branch string) string {
	return strconv.Quote(literalPattern(branch)) // Go's escapes are YAML's too
}

// literalPattern is the filter pattern that matches name alone: its
// special characters escaped.
func literalPattern(name string) string {
	var pattern strings.Builder
	for _, r := range name {
		if strings.ContainsRune(filterSpecials, r) {
			pattern.WriteByte('\\')
		}
		pattern.WriteRune(r)
	}
	return pattern.String()
}
