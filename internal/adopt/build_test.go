package adopt

import (
	"bytes"
	"context"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/testtree"
)

// decision is one case of the build and runtime decisions: a repository's
// files (go.mod and a main.go are added unless given), and what init must
// decide, write and note for it.
type decision struct {
	name  string
	files map[string]string
	flags Flags
	// want are lines of the report, wantNotes the starts of its notes,
	// absent pieces it must not hold.
	want, wantNotes, absent []string
	// wantSettings are the magefile's settings of the fields in
	// decisionFields; wantArgs and wantPorts go into docker/Dockerfile.
	wantSettings        map[string]any
	wantArgs, wantPorts []string
}

// decisionFields are the settings these tests look at.
var decisionFields = []string{"Tags", "CGO", "LDFlags", "Prepare", "Args", "Ports", "Dockerfile"}

const (
	plainMain = "package main\n\nfunc main() {}\n"
	cgoDB     = "package db\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc One() int { return int(C.one()) }\n"
	dbMain    = "package main\n\nimport _ \"example.com/svc/db\"\n\nfunc main() {}\n"
)

// run decides for the case, listing its packages with go list as init
// does, offline.
func (tt decision) run(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	files := map[string]string{"go.mod": "module example.com/svc\n\ngo 1.22\n", "main.go": plainMain}
	maps.Copy(files, tt.files)
	dir := testtree.New(t, files)
	repo, err := discover.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout(repo, tt.flags, discover.PublishBranch("", "main"), listPackages(context.Background(), dir), findEmbeds(context.Background(), dir))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (Report{Decisions: l.Decisions, Notes: l.Notes}).Write(&out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	for _, line := range tt.want {
		if !strings.Contains(report, line+"\n") {
			t.Errorf("the report lacks the line %q:\n%s", line, report)
		}
	}
	for _, piece := range tt.wantNotes {
		if !strings.Contains(report, "\nnote    "+piece) {
			t.Errorf("no note starts with %q:\n%s", piece, report)
		}
	}
	for _, piece := range tt.absent {
		if strings.Contains(report, piece) {
			t.Errorf("the report holds %q:\n%s", piece, report)
		}
	}
	got := map[string]any{}
	for _, s := range l.Settings {
		for _, f := range decisionFields {
			if s.Field == f {
				got[f] = s.Value
			}
		}
	}
	if want := tt.wantSettings; !(len(got) == 0 && len(want) == 0) && !reflect.DeepEqual(got, want) {
		t.Errorf("settings %#v, want %#v\n%s", got, want, report)
	}
	if !reflect.DeepEqual(l.Args, tt.wantArgs) || !reflect.DeepEqual(l.Ports, tt.wantPorts) {
		t.Errorf("docker/Dockerfile's args %q, ports %q; want %q, %q", l.Args, l.Ports, tt.wantArgs, tt.wantPorts)
	}
}

func TestDecideBuild(t *testing.T) {
	tests := []decision{
		{name: "tags: goreleaser's over the Dockerfile's and the Makefile's; a template noted", files: map[string]string{
			".goreleaser.yaml": "builds:\n  - tags: [netgo, \"{{ .Env.TAGS }}\"]\n",
			"Dockerfile":       "FROM golang\nRUN go build -tags docker .\n",
			"Makefile":         "build:\n\tgo build -tags make .\n"},
			want:         []string{"decided build tags netgo (from .goreleaser.yaml builds[0].tags; set in the magefile's init())"},
			wantNotes:    []string{"build tag {{ .Env.TAGS }} (from .goreleaser.yaml builds[0].tags) not applied: it holds a goreleaser template"},
			wantSettings: map[string]any{"Tags": []string{"netgo"}}},
		{name: "tags: a Dockerfile's when goreleaser's build of the main package sets none; a helper's build passed over", files: map[string]string{
			".goreleaser.yaml":   "builds:\n  - main: .\n  - main: ./cmd/keygen\n    tags: [keygen]\n",
			"cmd/keygen/main.go": plainMain,
			"Dockerfile":         "FROM golang\nRUN go build -tags keygen ./cmd/keygen && go build -tags \"osusergo,netgo\" -o /svc .\n",
			"Makefile":           "build:\n\tgo build -tags make .\n"},
			want:         []string{"decided build tags osusergo netgo (from Dockerfile line 2; set in the magefile's init())"},
			wantSettings: map[string]any{"Tags": []string{"osusergo", "netgo"}}},
		{name: "tags: the Makefile's, a variable it does not assign noted", files: map[string]string{
			"Makefile": "TAGS = netgo $(EXTRA_TAGS)\nbuild:\n\tgo build -tags \"$(TAGS)\" .\n"},
			want:         []string{"decided build tags netgo (from Makefile line 3; set in the magefile's init())"},
			wantNotes:    []string{"build tag $(EXTRA_TAGS) (from Makefile line 3) not applied: it holds a variable, which only Makefile expands"},
			wantSettings: map[string]any{"Tags": []string{"netgo"}}},
		{name: "cgo: a Dockerfile stage's ENV", files: map[string]string{
			"Dockerfile": "FROM golang AS build\nENV CGO_ENABLED=1\nRUN go build -o /svc .\n"},
			want:         []string{"decided cgo on (from Dockerfile line 2; set in the magefile's init())"},
			wantSettings: map[string]any{"CGO": true}},
		{name: "cgo: the Makefile's export", files: map[string]string{
			"Makefile": "export CGO_ENABLED=1\nbuild:\n\tgo build .\n"},
			want:         []string{"decided cgo on (from Makefile line 1; set in the magefile's init())"},
			wantSettings: map[string]any{"CGO": true}},
		{name: "cgo: a package needs it and no build sets CGO_ENABLED", files: map[string]string{"main.go": dbMain, "db/db.go": cgoDB},
			want:         []string{`decided cgo on (from package example.com/svc/db works only with cgo (files importing "C": db.go); set in the magefile's init())`},
			wantSettings: map[string]any{"CGO": true}},
		{name: "cgo: CGO_ENABLED=0 set and a package needs it: kept off, noted", files: map[string]string{"main.go": dbMain, "db/db.go": cgoDB,
			".goreleaser.yaml": "builds:\n  - env: [CGO_ENABLED=0]\n"},
			want:      []string{"decided cgo off (from .goreleaser.yaml builds[0].env; the targets decide the same)"},
			wantNotes: []string{`package example.com/svc/db works only with cgo (files importing "C": db.go), but .goreleaser.yaml builds[0].env sets CGO_ENABLED=0, so cgo stays off`}},
		{name: "cgo: off by default", want: []string{"decided cgo off (from the default; no build sets CGO_ENABLED and no package needs cgo; the targets decide the same)"}},
		{name: "linker flags: templates, variables and flags the configuration refuses noted; -linkmode kept without cgo", files: map[string]string{
			".goreleaser.yaml": "builds:\n  - ldflags: -s -w -X main.version={{.Version}} -linkmode=internal -buildid={{ .Commit }} -B $BUILD_NOTE -extldflags \"-static -lm\"\n"},
			want: []string{"decided linker flags -linkmode=internal (from .goreleaser.yaml builds[0].ldflags; set in the magefile's init())"},
			wantNotes: []string{"linker flag -buildid={{ .Commit }} (from .goreleaser.yaml builds[0].ldflags) not applied: it holds a goreleaser template",
				"linker flag -B=$BUILD_NOTE (from .goreleaser.yaml builds[0].ldflags) not applied: it holds a variable",
				`linker flag -extldflags=-static -lm (from .goreleaser.yaml builds[0].ldflags) not applied: linker flag "-extldflags=-static -lm" is not one flag`},
			wantSettings: map[string]any{"LDFlags": []string{"-linkmode=internal"}}},
		{name: "linker flags: those overriding Gantry's own (output, format, build mode) and those not allowed are noted", files: map[string]string{
			"Makefile": "build:\n\tgo build -ldflags \"-s -w -H=windowsgui -buildmode=pie --o=/tmp/svc -cpuprofile=/tmp/p -buildid=\" .\n"},
			want: []string{"decided linker flags -buildid= (from Makefile line 2; set in the magefile's init())"},
			wantNotes: []string{`linker flag -H=windowsgui (from Makefile line 2) not applied: linker flag "-H=windowsgui" is refused: the binary's format follows the platform`,
				`linker flag -buildmode=pie (from Makefile line 2) not applied: linker flag "-buildmode=pie" is refused: Gantry builds an executable`,
				`linker flag -o=/tmp/svc (from Makefile line 2) not applied: linker flag "-o=/tmp/svc" is refused: Gantry names the output`,
				`linker flag -cpuprofile=/tmp/p (from Makefile line 2) not applied: linker flag "-cpuprofile=/tmp/p" is refused: it is not one of the linker flags a service may add`},
			wantSettings: map[string]any{"LDFlags": []string{"-buildid="}}},
		{name: "linker flags: with cgo, -linkmode and -extldflags are Gantry's", files: map[string]string{
			"Dockerfile": "FROM golang\nRUN CGO_ENABLED=1 go build -ldflags \"-s -w -linkmode external -extldflags '-static' -r /opt/lib\" .\n"},
			want:         []string{"decided cgo on (from Dockerfile line 2; set in the magefile's init())", "decided linker flags -r=/opt/lib (from Dockerfile line 2; set in the magefile's init())"},
			wantNotes:    []string{"linker flag -linkmode=external (from Dockerfile line 2) not applied: with cgo, Gantry links statically itself", "linker flag -extldflags=-static (from Dockerfile line 2) not applied"},
			wantSettings: map[string]any{"CGO": true, "LDFlags": []string{"-r=/opt/lib"}}},
		{name: "prepare: //go:generate in the main package and a package it imports, not in one it does not", files: map[string]string{
			"main.go":      "package main\n\n//go:generate go run ./tools/version\n\nimport _ \"example.com/svc/web\"\n\nfunc main() {}\n",
			"web/gen.go":   "package web\n\n//go:generate npm run build\n",
			"tools/gen.go": "package tools\n\n//go:generate echo never\n"},
			want:         []string{"decided prepare command go generate . ./web (from //go:generate in ./main.go, ./web/gen.go; set in the magefile's init())"},
			wantNotes:    []string{"what go generate writes must be ignored by git (.gitignore: publishing refuses a dirty tree) and not by .dockerignore"},
			wantSettings: map[string]any{"Prepare": []string{"go", "generate", ".", "./web"}}},
		{name: "the go build of the Dockerfile Gantry builds with says nothing about the service", files: map[string]string{
			"docker/Dockerfile": "FROM golang AS build\nENV CGO_ENABLED=1\nRUN go build -tags docker -ldflags \"-s -w ${GO_LDFLAGS}\" -o /svc .\nFROM scratch AS prod\nFROM scratch AS dev\n",
			"Makefile":          "build:\n\tgo build -tags make .\n"},
			want: []string{"decided build tags make (from Makefile line 2; set in the magefile's init())",
				"decided cgo off (from the default; no build sets CGO_ENABLED and no package needs cgo; the targets decide the same)"},
			wantSettings: map[string]any{"Tags": []string{"make"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
