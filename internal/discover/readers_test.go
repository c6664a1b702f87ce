package discover

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/docker"
)

func TestParseGoreleaser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		yaml        string
		wantProject string
		want        []GoBuild
		wantErr     string
	}{
		{name: "stamps in pkg/build, ldflags as a list", yaml: `
project_name: ucan
builds:
  - main: ./cmd
    binary: ucan
    ldflags:
      - -s -w
      - -X github.com/acme/svc/pkg/build.version={{.Version}}
      - -X github.com/acme/svc/pkg/build.commit={{ .Commit }}
      - -X "github.com/acme/svc/pkg/build.date={{ .Date | trimprefix "x" }}"
    env: [CGO_ENABLED=0]
`, wantProject: "ucan", want: []GoBuild{{Source: ".goreleaser.yaml builds[0]", fields: true, Package: "./cmd", Binary: "ucan",
			Stamps: []string{"github.com/acme/svc/pkg/build.version", "github.com/acme/svc/pkg/build.commit", "github.com/acme/svc/pkg/build.date"},
			Env:    []string{"CGO_ENABLED=0"}}}},
		{name: "ldflags as one string, tags, flags, cgo, main.go and dir", yaml: `
project_name: "{{ .Env.NAME }}"
builds:
  - id: server
    dir: server
    main: cmd/server/main.go
    binary: bin/{{ .ProjectName }}
    ldflags: -s -w -X main.Version={{.Version}} -X=main.buildDate={{.Date}}
    flags: [-trimpath, -tags=netgo, "-tags={{ .Env.TAGS }}"]
    tags: [sqlite_omit_load_extension, "osusergo,fts5", "{{ if .IsSnapshot }}dev{{ end }}"]
    env:
      - CGO_ENABLED=1
  - main: ./cmd/tool
`, want: []GoBuild{
			{Source: ".goreleaser.yaml builds[0]", fields: true, Package: "./server/cmd/server", Stamps: []string{"main.Version", "main.buildDate"},
				Tags: []string{"netgo", "{{ .Env.TAGS }}", "sqlite_omit_load_extension", "osusergo", "fts5", "{{ if .IsSnapshot }}dev{{ end }}"}, Env: []string{"CGO_ENABLED=1"}},
			{Source: ".goreleaser.yaml builds[1]", fields: true, Package: "./cmd/tool"}}},
		{name: "linker flags beside the stamps, templates kept whole", yaml: `
builds:
  - ldflags:
      - -s -w -linkmode external -extldflags "-static -lm"
      - -buildid={{ .Env.BUILD_ID }} -X main.version={{ .Version | trimprefix "v" }}
`, want: []GoBuild{{Source: ".goreleaser.yaml builds[0]", fields: true, Stamps: []string{"main.version"},
			LDFlags: []string{"-linkmode=external", "-extldflags=-static -lm", "-buildid={{ .Env.BUILD_ID }}"}}}},
		{name: "no builds", yaml: "project_name: svc\n", wantProject: "svc"},
		{name: "not YAML", yaml: "builds: [\n", wantErr: "yaml"},
		{name: "builds is not a list", yaml: "builds: 3\n", wantErr: "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := ParseGoreleaser(".goreleaser.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.ProjectName != tt.wantProject || !reflect.DeepEqual(g.Builds, tt.want) {
				t.Errorf("got %q %+v\nwant %q %+v", g.ProjectName, g.Builds, tt.wantProject, tt.want)
			}
		})
	}
	g, _ := ParseGoreleaser(".goreleaser.yaml", []byte("builds:\n  - main: ./cmd\n"))
	if got := g.Builds[0].From("main"); got != ".goreleaser.yaml builds[0].main" {
		t.Errorf("From(main) = %q", got)
	}
}

