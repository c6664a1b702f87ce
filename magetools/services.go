package magetools

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/magefile/mage/mg"
	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/actions"
	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/pipeline"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
)

// several reports whether the configuration names services
// (Config.Services): the targets then act on each of them.
func several() bool { return len(Config.Services) > 0 }

// loadAll is load for the targets that act on every service: the
// session of each (one without Config.Services).
func loadAll(ctx context.Context, local bool) (context.Context, []session, error) {
	log := logrus.NewEntry(newLogger(mg.Verbose()))
	ctx = run.WithLog(ctx, log)
	sessions, err := readSessions(ctx, log, local)
	return ctx, sessions, err
}

// loadPlans is loadAll for the targets that plan what to publish (plan,
// ci, publish): on a push to the publishing branch, only the services it
// affects are built (affectedOnly), which reads the registry.
func loadPlans(ctx context.Context) (context.Context, []session, error) {
	ctx, sessions, err := loadAll(ctx, false)
	if err == nil {
		affectedOnly(ctx, sessions)
	}
	return ctx, sessions, err
}

// errSeveral refuses a target that works on one service in a run of
// several.
func errSeveral(sessions []session) error {
	var names []string
	for _, s := range sessions {
		names = append(names, s.cfg.Service)
	}
	return fmt.Errorf("this repository configures %d services (%s) and this target works on one: choose it with %s=%s", len(names), strings.Join(names, ", "), config.ServiceSelection, names[0])
}

// affectedOnly makes the plans of a push to the publishing branch build
// only the services it affects: each service's inputs digest (recorded on
// its images) is compared with the one its moving tags' images carry,
// and a service whose inputs did not change is skipped, with why
// (plan.Skip). What cannot be told is built: a tag that cannot be read,
// a Prepare command, Config.BuildAll.
func affectedOnly(ctx context.Context, sessions []session) {
	for i := range sessions {
		s := &sessions[i]
		if !s.plan.Push || s.event.Kind != event.BranchPush {
			continue
		}
		r := s.run()
		g, err := s.packages(ctx)
		digest := ""
		if err == nil {
			digest, err = r.InputsDigest(ctx, g)
		}
		switch {
		case err != nil:
			s.log.Warnf("built: cannot tell what it is built from (%v)", err)
			continue
		case digest == "":
			s.log.Info("built: its Prepare command generates inputs that cannot be compared before it runs")
			continue
		}
		s.plan.Inputs = digest
		if s.cfg.BuildAll {
			s.log.Info("built: BuildAll (GANTRY_BUILD_ALL) builds every service")
			continue
		}
		r.Plan = s.plan
		if d := r.Affected(ctx, digest); d.Skip {
			s.plan = s.plan.Skip(d.Reason)
			s.log.Info("skipped: " + d.Reason)
		} else {
			s.log.Info("built: " + d.Reason)
		}
	}
}

// plans are the sessions' plans.
func plans(sessions []session) []plan.Plan {
	var out []plan.Plan
	for _, s := range sessions {
		out = append(out, s.plan)
	}
	return out
}

// planServices prints every service's plan; as JSON, a list of plans.
func planServices(sessions []session, asJSON bool) error {
	if !asJSON {
		return plan.WriteTables(os.Stdout, plans(sessions))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(plans(sessions))
}

// buildServices builds every service's binary (buildBinary).
func buildServices(ctx context.Context, sessions []session, debug bool) error {
	for _, s := range sessions {
		if err := buildSession(ctx, s, debug); err != nil {
			return fmt.Errorf("service %s: %w", s.cfg.Service, err)
		}
	}
	return nil
}

// checkServices checks each service (mergeFindings).
func checkServices(ctx context.Context, sessions []session) error {
	var names []string
	var all [][]conformance.Finding
	for _, s := range sessions {
		names = append(names, s.cfg.Service)
		all = append(all, conformance.Check(ctx, s.cfg.Dir, s.cfg, s.packages))
	}
	return reportFindings(mergeFindings(names, all), actions.Runner{Getenv: os.Getenv, Out: os.Stdout}, sessions[0].log.WithField("service", strings.Join(names, ",")))
}

// mergeFindings are the findings of the services names (all, in the same
// order): one every service has (the workflow, a shared Dockerfile) once,
// as it is; one of some services only, each time, naming its service.
func mergeFindings(names []string, all [][]conformance.Finding) []conformance.Finding {
	var findings []conformance.Finding
	for i, fs := range all {
		for _, f := range fs {
			shared := !slices.ContainsFunc(all, func(other []conformance.Finding) bool { return !slices.Contains(other, f) })
			if shared && i > 0 {
				continue
			}
			if !shared {
				f.Message = "service " + names[i] + ": " + f.Message
			}
			findings = append(findings, f)
		}
	}
	return findings
}

// ciServices is ci for a repository of several services: every plan,
// every check, then what the event asks of all of them at once.
func ciServices(ctx context.Context, sessions []session) error {
	if err := plan.WriteTables(os.Stderr, plans(sessions)); err != nil {
		return err
	}
	for _, s := range sessions {
		if err := s.plan.Err(); err != nil {
			return err
		}
	}
	if err := checkServices(ctx, sessions); err != nil {
		return err
	}
	var runs pipeline.Services
	for _, s := range sessions {
		runs = append(runs, s.run())
	}
	first := sessions[0]
	var results []pipeline.Result
	switch {
	case slices.ContainsFunc(sessions, func(s session) bool { return s.plan.Push }):
		runs, logout, err := runs.Login(ctx)
		if err != nil {
			return err
		}
		defer logout()
		if results, err = publishServices(ctx, runs, first.event.Kind == event.TagPush); err != nil {
			return err
		}
		return runs.Report(results)
	case slices.ContainsFunc(sessions, func(s session) bool { return s.plan.Skipped != "" }):
		first.log.Info("nothing to publish: no service changed since its moving tags' images")
		return runs.Report(nil)
	case slices.ContainsFunc(sessions, func(s session) bool { return len(s.plan.Images) > 0 }):
		results, err := runs.BuildOnly(ctx)
		if err != nil {
			return err
		}
		return runs.Report(results)
	}
	first.log.Infof("nothing to do: %s", first.plan.Reason)
	return nil
}

// publishServices checks and signs every service that is not skipped,
// then publishes (or releases) them together.
func publishServices(ctx context.Context, runs pipeline.Services, release bool) ([]pipeline.Result, error) {
	runs, err := runs.Each(func(r pipeline.Run) (pipeline.Run, error) {
		if r.Plan.Skipped != "" {
			return r, nil
		}
		check := r.CheckPublish
		if release {
			check = r.CheckRelease
		}
		if err := check(ctx); err != nil {
			return r, err
		}
		return r.WithSigning()
	})
	if err != nil {
		return nil, err
	}
	if release {
		return runs.Release(ctx)
	}
	return runs.Publish(ctx)
}

// actAll is publish (or release) of every service, without ci's event
// switch.
func actAll(ctx context.Context, release bool) error {
	ctx, sessions, err := loadPlans(ctx)
	if err != nil {
		return err
	}
	var runs pipeline.Services
	for _, s := range sessions {
		if err := s.plan.Err(); err != nil {
			return err
		}
		runs = append(runs, s.run())
	}
	_, err = publishServices(ctx, runs, release)
	return err
}

// Service is one service of Config.Services, so that a magefile lists
// them without importing the config package:
// magetools.Config.Services = []magetools.Service{{Name: "api"}}.
type Service = config.Service
