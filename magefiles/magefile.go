//go:build mage

// Gantry's own magefile: the repository builds its example service with
// Gantry, exactly as a service would, plus targets for Gantry's own work.
package main

import (
	//mage:import
	"github.com/gantry-build/gantry/magetools"
)

func init() {
	// The toolkit lives at the module root, so point Gantry at the service.
	magetools.Config.MainPackage = "./examples/hello"
	magetools.Config.Description = "Gantry's example service"
	magetools.Config.License = "Apache-2.0"
}