func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dockerfile string
		wantBuilds []GoBuild
		wantCmd    Words
		wantEntry  Words
		wantExpose Words
		wantUser   Words
		// wantMissing are the targets among prod and dev it has no stage for.
		wantMissing []string
		wantErr     string
	}{
		{name: "a service's root Dockerfile", dockerfile: `FROM golang:1.25 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    go mod download && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/svc ./cmd/svc
FROM gcr.io/distroless/static
COPY --from=build /out/svc /svc
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/svc"]
CMD ["aws","--port","8080"]
`, wantBuilds: []GoBuild{{Source: "Dockerfile line 4", Package: "./cmd/svc", Binary: "svc", Stamps: []string{"main.version"}, Env: []string{"CGO_ENABLED=0"}}},
			wantCmd: Words{[]string{"aws", "--port", "8080"}, "Dockerfile line 12"}, wantEntry: Words{[]string{"/svc"}, "Dockerfile line 11"},
			wantExpose: Words{[]string{"8080"}, "Dockerfile line 9"}, wantUser: Words{[]string{"nonroot"}, "Dockerfile line 10"},
			wantMissing: []string{"prod", "dev"}},
		{name: "exec-form RUN, tags, shell CMD, only the last stage's runtime", dockerfile: `FROM golang AS build
EXPOSE 9999
RUN ["go", "build", "-tags", "netgo,osusergo", "-o", "/app", "."]
FROM alpine
EXPOSE 80 443/tcp
CMD serve --port 80
`, wantBuilds: []GoBuild{{Source: "Dockerfile line 3", Package: ".", Binary: "app", Tags: []string{"netgo", "osusergo"}}},
			wantCmd: Words{[]string{"/bin/sh", "-c", "serve --port 80"}, "Dockerfile line 6"}, wantExpose: Words{[]string{"443/tcp", "80"}, "Dockerfile line 5"}, // BuildKit sorts them
			wantMissing: []string{"prod", "dev"}},
		{name: "ENV inherited by the stages FROM it, ARG only in its stage, with the global default", dockerfile: `ARG CGO_ENABLED=1
FROM golang AS base
ENV CGO_ENABLED=0 GOFLAGS=-mod=mod
FROM base AS build
ARG CGO_ENABLED
RUN go build -o /app .
FROM build AS dev
RUN CGO_ENABLED=1 go build -o /x ./cmd/x
FROM scratch AS prod
`, wantBuilds: []GoBuild{
			{Source: "Dockerfile line 6", Package: ".", Binary: "app",
				Inherited: []Var{{"CGO_ENABLED", "1", "Dockerfile line 5"}, {"CGO_ENABLED", "0", "Dockerfile line 3"}, {"GOFLAGS", "-mod=mod", "Dockerfile line 3"}}},
			{Source: "Dockerfile line 8", Package: "./cmd/x", Binary: "x", Env: []string{"CGO_ENABLED=1"},
				Inherited: []Var{{"CGO_ENABLED", "0", "Dockerfile line 3"}, {"GOFLAGS", "-mod=mod", "Dockerfile line 3"}}}}},
		{name: "the image inherits through FROM <stage>; an ENTRYPOINT resets the CMD inherited", dockerfile: `FROM alpine AS base
EXPOSE 8080
USER nobody
CMD ["/app", "serve"]
FROM base AS runtime
EXPOSE 9090
FROM runtime
ENTRYPOINT ["/app"]
`, wantEntry: Words{[]string{"/app"}, "Dockerfile line 8"}, wantExpose: Words{[]string{"8080", "9090"}, "Dockerfile line 6"},
			wantUser: Words{[]string{"nobody"}, "Dockerfile line 3"}, wantMissing: []string{"prod", "dev"}},
		{name: "a CMD inherited", dockerfile: "FROM alpine AS base\nCMD [\"/app\", \"serve\"]\nFROM base\nCOPY x /x\n",
			wantCmd: Words{[]string{"/app", "serve"}, "Dockerfile line 2"}, wantMissing: []string{"prod", "dev"}},
		{name: "no go build", dockerfile: "FROM alpine\nRUN apk add git && go version\n", wantMissing: []string{"prod", "dev"}},
		{name: "not a Dockerfile", dockerfile: "FROM\n", wantErr: "FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := ParseDockerfile("Dockerfile", []byte(tt.dockerfile))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Builds, tt.wantBuilds) {
				t.Errorf("builds %+v, want %+v", d.Builds, tt.wantBuilds)
			}
			for _, c := range []struct {
				name      string
				got, want Words
			}{{"CMD", d.Cmd, tt.wantCmd}, {"ENTRYPOINT", d.Entrypoint, tt.wantEntry}, {"EXPOSE", d.Expose, tt.wantExpose}, {"USER", d.User, tt.wantUser}} {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s %+v, want %+v", c.name, c.got, c.want)
				}
				if i := slices.IndexFunc(d.Runtime(), func(s Setting) bool { return s.Name == c.name }); (i >= 0) != (c.want.Source != "") ||
					(i >= 0 && !reflect.DeepEqual(d.Runtime()[i], Setting{c.name, c.want.Values, c.want.Source})) {
					t.Errorf("Runtime() = %+v, want %s %+v", d.Runtime(), c.name, c.want)
				}
			}
			var missing []string
			for _, m := range d.Missing("prod", "dev") {
				missing = append(missing, m.Target)
			}
			if !reflect.DeepEqual(missing, tt.wantMissing) {
				t.Errorf("Missing(prod, dev) = %q, want %q", missing, tt.wantMissing)
			}
		})
	}
}

