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
	"github.com/gantry-build/gantry/internal/gittest"
	"github.com/gantry-build/gantry/magetools/config"
)

// TestIgnoreOutputsKeepsTheTreeClean: after a build writes into bin/, git
// sees no change, so a following plan is not -dirty and publish can run.
func TestIgnoreOutputsKeepsTheTreeClean(t *testing.T) {
	dir := gittest.NewRepo(t)
	gittest.Commit(t, dir, "main.go", "package main\n", "2024-01-02T03:04:05+00:00")
	for range 2 { // a second build finds bin/ and its .gitignore in place
		if err := ignoreOutputs(dir); err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{"svc", "svc-dev", "svc-linux-arm64"} {
			if err := os.WriteFile(filepath.Join(dir, "bin", out), []byte("binary"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if status := gittest.Run(t, dir, nil, "status", "--porcelain", "--untracked-files=all"); status != "" {
			t.Fatalf("the build outputs make the tree dirty:\n%s", status)
		}
	}
}

func TestIgnoreOutputsLeavesTheServicesOwnIgnore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	own := "# the service's\n!keep\n*\n"
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", ".gitignore"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ignoreOutputs(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "bin", ".gitignore")); string(got) != own {
		t.Errorf("bin/.gitignore rewritten to %q", got)
	}
}

func TestBinaryPath(t *testing.T) {
	t.Parallel()
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	tests := []struct {
		goos, goarch string
		debug        bool
		want         string
	}{
		{runtime.GOOS, runtime.GOARCH, false, "bin/svc"},
		{runtime.GOOS, runtime.GOARCH, true, "bin/svc-dev"},
		{"linux", other, false, "bin/svc-linux-" + other},
		{"linux", other, true, "bin/svc-dev-linux-" + other},
		{"windows", "amd64", false, "bin/svc-windows-amd64.exe"},
	}
	for _, tt := range tests {
		s := session{cfg: config.Config{Service: "svc", GOOS: tt.goos, GOARCH: tt.goarch}}
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
		if !slices.Contains(strings.Split(content, "\n"), binDir+"/") {
			t.Errorf("%s does not ignore %s/", name, binDir)
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
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	tests := []struct {
		name    string
		cfg     config.Config
		cc      string
		wantErr bool
	}{
		{name: "no cgo, another platform", cfg: config.Config{GOOS: "linux", GOARCH: other}},
		{name: "cgo for this machine", cfg: config.Config{CGO: true, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}},
		{name: "cgo for another platform without CC", cfg: config.Config{CGO: true, GOOS: "linux", GOARCH: other}, wantErr: true},
		{name: "cgo for another platform with CC", cfg: config.Config{CGO: true, GOOS: "linux", GOARCH: other}, cc: "aarch64-linux-gnu-gcc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CC", tt.cc)
			err := checkCrossCgo(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("checkCrossCgo = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), "set CC") || !strings.Contains(err.Error(), "mage image")) {
				t.Errorf("error %q does not name the fixes", err)
			}
		})
	}
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
