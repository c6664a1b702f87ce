package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
)

// fakeCompiler records the go builds of the fast path (as commands,
// without where their output goes), and writes each binary where -o says.
type fakeCompiler struct {
	fail error

	mu   sync.Mutex
	cmds []run.Cmd
}

func (c *fakeCompiler) Version(context.Context, string) (string, error) { return "go1.26.8", nil }

func (c *fakeCompiler) Build(_ context.Context, cmd run.Cmd) error {
	if cmd.Stderr != nil {
		fmt.Fprintf(cmd.Stderr, "go build %s\n", cmd.Args[len(cmd.Args)-2])
	}
	cmd.Stdout, cmd.Stderr, cmd.Log = nil, nil, nil
	c.mu.Lock()
	c.cmds = append(c.cmds, cmd)
	c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	for i, a := range cmd.Args {
		if a == "-o" {
			out := cmd.Args[i+1]
			// Builds run on the pipeline's goroutines, where t.Fatal must
			// not be called: the test sees this error instead.
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return fmt.Errorf("fake go build: %w", err)
			}
			if err := os.WriteFile(out, []byte("binary"), 0o755); err != nil {
				return fmt.Errorf("fake go build: %w", err)
			}
		}
	}
	return nil
}

func TestHostBinaries(t *testing.T) {
	t.Parallel()
	ev := event.Context{Kind: event.BranchPush, Name: "push",
		Ref: "refs/heads/main", Branch: "main", Commit: specSHA, CommitTime: specTime, Repository: "Acme/Svc"}
	withoutStages := bytes.ReplaceAll(bytes.ReplaceAll(docker.Dockerfile, []byte("AS binaries"), []byte("AS build-prod")), []byte("AS debug-binaries"), []byte("AS build-dev"))
	tests := []struct {
		name       string
		dockerfile []byte
		image      int // 0 prod, 1 dev
		platforms  []string
		cgo        bool
		// own is a Dockerfile of the service's, not Gantry's.
		own  bool
		fail error
		// wantStage is the context set ("" for none); wantCmds the builds.
		wantStage string
		wantDebug bool
		wantLog   string
		wantErr   string
	}{
		{name: "prod: both platforms compiled, binaries stage replaced", dockerfile: docker.Dockerfile,
			wantStage: gobuild.BinariesStage, wantLog: "fast path"},
		{name: "dev: debug binaries", dockerfile: docker.Dockerfile, image: 1,
			wantStage: gobuild.DebugBinariesStage, wantDebug: true, wantLog: "fast path"},
		{name: "a service's Dockerfile with the stage: the fast path, its cache still mode=max", dockerfile: docker.Dockerfile, image: 1, own: true,
			wantStage: gobuild.DebugBinariesStage, wantDebug: true, wantLog: "fast path"},
		{name: "a Dockerfile without the stage compiles itself", dockerfile: withoutStages,
			wantLog: `no "binaries" stage`},
		{name: "platforms sharing a directory compile in the Dockerfile", dockerfile: docker.Dockerfile,
			platforms: []string{"linux/arm/v6", "linux/arm/v7"}, wantLog: "share the binaries directory"},
		{name: "cgo compiles in the Dockerfile, with its C cross-compilers", dockerfile: docker.Dockerfile, cgo: true,
			wantLog: "C cross-compilers"},
		{name: "a failed compile fails the build, naming mage build", dockerfile: docker.Dockerfile,
			fail: errors.New("exit status 1"), wantErr: "go tool mage build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			df := filepath.Join(tmp, "Dockerfile")
			if err := os.WriteFile(df, tt.dockerfile, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := resolve(t, config.Config{Image: specImage, Dir: "svc", MainPackage: "./cmd/svc", CGO: tt.cgo, Cache: "local:/cache"}, nil)
			if tt.own {
				cfg.Dockerfile = "docker/Dockerfile"
			}
			p, err := plan.Make(ev, cfg)
			if err != nil {
				t.Fatal(err)
			}
			logger, hook := logtest.NewNullLogger()
			var output bytes.Buffer
			compiler := &fakeCompiler{fail: tt.fail}
			r := Run{Config: cfg, Event: ev, Plan: p, Getenv: getenv(nil), Compiler: compiler, Log: logrus.NewEntry(logger), Stderr: &output}
			img := p.Images[tt.image]
			if tt.platforms != nil {
				img.Platforms = tt.platforms
			}
			spec := r.Spec(img, df, buildx.Push, img.Immutable())
			got, err := r.HostBinaries(context.Background(), tmp, img, spec)
			if tt.wantErr != "" {
				wantErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantLog != "" {
				var lines []string
				for _, e := range hook.AllEntries() {
					lines = append(lines, e.Message)
				}
				if !strings.Contains(strings.Join(lines, "\n"), tt.wantLog) {
					t.Errorf("log %q lacks %q", lines, tt.wantLog)
				}
			}
			// The exported cache: the image's layers only (mode=min) for
			// Gantry's Dockerfile on the fast path, every stage's otherwise.
			mode := "mode=max"
			if tt.wantStage != "" && !tt.own {
				mode = "mode=min"
			}
			if len(got.CacheTo) != 1 || !strings.Contains(got.CacheTo[0], mode) {
				t.Errorf("CacheTo = %q, want %s", got.CacheTo, mode)
			}
			if tt.wantStage == "" {
				if !reflect.DeepEqual(got, spec) || len(compiler.cmds) != 0 {
					t.Errorf("build changed (%v) or compiled %d binaries; want the Dockerfile to compile", got.Contexts, len(compiler.cmds))
				}
				return
			}
			out := got.Contexts[tt.wantStage]
			if len(got.Contexts) != 1 || filepath.Dir(out) != tmp || !strings.HasPrefix(filepath.Base(out), tt.wantStage+"-") {
				t.Errorf("Contexts = %v, want only %s=%s/%s-<new name>", got.Contexts, tt.wantStage, tmp, tt.wantStage)
			}
			// Layer times are kept where every layer's times are fixed:
			// prod, and dev with Gantry's Dockerfile; not a dev stage of
			// the service's own.
			if wantKeep := tt.image == 0 || !tt.own; got.KeepLayerTimes != wantKeep {
				t.Errorf("KeepLayerTimes = %v, want %v", got.KeepLayerTimes, wantKeep)
			}
			if spec.Contexts != nil {
				t.Errorf("HostBinaries changed its argument's Contexts: %v", spec.Contexts)
			}
			opts := gobuild.Options{MainPackage: "./cmd/svc", XFlags: gobuild.XFlags(cfg.Stamp, r.Stamp())}
			var want []run.Cmd
			for _, platform := range img.Platforms {
				cmd, _ := gobuild.CrossCommand("svc", opts, out, platform, tt.wantDebug)
				want = append(want, cmd)
			}
			// The platforms compile at once, in any order; their output
			// comes in the order of the platforms.
			if got, want := output.String(), fmt.Sprintf("go build %s\ngo build %s\n", want[0].Args[len(want[0].Args)-2], want[1].Args[len(want[1].Args)-2]); got != want {
				t.Errorf("output %q, want %q", got, want)
			}
			slices.SortFunc(compiler.cmds, func(a, b run.Cmd) int { return strings.Compare(a.String(), b.String()) })
			if !reflect.DeepEqual(compiler.cmds, want) {
				t.Errorf("go builds:\n%v\nwant\n%v", compiler.cmds, want)
			}
			for _, dir := range []string{"linux_amd64", "linux_arm64"} {
				for _, path := range []string{gobuild.Binary, "usr/local/bin", "usr/local", "usr", "."} {
					info, err := os.Stat(filepath.Join(out, dir, path))
					if err != nil {
						t.Fatal(err)
					}
					if !info.ModTime().Equal(specTime) {
						t.Errorf("%s/%s mtime %s, want the commit time %s", dir, path, info.ModTime(), specTime)
					}
				}
			}
			// BuildKit reuses what it was sent of a context of the same
			// directory name when sizes and mtimes match (contextDir).
			again, err := r.HostBinaries(context.Background(), tmp, img, spec)
			if err != nil {
				t.Fatal(err)
			}
			if again.Contexts[tt.wantStage] == out {
				t.Errorf("a second build used the directory %s again", out)
			}
		})
	}
}
