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
