package dockerfile

import (
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/docker"
)

func TestEmbeddedDockerfileHasBothTargets(t *testing.T) {
	t.Parallel()
	if err := CheckTargets("docker/Dockerfile", docker.Dockerfile, "prod", "dev"); err != nil {
		t.Fatal(err)
	}
}

func TestCheckTargets(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, content, errHas string
	}{
		{"both", "FROM scratch AS prod\nFROM scratch AS dev\n", ""},
		{"case-insensitive like BuildKit", "FROM scratch AS Prod\nFROM scratch AS DEV\n", ""},
		{"no dev", "FROM scratch AS build\nFROM scratch AS prod\n", `Dockerfile: there is no stage "dev" (its named stages: build, prod); add ` + "`FROM <image> AS dev`"},
		{"no prod", "FROM scratch AS dev\n", `no stage "prod"`},
		{"neither, both named", "FROM scratch AS build\n", `no stage "prod" (its named stages: build); add ` + "`FROM <image> AS prod`" + `, or name the stage in GANTRY_PROD_STAGE/GANTRY_DEV_STAGE (Config.ProdStage/DevStage)
Dockerfile: there is no stage "dev"`},
		{"unnamed", "FROM scratch\n", `no stage "prod" (its named stages: none)`},
		{"empty file", "", "parse Dockerfile"},
		{"unknown instruction", "FROM scratch AS prod\nFROM scratch AS dev\nFOO bar\n", "parse Dockerfile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTargets("Dockerfile", []byte(tt.content), "prod", "dev")
			if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("err = %v, want containing %q", err, tt.errHas)
			}
		})
	}
}

func TestStage(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte("FROM scratch AS Build\nFROM scratch\nFROM build AS prod\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"build": 0, "BUILD": 0, "prod": 2, "dev": -1, "": -1} {
		if got := f.Stage(name); got != want {
			t.Errorf("Stage(%q) = %d, want %d", name, got, want)
		}
	}
	// BuildKit lower-cases stage names.
	if got := strings.Join(f.StageNames(), ","); got != "build,prod" {
		t.Errorf("StageNames() = %s, want build,prod", got)
	}
}

func TestImages(t *testing.T) {
	t.Parallel()
	file, err := Parse([]byte(`ARG GO_IMAGE=golang:1.26
ARG RUNTIME=gcr.io/distroless/static-debian12:nonroot
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
FROM build AS test
FROM scratch AS empty
FROM ${RUNTIME} AS prod
FROM golang:1.26 AS again
FROM ${UNSET:-debian:bookworm} AS dev
`))
	if err != nil {
		t.Fatal(err)
	}
	got := file.Images(map[string]string{"RUNTIME": "localhost:5000/static:nonroot"})
	want := []string{"golang:1.26", "localhost:5000/static:nonroot", "debian:bookworm"}
	if !slices.Equal(got, want) {
		t.Errorf("Images = %q, want %q (build args over defaults; no stage, no scratch, each once)", got, want)
	}
}

