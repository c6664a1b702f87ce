// Package workflow embeds the Container workflow that a service adopts as
// .github/workflows/publish-ghcr.yml. go:embed cannot reach .github from
// here, so publish-ghcr.yml is a copy of the repository's own workflow; a
// test keeps the two byte-identical.
package workflow

import _ "embed"

// Path is where a service keeps the workflow, relative to its repository root.
const Path = ".github/workflows/publish-ghcr.yml"

// PublishGHCR is the workflow template.
//
//go:embed publish-ghcr.yml
var PublishGHCR []byte
