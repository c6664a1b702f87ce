package discover

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseGoreleaser(t *testing.T) {
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
    flags: [-trimpath, -tags=netgo]
    tags: [sqlite_omit_load_extension, "osusergo,fts5"]
    env:
      - CGO_ENABLED=1
  - main: ./cmd/tool
`, want: []GoBuild{
			{Source: ".goreleaser.yaml builds[0]", fields: true, Package: "./server/cmd/server", Stamps: []string{"main.Version", "main.buildDate"},
				Tags: []string{"netgo", "sqlite_omit_load_extension", "osusergo", "fts5"}, Env: []string{"CGO_ENABLED=1"}},
			{Source: ".goreleaser.yaml builds[1]", fields: true, Package: "./cmd/tool"}}},
		{name: "no builds", yaml: "project_name: svc\n", wantProject: "svc"},
		{name: "not YAML", yaml: "builds: [\n", wantErr: "yaml"},
		{name: "builds is not a list", yaml: "builds: 3\n", wantErr: "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
	tests := []struct {
		name       string
		dockerfile string
		wantBuilds []GoBuild
		wantCmd    Words
		wantEntry  Words
		wantExpose Words
		wantUser   Words
		wantErr    string
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
			wantExpose: Words{[]string{"8080"}, "Dockerfile line 9"}, wantUser: Words{[]string{"nonroot"}, "Dockerfile line 10"}},
		{name: "exec-form RUN, tags, shell CMD, only the last stage's runtime", dockerfile: `FROM golang AS build
EXPOSE 9999
RUN ["go", "build", "-tags", "netgo,osusergo", "-o", "/app", "."]
FROM alpine
EXPOSE 80 443/tcp
CMD serve --port 80
`, wantBuilds: []GoBuild{{Source: "Dockerfile line 3", Package: ".", Binary: "app", Tags: []string{"netgo", "osusergo"}}},
			wantCmd: Words{[]string{"/bin/sh", "-c", "serve --port 80"}, "Dockerfile line 6"}, wantExpose: Words{[]string{"443/tcp", "80"}, "Dockerfile line 5"}}, // BuildKit sorts them
		{name: "no go build", dockerfile: "FROM alpine\nRUN apk add git && go version\n"},
		{name: "not a Dockerfile", dockerfile: "FROM\n", wantErr: "FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
			}
		})
	}
}

func TestParseMakefile(t *testing.T) {
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
		{name: "docker build is not go build", makefile: "image:\n\tdocker build -t svc .\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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

func TestLdflagStamps(t *testing.T) {
	tests := []struct {
		ldflags string
		want    []string
	}{
		{"-s -w", nil},
		{"-X main.version=1.0 -X 'main.commit=abc def'", []string{"main.version", "main.commit"}},
		{"-X=example.com/a/b.Date=now --X main.x=1", []string{"example.com/a/b.Date", "main.x"}},
		{"-X novalue -X", nil},
	}
	for _, tt := range tests {
		got, err := ldflagStamps(tt.ldflags)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ldflagStamps(%q) = %q, %v; want %q", tt.ldflags, got, err, tt.want)
		}
	}
}

func TestClassifyStamps(t *testing.T) {
	got := ClassifyStamps([]string{"main.builtBy", "x/pkg/build.GitCommit", "x/pkg/build.commit", "x/pkg/build.Version", "x/pkg/build.buildDate"})
	want := map[StampKind]string{StampVersion: "x/pkg/build.Version", StampCommit: "x/pkg/build.commit", StampDate: "x/pkg/build.buildDate"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestPublishBranch(t *testing.T) {
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
