// Package gobuild builds the `go build` command of the Build and BuildDev
// targets, and the -X flags that stamp version information, which the
// Dockerfile receives too so that both builds stamp the same way.
package gobuild

import (
	"strings"
	"time"

	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
)

// Stamp is the version information stamped into a binary.
type Stamp struct {
	Version string
	Commit  string
	// Date is the commit time, so that two builds of a commit are equal.
	Date time.Time
}

// XFlags returns the -X linker flags for the configured variable names.
func XFlags(vars config.Stamp, s Stamp) []string {
	var flags []string
	add := func(variable, value string) {
		if variable != "" {
			flags = append(flags, "-X", variable+"="+value)
		}
	}
	add(vars.Version, s.Version)
	add(vars.Commit, s.Commit)
	if !s.Date.IsZero() {
		add(vars.Date, s.Date.UTC().Format(time.RFC3339))
	}
	return flags
}

// Command returns the go build command for mainPackage. A prod build is
// static (CGO_ENABLED=0), stripped and path-free; a debug build keeps
// symbols and turns off optimisation and inlining for Delve.
func Command(mainPackage, output string, debug bool, xflags []string) run.Cmd {
	// Values never hold spaces (versions are sanitised tags, commits hex,
	// dates RFC 3339), so one -ldflags string is safe.
	ldflags := strings.Join(xflags, " ")
	args := []string{"build", "-trimpath"}
	if debug {
		args = append(args, "-gcflags=all=-N -l")
	} else {
		ldflags = strings.Join(append([]string{"-s", "-w"}, xflags...), " ")
	}
	if ldflags != "" {
		args = append(args, "-ldflags="+ldflags)
	}
	args = append(args, "-o", output, mainPackage)
	// GOWORK=off builds the service module alone, as the image build does,
	// not joined with its magefiles module.
	return run.Cmd{Name: "go", Args: args, Env: []string{"CGO_ENABLED=0", "GOWORK=off"}}
}