func TestParseMakefile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		makefile string
		want     []GoBuild
	}{
		{name: "variables expanded, continuation lines", makefile: `PKG := github.com/acme/svc
VERSION ?= $(shell git describe --tags)
LDFLAGS = -s -w -X $(PKG)/internal/version.Version=$(VERSION)
LDFLAGS += -X ${PKG}/internal/version.GitCommit=$(COMMIT)
TAGS = netgo

build: ## build the binary
	@echo building
	CGO_ENABLED=0 go build -trimpath \
		-ldflags "$(LDFLAGS)" -tags "$(TAGS)" \
		-o bin/svc ./cmd/svc

test:
	go test ./...
`, want: []GoBuild{{Source: "Makefile line 9", Package: "./cmd/svc", Binary: "svc", Env: []string{"CGO_ENABLED=0"}, Tags: []string{"netgo"},
			Stamps: []string{"github.com/acme/svc/internal/version.Version", "github.com/acme/svc/internal/version.GitCommit"}}}},
		{name: "$(GO) build, file argument, two commands", makefile: "GO ?= go\nall:\n\tcd web && npm run build; $(GO) build -o server main.go\n",
			want: []GoBuild{{Source: "Makefile line 3", Package: ".", Binary: "server"}}},
		{name: "exported variables are the builds' environment", makefile: "CGO ?= 1\nexport CGO_ENABLED = $(CGO)\nexport GOFLAGS := -mod=vendor\nLOCAL = 1\nbuild:\n\tgo build -tags netgo .\n",
			want: []GoBuild{{Source: "Makefile line 6", Package: ".", Tags: []string{"netgo"},
				Inherited: []Var{{"CGO_ENABLED", "1", "Makefile line 2"}, {"GOFLAGS", "-mod=vendor", "Makefile line 3"}}}}},
		{name: "docker build is not go build", makefile: "image:\n\tdocker build -t svc .\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMakefile("Makefile", []byte(tt.makefile))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// chain writes variables V0 ... V<levels>, each fanout references to the
// one before, and a go build line using the last: with fanout 10 and 10
// levels, a few hundred bytes that expand to 10^10 (make accepts it).
func chain(levels, fanout int) string {
	var b strings.Builder
	b.WriteString("V0 = -X main.version=x\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "V%d =%s\n", i, strings.Repeat(fmt.Sprintf(" $(V%d)", i-1), fanout))
	}
	fmt.Fprintf(&b, "build:\n\tgo build -ldflags '$(V%d)' ./cmd/svc\n", levels)
	return b.String()
}

func TestParseMakefileBoundsExpansion(t *testing.T) {
	tests := []struct {
		name, makefile string
		wantStamps     int
		wantErr        string
	}{
		{name: "ten variables deep", makefile: chain(9, 1), wantStamps: 1},
		{name: "a few references at a few levels", makefile: chain(3, 3), wantStamps: 27},
		{name: "ten levels of ten references: 10^10 bytes", makefile: chain(10, 10),
			wantErr: "Makefile line 13: variable expansion exceeds 65536 bytes: make the variables of the go build line plain"},
		{name: "one pass of many references to a long value", makefile: "V = " + strings.Repeat("x", 60000) + "\nbuild:\n\tgo build" + strings.Repeat(" $(V)", 1000) + "\n",
			wantErr: "Makefile line 3: variable expansion exceeds 65536 bytes"},
		{name: "eleven variables deep", makefile: chain(10, 1), wantErr: "Makefile line 13: variable expansion exceeds depth 10"},
		{name: "an exported variable that refers to itself", makefile: "export GOFLAGS = $(FLAGS)\nFLAGS = $(GOFLAGS)\nbuild:\n\tgo build .\n",
			wantErr: "Makefile line 1: variable expansion exceeds depth 10 (a variable that refers to itself?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMakefile("Makefile", []byte(tt.makefile))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || len(got[0].Stamps) != tt.wantStamps {
				t.Fatalf("got %+v, want one build with %d stamps", got, tt.wantStamps)
			}
		})
	}
}

func TestParseLDFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ldflags    string
		wantStamps []string
		wantOthers []string
	}{
		{ldflags: "-s -w"},
		{ldflags: "-X main.version=1.0 -X 'main.commit=abc def'", wantStamps: []string{"main.version", "main.commit"}},
		{ldflags: "-X=example.com/a/b.Date=now --X main.x=1", wantStamps: []string{"example.com/a/b.Date", "main.x"}},
		{ldflags: "-X novalue -X"},
		{ldflags: `-s -w -linkmode external -extldflags "-static -lm" --buildid=abc -race -X main.v=1`, wantStamps: []string{"main.v"},
			wantOthers: []string{"-linkmode=external", "-extldflags=-static -lm", "-buildid=abc", "-race"}},
		{ldflags: "-extldflags=--static -B $(BUILD_ID)", wantOthers: []string{"-extldflags=--static", "-B=$(BUILD_ID)"}},
	}
	for _, tt := range tests {
		stamps, others, err := parseLDFlags(tt.ldflags)
		if err != nil || !reflect.DeepEqual(stamps, tt.wantStamps) || !reflect.DeepEqual(others, tt.wantOthers) {
			t.Errorf("parseLDFlags(%q) = %q, %q, %v; want %q, %q", tt.ldflags, stamps, others, err, tt.wantStamps, tt.wantOthers)
		}
	}
}

