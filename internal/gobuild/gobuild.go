// Package gobuild builds the `go build` command of the Build and BuildDev
// targets, and the -X flags that stamp version information, which the
// Dockerfile receives too so that both builds stamp the same way.
package gobuild

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
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

// The Dockerfile stages that hold the binaries, and that Gantry's fast
// path replaces with a directory of binaries compiled on the host: the
// prod binary of each platform in BinariesStage, the debug binary in
// DebugBinariesStage.
const (
	BinariesStage      = "binaries"
	DebugBinariesStage = "debug-binaries"
)

// Stage is the stage holding the prod or the debug binary.
func Stage(debug bool) string {
	if debug {
		return DebugBinariesStage
	}
	return BinariesStage
}

// Binary is the service's path in a platform's tree of a binaries
// directory (<dir>/<os>_<arch>/usr/local/bin/service): the layout the
// Dockerfile's `binaries` and `debug-binaries` stages produce and Gantry's
// fast path hands over; the images copy the tree to /.
const Binary = "usr/local/bin/service"

// PlatformDir returns the directory of a platform's binaries in that
// layout, as the Dockerfile spells it: /${TARGETOS}_${TARGETARCH}/. A
// variant (linux/arm/v7) has no place in it, so platforms differing only
// in their variant share a directory; see Layout.
func PlatformDir(platform string) (string, error) {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("platform %q is not os/arch[/variant]; use e.g. linux/amd64", platform)
	}
	return parts[0] + "_" + parts[1], nil
}

// Layout returns the directory of each platform (in order), or an error
// when two platforms would share one (linux/arm/v6 and linux/arm/v7).
func Layout(platforms []string) ([]string, error) {
	var dirs []string
	for _, p := range platforms {
		dir, err := PlatformDir(p)
		if err != nil {
			return nil, err
		}
		if slices.Contains(dirs, dir) {
			return nil, fmt.Errorf("platforms %s share the binaries directory %s", strings.Join(platforms, ", "), dir)
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// CrossCommand is Command for another platform, written to
// <outDir>/<os>_<arch>/usr/local/bin/service and run in the service's
// directory. It
// builds as the Dockerfile's binaries stages do (-buildvcs=false, as their
// GOFLAGS), so that a binary is the same whichever side compiled it. -v
// lists the packages compiled, not those the build cache had: the log
// shows what a change cost.
func CrossCommand(dir, mainPackage, outDir, platform string, debug bool, xflags []string) (run.Cmd, error) {
	pdir, err := PlatformDir(platform)
	if err != nil {
		return run.Cmd{}, err
	}
	parts := strings.Split(platform, "/")
	cmd := Command(mainPackage, filepath.Join(outDir, pdir, Binary), parts[0], parts[1], debug, xflags)
	cmd.Args = slices.Insert(cmd.Args, 1, "-v", "-buildvcs=false")
	if len(parts) == 3 && parts[1] == "arm" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(parts[2], "v"))
	}
	cmd.Dir = dir
	return cmd, nil
}

// Host runs the go command of this machine: the toolchain that the
// service's go.mod selects (GOTOOLCHAIN), as `mage build` uses.
type Host struct{}

// Version is the Go version that builds the module in dir.
func (Host) Version(ctx context.Context, dir string) (string, error) {
	out, err := run.Output(ctx, run.Cmd{Name: "go", Args: []string{"env", "GOVERSION"}, Dir: dir, Env: []string{"GOWORK=off"}})
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION in %s: %w; install Go (https://go.dev/dl/) or, in Actions, actions/setup-go with go-version-file: go.mod", dir, err)
	}
	return out, nil
}

// Build runs one go build.
func (Host) Build(ctx context.Context, cmd run.Cmd) error { return run.Run(ctx, cmd) }
