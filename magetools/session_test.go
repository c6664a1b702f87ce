package magetools

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/gittest"
	"github.com/gantry-build/gantry/internal/testtree"
	"github.com/gantry-build/gantry/magetools/config"
)

// TestIgnoreOutputsKeepsTheTreeClean: after a build writes into
// bin/gantry/, git sees no change, so a following plan is not -dirty and
// publish can run.
func TestIgnoreOutputsKeepsTheTreeClean(t *testing.T) {
	dir := gittest.NewRepo(t)
	gittest.Commit(t, dir, "main.go", "package main\n", "2024-01-02T03:04:05+00:00")
	for range 2 { // a second build finds bin/gantry/ and its .gitignore in place
		if err := ignoreOutputs(dir); err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{"svc", "svc-dev", "svc-linux-arm64"} {
			if err := os.WriteFile(filepath.Join(dir, binDir, out), []byte("binary"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if status := gittest.Run(t, dir, nil, "status", "--porcelain", "--untracked-files=all"); status != "" {
			t.Fatalf("the build outputs make the tree dirty:\n%s", status)
		}
	}
}

// TestIgnoreOutputsLeavesTheServicesBin: the team's bin/ (its .gitignore,
// a script committed later) is the team's: a build neither rewrites the
// one nor hides the other. A .gitignore in bin/gantry/ that does not
// ignore everything is Gantry's to fix.
func TestIgnoreOutputsLeavesTheServicesBin(t *testing.T) {
	dir := gittest.NewRepo(t)
	own := "# the service's\n*.tmp\n"
	testtree.Write(t, dir, map[string]string{"bin/.gitignore": own, "bin/gantry/.gitignore": "!keep\n"})
	if err := ignoreOutputs(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "bin", ".gitignore")); string(got) != own {
		t.Errorf("bin/.gitignore rewritten to %q", got)
	}
	testtree.Write(t, dir, map[string]string{"bin/deploy.sh": "#!/bin/sh\n", "bin/gantry/svc": "binary"})
	status := gittest.Run(t, dir, nil, "status", "--porcelain", "--untracked-files=all")
	if want := "?? bin/.gitignore\n?? bin/deploy.sh"; strings.TrimSpace(status) != want {
		t.Errorf("git status:\n%s\nwant the team's bin/ files alone:\n%s", status, want)
	}
}

// TestIgnoreOutputsStaysInTheRepository: a bin/ linked out of the
// repository would receive the binary; a bin/gantry/.gitignore that is a
// named pipe would hang the build. Both are refused; a bin/ linked inside
// the repository is used.
func TestIgnoreOutputsStaysInTheRepository(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir, outside string)
		wantErr string
		// wantIgnore is the file that must hold the .gitignore.
		wantIgnore string
	}{
		{name: "bin linked to a directory outside", setup: func(t *testing.T, dir, outside string) { testtree.Link(t, dir, "bin", outside) },
			wantErr: "mage build writes into bin/gantry/: bin/gantry: bin is a link to "},
		{name: "bin/gantry/.gitignore is a named pipe", setup: func(t *testing.T, dir, outside string) {
			testtree.Write(t, dir, map[string]string{"bin/gantry/svc": "binary"})
			testtree.Fifo(t, dir, "bin/gantry/.gitignore")
		}, wantErr: "bin/gantry/.gitignore is a named pipe, not a regular file"},
		{name: "bin linked inside the repository", setup: func(t *testing.T, dir, outside string) {
			testtree.Write(t, dir, map[string]string{"build/out/README": "outputs\n"})
			testtree.Link(t, dir, "bin", "build/out")
		}, wantIgnore: "build/out/gantry/.gitignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			tt.setup(t, dir, outside)
			var err error
			testtree.Returns(t, func() { err = ignoreOutputs(dir) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("written outside the repository: %v", entries)
			}
			if tt.wantIgnore != "" {
				if got, err := os.ReadFile(filepath.Join(dir, tt.wantIgnore)); err != nil || !strings.Contains(string(got), "*\n") {
					t.Errorf("%s holds %q, %v; want the ignore", tt.wantIgnore, got, err)
				}
			}
		})
	}
}

