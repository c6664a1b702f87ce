package dockerfile

import (
	"strings"
	"testing"

	"github.com/gantry-build/gantry/docker"
)

func TestEmbeddedDockerfileHasBothTargets(t *testing.T) {
	if err := CheckTargets("docker/Dockerfile", docker.Dockerfile, "prod", "dev"); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedProdRuntimeHasNoRun(t *testing.T) {
	stages, err := Stages(docker.Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stages {
		if s.Name != "prod" {
			continue
		}
		for _, c := range s.Commands {
			if strings.EqualFold(c.Name(), "run") {
				t.Errorf("prod stage runs %q: it would need emulation for other platforms", c)
			}
		}
		return
	}
	t.Fatal("no prod stage")
}

func TestCheckTargets(t *testing.T) {
	for _, tt := range []struct {
		name, content, errHas string
	}{
		{"both", "FROM scratch AS prod\nFROM scratch AS dev\n", ""},
		{"case-insensitive like BuildKit", "FROM scratch AS Prod\nFROM scratch AS DEV\n", ""},
		{"no dev", "FROM scratch AS build\nFROM scratch AS prod\n", `no stage "dev" (its named stages: build, prod); add ` + "`FROM <image> AS dev`"},
		{"no prod", "FROM scratch AS dev\n", `no stage "prod"`},
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
