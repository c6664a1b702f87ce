package pipeline

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/dockerfile"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/run"
)

// Compiler runs the host's go command for the fast path: gobuild.Host, or
// a fake in tests.
type Compiler interface {
	// Version is the Go version that builds the module in dir.
	Version(ctx context.Context, dir string) (string, error)
	// Build runs one go build.
	Build(ctx context.Context, cmd run.Cmd) error
}

// HostBinaries is the fast path: when the Dockerfile has the stage that
// holds img's binaries, it compiles them on the host into tmp (with the
// Go module and build caches of this machine, which CI restores) and
// returns b reading that stage from the directory (--build-context), so
// that the image build only copies them. Otherwise it returns b as it is,
// and the Dockerfile compiles.
//
// Every file and directory of the tree takes the commit time, so the
// layer that copies it is the same in every build of the commit without
// BuildKit rewriting its timestamps (which re-reads and re-compresses
// every layer on every export): prod keeps its layer times, and so does
// dev with Gantry's Dockerfile, whose other dev layers have fixed times
// too; a service's own dev stage may not, and is rewritten. With Gantry's
// Dockerfile, b exports its cache with mode=min.
func (r Run) HostBinaries(ctx context.Context, tmp string, img plan.Image, b buildx.Build) (buildx.Build, error) {
	stage := gobuild.Stage(img.Target == plan.Dev)
	log := r.log(img).WithField("stage", stage)
	if r.Config.CGO {
		log.Info("cgo: compiling in the image build, with the Dockerfile's C cross-compilers (the host has none for the other platforms)")
		return b, nil
	}
	content, err := os.ReadFile(b.Dockerfile)
	if err != nil {
		return b, fmt.Errorf("read %s: %w", b.Dockerfile, err)
	}
	if !hasStage(content, stage) {
		log.Infof("the Dockerfile has no %q stage: compiling in the image build, without the host's Go caches (mage check explains the fast path)", stage)
		return b, nil
	}
	if _, err := gobuild.Layout(img.Platforms); err != nil {
		log.Warnf("%v: compiling in the image build", err)
		return b, nil
	}
	version, err := r.Compiler.Version(ctx, r.Config.Dir)
	if err != nil {
		return b, err
	}
	out, err := contextDir(tmp, stage)
	if err != nil {
		return b, err
	}
	start := time.Now()
	if err := r.compile(ctx, img, r.binaryCommands(out, img)); err != nil {
		return b, fmt.Errorf("compile %s on the host: %w; `go tool mage build` shows the same error", img.Target, err)
	}
	if !r.Event.CommitTime.IsZero() {
		if err := setTimes(out, r.Event.CommitTime); err != nil {
			return b, err
		}
		b.KeepLayerTimes = img.Target == plan.Prod || r.Config.Dockerfile == ""
	}
	log.WithFields(map[string]any{"go": version, "seconds": fmt.Sprintf("%.1f", time.Since(start).Seconds())}).
		Infof("compiled on the host for %s: the image build copies them (fast path)", strings.Join(img.Platforms, ", "))
	b.Contexts = maps.Clone(b.Contexts)
	if b.Contexts == nil {
		b.Contexts = map[string]string{}
	}
	b.Contexts[stage] = out
	if r.Config.Dockerfile == "" {
		// Gantry's Dockerfile then builds no stage for the service's
		// code; its other stages, Delve and the dev tools, are matched on
		// a fresh builder by the cache keys exported with the layers the
		// image copies from them, without their own layers: the cache
		// needs the image's layers only (README, Fast path).
		b.CacheFrom, b.CacheTo = r.cacheFlags(img, buildx.Min)
	}
	return b, nil
}

// compile runs the go builds of img's platforms at once, at most one per
// CPU (a build after a small change is mostly the link, which runs on one
// core), each one's output whole and in order (sequence).
func (r Run) compile(ctx context.Context, img plan.Image, cmds []run.Cmd) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.NumCPU())
	seq := newSequence(len(cmds))
	for i, cmd := range cmds {
		lane := seq.lanes[i]
		g.Go(func() error {
			defer lane.Close()
			r := r.in(lane)
			cmd.Stdout, cmd.Stderr, cmd.Log = direct(r.stderr()), direct(r.stderr()), r.log(img)
			return r.Compiler.Build(ctx, cmd)
		})
	}
	return g.Wait()
}

// binaryCommands are the go builds of img's binaries into out, one per
// platform, stamped as the Dockerfile stamps them (Spec's GO_LDFLAGS).
func (r Run) binaryCommands(out string, img plan.Image) []run.Cmd {
	opts := r.BuildOptions()
	var cmds []run.Cmd
	for _, p := range img.Platforms {
		// Layout has accepted every platform.
		cmd, _ := gobuild.CrossCommand(r.Config.Dir, opts, out, p, img.Target == plan.Dev)
		cmds = append(cmds, cmd)
	}
	return cmds
}

// hasStage reports whether the Dockerfile has a stage of that name; one
// that does not parse has none (CheckTargets has refused it already).
func hasStage(content []byte, name string) bool {
	f, err := dockerfile.Parse(content)
	return err == nil && f.Stage(name) >= 0
}

// contextDir makes the directory that holds the binaries of stage, under
// a name that no earlier build has used. BuildKit keeps the files it was
// sent of a build context under the directory's base name (buildx's shared
// key) and sends again only those whose size or mtime changed. Every file
// here carries the commit time, so two builds of a commit whose binaries
// differ only in a stamp of the same length (two releases of it; a change
// not yet committed) would otherwise copy the first build's binary into
// the second image.
func contextDir(tmp, stage string) (string, error) {
	dir, err := os.MkdirTemp(tmp, stage+"-")
	if err != nil {
		return "", fmt.Errorf("directory for the %s build context: %w", stage, err)
	}
	return dir, nil
}

// setTimes sets the times of everything under dir to t, so that the
// files the image copies carry the commit time, not the build's.
func setTimes(dir string, t time.Time) error {
	return filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, t, t)
	})
}
