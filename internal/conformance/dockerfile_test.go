package conformance

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/magetools/config"
)

// want is a finding a test expects: its rule, severity and line, and a
// piece of its fix.
type want struct {
	rule     string
	severity Severity
	line     int
	fix      string
}

// assertFindings fails unless got holds exactly the wanted findings, each
// with its fix.
func assertFindings(t *testing.T, got []Finding, wants []want) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, f := range got {
			if !used[i] && f.Rule == w.rule && f.Severity == w.severity && f.Line == w.line {
				used[i], found = true, true
				if !strings.Contains(f.Fix, w.fix) {
					t.Errorf("%s at line %d: fix %q lacks %q", w.rule, w.line, f.Fix, w.fix)
				}
				if f.Message == "" {
					t.Errorf("%s at line %d has no message", w.rule, w.line)
				}
				break
			}
		}
		if !found {
			t.Errorf("missing %s %s at line %d", w.severity, w.rule, w.line)
		}
	}
	for i, f := range got {
		if !used[i] {
			t.Errorf("unexpected %s %s: %+v", f.Severity, f.Rule, f)
		}
	}
}

func defaults() config.Config {
	return config.Config{ProdStage: config.DefaultProdStage, DevStage: config.DefaultDevStage, MainPackage: ".", PublishBranch: config.DefaultPublishBranch}
}

// good follows every rule; the cases below break one at a time.
const good = `ARG GO_IMAGE=golang:1.26
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532:65532
FROM debian:12 AS dev
RUN apt-get update
COPY --from=build /out/app /app
USER 65532
`

// devStage is a dev stage for Dockerfiles whose prod stage is under test.
const devStage = `
FROM debian:12 AS dev
USER 65532
`

func TestCheckDockerfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dockerfile string
		cfg        func(*config.Config)
		want       []want
	}{
		{name: "all rules kept", dockerfile: good},
		{name: "stages are case-insensitive", dockerfile: strings.Replace(good, "AS prod", "AS Prod", 1)},
		{name: "configured stage names", dockerfile: strings.NewReplacer("AS prod", "AS runtime", "AS dev", "AS debug").Replace(good),
			cfg: func(c *config.Config) { c.ProdStage, c.DevStage = "runtime", "debug" }},

		{name: "no prod stage", dockerfile: strings.Replace(good, "AS prod", "AS final", 1),
			want: []want{{RuleStages, Error, 0, "`FROM <image> AS prod`"}}},
		{name: "no dev stage", dockerfile: strings.Replace(good, "AS dev", "AS debug", 1),
			want: []want{{RuleStages, Error, 0, "GANTRY_DEV_STAGE"}}},
		{name: "unparsable", dockerfile: "FROM golang:1.26 AS build AS more\n",
			want: []want{{RuleDockerfile, Error, 1, "fix the syntax"}}},

		{name: "build stage on the target platform", dockerfile: strings.Replace(good, "--platform=$BUILDPLATFORM ", "", 1),
			want: []want{{RuleBuildPlatform, Error, 2, "FROM --platform=$BUILDPLATFORM ${GO_IMAGE}"}}},
		{name: "braced BUILDPLATFORM", dockerfile: strings.Replace(good, "$BUILDPLATFORM", "${BUILDPLATFORM}", 1)},
		{name: "another fixed platform", dockerfile: strings.Replace(good, "$BUILDPLATFORM", "linux/amd64", 1),
			want: []want{{RuleBuildPlatform, Error, 2, "--platform=$BUILDPLATFORM"}}},
		{name: "build stage FROM scratch", dockerfile: `FROM scratch AS files
COPY etc/passwd /passwd
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=files /passwd /etc/passwd
USER 65532
` + devStage,
			want: []want{{RuleBuildPlatform, Warning, 1, "--platform=$BUILDPLATFORM"}}},
		{name: "a stage FROM a build stage inherits its platform", dockerfile: `FROM --platform=$BUILDPLATFORM golang:1.26 AS source
FROM source AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532
` + devStage},
		{name: "the base of a build stage is one too", dockerfile: `FROM golang:1.26 AS source
FROM source AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532
` + devStage,
			want: []want{{RuleBuildPlatform, Error, 1, "--platform=$BUILDPLATFORM golang:1.26"}}},
		{name: "copied from by number and through another build stage", dockerfile: `FROM golang:1.26 AS tools
RUN go install example.com/tool@v1.0.0
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
COPY --from=0 /go/bin/tool /usr/local/bin/tool
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532
` + devStage,
			want: []want{{RuleBuildPlatform, Error, 1, "--platform=$BUILDPLATFORM"}}},
		{name: "mounted from", dockerfile: `FROM golang:1.26 AS certs
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
RUN --mount=type=bind,from=certs,target=/certs cp -r /certs /out
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out /out
USER 65532
` + devStage,
			want: []want{{RuleBuildPlatform, Error, 1, "--platform=$BUILDPLATFORM"}}},
		{name: "a stage no target uses is not checked", dockerfile: good + "FROM golang:1.26 AS lint\nRUN go vet ./...\n"},
		{name: "the dev runtime runs on the target platform", dockerfile: `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
FROM golang:1.26 AS dev
COPY --from=build /out/app /app
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532
`},

		// The case: build is also dev's base, and still a build stage.
		{name: "a build stage that is also the base of dev", dockerfile: `FROM golang:1.26 AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532
FROM build AS dev
USER 65532
`,
			want: []want{{RuleBuildPlatform, Error, 1, "split it: do the build in a stage `FROM --platform=$BUILDPLATFORM golang:1.26`"}}},
		{name: "a build stage FROM the base of dev", dockerfile: `FROM golang:1.26 AS base
FROM base AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532
FROM base AS dev
USER 65532
`,
			want: []want{{RuleBuildPlatform, Error, 2, "FROM --platform=$BUILDPLATFORM golang:1.26"}}},
		{name: "files copied from the dev base need no emulation", dockerfile: `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static-debian12:nonroot AS prod
COPY --from=build /out/app /app
USER 65532
FROM debian:12 AS dev-base
FROM --platform=$BUILDPLATFORM debian:12 AS tools
COPY --from=dev-base /var/lib/dpkg/status /target/status
RUN unpack-tools
FROM dev-base AS dev
COPY --from=tools /rootfs/ /
USER 65532
`},

		{name: "RUN in prod", dockerfile: strings.Replace(good, "USER 65532:65532", "RUN mkdir /data\nUSER 65532:65532", 1),
			want: []want{{RuleProdRun, Error, 6, "COPY --from"}}},
		{name: "RUN in the stage prod is FROM", dockerfile: `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
FROM alpine:3.20 AS runtime
RUN apk add --no-cache ca-certificates
FROM runtime AS prod
COPY --from=build /out/app /app
USER 65532
` + devStage,
			want: []want{{RuleProdRun, Error, 3, "build stage FROM --platform=$BUILDPLATFORM"}}},

		{name: "prod without USER", dockerfile: strings.Replace(good, "USER 65532:65532\n", "", 1),
			want: []want{{RuleProdUser, Error, 4, "USER 65532:65532"}}},
		{name: "prod as root", dockerfile: strings.Replace(good, "USER 65532:65532", "USER root", 1),
			want: []want{{RuleProdUser, Error, 6, "non-root"}}},
		{name: "prod as uid 0", dockerfile: strings.Replace(good, "USER 65532:65532", "USER 0:0", 1),
			want: []want{{RuleProdUser, Error, 6, "non-root"}}},
		{name: "prod as uid 00, which the runtime reads as 0", dockerfile: strings.Replace(good, "USER 65532:65532", "USER 00", 1),
			want: []want{{RuleProdUser, Error, 6, "non-root"}}},
		{name: "prod as +0", dockerfile: strings.Replace(good, "USER 65532:65532", "USER +0:65532", 1),
			want: []want{{RuleProdUser, Error, 6, "non-root"}}},
		{name: "the last USER counts", dockerfile: strings.Replace(good, "USER 65532:65532", "USER 65532\nUSER root", 1),
			want: []want{{RuleProdUser, Error, 7, "non-root"}}},
		{name: "USER in the stage prod is FROM", dockerfile: `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
USER nonroot
FROM runtime AS prod
COPY --from=build /out/app /app
` + devStage},

		{name: "FROM :latest", dockerfile: strings.Replace(good, "debian:12", "debian:latest", 1),
			want: []want{{RuleLatest, Error, 7, "explicit version"}}},
		{name: "FROM without a tag", dockerfile: strings.Replace(good, "debian:12", "debian", 1),
			want: []want{{RuleLatest, Error, 7, "explicit version"}}},
		{name: "FROM a registry with a port and no tag", dockerfile: strings.Replace(good, "debian:12", "localhost:5000/debian", 1),
			want: []want{{RuleLatest, Error, 7, "explicit version"}}},
		{name: "FROM a digest", dockerfile: strings.Replace(good, "debian:12", "debian@sha256:"+strings.Repeat("a", 64), 1)},
		{name: "ARG default latest, reported once", dockerfile: strings.Replace(good, "golang:1.26", "golang:latest", 1),
			want: []want{{RuleLatest, Error, 1, "explicit version"}}},
		{name: "ARG default without a tag", dockerfile: strings.Replace(good, "golang:1.26", "golang", 1),
			want: []want{{RuleLatest, Error, 2, "explicit version"}}},
		{name: "stage ARG default latest", dockerfile: strings.Replace(good, "RUN go build", "ARG DELVE_VERSION=latest\nRUN go build", 1),
			want: []want{{RuleLatest, Error, 3, "explicit version"}}},
		{name: "build argument latest", dockerfile: good,
			cfg:  func(c *config.Config) { c.BuildArgs = map[string]string{"GO_IMAGE": "golang:latest"} },
			want: []want{{RuleLatest, Error, 0, "GANTRY_BUILD_ARGS"}}},
		{name: "build argument without a tag", dockerfile: good,
			cfg:  func(c *config.Config) { c.BuildArgs = map[string]string{"GO_IMAGE": "golang"} },
			want: []want{{RuleLatest, Error, 2, "explicit version"}}},
		{name: "COPY --from an image without a tag", dockerfile: strings.Replace(good, "COPY --from=build /out/app /app\nUSER 65532:65532", "COPY --from=build /out/app /app\nCOPY --from=alpine /etc/ssl /etc/ssl\nUSER 65532:65532", 1),
			want: []want{{RuleLatest, Error, 6, "explicit version"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := defaults()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			got, _ := checkDockerfile("Dockerfile", []byte(tt.dockerfile), cfg)
			assertFindings(t, got, tt.want)
			for _, f := range got {
				if f.Path != "Dockerfile" {
					t.Errorf("finding on %q, want Dockerfile", f.Path)
				}
			}
		})
	}
}