func TestGoBuildCGO(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build GoBuild
		want  Fact
	}{
		{name: "goreleaser's env", build: GoBuild{Source: ".goreleaser.yaml builds[0]", fields: true, Env: []string{"GOFLAGS=-mod=mod", "CGO_ENABLED=1"}},
			want: Fact{"1", ".goreleaser.yaml builds[0].env"}},
		{name: "the command's own wins over the stage's", build: GoBuild{Source: "Dockerfile line 9", Env: []string{"CGO_ENABLED=0"},
			Inherited: []Var{{"CGO_ENABLED", "1", "Dockerfile line 3"}}},
			want: Fact{"0", "Dockerfile line 9"}},
		{name: "the last inherited wins, quotes removed", build: GoBuild{Source: "Dockerfile line 9",
			Inherited: []Var{{"CGO_ENABLED", "0", "Dockerfile line 2"}, {"GOOS", "linux", "Dockerfile line 3"}, {"CGO_ENABLED", `"1"`, "Dockerfile line 4"}}},
			want: Fact{"1", "Dockerfile line 4"}},
		{name: "unset", build: GoBuild{Source: "Makefile line 3", Env: []string{"GOOS=linux"}}},
	}
	for _, tt := range tests {
		if got := tt.build.CGO(); got != tt.want {
			t.Errorf("%s: CGO() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestClassifyStamps(t *testing.T) {
	t.Parallel()
	got := ClassifyStamps([]string{"main.builtBy", "x/pkg/build.GitCommit", "x/pkg/build.commit", "x/pkg/build.Version", "x/pkg/build.buildDate"})
	want := map[StampKind]string{StampVersion: "x/pkg/build.Version", StampCommit: "x/pkg/build.commit", StampDate: "x/pkg/build.buildDate"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestPublishBranch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		originHead, current string
		want                string
		wantSource          string
	}{
		{"master", "feature", "master", "origin/HEAD"},
		{"trunk", "main", "trunk", "origin/HEAD"},
		{"", "master", "master", "the checked-out branch"},
		{"", "main", "main", "the checked-out branch"},
		{"", "feature/x", "main", "the default"},
		{"", "", "main", "the default"},
	}
	for _, tt := range tests {
		got := PublishBranch(tt.originHead, tt.current)
		if got.Value != tt.want || !strings.HasPrefix(got.Source, tt.wantSource) {
			t.Errorf("PublishBranch(%q, %q) = %+v, want %q from %q", tt.originHead, tt.current, got, tt.want, tt.wantSource)
		}
	}
}

// TestParseGantrysDockerfile: the Dockerfile gantry init -dockerfile
// writes is read back on a re-run (its dev-tools RUN defines a shell
// function, which no word splitter reads), with its CMD.
func TestParseGantrysDockerfile(t *testing.T) {
	t.Parallel()
	d, err := ParseDockerfile("docker/Dockerfile", docker.Render([]string{"serve"}, []string{"8080"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Builds) != 2 || d.Builds[0].Package != "${MAIN_PACKAGE}" {
		t.Errorf("builds %+v, want the binaries and debug-binaries go builds", d.Builds)
	}
	if got := d.Cmd.Values; !slices.Equal(got, []string{"serve"}) {
		t.Errorf("CMD %q, want [serve]", got)
	}
	if _, err := ParseDockerfile("Dockerfile", []byte("FROM scratch\nRUN f() { go build -o /x . ; }; f\n")); err == nil {
		t.Error("a go build in a line that cannot be split was read without an error")
	}
}

func TestParseMakeTargets(t *testing.T) {
	t.Parallel()
	makefile := "UI := ui\n" +
		".PHONY: ui build\n" +
		"ui: ; cd $(UI) && yarn install && yarn build\n" +
		"build: ui\n\tgo build -o bin/svc . \\\n\t  && echo done\n" +
		"# a comment: not a rule\n" +
		"web assets: deps\n\tnpm --prefix web run build\n" +
		"%.o: %.c\n\tcc -c $<\n" +
		"X = a:b\n"
	got := ParseMakeTargets([]byte(makefile))
	want := []MakeTarget{
		{Name: "ui", Line: 3, Recipe: []string{"cd ui && yarn install && yarn build"}},
		{Name: "build", Line: 4, Recipe: []string{"go build -o bin/svc .  \t  && echo done"}},
		{Name: "web", Line: 8, Recipe: []string{"npm --prefix web run build"}},
		{Name: "assets", Line: 8, Recipe: []string{"npm --prefix web run build"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseMakeTargets =\n%+v\nwant\n%+v", got, want)
	}
}

func TestPackageJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		p             PackageJSON
		wantOut       string
		wantCommand   []string
	}{
		{name: "vite with --outDir", content: `{"scripts": {"build": "vite build --outDir build", "dev": "vite"}}`, p: PackageJSON{Dir: "ui"},
			wantOut: "ui/build", wantCommand: []string{"npm", "--prefix", "ui", "run", "build"}},
		{name: "vite's default, yarn", content: `{"scripts": {"build": "tsc && vite build"}}`, p: PackageJSON{Dir: "web", Yarn: true},
			wantOut: "web/dist", wantCommand: []string{"yarn", "--cwd", "web", "build"}},
		{name: "flag=value from the service root", content: `{"scripts": {"build": "parcel build src/index.html --dist-dir=web/static"}}`, p: PackageJSON{Dir: "."},
			wantOut: "web/static", wantCommand: []string{"npm", "--prefix", ".", "run", "build"}},
		{name: "create-react-app", content: `{"scripts": {"build": "react-scripts build"}}`, p: PackageJSON{Dir: "ui"}, wantOut: "ui/build"},
		{name: "a script that does not tell", content: `{"scripts": {"build": "make assets"}}`, p: PackageJSON{Dir: "ui"}},
		{name: "no build script", content: `{"name": "ui"}`, p: PackageJSON{Dir: "ui"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			build, err := ParsePackageJSON([]byte(tt.content))
			if err != nil {
				t.Fatal(err)
			}
			p := tt.p
			p.Build = build
			if got := p.OutputDir(); got != tt.wantOut {
				t.Errorf("OutputDir = %q, want %q", got, tt.wantOut)
			}
			if tt.wantCommand != nil && !reflect.DeepEqual(p.Command(), tt.wantCommand) {
				t.Errorf("Command = %q, want %q", p.Command(), tt.wantCommand)
			}
		})
	}
	if _, err := ParsePackageJSON([]byte("{")); err == nil {
		t.Error("a package.json that is not JSON parsed")
	}
}