// TestBinaryPath: the name tells the platform whenever it is not the
// host's, the host being what the go command reports (session.hostGOARCH),
// not the platform the mage binary runs as: GOARCH=arm64 go tool mage
// build under binfmt runs an arm64 mage on an amd64 host.
func TestBinaryPath(t *testing.T) {
	const hostGOARCH = "s390x" // not the test binary's runtime.GOARCH
	tests := []struct {
		goos, goarch string
		debug        bool
		want         string
	}{
		{"linux", hostGOARCH, false, "bin/gantry/svc"},
		{"linux", hostGOARCH, true, "bin/gantry/svc-dev"},
		{"linux", runtime.GOARCH, false, "bin/gantry/svc-linux-" + runtime.GOARCH},
		{"linux", "arm64", true, "bin/gantry/svc-dev-linux-arm64"},
		{"windows", "amd64", false, "bin/gantry/svc-windows-amd64.exe"},
	}
	for _, tt := range tests {
		s := session{cfg: config.Config{Service: "svc", GOOS: tt.goos, GOARCH: tt.goarch}, hostGOOS: "linux", hostGOARCH: hostGOARCH}
		if got := s.binaryPath(tt.debug); got != filepath.FromSlash(tt.want) {
			t.Errorf("binaryPath(%s/%s, debug %v) = %q, want %q", tt.goos, tt.goarch, tt.debug, got, tt.want)
		}
	}
}

// TestDockerignoreKeepsOutputsOut: bin/ never enters a build context,
// through Gantry's template or the example service's copy of it.
func TestDockerignoreKeepsOutputsOut(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile(filepath.Join("..", "examples", "hello", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"docker/dockerignore": string(docker.Dockerignore), "examples/hello/.dockerignore": string(example)} {
		// bin/ holds binDir (bin/gantry), and so ignores it.
		if top, _, _ := strings.Cut(binDir, "/"); !slices.Contains(strings.Split(content, "\n"), top+"/") {
			t.Errorf("%s does not ignore %s/, which holds %s/", name, top, binDir)
		}
	}
}

// TestLogLinesReadAsWritten: in CI (no terminal) a log line is key=value,
// one line per event, with the message and its fields as written: a
// finding's quotes are not escaped into a Go string.
func TestLogLinesReadAsWritten(t *testing.T) {
	t.Parallel()
	logger := newLogger(false)
	var buf bytes.Buffer
	logger.SetOutput(&buf)
	logger.WithFields(logrus.Fields{"rule": "stages", "tag": "ghcr.io/acme/svc:main"}).Error(`there is no stage "prod" (fix: add FROM <image> AS prod)`)
	want := `level=error msg=there is no stage "prod" (fix: add FROM <image> AS prod) rule=stages tag=ghcr.io/acme/svc:main` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("log line\n  %q\nwant\n  %q", got, want)
	}
}

func TestCheckCrossCgo(t *testing.T) {
	const hostGOARCH = "s390x" // not the test binary's runtime.GOARCH
	tests := []struct {
		name    string
		cfg     config.Config
		cc      string
		wantErr bool
	}{
		{name: "no cgo, another platform", cfg: config.Config{GOOS: "linux", GOARCH: "arm64"}},
		{name: "cgo for this machine", cfg: config.Config{CGO: true, GOOS: "linux", GOARCH: hostGOARCH}},
		{name: "cgo for the platform mage runs as, not the host's", cfg: config.Config{CGO: true, GOOS: "linux", GOARCH: runtime.GOARCH}, wantErr: true},
		{name: "cgo for another platform with CC", cfg: config.Config{CGO: true, GOOS: "linux", GOARCH: "arm64"}, cc: "aarch64-linux-gnu-gcc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CC", tt.cc)
			err := session{cfg: tt.cfg, hostGOOS: "linux", hostGOARCH: hostGOARCH}.checkCrossCgo()
			if (err != nil) != tt.wantErr {
				t.Fatalf("checkCrossCgo = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), "set CC") || !strings.Contains(err.Error(), "mage image")) {
				t.Errorf("error %q does not name the fixes", err)
			}
		})
	}
}

