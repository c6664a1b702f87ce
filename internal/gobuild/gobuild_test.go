package gobuild

import (
	"bytes"
	"cmp"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/internal/testtree"
	"github.com/gantry-build/gantry/magetools/config"
)

var defaultVars = config.Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date"}

const commitSHA = "0123456789abcdef0123456789abcdef01234567"

func TestXFlags(t *testing.T) {
	t.Parallel()
	date := time.Date(2024, 5, 6, 12, 15, 16, 0, time.UTC)
	tests := []struct {
		name  string
		vars  config.Stamp
		stamp Stamp
		want  []string
	}{
		{name: "all three", vars: defaultVars, stamp: Stamp{Version: "1.2.3", Commit: commitSHA, Date: date},
			want: []string{"-X", "main.version=1.2.3", "-X", "main.commit=" + commitSHA, "-X", "main.date=2024-05-06T12:15:16Z"}},
		{name: "custom package paths", vars: config.Stamp{Version: "example.com/svc/internal/build.Version", Commit: "example.com/svc/internal/build.Commit", Date: "example.com/svc/internal/build.Date"},
			stamp: Stamp{Version: "main-0123456", Commit: commitSHA, Date: date},
			want: []string{"-X", "example.com/svc/internal/build.Version=main-0123456", "-X", "example.com/svc/internal/build.Commit=" + commitSHA,
				"-X", "example.com/svc/internal/build.Date=2024-05-06T12:15:16Z"}},
		{name: "empty version name skipped", vars: config.Stamp{Commit: "main.commit", Date: "main.date"}, stamp: Stamp{Version: "1.2.3", Commit: commitSHA, Date: date},
			want: []string{"-X", "main.commit=" + commitSHA, "-X", "main.date=2024-05-06T12:15:16Z"}},
		{name: "empty commit name skipped", vars: config.Stamp{Version: "main.version", Date: "main.date"}, stamp: Stamp{Version: "1.2.3", Commit: commitSHA, Date: date},
			want: []string{"-X", "main.version=1.2.3", "-X", "main.date=2024-05-06T12:15:16Z"}},
		{name: "empty date name skipped", vars: config.Stamp{Version: "main.version", Commit: "main.commit"}, stamp: Stamp{Version: "1.2.3", Commit: commitSHA, Date: date},
			want: []string{"-X", "main.version=1.2.3", "-X", "main.commit=" + commitSHA}},
		{name: "zero date skipped", vars: defaultVars, stamp: Stamp{Version: "1.2.3", Commit: commitSHA},
			want: []string{"-X", "main.version=1.2.3", "-X", "main.commit=" + commitSHA}},
		{name: "date converted to UTC", vars: defaultVars,
			stamp: Stamp{Version: "v", Commit: "c", Date: time.Date(2024, 5, 6, 14, 15, 16, 0, time.FixedZone("CEST", 2*3600))},
			want:  []string{"-X", "main.version=v", "-X", "main.commit=c", "-X", "main.date=2024-05-06T12:15:16Z"}},
		{name: "sub-second part dropped", vars: config.Stamp{Date: "main.date"},
			stamp: Stamp{Date: time.Date(2024, 5, 6, 12, 15, 16, 999_000_000, time.UTC)},
			want:  []string{"-X", "main.date=2024-05-06T12:15:16Z"}},
		{name: "empty values are still stamped", vars: defaultVars, stamp: Stamp{},
			want: []string{"-X", "main.version=", "-X", "main.commit="}},
		{name: "no names: no flags", vars: config.Stamp{}, stamp: Stamp{Version: "1.2.3", Commit: commitSHA, Date: date}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := XFlags(tt.vars, tt.stamp)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("XFlags = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	xflags := []string{"-X", "main.version=1.2.3", "-X", "main.commit=" + commitSHA, "-X", "main.date=2024-05-06T12:15:16Z"}
	xstr := "-X main.version=1.2.3 -X main.commit=" + commitSHA + " -X main.date=2024-05-06T12:15:16Z"
	tests := []struct {
		name    string
		opts    Options
		output  string
		debug   bool
		want    []string
		wantCGO string
	}{
		{name: "prod", opts: Options{MainPackage: "./cmd/api", XFlags: xflags}, output: "bin/api",
			want: []string{"build", "-trimpath", "-ldflags=-s -w " + xstr, "-o", "bin/api", "./cmd/api"}},
		{name: "prod without stamps", opts: Options{MainPackage: "."}, output: "bin/svc",
			want: []string{"build", "-trimpath", "-ldflags=-s -w", "-o", "bin/svc", "."}},
		{name: "debug", opts: Options{MainPackage: "./cmd/api", XFlags: xflags}, output: "bin/api-dev", debug: true,
			want: []string{"build", "-trimpath", "-gcflags=all=-N -l", "-ldflags=" + xstr, "-o", "bin/api-dev", "./cmd/api"}},
		{name: "debug without stamps", opts: Options{MainPackage: "."}, output: "/tmp/out/svc-dev", debug: true,
			want: []string{"build", "-trimpath", "-gcflags=all=-N -l", "-o", "/tmp/out/svc-dev", "."}},
		{name: "tags and linker flags after the stamps", opts: Options{MainPackage: ".", XFlags: xflags[:2], Tags: []string{"timetzdata", "prod"}, LDFlags: []string{"-buildid="}}, output: "bin/svc",
			want: []string{"build", "-trimpath", "-tags=timetzdata,prod", "-ldflags=-s -w -X main.version=1.2.3 -buildid=", "-o", "bin/svc", "."}},
		{name: "cgo: static, with Go's resolver and user look-ups", opts: Options{MainPackage: ".", Tags: []string{"sqlite_fts5", "netgo"}, CGO: true}, output: "bin/svc", wantCGO: "1",
			want: []string{"build", "-trimpath", "-tags=sqlite_fts5,netgo,osusergo", "-ldflags=-s -w -linkmode=external -extldflags=-static", "-o", "bin/svc", "."}},
		{name: "cgo debug", opts: Options{MainPackage: ".", CGO: true}, output: "bin/svc-dev", debug: true, wantCGO: "1",
			want: []string{"build", "-trimpath", "-gcflags=all=-N -l", "-tags=netgo,osusergo", "-ldflags=-linkmode=external -extldflags=-static", "-o", "bin/svc-dev", "."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := slices.Clone(tt.opts.XFlags)
			got := Command(tt.opts, tt.output, "linux", "arm64", tt.debug)
			if got.Name != "go" {
				t.Errorf("Name = %q, want go", got.Name)
			}
			if !reflect.DeepEqual(got.Args, tt.want) {
				t.Errorf("Args:\n got  %q\n want %q", got.Args, tt.want)
			}
			cgo := cmp.Or(tt.wantCGO, "0")
			if want := []string{"CGO_ENABLED=" + cgo, "GOWORK=off", "GOOS=linux", "GOARCH=arm64"}; !reflect.DeepEqual(got.Env, want) {
				t.Errorf("Env = %q, want %q", got.Env, want)
			}
			if !slices.Equal(tt.opts.XFlags, before) {
				t.Errorf("Command changed its xflags argument: %q, was %q", tt.opts.XFlags, before)
			}
			if got.Stdin != nil || got.Stdout != nil || got.Dir != "" {
				t.Errorf("Command set Stdin/Stdout/Dir: %+v", got)
			}
		})
	}
}

// TestBuildArgsMatchCommand checks that the Dockerfile receives the same
// tags and linker flags as the host's go build.
func TestBuildArgsMatchCommand(t *testing.T) {
	t.Parallel()
	opts := Options{MainPackage: "./cmd", XFlags: []string{"-X", "example.com/svc/pkg/build.version=main-abc1234"}, LDFlags: []string{"-buildid="}, Tags: []string{"prod"}, CGO: true}
	got := opts.BuildArgs()
	want := map[string]string{
		"MAIN_PACKAGE": "./cmd",
		"GO_LDFLAGS":   "-X example.com/svc/pkg/build.version=main-abc1234 -buildid= -linkmode=external -extldflags=-static",
		"GO_TAGS":      "prod,netgo,osusergo",
		"CGO_ENABLED":  "1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BuildArgs = %q, want %q", got, want)
	}
	cmd := strings.Join(Command(opts, "out", "linux", "amd64", false).Args, " ")
	if !strings.Contains(cmd, "-tags="+want["GO_TAGS"]) || !strings.Contains(cmd, "-ldflags=-s -w "+want["GO_LDFLAGS"]) {
		t.Errorf("go build %s differs from the build arguments %q", cmd, want)
	}
	if got := (Options{MainPackage: "."}).BuildArgs(); got["CGO_ENABLED"] != "0" || got["GO_TAGS"] != "" || got["GO_LDFLAGS"] != "" {
		t.Errorf("BuildArgs without options = %q", got)
	}
}

// TestCommandXFlagsDoNotAlias checks that the prod build does not write into
// the caller's xflags slice when it has spare capacity.
func TestCommandXFlagsDoNotAlias(t *testing.T) {
	t.Parallel()
	x := make([]string, 2, 10)
	x[0], x[1] = "-X", "main.version=1"
	spare := x[:4]
	spare[2], spare[3] = "keep", "me"
	Command(Options{MainPackage: ".", XFlags: x, CGO: true}, "out", "linux", "amd64", false)
	if spare[2] != "keep" || spare[3] != "me" {
		t.Errorf("Command wrote into the spare capacity of xflags: %q", spare)
	}
}

const stampProgram = `package main

import "fmt"

var version, commit, date string

func main() { fmt.Printf("%s|%s|%s\n", version, commit, date) }
`

// TestBuildStamped runs the real go build on a tiny module and checks the
// stamped values and the stripping of the prod binary.
func TestBuildStamped(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds binaries")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads ELF binaries")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":  "module example.com/stamped\n\ngo 1.22\n",
		"main.go": stampProgram,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stamp := Stamp{Version: "1.2.3-rc.1", Commit: commitSHA, Date: time.Date(2024, 5, 6, 14, 15, 16, 0, time.FixedZone("CEST", 2*3600))}
	wantOut := "1.2.3-rc.1|" + commitSHA + "|2024-05-06T12:15:16Z\n"

	tests := []struct {
		name       string
		debug      bool
		wantSymtab bool
	}{
		{name: "prod", debug: false, wantSymtab: false},
		{name: "debug", debug: true, wantSymtab: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "svc")
			cmd := Command(Options{MainPackage: ".", XFlags: XFlags(defaultVars, stamp)}, out, runtime.GOOS, runtime.GOARCH, tt.debug)
			cmd.Dir = dir
			// Keep the build local and independent of the caller's settings.
			cmd.Env = append(cmd.Env, "GOFLAGS=", "GOTOOLCHAIN=local")
			var buildOut bytes.Buffer
			cmd.Stdout = &buildOut
			if err := run.Run(context.Background(), cmd); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, buildOut.String())
			}

			got, err := exec.Command(out).Output()
			if err != nil {
				t.Fatalf("run the built binary: %v", err)
			}
			if string(got) != wantOut {
				t.Errorf("binary printed %q, want %q", got, wantOut)
			}

			f, err := elf.Open(out)
			if err != nil {
				t.Fatalf("open ELF: %v", err)
			}
			defer f.Close()
			if hasSymtab := f.Section(".symtab") != nil; hasSymtab != tt.wantSymtab {
				t.Errorf(".symtab present = %v, want %v", hasSymtab, tt.wantSymtab)
			}
			// CGO_ENABLED=0: a static binary without a program interpreter.
			if f.Section(".interp") != nil {
				t.Errorf("binary has an .interp section: not statically linked")
			}
			// -trimpath: the build directory does not appear in the binary.
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(dir)) {
				t.Errorf("binary contains the build directory %s: -trimpath not applied", dir)
			}
		})
	}
}

