package magetools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/magefile/mage/mg"
	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/pipeline"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/internal/stampvars"
	"github.com/gantry-build/gantry/magetools/config"
)

// session is everything a target knows about this run, read at call time.
type session struct {
	cfg   config.Config
	event event.Context
	plan  plan.Plan
	// log carries the commit; every line of the run has it.
	log *logrus.Entry
	// hostGOOS and hostGOARCH are this machine's platform (Facts.HostGOOS).
	hostGOOS, hostGOARCH string
	// packages lists the main package's graph, or returns the listing the
	// clean-tree check made: one go list per run.
	packages conformance.Lister
}

// load makes the target's logger, reads the event and the module, resolves
// Config (the service's init() has run by now) and computes the plan. The
// context it returns carries the logger, for the commands the target runs
// (run.WithLog). When only the image cannot be told, the error wraps
// config.ErrNoImage and the session holds the event and the otherwise
// resolved Config, but no plan: enough for a target that needs no image
// (check).
func load(ctx context.Context) (context.Context, session, error) { return loadSession(ctx, false) }

// loadLocal is load for the targets that push nothing (build, buildDev,
// image, imageDev): without an image repository they plan under the
// local name localhost/<service>, never pushed, so that a service not on
// GitHub builds before it has chosen where to publish.
func loadLocal(ctx context.Context) (context.Context, session, error) { return loadSession(ctx, true) }

func loadSession(ctx context.Context, local bool) (context.Context, session, error) {
	log := logrus.NewEntry(newLogger(mg.Verbose()))
	ctx = run.WithLog(ctx, log)
	s, err := readSession(ctx, log, local)
	if s.log != nil { // with the commit
		ctx = run.WithLog(ctx, s.log)
	}
	return ctx, s, err
}

func readSession(ctx context.Context, log *logrus.Entry, local bool) (session, error) {
	sessions, err := readSessions(ctx, log, local)
	if len(sessions) > 1 {
		return session{}, errSeveral(sessions)
	}
	if len(sessions) == 0 {
		return session{}, err
	}
	return sessions[0], err
}

