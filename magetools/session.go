package magetools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/magefile/mage/mg"
	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/pipeline"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/magetools/config"
)

// session is everything a target knows about this run, read at call time.
type session struct {
	cfg   config.Config
	event event.Context
	plan  plan.Plan
	// log carries the commit; every line of the run has it.
	log *logrus.Entry
}

// load sets up logging, reads the event and the module, resolves Config
// (the service's init() has run by now) and computes the plan.
func load(ctx context.Context) (session, error) {
	setupLogging()
	dir := Config.ServiceDir(os.LookupEnv)
	ev, err := event.Read(ctx, os.Getenv, dir)
	if err != nil {
		return session{}, err
	}
	mod, err := module.Read(dir)
	if err != nil {
		return session{}, err
	}
	facts := config.Facts{Dir: dir, ModulePath: mod.Path, MainCandidates: mod.MainCandidates, OwnerRepo: ev.Repository}
	if facts.OwnerRepo == "" {
		facts.OwnerRepo = module.GitHubRepo(mod.Path)
	}
	cfg, err := Config.Resolve(os.LookupEnv, facts)
	if err != nil {
		return session{}, fmt.Errorf("configuration: %w", err)
	}
	p, err := plan.Make(ev, cfg)
	if err != nil {
		return session{}, err
	}
	log := logrus.WithField("commit", p.Short)
	log.WithFields(logrus.Fields{"event": ev.Kind, "ref": ev.Ref, "version": p.Version}).Debug("event read")
	log.WithFields(logrus.Fields{"image": cfg.Image, "service": cfg.Service, "main": cfg.MainPackage, "dockerfile": cfg.Dockerfile}).Debug("configuration resolved")
	return session{cfg: cfg, event: ev, plan: p, log: log}, nil
}

func (s session) run() pipeline.Run {
	return pipeline.New(s.cfg, s.event, s.plan, s.log)
}

// binaryPath is where Build and BuildDev write, relative to the service's
// Dir: bin/<service>[-dev], with
// -<os>-<arch> added when GOOS/GOARCH name another platform than the host.
func (s session) binaryPath(debug bool) string {
	name := s.cfg.Service
	if debug {
		name += "-dev"
	}
	goos, goarch := envOr("GOOS", runtime.GOOS), envOr("GOARCH", runtime.GOARCH)
	if goos != runtime.GOOS || goarch != runtime.GOARCH {
		name += "-" + goos + "-" + goarch
	}
	return filepath.Join("bin", name)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// setupLogging maps `mage -v` onto logrus's debug level; logs go to stderr
// so that stdout carries only a target's output (plan -json).
func setupLogging() {
	logrus.SetOutput(os.Stderr)
	logrus.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, PadLevelText: true})
	logrus.SetLevel(logrus.InfoLevel)
	if mg.Verbose() {
		logrus.SetLevel(logrus.DebugLevel)
	}
}

// done hands an error to Mage. Mage reads the exit code only from the
// outermost error, so a wrapped command failure is unwrapped into one that
// carries it.
func done(err error) error {
	if err == nil {
		return nil
	}
	return mg.Fatal(mg.ExitStatus(err), err)
}