// TestNeedsCgo names the package that builds only with cgo, and nothing
// for a program that builds without it.
func TestNeedsCgo(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	cgoOnly := testtree.New(t, map[string]string{
		"go.mod":        "module example.com/cgo\n\ngo 1.22\n",
		"main.go":       "package main\n\nimport _ \"example.com/cgo/native\"\n\nfunc main() {}\n",
		"native/c.go":   "package native\n\n// int one(void) { return 1; }\nimport \"C\"\n\nvar One = C.one\n",
		"pure/other.go": "package pure\n",
	})
	got, err := NeedsCgo(context.Background(), cgoOnly, ".", runtime.GOOS, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"example.com/cgo/native"}) {
		t.Errorf("NeedsCgo = %q, want [example.com/cgo/native]", got)
	}
	// net has cgo files but builds without them: not reported.
	pure := testtree.New(t, map[string]string{
		"go.mod":  "module example.com/pure\n\ngo 1.22\n",
		"main.go": "package main\n\nimport _ \"net\"\n\nfunc main() {}\n",
	})
	got, err = NeedsCgo(context.Background(), pure, ".", runtime.GOOS, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("NeedsCgo = %q for a program without cgo, want none", got)
	}
}

func TestPlatformDir(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ platform, want, err string }{
		{platform: "linux/amd64", want: "linux_amd64"},
		{platform: "linux/arm64", want: "linux_arm64"},
		{platform: "linux/arm/v7", want: "linux_arm"},
		{platform: "amd64", err: "os/arch"},
		{platform: "linux/", err: "os/arch"},
		{platform: "linux/arm/v7/x", err: "os/arch"},
	} {
		got, err := PlatformDir(tt.platform)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("PlatformDir(%q) error %v, want one mentioning %q", tt.platform, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PlatformDir(%q) = %q, %v; want %q", tt.platform, got, err, tt.want)
		}
	}
}