// readSessions reads the event and the module once, and returns the
// session of each service the configuration names (one without
// Config.Services). When only the image cannot be told, the error wraps
// config.ErrNoImage and the sessions are as readSession's then.
func readSessions(ctx context.Context, log *logrus.Entry, local bool) ([]session, error) {
	dir := Config.ServiceDir(os.LookupEnv)
	ev, err := event.Read(ctx, os.Getenv, dir, log)
	if err != nil {
		return nil, err
	}
	// The main package is decided as gantry init decides it: from what
	// .goreleaser.yaml, a Dockerfile or the Makefile name, else the layout.
	repo, err := discover.Read(dir)
	if err != nil {
		return nil, err
	}
	for _, u := range repo.Unreadable {
		log.Debugf("not read for the defaults: %s", u)
	}
	mod := repo.Module
	named, ignored := repo.NamedMains()
	for _, i := range ignored {
		log.Debugf("main package: %s", i)
	}
	facts := config.Facts{Dir: dir, ModulePath: mod.Path, MainCandidates: mod.MainCandidates, NamedMains: named, OwnerRepo: ev.Repository, OwnerRepoTried: ev.RepositoryTried}
	if facts.OwnerRepo == "" {
		if facts.OwnerRepo = module.GitHubRepo(mod.Path); facts.OwnerRepo == "" {
			facts.OwnerRepoTried += fmt.Sprintf("; the module path %q is not on github.com", mod.Path)
		}
	}
	// Outside a checkout (a CI job without one) the service directory
	// bounds the Dockerfile instead; the root is the one repofile reads
	// the service's files within.
	facts.RepoRoot = repofile.RepoRoot(dir)
	if facts.HostGOOS, facts.HostGOARCH, err = (gobuild.Host{}).Platform(ctx, dir); err != nil {
		return nil, err
	}
	cfgs, err := Config.ResolveServices(os.LookupEnv, facts)
	if errors.Is(err, config.ErrNoImage) && local {
		for i := range cfgs {
			cfgs[i].Image = "localhost/" + cfgs[i].Service
		}
		err = nil
	}
	if err != nil && !errors.Is(err, config.ErrNoImage) {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	several := len(Config.Services) > 0
	var sessions []session
	for _, cfg := range cfgs {
		log := log
		if several {
			log = log.WithField("service", cfg.Service)
		}
		s, serr := serviceSession(ctx, cfg, ev, facts, log, err)
		if serr != nil && !errors.Is(serr, config.ErrNoImage) {
			return nil, serr
		}
		if several && serr == nil {
			s.plan.Service = cfg.Service
		}
		sessions = append(sessions, s)
	}
	if err != nil {
		return sessions, fmt.Errorf("configuration: %w", err)
	}
	return sessions, nil
}

// serviceSession is the session of one resolved service configuration;
// resolveErr is what resolving it gave (nil, or wrapping ErrNoImage).
func serviceSession(ctx context.Context, cfg config.Config, ev event.Context, facts config.Facts, log *logrus.Entry, resolveErr error) (session, error) {
	if errors.Is(resolveErr, config.ErrNoImage) {
		// The commit is validated and the SHA length resolved by now.
		return session{cfg: cfg, event: ev, log: log.WithField("commit", ev.Commit[:cfg.ShortSHALength]), hostGOOS: facts.HostGOOS, hostGOARCH: facts.HostGOARCH,
			packages: conformance.ListPackages(cfg.Dir, cfg, log)}, fmt.Errorf("configuration: %w", resolveErr)
	}
	var err error
	packages := conformance.ListPackages(cfg.Dir, cfg, log)
	// With git status clean, the files the build reads decide: without a
	// checkout (a CI job without one) there is no commit to compare with.
	if !ev.Dirty && (git.Repo{Dir: cfg.Dir}).IsRepo(ctx) {
		g, listErr := packages(ctx)
		packages = func(context.Context) (golist.Graph, error) { return g, listErr }
		if listErr != nil {
			// The build cannot run either; mage check says why.
			log.Warnf("cannot tell whether the files the build compiles are the commit's: %v", listErr)
		} else if ev.Changes, err = compiledChanges(ctx, cfg, g); err != nil {
			return session{}, err
		}
		if ev.Dirty = len(ev.Changes) > 0; ev.Dirty {
			log.Warnf("the tree is dirty, though git status shows nothing: the build reads files the commit does not hold as they are: %s", ev.Changes)
		}
	}
	p, err := plan.Make(ev, cfg)
	if err != nil {
		return session{}, err
	}
	log = log.WithField("commit", p.Short)
	if err := p.Err(); err != nil {
		// Only a release needs a release version; the rest goes on.
		log.Warnf("%v (publish, release and ci refuse this commit until then)", err)
	}
	log.WithFields(logrus.Fields{"event": ev.Kind, "ref": ev.Ref, "version": p.Version}).Debug("event read")
	log.WithFields(logrus.Fields{"image": cfg.Image, "service": cfg.Service, "main": cfg.MainPackage, "dockerfile": cfg.Dockerfile}).Debug("configuration resolved")
	return session{cfg: cfg, event: ev, plan: p, log: log, hostGOOS: facts.HostGOOS, hostGOARCH: facts.HostGOARCH, packages: packages}, nil
}

// compiledChanges lists the files the build of the main package reads
// (g, the graph the image build compiles) that the commit does not hold
// as they are: the tree is judged by what is compiled, not by what git
// status shows. With Config.Prepare, a file the commit lacks that a
// committed .gitignore ignores is what Prepare generates, and passes.
func compiledChanges(ctx context.Context, cfg config.Config, g golist.Graph) (git.Changes, error) {
	repo := git.Repo{Dir: cfg.Dir}
	changes, err := repo.Changed(ctx, g.SourceFiles())
	if err != nil || len(cfg.Prepare) == 0 {
		return changes, err
	}
	var absent []string
	for _, c := range changes {
		if !c.InCommit {
			absent = append(absent, c.Path)
		}
	}
	generated, err := repo.IgnoredByCommit(ctx, absent)
	return slices.DeleteFunc(changes, func(c git.Change) bool { return !c.InCommit && slices.Contains(generated, c.Path) }), err
}

func (s session) run() pipeline.Run {
	return pipeline.New(s.cfg, s.event, s.plan, s.log)
}

// build is run for the targets that build: with the stamps the build
// passes (stampvars.Effective over the main package's graph, as mage
// check's stamp rule reads it). A default stamp whose variable the binary
// lacks is left out with one warning; one the team set is an error. When
// the graph cannot be listed, the go build says why, so the stamps stay.
func (s session) build(ctx context.Context) (pipeline.Run, error) {
	r := s.run()
	g, err := s.packages(ctx)
	if err != nil {
		s.log.Debugf("version stamps not checked: %v", err)
		return r, nil
	}
	stamp, skipped, err := stampvars.New(g).Effective(s.cfg.Stamp)
	if err != nil {
		return r, err
	}
	for _, sk := range skipped {
		s.log.Warnf("-X %s (the default of %s, which is not set) sets nothing: %s; the build leaves it out, so the binary will not know its %s (declare the variable, or set %s to - to say there is none)",
			sk.Target, sk.Settings(), sk.Problem, strings.ToLower(sk.Field), sk.Settings())
	}
	r.Config.Stamp = stamp
	return r, nil
}

// binaryPath is where Build and BuildDev write, relative to the service's
// Dir: bin/gantry/<service>[-dev], with -<os>-<arch> added when
// GANTRY_GOOS and GANTRY_GOARCH name another platform than this machine's
// (and .exe for Windows).
func (s session) binaryPath(debug bool) string {
	name := s.cfg.Service
	if debug {
		name += "-dev"
	}
	if !s.forHost() {
		name += "-" + s.cfg.GOOS + "-" + s.cfg.GOARCH
	}
	if s.cfg.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(binDir, name)
}

// forHost reports whether Build and BuildDev build for this machine.
func (s session) forHost() bool {
	return s.cfg.GOOS == s.hostGOOS && s.cfg.GOARCH == s.hostGOARCH
}

// binDir holds Build's outputs, relative to the service's Dir. It is
// Gantry's own directory, not bin/: a team's bin/ (its scripts, its
// bin/.gitignore) is left as it is, and the .dockerignore template's bin/
// still keeps the binaries out of the build context.
const binDir = "bin/gantry"

// outputsIgnore is binDir's .gitignore: everything in it, itself too.
const outputsIgnore = "# Written by Gantry: mage build's outputs, never committed.\n*\n"

// ignoreOutputs makes binDir under dir and keeps git from seeing what is
// in it, with a .gitignore of "*": Gantry's own outputs must never make
// the checkout dirty (a dirty tree cannot publish). The directory is
// Gantry's, so a .gitignore there that says otherwise is rewritten. A
// binDir that is a link leading out of the repository is refused: the
// binary would be written outside.
func ignoreOutputs(dir string) error {
	root := repofile.At(dir)
	if err := root.MkdirAll(binDir); err != nil {
		return fmt.Errorf("mage build writes into %s/: %w", binDir, err)
	}
	ignore := binDir + "/.gitignore"
	have, err := root.Read(ignore, repofile.MaxBuildFile)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && string(have) != outputsIgnore) {
		err = root.Write(ignore, []byte(outputsIgnore))
	}
	if err != nil {
		return fmt.Errorf("mage build keeps git from seeing its outputs with %s: %w", ignore, err)
	}
	return nil
}

