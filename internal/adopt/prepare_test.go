package adopt

import (
	"cmp"
	"context"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/embeds"
	"github.com/gantry-build/gantry/internal/gittest"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/testtree"
)

const (
	uiMain = "package main\n\nimport _ \"example.com/svc/ui\"\n\nfunc main() {}\n"
	uiGo   = "package ui\n\nimport \"embed\"\n\n//go:embed build/*\nvar FS embed.FS\n"
)

// uiBuild is the pattern: ./ui embeds build/*, which the commit
// does not hold.
var uiBuild = embeds.Missing{ImportPath: "example.com/svc/ui", File: "ui/ui.go", Line: 5, Err: "pattern build/*: no matching files found", Pattern: "build/*", Dir: "ui/build"}

func TestDecidePrepare(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	vite := `{"scripts": {"build": "vite build --outDir build"}}`
	tests := []struct {
		name    string
		files   map[string]string
		missing []embeds.Missing
		// want is the Prepare setting; nil for none.
		want []string
		// source is a piece of the decision's source; remains of what
		// remains (nothing when empty), notes of a note.
		source, remains, notes string
	}{
		{name: "no generated embeds, //go:generate: go generate, as before",
			files: map[string]string{"ui/gen.go": "package ui\n\n//go:generate go run ./gen\n"},
			want:  []string{"go", "generate", "./ui"}, source: "//go:generate in ./ui/gen.go"},
		{name: "the issue: a Makefile target building the UI with yarn, package.json saying where",
			files:   map[string]string{"Makefile": "ui: ; cd ui && yarn install && yarn build\n", "ui/package.json": vite, "ui/yarn.lock": "\n"},
			missing: []embeds.Missing{uiBuild}, want: []string{"make", "ui"}, source: "Makefile line 1: target ui makes ui/build"},
		{name: "a Makefile target running yarn in the UI's directory",
			files:   map[string]string{"Makefile": "deps:\n\tgo mod download\nweb-ui:\n\tyarn --cwd ui install\n\tyarn --cwd ui build\n", "ui/package.json": vite},
			missing: []embeds.Missing{uiBuild}, want: []string{"make", "web-ui"}, source: "Makefile line 3: target web-ui"},
		{name: "a Makefile target naming the directory",
			files:   map[string]string{"Makefile": "build: assets\n\tgo build .\nassets:\n\t./scripts/ui.sh --out ui/build\n"},
			missing: []embeds.Missing{uiBuild}, want: []string{"make", "assets"}, source: "Makefile line 3"},
		{name: "a Makefile target working in the embedding package's directory, before its package.json",
			files:   map[string]string{"Makefile": "build: ui\n\tgo build .\nui:\n\tcd ui && go run ./gen\n", "ui/package.json": vite},
			missing: []embeds.Missing{uiBuild}, want: []string{"make", "ui"}, source: "Makefile line 3: target ui works in ui"},
		{name: "a Makefile target building another directory is not it",
			files:   map[string]string{"Makefile": "web:\n\tcd web && npm run build\n", "web/package.json": vite},
			missing: []embeds.Missing{uiBuild}, remains: "no //go:generate directive, Makefile target or package.json build script was found"},
		{name: "package.json beside the package: npm",
			files:   map[string]string{"ui/package.json": vite},
			missing: []embeds.Missing{uiBuild}, want: []string{"npm", "--prefix", "ui", "run", "build"}, source: "ui/package.json's build script writes ui/build",
			notes: "`npm --prefix ui run build` needs the UI's dependencies installed first"},
		{name: "package.json in the parent directory, yarn",
			files:   map[string]string{"package.json": `{"scripts": {"build": "vite build --outDir ui/build"}}`, "yarn.lock": "\n"},
			missing: []embeds.Missing{uiBuild}, want: []string{"yarn", "--cwd", ".", "build"}, source: "package.json's build script writes ui/build"},
		{name: "a //go:generate running the UI build is preferred",
			files:   map[string]string{"ui/gen.go": "package ui\n\n//go:generate npm run build\n", "ui/package.json": vite, "Makefile": "ui:\n\tcd ui && npm run build\n"},
			missing: []embeds.Missing{uiBuild}, want: []string{"go", "generate", "./ui"}, source: "//go:generate in ./ui/gen.go"},
		{name: "a //go:generate that does not make them is not",
			files:   map[string]string{"ui/gen.go": "package ui\n\n//go:generate stringer -type Kind\n", "ui/package.json": vite},
			missing: []embeds.Missing{uiBuild}, want: []string{"npm", "--prefix", "ui", "run", "build"},
			notes: "//go:generate in ./ui/gen.go is not run by Prepare"},
		{name: "the package's own //go:generate, saying nothing of what it writes, when nothing else makes them",
			files:   map[string]string{"ui/gen.go": "package ui\n\n//go:generate go run ./gen\n"},
			missing: []embeds.Missing{uiBuild}, want: []string{"go", "generate", "./ui"}, source: "//go:generate in ./ui/gen.go"},
		{name: "nothing makes them: init says what remains",
			missing: []embeds.Missing{uiBuild}, remains: "set magetools.Config.Prepare"},
		{name: "two commands for two patterns: one Prepare cannot run both",
			files:   map[string]string{"ui/package.json": vite, "web/package.json": `{"scripts": {"build": "vite build"}}`},
			missing: []embeds.Missing{uiBuild, {ImportPath: "example.com/svc/web", File: "web/web.go", Line: 3, Err: "pattern dist: no matching files found", Pattern: "dist", Dir: "web/dist"}},
			remains: "add a Makefile target that runs them all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"go.mod": "module example.com/svc\n\ngo 1.22\n", "main.go": uiMain, "ui/ui.go": strings.Replace(uiGo, "build/*", "ui.go", 1)}
			maps.Copy(files, tt.files)
			dir := testtree.New(t, files)
			repo, err := discover.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			given := func(golist.Graph, string) ([]embeds.Missing, error) { return tt.missing, nil }
			l, err := NewLayout(repo, Flags{}, discover.PublishBranch("", "main"), listPackages(context.Background(), dir), given)
			if err != nil {
				t.Fatal(err)
			}
			checkPrepare(t, l, tt.want, tt.source, tt.remains, tt.notes)
		})
	}
}

// checkPrepare fails unless l sets Prepare to want (from source), and
// leaves remains (a piece; "" for nothing) and a note holding notes.
func checkPrepare(t *testing.T, l Layout, want []string, source, remains, notes string) {
	t.Helper()
	var got any
	for _, s := range l.Settings {
		if s.Field == "Prepare" {
			got = s.Value
			if !strings.Contains(s.Source, source) {
				t.Errorf("Prepare from %q, want from %q", s.Source, source)
			}
		}
	}
	if want == nil && got != nil || want != nil && !reflect.DeepEqual(got, want) {
		t.Errorf("Prepare = %q, want %q", got, want)
	}
	if remains == "" && len(l.Remaining) > 0 || remains != "" && (len(l.Remaining) != 1 || !strings.Contains(l.Remaining[0], remains)) {
		t.Errorf("remaining %q, want one holding %q", l.Remaining, remains)
	}
	if notes != "" && !strings.Contains(strings.Join(l.Notes, "\n"), notes) {
		t.Errorf("notes %q lack %q", l.Notes, notes)
	}
}

// TestInitDecidesPrepareForGeneratedEmbeds is the repository as
// init reads it: git ignores ui/build, which yarn builds; init finds the
// pattern with mage check's rule and the Makefile target that makes it.
func TestInitDecidesPrepareForGeneratedEmbeds(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	for _, tt := range []struct {
		name     string
		makefile string
		// build is ui/package.json's build script.
		build   string
		want    []string
		remains string
	}{
		{name: "a Makefile target makes them", makefile: "ui:\n\tcd ui && yarn install && yarn build\n", want: []string{"make", "ui"}},
		{name: "nothing makes them", makefile: "test:\n\tgo test ./...\n", build: "./build-ui.sh", remains: "//go:embed build/* (ui/ui.go line 5) embeds ui/build"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := gittest.NewRepo(t)
			testtree.Write(t, dir, map[string]string{
				"go.mod": "module example.com/svc\n\ngo 1.22\n", "main.go": uiMain, "ui/ui.go": uiGo,
				"ui/package.json": `{"scripts": {"build": "` + cmp.Or(tt.build, "vite build --outDir build") + `"}}`, "ui/yarn.lock": "\n",
				"ui/build/index.html": "<html>", ".gitignore": "ui/build\nui/node_modules\n", "Makefile": tt.makefile,
			})
			gittest.Run(t, dir, nil, "add", "-A")
			gittest.Run(t, dir, nil, "commit", "-q", "-m", "service")
			repo, err := discover.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			l, err := NewLayout(repo, Flags{}, discover.PublishBranch("", "main"), listPackages(ctx, dir), findEmbeds(ctx, dir))
			if err != nil {
				t.Fatal(err)
			}
			checkPrepare(t, l, tt.want, "", tt.remains, "")
		})
	}
}