func TestLayout(t *testing.T) {
	t.Parallel()
	got, err := Layout([]string{"linux/amd64", "linux/arm64", "linux/arm/v7"})
	if want := []string{"linux_amd64", "linux_arm64", "linux_arm"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Layout = %q, %v; want %q", got, err, want)
	}
	if _, err := Layout([]string{"linux/arm/v6", "linux/arm/v7"}); err == nil || !strings.Contains(err.Error(), "share the binaries directory linux_arm") {
		t.Errorf("Layout of arm v6 and v7: %v, want an error naming the shared directory", err)
	}
}

func TestCrossCommand(t *testing.T) {
	t.Parallel()
	xflags := []string{"-X", "main.version=1.2.3"}
	tests := []struct {
		name     string
		platform string
		debug    bool
		want     []string
		env      []string
	}{
		{name: "prod arm64", platform: "linux/arm64",
			want: []string{"build", "-v", "-buildvcs=false", "-trimpath", "-ldflags=-s -w -X main.version=1.2.3", "-o", "/tmp/b/binaries/linux_arm64/usr/local/bin/service", "./cmd/api"},
			env:  []string{"CGO_ENABLED=0", "GOWORK=off", "GOOS=linux", "GOARCH=arm64"}},
		{name: "debug amd64", platform: "linux/amd64", debug: true,
			want: []string{"build", "-v", "-buildvcs=false", "-trimpath", "-gcflags=all=-N -l", "-ldflags=-X main.version=1.2.3", "-o", "/tmp/b/binaries/linux_amd64/usr/local/bin/service", "./cmd/api"},
			env:  []string{"CGO_ENABLED=0", "GOWORK=off", "GOOS=linux", "GOARCH=amd64"}},
		{name: "arm v7 sets GOARM", platform: "linux/arm/v7",
			want: []string{"build", "-v", "-buildvcs=false", "-trimpath", "-ldflags=-s -w -X main.version=1.2.3", "-o", "/tmp/b/binaries/linux_arm/usr/local/bin/service", "./cmd/api"},
			env:  []string{"CGO_ENABLED=0", "GOWORK=off", "GOOS=linux", "GOARCH=arm", "GOARM=7"}},
	}
	for _, tt := range tests {
		got, err := CrossCommand("svc", Options{MainPackage: "./cmd/api", XFlags: xflags}, "/tmp/b/binaries", tt.platform, tt.debug)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Name != "go" || got.Dir != "svc" || !reflect.DeepEqual(got.Args, tt.want) || !reflect.DeepEqual(got.Env, tt.env) {
			t.Errorf("%s: CrossCommand = %s %q in %q env %q\nwant args %q env %q", tt.name, got.Name, got.Args, got.Dir, got.Env, tt.want, tt.env)
		}
	}
	if _, err := CrossCommand("svc", Options{MainPackage: "."}, "/o", "amd64", false); err == nil {
		t.Error("CrossCommand accepted a platform without an os")
	}
}

// TestHostPlatform: the host's platform is what the go command runs as,
// whatever GOOS and GOARCH say: they retarget builds, not the host.
func TestHostPlatform(t *testing.T) {
	other := "arm64"
	if runtime.GOARCH == other {
		other = "amd64"
	}
	t.Setenv("GOOS", "windows")
	t.Setenv("GOARCH", other)
	goos, goarch, err := Host{}.Platform(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if goos != runtime.GOOS || goarch != runtime.GOARCH {
		t.Errorf("Platform = %s/%s, want the host's %s/%s", goos, goarch, runtime.GOOS, runtime.GOARCH)
	}
}