// newLogger is a target's own logger, so that the service's global logrus
// logger stays as the service set it: to stderr, so that stdout carries
// only a target's output (plan -json); debug with `mage -v` (verbose).
func newLogger(verbose bool) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	// DisableQuote: in a CI log (no terminal) a line reads
	// `level=error msg=there is no stage "prod" ... rule=stages`, the message
	// as written, not escaped into a quoted string.
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, PadLevelText: true, DisableQuote: true})
	if verbose {
		l.SetLevel(logrus.DebugLevel)
	}
	return l
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

// checkCrossCgo refuses a cgo build for another platform on a machine
// whose C compiler cannot target it: go build would fail deep in the C
// compiler. CC, when set, is taken to be the right cross-compiler.
func (s session) checkCrossCgo() error {
	if !s.cfg.CGO || s.forHost() || os.Getenv("CC") != "" {
		return nil
	}
	return fmt.Errorf("cgo for %s/%s on this %s/%s machine needs a C cross-compiler: set CC (e.g. CC=aarch64-linux-gnu-gcc, from Debian's gcc-aarch64-linux-gnu), or build the image (go tool mage image), whose Dockerfile brings one", s.cfg.GOOS, s.cfg.GOARCH, s.hostGOOS, s.hostGOARCH)
}

// outputHead keeps the first max bytes written to it: the start of a
// command's output, where go prints its first error.
type outputHead struct {
	max int
	buf []byte
}

func (h *outputHead) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *outputHead) String() string { return string(h.buf) }
