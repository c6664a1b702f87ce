// Package magetools is Gantry's Mage target package. A service imports it
// from its magefile:
//
//	//go:build mage
//
//	package main
//
//	import (
//		//mage:import
//		_ "github.com/gantry-build/gantry/magetools"
//	)
//
// and gets the targets below. Configuration is the Config variable: change
// it in the magefile's init() (then import without the _); GANTRY_*
// environment variables override it.
package magetools

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/actions"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/pipeline"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
)

// Config is the service's configuration; its zero fields take the defaults
// documented on config.Config. Set fields in the magefile's init().
var Config config.Config

// Plan prints what this commit's run would do: targets, platforms, tags (-json: JSON only).
func Plan(ctx context.Context, json *bool) error {
	if several() {
		_, sessions, err := loadPlans(ctx)
		if err != nil {
			return done(err)
		}
		return done(planServices(sessions, json != nil && *json))
	}
	ctx, s, err := load(ctx)
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

// Build compiles the static, stripped production binary into bin/gantry/ (GANTRY_GOOS/GANTRY_GOARCH for another platform).
func Build(ctx context.Context) error {
	return done(buildBinary(ctx, false))
}

// BuildDev compiles the debug binary (no optimisation, no inlining, symbols kept) into bin/gantry/.
func BuildDev(ctx context.Context) error {
	return done(buildBinary(ctx, true))
}

func buildBinary(ctx context.Context, debug bool) error {
	if several() {
		ctx, sessions, err := loadAll(ctx, true)
		if err != nil {
			return err
		}
		return buildServices(ctx, sessions, debug)
	}
	ctx, s, err := loadLocal(ctx)
	if err != nil {
		return err
	}
	return buildSession(ctx, s, debug)
}

// buildSession compiles s's binary into bin/.
func buildSession(ctx context.Context, s session, debug bool) error {
	if err := ignoreOutputs(s.cfg.Dir); err != nil {
		return err
	}
	if err := s.checkCrossCgo(); err != nil {
		return err
	}
	r, err := s.build(ctx)
	if err != nil {
		return err
	}
	if err := r.Prepare(ctx); err != nil {
		return err
	}
	out := s.binaryPath(debug)
	cmd := gobuild.Command(r.BuildOptions(), out, s.cfg.GOOS, s.cfg.GOARCH, debug)
	cmd.Dir = s.cfg.Dir
	// go's output streams to the user as ever; its start is kept to say
	// what failed.
	printed := &outputHead{max: 64 << 10}
	cmd.Stderr = io.MultiWriter(os.Stderr, printed)
	if err := run.Run(ctx, cmd); err != nil {
		// Diagnosed with the settings this build ran with (Config.CGO,
		// Prepare), and the packages needing cgo listed as it compiled.
		needCgo := func() []string {
			pkgs, _ := gobuild.NeedsCgo(ctx, s.cfg.Dir, s.cfg.MainPackage, s.cfg.GOOS, s.cfg.GOARCH)
			return pkgs
		}
		if diagnosis := gobuild.Diagnose(printed.String(), s.cfg.CGO, s.cfg.Prepare, needCgo); diagnosis != "" {
			return fmt.Errorf("%w: %s", err, diagnosis)
		}
		return err
	}
	s.log.WithFields(logrus.Fields{"binary": filepath.Join(s.cfg.Dir, out), "version": s.plan.Version}).Info("built")
	return nil
}

// Image builds the prod image for this machine's platform and loads it into the local Docker engine.
func Image(ctx context.Context) error {
	return done(loadImage(ctx, plan.Prod))
}

// ImageDev builds the dev image (debug binary, Delve, tools) and loads it into the local Docker engine.
func ImageDev(ctx context.Context) error {
	return done(loadImage(ctx, plan.Dev))
}

func loadImage(ctx context.Context, target string) error {
	ctx, s, err := loadLocal(ctx)
	if err != nil {
		return err
	}
	r, err := s.build(ctx)
	if err != nil {
		return err
	}
	tag, err := r.Load(ctx, target, s.hostGOARCH)
	if err != nil {
		return err
	}
	s.log.WithFields(logrus.Fields{"target": target, "tag": tag}).Infof("loaded; try: docker run --rm --network host %s", tag)
	fmt.Println(tag)
	return nil
}

// Publish builds prod and dev for every platform and pushes the tags of a push to the publishing branch.
func Publish(ctx context.Context) error {
	if several() {
		return done(actAll(ctx, false))
	}
	ctx, s, err := load(ctx)
	if err != nil {
		return done(err)
	}
	r, err := s.build(ctx)
	if err == nil {
		_, err = publish(ctx, r)
	}
	return done(err)
}

func publish(ctx context.Context, r pipeline.Run) ([]pipeline.Result, error) {
	if err := r.Plan.Err(); err != nil {
		return nil, err
	}
	if err := r.CheckPublish(ctx); err != nil {
		return nil, err
	}
	r, err := r.WithSigning()
	if err != nil {
		return nil, err
	}
	return r.Publish(ctx)
}

// Release builds and pushes the prod image of the v* tag at HEAD as <version>.
func Release(ctx context.Context) error {
	if several() {
		return done(actAll(ctx, true))
	}
	ctx, s, err := load(ctx)
	if err != nil {
		return done(err)
	}
	r, err := s.build(ctx)
	if err == nil {
		_, err = release(ctx, r)
	}
	return done(err)
}

func release(ctx context.Context, r pipeline.Run) ([]pipeline.Result, error) {
	if err := r.Plan.Err(); err != nil {
		return nil, err
	}
	if err := r.CheckRelease(ctx); err != nil {
		return nil, err
	}
	r, err := r.WithSigning()
	if err != nil {
		return nil, err
	}
	return r.Release(ctx)
}

// sharded is ci's publish or release in a job of a matrix
// (Config.Shard): the same checks, then a platform job builds its
// platform and hands the digests on, unsigned and untagged; the finalize
// job signs (so only it needs the OIDC token), assembles and tags.
func sharded(ctx context.Context, r pipeline.Run) ([]pipeline.Result, error) {
	if err := r.Plan.Err(); err != nil {
		return nil, err
	}
	check := r.CheckPublish
	if r.Event.Kind == event.TagPush {
		check = r.CheckRelease
	}
	if err := check(ctx); err != nil {
		return nil, err
	}
	if r.Config.Shard != config.ShardFinalize {
		return r.Shard(ctx)
	}
	r, err := r.WithSigning()
	if err != nil {
		return nil, err
	}
	return r.Finalize(ctx)
}

// Verify checks an image as a deployer would (-ref; default: this commit's prod image): its signature, its provenance and an SBOM per platform, and prints the cosign command that repeats each check.
func Verify(ctx context.Context, ref *string) error {
	ctx, s, err := load(ctx)
	if err != nil {
		return done(err)
	}
	target := s.cfg.Image + ":" + s.plan.Short
	if ref != nil && *ref != "" {
		target = *ref
	}
	return done(verify(ctx, s.run(), target))
}

func verify(ctx context.Context, r pipeline.Run, ref string) error {
	report, err := r.VerifyImage(ctx, ref)
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", report.Image.Ref())
	for _, c := range report.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Printf("%s %s: %s\n     %s\n", mark, c.What, c.Detail, c.Command)
	}
	return report.Err()
}

