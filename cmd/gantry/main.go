// Command gantry adopts Gantry in a Go service. In the service's module
// root:
//
//	go run github.com/gantry-build/gantry/cmd/gantry@<version> init [-force] [-dockerfile] [-matrix] [-dir DIR]
//
// reads what the repository says (.goreleaser.yaml, Dockerfile, Makefile,
// origin/HEAD, the Go source and its packages), prints what it decided and
// where from, and what it did not apply and why, and writes the magefile,
// the magefiles module, .dockerignore (merged) and the Container workflow,
// adds Mage as a tool and joins both modules in go.work. It never
// overwrites a file without -force; run again, it updates an existing
// magefile in place. From a Gantry checkout:
// go -C <checkout> run ./cmd/gantry init -dir "$PWD" -replace <checkout>.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/gantry-build/gantry/internal/adopt"
)

const usage = "usage: gantry init [-force[=magefile,gomod,workflow,dockerfile]] [-dockerfile] [-matrix] [-dir DIR] [-main PKG] [-service NAME] [-branch NAME] [-gantry-version vX.Y.Z] [-replace PATH]"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gantry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("gantry init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts adopt.Options
	var version string
	fs.StringVar(&opts.Dir, "dir", ".", "the service's Go module root")
	opts.Force = adopt.Force{}
	fs.Var(forceFlag(opts.Force), "force", "overwrite files that exist: -force for all, or -force=magefile,workflow (also gomod, dockerfile; may repeat); .dockerignore and .gitignore are always merged")
	fs.BoolVar(&opts.Dockerfile, "dockerfile", false, "also write Gantry's default Dockerfile to docker/Dockerfile, to change it, with the CMD and EXPOSE of the team's Dockerfile")
	fs.BoolVar(&opts.Matrix, "matrix", false, "write the workflow for a matrix of native runners: each platform builds on a runner of its own architecture, and a finalize job publishes")
	fs.StringVar(&opts.MainPackage, "main", "", "the main package to build, when it is not . or the only ./cmd/<name>")
	fs.StringVar(&opts.Service, "service", "", "the service's name, when not the main package's (or module's) name")
	fs.StringVar(&opts.Branch, "branch", "", "the publishing branch, when it is not the one origin/HEAD names (or that one is refused, with no main or master to fall back on)")
	fs.StringVar(&version, "gantry-version", "", "the Gantry version to require: vX.Y.Z or a pseudo-version (default: the version gantry was run at)")
	fs.StringVar(&opts.Replace, "replace", "", "a local Gantry checkout for magefiles/go.mod's replace directive")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New(usage)
	}
	var err error
	if opts.GantryVersion, err = adopt.Version(version, buildVersion(), opts.Replace); err != nil {
		return err
	}
	report, err := adopt.Init(ctx, opts)
	if werr := report.Write(stdout); err == nil {
		err = werr
	}
	if err == nil {
		err = remaining(report)
	}
	if err == nil {
		fmt.Fprintln(stdout, "next: go tool mage check; go tool mage plan; then commit everything it wrote, go.work included (go.work.sum is ignored)")
	}
	return err
}

// forceFlag is -force: bare, every file; -force=magefile,workflow (or
// repeated), those files.
type forceFlag adopt.Force

func (f forceFlag) IsBoolFlag() bool { return true }

func (f forceFlag) String() string {
	var keys []string
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (f forceFlag) Set(value string) error {
	switch value {
	case "true":
		f["all"] = true
		return nil
	case "false":
		clear(f)
		return nil
	}
	for _, key := range strings.Split(value, ",") {
		if !slices.Contains(adopt.ForceKeys, key) {
			return fmt.Errorf("-force=%s: %q is not a file init writes; name some of %s, or give -force alone for all", value, key, strings.Join(adopt.ForceKeys, ", "))
		}
		f[key] = true
	}
	return nil
}

// buildVersion is the version of Gantry this command was built from:
// v1.2.3 when run as go run ...@v1.2.3, "(devel)" from a checkout.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		return info.Main.Version
	}
	return ""
}

// remaining fails init when it could not decide everything: its output
// passes mage check, or it says what remains, and exits non-zero.
func remaining(report adopt.Report) error {
	if len(report.Remaining) == 0 {
		return nil
	}
	return fmt.Errorf("%d thing(s) remain for the service to decide (the `remains` lines above, each with its fix); the files are written: fix those, then run go tool mage check", len(report.Remaining))
}
