package adopt

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/testtree"
	"github.com/gantry-build/gantry/magetools/config"
)

// TestStampsPassCheck is the invariant between init and mage check: for
// each shape of repository, the stamps init decides, resolved as the
// targets resolve the magefile's settings, give mage check's stamp rule
// nothing to say. Both read the variables with stampvars.
func TestStampsPassCheck(t *testing.T) {
	t.Parallel()
	const (
		goMod    = "module github.com/acme/svc\n\ngo 1.22\n"
		cmdMain  = "package main\n\nimport \"github.com/acme/svc/pkg/build\"\n\nfunc main() { println(build.Version()) }\n"
		onlyVer  = "package build\n\nvar version string\n\nfunc Version() string { return version }\n"
		allThree = "package build\n\nvar (\n\tversion = \"dev\"\n\tcommit string\n\tbuildDate string\n)\n\nfunc Version() string { return version + commit + buildDate }\n"
	)
	tests := []struct {
		name  string
		files map[string]string
		// want are decisions the report must hold.
		want []string
	}{
		{name: "goreleaser's boilerplate over a pkg/build with only version", files: map[string]string{
			"cmd/main.go": cmdMain, "pkg/build/build.go": onlyVer,
			".goreleaser.yaml": "builds:\n  - main: ./cmd\n    ldflags: -s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.CommitDate}} -X main.builtBy=goreleaser -X github.com/acme/svc/pkg/build.version=v{{.Version}}\n"},
			want: []string{"stamp version github.com/acme/svc/pkg/build.version", "stamp commit -", "stamp date -"}},
		{name: "a minimal service", files: map[string]string{"main.go": "package main\n\nfunc main() {}\n"},
			want: []string{"stamp version -", "stamp commit -", "stamp date -"}},
		{name: "a constant expression in main", files: map[string]string{"main.go": "package main\n\nconst v = \"v\"\n\nvar version = v + \"0\"\nvar commit string\n\nfunc main() {}\n"},
			want: []string{"stamp version main.version", "stamp commit main.commit", "stamp date -"}},
		{name: "a Makefile's $(shell go list -m)", files: map[string]string{
			"cmd/main.go": cmdMain, "pkg/build/build.go": allThree,
			"Makefile": "PKG := $(shell go list -m)\nbuild:\n\tgo build -ldflags \"-X $(PKG)/pkg/build.version=$(V) -X $(PKG)/pkg/build.commit=$(C)\" ./cmd\n"},
			want: []string{"stamp version github.com/acme/svc/pkg/build.version", "stamp commit github.com/acme/svc/pkg/build.commit", "stamp date github.com/acme/svc/pkg/build.buildDate"}},
		{name: "a template init cannot resolve", files: map[string]string{
			"cmd/main.go": cmdMain, "pkg/build/build.go": onlyVer,
			".goreleaser.yaml": "builds:\n  - main: ./cmd\n    ldflags: -X {{ .Env.PKG }}/pkg/build.version={{.Version}} -X main.commit={{.Commit}}\n"},
			want: []string{"stamp version github.com/acme/svc/pkg/build.version", "stamp commit -"}},
		{name: "a variable initialised by a call is not chosen", files: map[string]string{"main.go": "package main\n\nimport \"os\"\n\nvar version = os.Getenv(\"V\")\n\nfunc main() {}\n"},
			want: []string{"stamp version -"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.files["go.mod"] = goMod
			dir := testtree.New(t, tt.files)
			repo, err := discover.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			l, err := NewLayout(repo, Flags{}, discover.PublishBranch("", "main"), listPackages(context.Background(), dir), findEmbeds(context.Background(), dir))
			if err != nil {
				t.Fatal(err)
			}
			var decided []string
			for _, d := range l.Decisions {
				decided = append(decided, d.What+" "+d.Value)
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.Join(decided, "\n"), w) {
					t.Errorf("decisions lack %q:\n%s\nnotes: %q", w, strings.Join(decided, "\n"), l.Notes)
				}
			}
			for _, s := range l.Settings {
				if v, ok := s.Value.(string); ok && strings.HasPrefix(s.Field, "Stamp.") && (strings.Contains(v, "{{") || strings.Contains(v, "$")) {
					t.Errorf("%s = %q: a template copied into the configuration", s.Field, v)
				}
			}
			cfg := resolveSettings(t, dir, repo, l)
			for _, f := range conformance.Check(context.Background(), dir, cfg, conformance.ListPackages(dir, cfg, logrus.NewEntry(logrus.New()))) {
				if f.Rule == conformance.RuleStamp || f.Rule == conformance.RulePackages {
					t.Errorf("mage check on init's output: %s %s: %s (fix: %s)", f.Severity, f.Rule, f.Message, f.Fix)
				}
			}
		})
	}
}

// resolveSettings is the configuration the targets resolve from the
// magefile init writes: its stamp and main package settings, nothing in
// the environment.
func resolveSettings(t *testing.T, dir string, repo discover.Repo, l Layout) config.Config {
	t.Helper()
	var cfg config.Config
	for _, s := range l.Settings {
		switch s.Field {
		case "MainPackage":
			cfg.MainPackage = s.Value.(string)
		case "Stamp.Version":
			cfg.Stamp.Version = s.Value.(string)
		case "Stamp.Commit":
			cfg.Stamp.Commit = s.Value.(string)
		case "Stamp.Date":
			cfg.Stamp.Date = s.Value.(string)
		}
	}
	named, _ := repo.NamedMains()
	resolved, err := cfg.Resolve(func(string) (string, bool) { return "", false }, config.Facts{Dir: dir, ModulePath: repo.Module.Path,
		MainCandidates: repo.Module.MainCandidates, NamedMains: named, OwnerRepo: "acme/svc", HostGOOS: "linux", HostGOARCH: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	return resolved
}

// Without the graph, init cannot tell which variables exist: the stamps
// keep their defaults (a default that sets nothing is only a warning),
// and a note says why.
func TestStampsWithoutTheGraph(t *testing.T) {
	t.Parallel()
	repo := discover.Repo{Dir: t.TempDir(), Module: module.Module{Path: "github.com/acme/svc", MainCandidates: []string{"."}}}
	for _, packages := range []Packages{noPackages, func(string) (golist.Graph, error) { return golist.Graph{}, errors.New("go list failed") }} {
		l, err := NewLayout(repo, Flags{}, discover.PublishBranch("", "main"), packages, noEmbeds)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(l.Settings, func(s Setting) bool { return strings.HasPrefix(s.Field, "Stamp.") }) {
			t.Errorf("settings %+v: a stamp decided without the variables", l.Settings)
		}
		if !slices.ContainsFunc(l.Notes, func(n string) bool { return strings.HasPrefix(n, "version stamps not looked for in the Go source: ") }) {
			t.Errorf("notes %q do not say why the stamps were not looked for", l.Notes)
		}
	}
}