// CI checks the service, then does what the GitHub Actions event asks: build a pull request, publish main, release a v* tag.
func CI(ctx context.Context) error {
	var err error
	if several() {
		var sessions []session
		if ctx, sessions, err = loadPlans(ctx); err == nil {
			err = ciServices(ctx, sessions)
		}
	} else {
		var s session
		if ctx, s, err = load(ctx); err == nil {
			err = ci(ctx, s)
		}
	}
	if err != nil {
		// An annotation puts the error on the run's summary page.
		actions.Runner{Getenv: os.Getenv, Out: os.Stdout}.Error("gantry: mage ci failed", err)
	}
	return done(err)
}

func ci(ctx context.Context, s session) error {
	r := s.run()
	if err := r.Plan.WriteTable(os.Stderr); err != nil {
		return err
	}
	// The event asks for a release that cannot be made.
	if err := r.Plan.Err(); err != nil {
		return err
	}
	if err := checkConformance(ctx, s); err != nil {
		return err
	}
	r, err := s.build(ctx)
	if err != nil {
		return err
	}
	var results []pipeline.Result
	switch {
	case r.Plan.Push:
		r, logout, err := r.Login(ctx)
		if err != nil {
			return err
		}
		defer logout()
		switch {
		case r.Config.Shard != "":
			results, err = sharded(ctx, r)
		case r.Event.Kind == event.TagPush:
			results, err = release(ctx, r)
		default:
			results, err = publish(ctx, r)
		}
		if err != nil {
			return err
		}
	case len(r.Plan.Images) > 0:
		var err error
		if results, err = r.BuildOnly(ctx); err != nil {
			return err
		}
	default:
		s.log.Infof("nothing to do: %s", r.Plan.Reason)
		return nil
	}
	return r.Report(results)
}