// TestImage: a stage's image inherits CMD, ENTRYPOINT, EXPOSE, USER and
// WORKDIR through FROM <stage>, and overrides them as the builder does.
func TestImage(t *testing.T) {
	t.Parallel()
	type want struct {
		cmd, entrypoint, user, workdir string // "" for none; cmd as "shell:" + line for the shell form
		expose                         []string
		// lines: of cmd, entrypoint, user, expose[0] (0 for none)
		lines [4]int
	}
	cmdString := func(c *Command) string {
		switch {
		case c == nil:
			return ""
		case c.Shell:
			return "shell:" + strings.Join(c.Args, " ")
		}
		return strings.Join(c.Args, " ")
	}
	tests := []struct {
		name, content string
		stage         string // "" for the last
		args          map[string]string
		want          want
	}{
		{name: "its own", content: "FROM alpine\nWORKDIR /app\nEXPOSE 8080 9090/udp\nUSER nobody\nENTRYPOINT [\"/app/server\"]\nCMD [\"serve\"]\n",
			want: want{cmd: "serve", entrypoint: "/app/server", user: "nobody", workdir: "/app", expose: []string{"8080", "9090/udp"}, lines: [4]int{6, 5, 4, 3}}},
		{name: "inherited through FROM a stage", content: "FROM alpine AS base\nEXPOSE 8080\nUSER 1000\nCMD [\"serve\"]\nFROM base AS runtime\nCOPY x /x\n",
			want: want{cmd: "serve", user: "1000", expose: []string{"8080"}, lines: [4]int{4, 0, 3, 2}}},
		{name: "two stages up, with overrides", content: "FROM alpine AS a\nEXPOSE 80\nUSER root\nWORKDIR /srv\nCMD [\"a\"]\nFROM a AS b\nEXPOSE 443 80\nWORKDIR data\nFROM b\nUSER 65532\nCMD b --flag\n",
			want: want{cmd: "shell:b --flag", user: "65532", workdir: "/srv/data", expose: []string{"80", "443"}, lines: [4]int{11, 0, 10, 2}}},
		{name: "an ENTRYPOINT resets the CMD inherited", content: "FROM alpine AS base\nCMD [\"serve\"]\nFROM base\nENTRYPOINT [\"/bin/app\"]\n",
			want: want{entrypoint: "/bin/app", lines: [4]int{0, 4, 0, 0}}},
		{name: "but not a CMD of its own stage", content: "FROM alpine\nCMD [\"serve\"]\nENTRYPOINT [\"/bin/app\"]\n",
			want: want{cmd: "serve", entrypoint: "/bin/app", lines: [4]int{2, 3, 0, 0}}},
		{name: "FROM an image of the same name as a later stage is an image", content: "FROM alpine AS x\nCMD [\"no\"]\nFROM later\nFROM alpine AS later\nUSER u\n", stage: "",
			want: want{user: "u", lines: [4]int{0, 0, 5, 0}}},
		{name: "a middle stage", content: "FROM alpine AS base\nUSER 1\nFROM base AS prod\nEXPOSE 1\nFROM base AS dev\nUSER 2\n", stage: "prod",
			want: want{user: "1", expose: []string{"1"}, lines: [4]int{0, 0, 2, 4}}},
		{name: "FROM a stage named by a meta ARG", content: "ARG BASE=one\nFROM alpine AS one\nUSER a\nFROM alpine AS two\nUSER b\nFROM ${BASE}\n",
			want: want{user: "a", lines: [4]int{0, 0, 3, 0}}},
		{name: "the build argument over the ARG's default", content: "ARG BASE=one\nFROM alpine AS one\nUSER a\nFROM alpine AS two\nUSER b\nFROM ${BASE}\n", args: map[string]string{"BASE": "two"},
			want: want{user: "b", lines: [4]int{0, 0, 5, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse([]byte(tt.content))
			if err != nil {
				t.Fatal(err)
			}
			i := len(f.Stages) - 1
			if tt.stage != "" {
				i = f.Stage(tt.stage)
			}
			img := f.Image(i, tt.args)
			var ports []string
			for _, p := range img.Expose {
				ports = append(ports, p.Value)
			}
			value := func(v *Value) (string, int) {
				if v == nil {
					return "", 0
				}
				return v.Value, v.Line
			}
			line := func(c *Command) int {
				if c == nil {
					return 0
				}
				return c.Line
			}
			user, userLine := value(img.User)
			workdir, _ := value(img.Workdir)
			exposeLine := 0
			if len(img.Expose) > 0 {
				exposeLine = img.Expose[0].Line
			}
			got := want{cmd: cmdString(img.Cmd), entrypoint: cmdString(img.Entrypoint), user: user, workdir: workdir, expose: ports,
				lines: [4]int{line(img.Cmd), line(img.Entrypoint), userLine, exposeLine}}
			if got.cmd != tt.want.cmd || got.entrypoint != tt.want.entrypoint || got.user != tt.want.user || got.workdir != tt.want.workdir ||
				!slices.Equal(got.expose, tt.want.expose) || got.lines != tt.want.lines {
				t.Errorf("Image = %+v, want %+v", got, tt.want)
			}
		})
	}
}