// TestCompiledChanges: the tree is judged by what the build compiles and
// embeds, against the commit's bytes: a compiled file git status hides is
// a change, named; a file the build does not read is not; with Prepare, a
// file a committed .gitignore ignores is generated, and passes.
func TestCompiledChanges(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	const date = "2024-01-02T03:04:05+00:00"
	setup := func(t *testing.T) string {
		dir := gittest.NewRepo(t)
		gittest.Commit(t, dir, "go.mod", "module example.com/svc\n\ngo 1.22\n", date)
		gittest.Commit(t, dir, "main.go", "package main\n\nimport _ \"embed\"\n\n//go:embed ui/*\nvar ui string\n\nfunc main() { println(ui) }\n", date)
		gittest.Commit(t, dir, ".gitignore", "/ui/app.js\n", date)
		gittest.Commit(t, dir, "notes.txt", "not compiled\n", date)
		if err := os.Mkdir(filepath.Join(dir, "ui"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ui", "app.js"), []byte("generated"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	changes := func(t *testing.T, dir string, prepare ...string) (git.Changes, error) {
		t.Helper()
		cfg := config.Config{Dir: dir, MainPackage: ".", Platforms: []string{"linux/amd64"}, Prepare: prepare}
		g, err := conformance.ListPackages(dir, cfg, logrus.NewEntry(logrus.StandardLogger()))(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return compiledChanges(t.Context(), cfg, g)
	}

	t.Run("hidden changes", func(t *testing.T) {
		dir := setup(t)
		write := func(name, content string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("main.go", "package main\n\nimport _ \"embed\"\n\n//go:embed ui/*\nvar ui string\n\nfunc main() { println(\"uncommitted\", ui) }\n")
		gittest.Run(t, dir, nil, "update-index", "--assume-unchanged", "main.go")
		write("extra.go", "package main\n\nfunc init() { println(\"not in the commit\") }\n")
		write(filepath.Join(".git", "info", "exclude"), "extra.go\n")
		write("notes.txt", "changed, but not compiled\n")
		gittest.Run(t, dir, nil, "update-index", "--assume-unchanged", "notes.txt")
		if status := gittest.Run(t, dir, nil, "status", "--porcelain"); status != "" {
			t.Fatalf("git status shows %q; the test needs it to show nothing", status)
		}
		got, err := changes(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range got {
			names = append(names, c.String())
		}
		want := []string{"extra.go (not in the commit)", "main.go (differs from the commit)", "ui/app.js (not in the commit)"}
		if !slices.Equal(names, want) {
			t.Errorf("compiledChanges = %q, want %q", names, want)
		}
	})

	t.Run("what Prepare generates", func(t *testing.T) {
		got, err := changes(t, setup(t), "go", "generate", "./ui")
		if err != nil || len(got) != 0 {
			t.Errorf("compiledChanges = %v, %v; want none: ui/app.js is ignored by the commit's .gitignore", got, err)
		}
	})
}

// TestLoadLeavesGlobalLoggerAlone: a target logs through a logger of its
// own, at debug level with mage -v, and leaves the service's global logrus
// logger as the service set it.
func TestLoadLeavesGlobalLoggerAlone(t *testing.T) {
	dir := gittest.NewRepo(t)
	gittest.Commit(t, dir, "go.mod", "module github.com/acme/svc\n\ngo 1.22\n", "2024-01-02T03:04:05+00:00")
	gittest.Commit(t, dir, "main.go", "package main\n\nfunc main() {}\n", "2024-01-02T03:04:05+00:00")
	t.Setenv("GANTRY_DIR", dir)
	t.Setenv("GANTRY_IMAGE", "ghcr.io/acme/svc")
	t.Setenv("GITHUB_ACTIONS", "")
	global := logrus.StandardLogger()
	var serviceOut bytes.Buffer
	formatter := &logrus.JSONFormatter{}
	global.SetOutput(&serviceOut)
	global.SetFormatter(formatter)
	global.SetLevel(logrus.WarnLevel)
	t.Cleanup(func() {
		global.SetOutput(os.Stderr)
		global.SetFormatter(&logrus.TextFormatter{})
		global.SetLevel(logrus.InfoLevel)
	})
	for _, verbose := range []bool{false, true} {
		t.Setenv("MAGEFILE_VERBOSE", strconv.FormatBool(verbose))
		_, s, err := load(context.Background())
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if global.Out != &serviceOut || global.Formatter != formatter || global.Level != logrus.WarnLevel {
			t.Errorf("load (verbose %v) reconfigured the global logger: out %v, formatter %T, level %v", verbose, global.Out, global.Formatter, global.Level)
		}
		if s.log.Logger == global {
			t.Fatal("the session logs through the global logger")
		}
		want := logrus.InfoLevel
		if verbose {
			want = logrus.DebugLevel
		}
		if s.log.Logger.Level != want || s.log.Logger.Out != os.Stderr {
			t.Errorf("verbose %v: the target's logger is at %v to %v, want %v to stderr", verbose, s.log.Logger.Level, s.log.Logger.Out, want)
		}
	}
	if serviceOut.Len() != 0 {
		t.Errorf("the target logged through the service's logger: %s", serviceOut.String())
	}
}

func TestHeadKeepsTheStart(t *testing.T) {
	t.Parallel()
	h := &outputHead{max: 8}
	for _, s := range []string{"ui.go:5", ": pattern", " build/*"} {
		if n, err := h.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v: a tee must take everything", s, n, err)
		}
	}
	if got := h.String(); got != "ui.go:5:" {
		t.Errorf("head = %q, want the first 8 bytes", got)
	}
}
