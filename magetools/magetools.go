// Package magetools is Gantry's Mage target package. A service imports it
// from its magefile:
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		"github.com/gantry-build/gantry/magetools"
//	)
//
// and gets the targets below. Configuration is the Config variable: change
// it in the magefile's init(); GANTRY_* environment variables override it.
package magetools

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/magetools/internal/gobuild"
	"github.com/gantry-build/gantry/magetools/internal/run"
)

// Config is the service's configuration; its zero fields take the defaults
// documented on config.Config. Set fields in the magefile's init().
var Config config.Config

// Plan prints what this commit's run would do: targets, platforms, tags (-json: JSON only).
func Plan(json *bool) error {
	s, err := load()
	if err != nil {
		return done(err)
	}
	if json != nil && *json {
		return done(writeJSON(s))
	}
	return done(s.plan.WriteTable(os.Stdout))
}

func writeJSON(s session) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(s.plan)
}

// Build compiles the static, stripped production binary into bin/ (GOOS/GOARCH honoured).
func Build(ctx context.Context) error {
	return done(buildBinary(ctx, false))
}

// BuildDev compiles the debug binary (no optimisation, no inlining, symbols kept) into bin/.
func BuildDev(ctx context.Context) error {
	return done(buildBinary(ctx, true))
}

func buildBinary(ctx context.Context, debug bool) error {
	s, err := load()
	if err != nil {
		return err
	}
	out := s.binaryPath(debug)
	cmd := gobuild.Command(s.cfg.MainPackage, out, debug, gobuild.XFlags(s.cfg.Stamp, s.stamp()))
	cmd.Dir = s.cfg.Dir
	if err := run.Run(ctx, cmd); err != nil {
		return err
	}
	logrus.Infof("built %s (version %s)", filepath.Join(s.cfg.Dir, out), s.plan.Version)
	return nil
}

var errNotImplemented = errors.New("not implemented yet")

// Image builds the prod image for this machine's platform and loads it into the local Docker engine.
func Image(ctx context.Context) error { return done(errNotImplemented) }

// Publish builds both targets for every platform and pushes the tags of the plan.
func Publish(ctx context.Context) error { return done(errNotImplemented) }

// Release builds and pushes the prod image of a v* tag as <version>.
func Release(ctx context.Context) error { return done(errNotImplemented) }

// CI does what the GitHub Actions event asks: build a pull request, Publish main, Release a tag.
func CI(ctx context.Context) error { return done(errNotImplemented) }
