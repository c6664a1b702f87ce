// Package gobuild builds the `go build` command of the Build and BuildDev
// targets, and the -X flags that stamp version information, which the
// Dockerfile receives too so that both builds stamp the same way.
package gobuild

import (
	"context"
	"strings"
	"time"

	"github.com/gantry-build/gantry/internal/golist"
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

// Command returns the go build command for mainPackage, for goos/goarch.
// A prod build is static (CGO_ENABLED=0), stripped and path-free; a debug
// build keeps symbols and turns off optimisation and inlining for Delve.
// The platform is set in the command's environment, so that Gantry's own
// settings (GANTRY_GOOS, GANTRY_GOARCH) choose it, not the GOOS and GOARCH
// that would also retarget the mage binary.
func Command(mainPackage, output, goos, goarch string, debug bool, xflags []string) run.Cmd {
	// Values never hold spaces: the plan refuses a commit that is not hex,
	// versions are sanitised tags, dates RFC 3339, and the configuration
	// refuses variable names that are not package.name; so one -ldflags
	// string is safe.
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
	return run.Cmd{Name: "go", Args: args, Env: env(goos, goarch, "0")}
}

func env(goos, goarch, cgo string) []string {
	return []string{"CGO_ENABLED=" + cgo, "GOWORK=off", "GOOS=" + goos, "GOARCH=" + goarch}
}

// NeedsCgo lists the packages that mainPackage (in dir) links, itself
// included, that work only with cgo, as `mage check`'s cgo rule decides
// (golist.NeedCgo). It explains a failed `go build`, whose own message
// says only that files were excluded.
func NeedsCgo(ctx context.Context, dir, mainPackage, goos, goarch string) ([]string, error) {
	g, err := golist.List(ctx, dir, mainPackage, goos, goarch, nil)
	if err != nil {
		return nil, err
	}
	var need []string
	for _, n := range g.NeedCgo() {
		need = append(need, n.ImportPath)
	}
	return need, nil
}