func TestLatestImage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref    string
		latest bool
	}{
		{"golang:1.26", false},
		{"golang", true},
		{"golang:latest", true},
		{"ghcr.io/acme/app:latest", true},
		{"localhost:5000/app", true},
		{"localhost:5000/app:1.0", false},
		{"app@sha256:abcd", false},
		{"app@sha256:" + strings.Repeat("a", 64), false},
		{"app:1.0@sha256:" + strings.Repeat("a", 64), false},
		{"localhost:5000/app:latest", true},
		{"docker.io/library/golang", true},
		{"ghcr.io/acme/app:1.0-alpine", false},
		{"Not A Reference", false},
		{"scratch", false},
		{"${GO_IMAGE}", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := latestImage(tt.ref) != ""; got != tt.latest {
			t.Errorf("latestImage(%q) says latest: %t, want %t", tt.ref, got, tt.latest)
		}
	}
}

func TestSeverityString(t *testing.T) {
	t.Parallel()
	if fmt.Sprint(Error, Warning) != "error warning" {
		t.Errorf("severities print as %v %v", Error, Warning)
	}
}

func TestEmulatedRuns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dockerfile string
		want             []int
	}{
		{"a RUN in dev", good, []int{8}},
		{"none", strings.Replace(good, "RUN apt-get update\n", "", 1), nil},
		{"a build stage on the target platform", strings.Replace(good, "--platform=$BUILDPLATFORM ", "", 1), []int{3, 8}},
		{"a stage no target uses", strings.Replace(good, "RUN apt-get update\n", "", 1) + "FROM golang:1.26 AS lint\nRUN go vet ./...\n", nil},
		{"a build stage that is also the base of dev", "FROM golang:1.26 AS build\nRUN go build\nFROM scratch AS prod\nCOPY --from=build /app /app\nFROM build AS dev\n", []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := checkDockerfile("Dockerfile", []byte(tt.dockerfile), defaults())
			if !got.Known || !slices.Equal(got.RunLines, tt.want) {
				t.Errorf("emulation %+v, want RUN lines %v", got, tt.want)
			}
		})
	}
	if _, got := checkDockerfile("Dockerfile", []byte("FROM\n"), defaults()); got.Known {
		t.Errorf("an unparsable Dockerfile gives emulation %+v, want unknown", got)
	}
}
