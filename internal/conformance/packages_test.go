package conformance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/magetools/config"
)

// packageFinding is a finding the package rules must return: its rule,
// and words its message and fix must hold.
type packageFinding struct {
	rule, message, fix string
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckPackages(t *testing.T) {
	offline(t)
	const (
		goMod = "module github.com/acme/svc\n\ngo 1.22\n"
		// The services: stamps in pkg/build, imported by the main package.
		mainUsingBuild = "package main\n\nimport \"github.com/acme/svc/pkg/build\"\n\nfunc main() { println(build.Version()) }\n"
		buildPkg       = "package build\n\nvar (\n\tversion = \"v0.0.0-unknown\"\n\tcommit  string\n\tbuildDate string\n)\n\nfunc Version() string { return version }\n"
		plainMain      = "package main\n\nfunc main() {}\n"
		cgoPkg         = "package db\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc One() int { return int(C.one()) }\n"
	)
	defaultStamps := config.Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date"}
	tests := []struct {
		name  string
		files map[string]string
		main  string
		stamp config.Stamp
		cgo   bool
		// warn: every finding is a warning, not an error.
		warn bool
		want []packageFinding
		// line, when set, is the line of every finding.
		line int
	}{
		{name: "stamps in the main package", files: map[string]string{"main.go": "package main\n\nvar (\n\tversion = \"dev\"\n\tcommit, date string\n)\n\nfunc main() {}\n"}, stamp: defaultStamps},
		{name: "typed, initialised, concatenated", files: map[string]string{"main.go": "package main\n\nvar version string = \"v\" + \"0\"\nvar commit = (\"none\")\nvar date string\n\nfunc main() {}\n"}, stamp: defaultStamps},
		{name: "the default stamps where the service keeps them in pkg/build", stamp: defaultStamps,
			files: map[string]string{"main.go": mainUsingBuild, "pkg/build/build.go": buildPkg},
			want: []packageFinding{
				{RuleStamp, "-X main.version (Config.Stamp.Version or GANTRY_STAMP_VERSION) sets nothing, so the binary will not know its version: package main declares no package-level variable version", "found github.com/acme/svc/pkg/build.version; set Config.Stamp.Version or GANTRY_STAMP_VERSION to it"},
				{RuleStamp, "package main declares no package-level variable commit", "found github.com/acme/svc/pkg/build.commit; set Config.Stamp.Commit or GANTRY_STAMP_COMMIT to it"},
				{RuleStamp, "package main declares no package-level variable date", "found github.com/acme/svc/pkg/build.buildDate; set Config.Stamp.Date"},
			}},
		{name: "stamps pointed at pkg/build", files: map[string]string{"main.go": mainUsingBuild, "pkg/build/build.go": buildPkg},
			stamp: config.Stamp{Version: "github.com/acme/svc/pkg/build.version", Commit: "github.com/acme/svc/pkg/build.commit", Date: "github.com/acme/svc/pkg/build.buildDate"}},
		{name: "stamps switched off are not checked", files: map[string]string{"main.go": plainMain}},
		{name: "a package the binary does not link", files: map[string]string{"main.go": plainMain, "pkg/build/build.go": buildPkg},
			stamp: config.Stamp{Version: "github.com/acme/svc/pkg/build.version"},
			want:  []packageFinding{{RuleStamp, "package github.com/acme/svc/pkg/build is not linked into github.com/acme/svc", "declare `var version string`"}}},
		{name: "the main package by its import path", files: map[string]string{"main.go": "package main\n\nvar version string\n\nfunc main() {}\n"},
			stamp: config.Stamp{Version: "github.com/acme/svc.version"},
			want:  []packageFinding{{RuleStamp, "the linker names the main package main", "to main.version"}}},
		{name: "a constant", files: map[string]string{"main.go": "package main\n\nconst version = \"dev\"\n\nfunc main() {}\n"},
			stamp: config.Stamp{Version: "main.version"},
			want:  []packageFinding{{RuleStamp, "version is a constant", "declare `var version string`"}}},
		{name: "not a string", files: map[string]string{"main.go": "package main\n\nimport \"time\"\n\nvar date time.Time\nvar buildTime string\n\nfunc main() {}\n"},
			stamp: config.Stamp{Date: "main.date"},
			want:  []packageFinding{{RuleStamp, "date has type time.Time", "found main.buildTime"}}},
		{name: "initialised by a call", files: map[string]string{"main.go": "package main\n\nimport \"os\"\n\nvar version = os.Getenv(\"VERSION\")\n\nfunc main() {}\n"},
			stamp: config.Stamp{Version: "main.version"},
			want:  []packageFinding{{RuleStamp, "initialised by a function call", "declare `var version string`"}}},
		{name: "untyped from a constant: a constant expression, which -X sets", files: map[string]string{"main.go": "package main\n\nconst dev = \"dev\"\n\nvar version = dev\n\nfunc main() {}\n"},
			stamp: config.Stamp{Version: "main.version"}},
		{name: "untyped from a variable", files: map[string]string{"main.go": "package main\n\nvar dev = \"dev\"\n\nvar version = dev\n\nfunc main() {}\n"},
			stamp: config.Stamp{Version: "main.version"},
			want:  []packageFinding{{RuleStamp, "version is initialised from dev, which is not a constant", "declare `var version string`"}}},
		{name: "a minimal service keeps the default stamps: warnings, the build leaves them out", files: map[string]string{"main.go": plainMain},
			stamp: config.Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date", Defaulted: config.StampFields{Version: true, Commit: true, Date: true}},
			warn:  true,
			want: []packageFinding{
				{RuleStamp, "-X main.version (the default of Config.Stamp.Version or GANTRY_STAMP_VERSION, which is not set) sets nothing, so the build leaves it out", "or set Config.Stamp.Version or GANTRY_STAMP_VERSION to - to say the binary has no version"},
				{RuleStamp, "-X main.commit (the default of", "declare `var commit string`"},
				{RuleStamp, "-X main.date (the default of", "declare `var date string`"},
			}},
		{name: "a default stamp the service could point elsewhere: a warning naming the variable", files: map[string]string{"main.go": mainUsingBuild, "pkg/build/build.go": buildPkg},
			stamp: config.Stamp{Version: "main.version", Defaulted: config.StampFields{Version: true}},
			warn:  true,
			want:  []packageFinding{{RuleStamp, "sets nothing, so the build leaves it out", "found github.com/acme/svc/pkg/build.version"}}},
		{name: "a variable declared in a function", files: map[string]string{"main.go": "package main\n\nfunc main() { var version string; _ = version }\n"},
			stamp: config.Stamp{Version: "main.version"},
			want:  []packageFinding{{RuleStamp, "declares no package-level variable version", "declare `var version string`"}}},

		{name: "a dependency with only cgo files", files: map[string]string{"main.go": "package main\n\nimport _ \"github.com/acme/svc/db\"\n\nfunc main() {}\n", "db/db.go": cgoPkg},
			want: []packageFinding{{RuleCgo, "package github.com/acme/svc/db works only with cgo (files importing \"C\": db.go), and Gantry builds with CGO_ENABLED=0: with cgo off no Go file of it is left", "set magetools.Config.CGO = true"}}},
		{name: "a dependency with a stub for cgo off", files: map[string]string{"main.go": "package main\n\nimport _ \"github.com/acme/svc/db\"\n\nfunc main() {}\n", "db/db.go": cgoPkg,
			"db/static_mock.go": "//go:build !cgo\n\npackage db\n\nfunc One() int { panic(\"db requires cgo; this is a stub\") }\n"},
			want: []packageFinding{{RuleCgo, "with cgo off it builds static_mock.go instead, a stub that says \"db requires cgo; this is a stub\", so the binary builds and fails when it runs", "pure-Go package"}}},
		{name: "a service that builds with cgo passes the cgo rule", files: map[string]string{"main.go": "package main\n\nimport _ \"github.com/acme/svc/db\"\n\nfunc main() {}\n", "db/db.go": cgoPkg,
			"db/static_mock.go": "//go:build !cgo\n\npackage db\n\nfunc One() int { panic(\"db requires cgo; this is a stub\") }\n"},
			cgo: true},
		{name: "a dependency with a pure-Go fallback", files: map[string]string{"main.go": "package main\n\nimport _ \"github.com/acme/svc/db\"\n\nfunc main() {}\n", "db/db.go": cgoPkg,
			"db/db_purego.go": "//go:build !cgo\n\npackage db\n\nfunc One() int { return 1 }\n"}},

		{name: "a syntax error is reported as itself, not as missing stamps", stamp: defaultStamps,
			files: map[string]string{"main.go": "package main\n\nvar version, commit, date string\n\nfunc broken( {\n}\n\nfunc main() {}\n"},
			want:  []packageFinding{{RulePackages, "package github.com/acme/svc does not parse: main.go:5:14: expected ')', found '{'", "fix the syntax error"}}, line: 5},
		{name: "a main package that does not exist", files: map[string]string{"main.go": plainMain}, main: "./cmd/nothing",
			want: []packageFinding{{RulePackages, "./cmd/nothing", "GANTRY_MAIN"}}},
		{name: "not a main package", files: map[string]string{"main.go": plainMain, "lib/lib.go": "package lib\n"}, main: "./lib",
			want: []packageFinding{{RulePackages, "./lib is package lib, not a main package", "GANTRY_MAIN"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.files["go.mod"] = goMod
			dir := writeFiles(t, tt.files)
			cfg := defaults()
			cfg.Stamp = tt.stamp
			if tt.main != "" {
				cfg.MainPackage = tt.main
			}
			cfg.CGO = tt.cgo
			got := checkPackages(context.Background(), dir, cfg, ListPackages(dir, cfg, testLog()))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				severity := Error
				if tt.warn {
					severity = Warning
				}
				if f := got[i]; f.Rule != w.rule || f.Severity != severity || !strings.Contains(f.Message, w.message) || !strings.Contains(f.Fix, w.fix) || (tt.line != 0 && f.Line != tt.line) {
					t.Errorf("finding %d = %s %s at line %d: %s (fix: %s); want a(n) %s %s whose message holds %q and fix %q (line %d when set)", i, f.Severity, f.Rule, f.Line, f.Message, f.Fix, severity, w.rule, w.message, w.fix, tt.line)
				}
			}
		})
	}
}

// TestReplaceOutsideTheRepository: a replace that builds here (the
// directory exists beside the checkout) and in no fresh checkout.
func TestReplaceOutsideTheRepository(t *testing.T) {
	offline(t)
	top := writeFiles(t, map[string]string{
		"repo/.git/HEAD":   "ref: refs/heads/main\n",
		"repo/svc/go.mod":  "module github.com/acme/svc\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n\nreplace example.com/lib => ../../lib\n",
		"repo/svc/main.go": "package main\n\nimport \"example.com/lib\"\n\nfunc main() { lib.Hello() }\n",
		"lib/go.mod":       "module example.com/lib\n\ngo 1.22\n",
		"lib/lib.go":       "package lib\n\nfunc Hello() {}\n",
	})
	dir := filepath.Join(top, "repo", "svc")
	got := checkPackages(context.Background(), dir, defaults(), ListPackages(dir, defaults(), testLog()))
	if len(got) != 1 {
		t.Fatalf("got %d findings, want the replace: %v", len(got), got)
	}
	if f := got[0]; f.Rule != RuleReplace || f.Severity != Error || f.Line != 7 || f.Path != filepath.Join(dir, "go.mod") ||
		!strings.Contains(f.Message, "`replace example.com/lib => ../../lib` points outside the repository") || !strings.Contains(f.Fix, "go mod vendor") {
		t.Errorf("finding = %s %s at %s:%d: %s (fix: %s); want an error replace at go.mod:7 naming the directive and the fix", f.Severity, f.Rule, f.Path, f.Line, f.Message, f.Fix)
	}
}
