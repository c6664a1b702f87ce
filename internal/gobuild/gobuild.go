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

// Options are what every build of the service shares, on the host and in
// the Dockerfile (as its build arguments), so that both sides build the
// same binary.
type Options struct {
	MainPackage string
	// XFlags are the -X stamps (XFlags).
	XFlags  []string
	LDFlags []string
	Tags    []string
	CGO     bool
}

// NewOptions returns the options of cfg, stamped with s.
func NewOptions(cfg config.Config, s Stamp) Options {
	return Options{MainPackage: cfg.MainPackage, XFlags: XFlags(cfg.Stamp, s), LDFlags: cfg.LDFlags, Tags: cfg.Tags, CGO: cfg.CGO}
}

// cgoTags make a cgo binary need no C library at run time for name
// resolution and user look-ups (Go's own implementations), and
// config.CgoLinkFlags link it statically: it runs on the same static
// runtime image as a pure-Go binary.
var cgoTags = []string{"netgo", "osusergo"}

// GoTags are the build tags: the configured ones, and cgoTags with cgo.
func (o Options) GoTags() []string {
	tags := slices.Clone(o.Tags)
	if o.CGO {
		for _, t := range cgoTags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// LinkFlags are the linker flags besides -s -w: the stamps, the
// configured flags, and static linking with cgo.
func (o Options) LinkFlags() []string {
	flags := slices.Concat(o.XFlags, o.LDFlags)
	if o.CGO {
		flags = append(flags, config.CgoLinkFlags...)
	}
	return flags
}

// BuildArgs are the Dockerfile's build arguments for the same build:
// its binaries stages read them.
func (o Options) BuildArgs() map[string]string {
	cgo := "0"
	if o.CGO {
		cgo = "1"
	}
	return map[string]string{
		"MAIN_PACKAGE": o.MainPackage,
		// Values never hold spaces: the plan refuses a commit that is
		// not hex, versions are sanitised tags, dates RFC 3339, and the
		// configuration refuses variable names that are not
		// package.name and linker flags with spaces or quotes; so one
		// string of words is safe.
		"GO_LDFLAGS":  strings.Join(o.LinkFlags(), " "),
		"GO_TAGS":     strings.Join(o.GoTags(), ","),
		"CGO_ENABLED": cgo,
	}
}

// Command returns the go build command for goos/goarch. A prod build is
// stripped and path-free; a debug build keeps symbols and turns off
// optimisation and inlining for Delve. Both are static: pure Go, or
// linked statically with cgo. The platform is set in the command's
// environment, so that Gantry's own settings (GANTRY_GOOS, GANTRY_GOARCH)
// choose it, not the GOOS and GOARCH that would also retarget the mage
// binary.
func Command(o Options, output, goos, goarch string, debug bool) run.Cmd {
	args := []string{"build", "-trimpath"}
	ldflags := o.LinkFlags()
	if debug {
		args = append(args, "-gcflags=all=-N -l")
	} else {
		ldflags = append([]string{"-s", "-w"}, ldflags...)
	}
	if tags := o.GoTags(); len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	if len(ldflags) > 0 {
		args = append(args, "-ldflags="+strings.Join(ldflags, " "))
	}
	args = append(args, "-o", output, o.MainPackage)
	cgo := "0"
	if o.CGO {
		cgo = "1"
	}
	// GOWORK=off builds the service module alone, as the image build does,
	// not joined with its magefiles module.
	return run.Cmd{Name: "go", Args: args, Env: []string{"CGO_ENABLED=" + cgo, "GOWORK=off", "GOOS=" + goos, "GOARCH=" + goarch}}
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
func CrossCommand(dir string, o Options, outDir, platform string, debug bool) (run.Cmd, error) {
	pdir, err := PlatformDir(platform)
	if err != nil {
		return run.Cmd{}, err
	}
	parts := strings.Split(platform, "/")
	cmd := Command(o, filepath.Join(outDir, pdir, Binary), parts[0], parts[1], debug)
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

// Platform is the platform of this machine as the go command reports it
// (GOHOSTOS, GOHOSTARCH). It is not runtime.GOOS/GOARCH of the running
// program: `GOARCH=arm64 go tool mage build` builds the mage binary for
// arm64, which then runs emulated (binfmt) on an amd64 machine.
func (Host) Platform(ctx context.Context, dir string) (goos, goarch string, err error) {
	out, err := run.Output(ctx, run.Cmd{Name: "go", Args: []string{"env", "GOHOSTOS", "GOHOSTARCH"}, Dir: dir, Env: []string{"GOWORK=off"}})
	if err != nil {
		return "", "", fmt.Errorf("go env GOHOSTOS GOHOSTARCH in %s: %w; install Go (https://go.dev/dl/)", dir, err)
	}
	goos, goarch, ok := strings.Cut(out, "\n")
	if !ok || goos == "" || goarch == "" {
		return "", "", fmt.Errorf("go env GOHOSTOS GOHOSTARCH in %s printed %q, not two lines", dir, out)
	}
	return goos, goarch, nil
}

// Build runs one go build.
func (Host) Build(ctx context.Context, cmd run.Cmd) error { return run.Run(ctx, cmd) }
