package adopt

import (
	"strings"
	"testing"
)

func TestUpdateMagefile(t *testing.T) {
	header := "// Gantry's release targets for the service \"new\", built from the main package\n// \".\"; to change either, set magetools.Config.Service or .MainPackage in init().\n"
	service := []Setting{{"Service", "new", "-service"}}
	tests := []struct {
		name, magefile string
		want           []string
		wantErr        string
	}{
		{name: "blank import gets a name and an init()", magefile: "//go:build mage\n\n// Gantry's release targets for the service \"old\", built from the main package\n// \".\"; to change either, set it.\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/gantry-build/gantry/magetools\"\n)\n",
			want: []string{"\t\"github.com/gantry-build/gantry/magetools\"\n", "func init() {\n\tmagetools.Config.Service = \"new\" // from -service\n}\n", `the service "new"`}},
		{name: "an assignment and its comment replaced, the team's code kept", magefile: "//go:build mage\n\npackage main\n\nimport (\n\tg \"github.com/gantry-build/gantry/magetools\"\n)\n\nfunc init() {\n\tg.Config.License = \"MIT\"\n\tg.Config.Service = \"old\" // from .goreleaser.yaml project_name\n}\n\n// Lint is the team's own target.\nfunc Lint() {}\n",
			want: []string{"\tg.Config.Service = \"new\" // from -service\n", "g.Config.License = \"MIT\"", "func Lint() {}"}},
		{name: "not a mage file", magefile: "package main\n\nimport _ \"github.com/gantry-build/gantry/magetools\"\n", wantErr: "no //go:build mage line"},
		{name: "no Gantry import", magefile: "//go:build mage\n\npackage main\n", wantErr: "does not import github.com/gantry-build/gantry/magetools"},
		{name: "not Go", magefile: "//go:build mage\n\npackage main\nfunc {", wantErr: "rewrite it with -force=magefile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UpdateMagefile([]byte(tt.magefile), service, header)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "not recognisably the one gantry init writes") {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(got), w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(string(got), `"old"`) {
				t.Errorf("the old name is left:\n%s", got)
			}
		})
	}
}
