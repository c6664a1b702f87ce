package module

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/testtree"
)

const (
	goMod   = "module example.com/svc\n\ngo 1.22\n"
	mainGo  = "package main\n\nfunc main() {}\n"
	libGo   = "package svc\n\nfunc Hello() string { return \"hi\" }\n"
	ignored = "//go:build ignore\n\npackage main\n\nfunc main() {}\n"
)

func TestPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		files  map[string]string
		want   string
		errHas []string
	}{
		{name: "module line", files: map[string]string{"go.mod": goMod}, want: "example.com/svc"},
		{name: "github module with major version", files: map[string]string{"go.mod": "module github.com/Acme/Svc/v2\n\ngo 1.22\n"},
			want: "github.com/Acme/Svc/v2"},
		{name: "quoted module path and comments", files: map[string]string{"go.mod": "// a service\nmodule \"example.com/quoted\" // trailing\n"},
			want: "example.com/quoted"},
		{name: "requirements before the module line", files: map[string]string{"go.mod": "go 1.22\n\nrequire example.com/dep v1.0.0\n\nmodule example.com/late\n"},
			want: "example.com/late"},
		{name: "missing go.mod", files: map[string]string{"main.go": mainGo},
			errHas: []string{"go.mod", "root of the service's Go module"}},
		{name: "no module line", files: map[string]string{"go.mod": "go 1.22\n"},
			errHas: []string{"go.mod", "no module path", "module"}},
		{name: "empty go.mod", files: map[string]string{"go.mod": ""},
			errHas: []string{"go.mod", "no module path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			testtree.Write(t, dir, tt.files)
			got, err := Path(dir)
			if tt.errHas != nil {
				if err == nil {
					t.Fatalf("Path = %q, want an error", got)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Path: %v", err)
			}
			if got != tt.want {
				t.Errorf("Path = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPathMissingDir(t *testing.T) {
	t.Parallel()
	got, err := Path(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("Path of a missing directory = %q, %v; want an error mentioning go.mod", got, err)
	}
}

func TestMainPackages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{name: "root main", files: map[string]string{"main.go": mainGo}, want: []string{"."}},
		{name: "only cmd/api", files: map[string]string{"svc.go": libGo, "cmd/api/main.go": mainGo}, want: []string{"./cmd/api"}},
		{name: "cmd/api without a root package", files: map[string]string{"cmd/api/main.go": mainGo}, want: []string{"./cmd/api"}},
		{name: "cmd/a and cmd/b, sorted", files: map[string]string{"cmd/b/main.go": mainGo, "cmd/a/main.go": mainGo},
			want: []string{"./cmd/a", "./cmd/b"}},
		{name: "root library and cmd/x", files: map[string]string{"svc.go": libGo, "cmd/x/main.go": mainGo},
			want: []string{"./cmd/x"}},
		{name: "root main and cmd/x", files: map[string]string{"main.go": mainGo, "cmd/x/main.go": mainGo},
			want: []string{".", "./cmd/x"}},
		{name: "cmd dir with a non-main package", files: map[string]string{"main.go": mainGo, "cmd/shared/shared.go": "package shared\n"},
			want: []string{"."}},
		{name: "cmd dir without Go files", files: map[string]string{"main.go": mainGo, "cmd/README.md": "# tools\n", "cmd/docs/notes.txt": "x"},
			want: []string{"."}},
		{name: "main excluded by //go:build ignore in cmd", files: map[string]string{"main.go": mainGo, "cmd/gen/gen.go": ignored},
			want: []string{"."}},
		{name: "main excluded by //go:build ignore at the root", files: map[string]string{"svc.go": libGo, "gen.go": ignored, "cmd/api/main.go": mainGo},
			want: []string{"./cmd/api"}},
		{name: "main with an ignored generator beside it", files: map[string]string{"cmd/api/main.go": mainGo, "cmd/api/gen.go": ignored},
			want: []string{"./cmd/api"}},
		{name: "main excluded by a custom build tag", files: map[string]string{"main.go": mainGo, "cmd/tool/main.go": "//go:build tools\n\npackage main\n\nfunc main() {}\n"},
			want: []string{"."}},
		{name: "only main tests", files: map[string]string{"svc.go": libGo, "cmd/x/main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {}\n"},
			want: nil},
		{name: "test-only cmd beside a real one", files: map[string]string{"cmd/api/main.go": mainGo, "cmd/e2e/e2e_test.go": "package main\n\nimport \"testing\"\n\nfunc TestE2E(t *testing.T) {}\n"},
			want: []string{"./cmd/api"}},
		{name: "nested cmd packages are not candidates", files: map[string]string{"cmd/tools/gen/main.go": mainGo, "svc.go": libGo},
			want: nil},
		{name: "mixed packages in one directory", files: map[string]string{"cmd/bad/main.go": mainGo, "cmd/bad/lib.go": "package bad\n", "main.go": mainGo},
			want: []string{"."}},
		{name: "./cmd main with a ./cmd/<tool> helper", files: map[string]string{"cmd/main.go": mainGo, "cmd/ucangen/main.go": mainGo, "pkg/build/build.go": "package build\n"},
			want: []string{"./cmd", "./cmd/ucangen"}},
		{name: "library only", files: map[string]string{"svc.go": libGo}, want: nil},
		{name: "empty module", files: map[string]string{}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			files := map[string]string{"go.mod": goMod}
			for k, v := range tt.files {
				files[k] = v
			}
			testtree.Write(t, dir, files)
			got, err := MainPackages(dir)
			if err != nil {
				t.Fatalf("MainPackages: %v", err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MainPackages = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReadRefusesHostileFiles: go.mod and the Go files are read only as
// regular files inside the repository, without hanging on a named pipe;
// a package linked inside the repository is still read.
func TestReadRefusesHostileFiles(t *testing.T) {
	outside := testtree.New(t, map[string]string{"go.mod": goMod, "main.go": mainGo})
	tests := []struct {
		name      string
		setup     func(t *testing.T, dir string)
		wantErr   string
		wantMains []string
	}{
		{name: "go.mod linked to /dev/zero", setup: func(t *testing.T, dir string) { testtree.Link(t, dir, "go.mod", "/dev/zero") },
			wantErr: "not read: go.mod is a link to /dev/zero"},
		{name: "go.mod linked outside", setup: func(t *testing.T, dir string) { testtree.Link(t, dir, "go.mod", filepath.Join(outside, "go.mod")) },
			wantErr: "not read: go.mod is a link to " + outside},
		{name: "main.go is a named pipe", setup: func(t *testing.T, dir string) {
			testtree.Write(t, dir, map[string]string{"go.mod": goMod, "cmd/api/main.go": mainGo})
			testtree.Fifo(t, dir, "main.go")
		}, wantMains: []string{"./cmd/api"}},
		{name: "main.go linked outside", setup: func(t *testing.T, dir string) {
			testtree.Write(t, dir, map[string]string{"go.mod": goMod})
			testtree.Link(t, dir, "main.go", filepath.Join(outside, "main.go"))
		}},
		{name: "cmd/api/main.go linked inside the repository", setup: func(t *testing.T, dir string) {
			testtree.Write(t, dir, map[string]string{"go.mod": goMod, "internal/api/main.go": mainGo})
			testtree.Link(t, dir, "cmd/api/main.go", "../../internal/api/main.go")
		}, wantMains: []string{"./cmd/api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			var m Module
			var err error
			testtree.Returns(t, func() { m, err = Read(dir) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(m.MainCandidates, tt.wantMains) {
				t.Fatalf("Read = %+v, %v; want the main packages %q", m, err, tt.wantMains)
			}
		})
	}
}

func TestGitHubRepo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want string
	}{
		{"github.com/o/r", "o/r"},
		{"github.com/Acme/Svc", "Acme/Svc"},
		{"github.com/o/r/v2", "o/r"},
		{"github.com/o/r/cmd/api", "o/r"},
		{"github.com/o", ""},
		{"github.com", ""},
		{"gitlab.com/o/r", ""},
		{"example.com/x", ""},
		{"example.com/github.com/o/r", ""},
		{"svc", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			if got := GitHubRepo(tt.path); got != tt.want {
				t.Errorf("GitHubRepo(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestServiceName(t *testing.T) {
	t.Parallel()
	tests := []struct{ main, module, want string }{
		{".", "github.com/Acme/Widget", "widget"},
		{"./cmd/API", "github.com/acme/widget", "api"},
		{".", "example.com/widget/v2", "widget"},
		{".", "gopkg.in/yaml.v3", "yaml"},
		{".", "widget", "widget"},
		{"./cmd", "github.com/acme/widget/v2", "widget"},
		{"github.com/acme/widget/cmd", "github.com/acme/widget", "widget"},
		{"./cmd/server", "github.com/acme/widget/v2", "server"},
	}
	for _, tt := range tests {
		if got := ServiceName(tt.main, tt.module); got != tt.want {
			t.Errorf("ServiceName(%q, %q) = %q, want %q", tt.main, tt.module, got, tt.want)
		}
	}
}

func TestDecideMain(t *testing.T) {
	t.Parallel()
	goreleaser := Named{"./cmd", ".goreleaser.yaml builds[0].main"}
	tests := []struct {
		name       string
		named      []Named
		candidates []string
		want       Named
		wantErr    string
	}{
		{name: "a build file wins over the layout", named: []Named{goreleaser, {"./cmd/x", "Makefile line 3"}}, candidates: []string{".", "./cmd/ucangen"},
			want: goreleaser},
		{name: "the root", candidates: []string{".", "./cmd", "./cmd/worker"}, want: Named{".", "the module root is package main"}},
		{name: "./cmd before its helpers", candidates: []string{"./cmd", "./cmd/ucangen"}, want: Named{"./cmd", "./cmd is package main"}},
		{name: "the only ./cmd/<name>", candidates: []string{"./cmd/api"}, want: Named{"./cmd/api", "the only main package under ./cmd"}},
		{name: "none", wantErr: "no main package found"},
		{name: "several", candidates: []string{"./cmd/a", "./cmd/b"}, wantErr: "several main packages found (./cmd/a, ./cmd/b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecideMain(tt.named, tt.candidates)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestCheckMainPackage(t *testing.T) {
	t.Parallel()
	for pkg, ok := range map[string]bool{
		".": true, "./cmd/api": true, "./cmd/../cmd/api": true, "github.com/acme/svc/cmd/api": true,
		"-toolexec=x": false, "./...": false, "./cmd/a -race": false, "./../other": false, "..": false, "": false, "-": false, "./cmd\\api": false,
	} {
		if err := CheckMainPackage(pkg); (err == nil) != ok {
			t.Errorf("CheckMainPackage(%q) = %v, want ok=%v", pkg, err, ok)
		}
	}
	if err := CheckMainPackage("-toolexec=x"); err == nil || !strings.Contains(err.Error(), "which go reads as a flag") || !strings.Contains(err.Error(), "./cmd/<name>") {
		t.Errorf("the refusal must name the problem and the fix: %v", err)
	}
}

func TestReplacesOutside(t *testing.T) {
	const requireLib = "module example.com/svc\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n\n"
	tests := []struct {
		name  string
		files map[string]string // under <top>, where the repository is <top>/repo and the service <top>/repo/svc
		want  []string          // "directive@line"
	}{
		{name: "a sibling of the repository", files: map[string]string{"repo/svc/go.mod": requireLib + "replace example.com/lib => ../../lib\n"},
			want: []string{"replace example.com/lib => ../../lib@7"}},
		{name: "in a block, with a version on the left", files: map[string]string{"repo/svc/go.mod": requireLib + "replace (\n\texample.com/x => example.com/y v1.2.0\n\texample.com/lib v1.0.0 => ../../lib\n)\n"},
			want: []string{"replace example.com/lib v1.0.0 => ../../lib@9"}},
		{name: "inside the repository, outside the service", files: map[string]string{"repo/svc/go.mod": requireLib + "replace example.com/lib => ../lib\n"}},
		{name: "a module version", files: map[string]string{"repo/svc/go.mod": requireLib + "replace example.com/lib => example.com/fork v1.0.1\n"}},
		{name: "an absolute path", files: map[string]string{"repo/svc/go.mod": requireLib + "replace example.com/lib => /opt/lib\n"},
			want: []string{"replace example.com/lib => /opt/lib@7"}},
		{name: "vendored: built from vendor/", files: map[string]string{"repo/svc/go.mod": requireLib + "replace example.com/lib => ../../lib\n", "repo/svc/vendor/modules.txt": "# example.com/lib v1.0.0 => ../../lib\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := testtree.New(t, tt.files)
			got, err := ReplacesOutside(filepath.Join(top, "repo", "svc"), filepath.Join(top, "repo"))
			if err != nil {
				t.Fatal(err)
			}
			var directives []string
			for _, r := range got {
				directives = append(directives, fmt.Sprintf("%s@%d", r.Directive, r.Line))
			}
			if !reflect.DeepEqual(directives, tt.want) {
				t.Errorf("ReplacesOutside = %q, want %q", directives, tt.want)
			}
		})
	}
}

// TestReplacesOutsideThroughALink: a directory inside the repository that
// is a link to one outside counts as outside.
func TestReplacesOutsideThroughALink(t *testing.T) {
	top := testtree.New(t, map[string]string{"repo/svc/go.mod": "module example.com/svc\n\ngo 1.22\n\nreplace example.com/lib => ./third_party/lib\n", "lib/go.mod": "module example.com/lib\n"})
	svc := filepath.Join(top, "repo", "svc")
	if err := os.MkdirAll(filepath.Join(svc, "third_party"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(top, "lib"), filepath.Join(svc, "third_party", "lib")); err != nil {
		t.Fatal(err)
	}
	got, err := ReplacesOutside(svc, filepath.Join(top, "repo"))
	if err != nil || len(got) != 1 || got[0].Directive != "replace example.com/lib => ./third_party/lib" {
		t.Errorf("ReplacesOutside = %+v, %v; want the linked replacement", got, err)
	}
}

// TestCheckServiceName: the name is an image name component, and short
// enough to name a file (bin/gantry/<service>-dev-linux-arm64) and an image.
func TestCheckServiceName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, wantErr string
	}{
		{"widget", ""},
		{"ucan-server", ""},
		{strings.Repeat("a", MaxServiceName), ""},
		{strings.Repeat("a", MaxServiceName+1), "is 129 characters long; a service name may have at most 128"},
		{strings.Repeat("a", 300), "is 300 characters long"},
		{"Widget", "not a valid image name component"},
		{"-widget", "not a valid image name component"},
		{"", "not a valid image name component"},
	}
	for _, tt := range tests {
		err := CheckServiceName(tt.name)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("CheckServiceName(%.20q): %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CheckServiceName(%.20q) = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
