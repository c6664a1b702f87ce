//go:build mage

// Gantry's own magefile: the repository builds its example service with
// Gantry, exactly as a service would, plus targets for Gantry's own work.
package main

import (
	//mage:import
	"github.com/gantry-build/gantry/magetools"
)

func init() {
	// The toolkit lives at the repository root; the example service is a
	// module of its own beside it, as in a monorepo.
	magetools.Config.Dir = "examples/hello"
	// The repository's Dockerfile is the one Gantry embeds; naming it here
	// builds the example the way a service with its own Dockerfile does.
	magetools.Config.Dockerfile = "../../docker/Dockerfile"
	magetools.Config.Description = "Gantry's example service"
	magetools.Config.License = "Apache-2.0"
}
