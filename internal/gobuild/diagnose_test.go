package gobuild

import (
	"strings"
	"testing"
)

func TestDiagnose(t *testing.T) {
	t.Parallel()
	const embed = "ui/ui.go:5:12: pattern build/*: no matching files found\n"
	const cgoOnly = "package example.com/svc\n\timports example.com/svc/native: build constraints exclude all Go files in /src/native\n"
	sqlite := []string{"github.com/mattn/go-sqlite3"}
	tests := []struct {
		name    string
		output  string
		cgo     bool
		prepare []string
		needCgo []string
		// want are pieces of the diagnosis; unwanted must not be in it.
		want     []string
		unwanted []string
		// asks is whether needCgo may be called.
		asks bool
	}{
		{name: "the issue: embed files missing, cgo on, a cgo package linked", output: "# example.com/svc/ui\n" + embed, cgo: true, needCgo: sqlite,
			want:     []string{`go printed "ui/ui.go:5:12: pattern build/*: no matching files found"`, "generated", "set magetools.Config.Prepare"},
			unwanted: []string{"cgo", "CGO_ENABLED"}},
		{name: "embed files missing, cgo off", output: embed, needCgo: sqlite,
			want: []string{"pattern build/*: no matching files found", "Prepare"}, unwanted: []string{"CGO_ENABLED"}},
		{name: "embed files missing though Prepare ran", output: embed, prepare: []string{"make", "ui"},
			want: []string{"`make ui` (Config.Prepare) ran before the build without making them"}},
		{name: "a cgo-only package, cgo off", output: cgoOnly, needCgo: []string{"example.com/svc/native"}, asks: true,
			want: []string{"build constraints exclude all Go files", "example.com/svc/native works only with cgo", "CGO_ENABLED=0", "Config.CGO = true"}},
		{name: "cgo on: never a cgo hint", output: cgoOnly, cgo: true, needCgo: []string{"example.com/svc/native"},
			want: []string{"build constraints exclude all Go files"}, unwanted: []string{"Config.CGO = true"}},
		{name: "cgo off, an error not about the cgo package", output: "main.go:3:2: undefined: x\n", needCgo: sqlite, asks: true,
			want: []string{`go printed "main.go:3:2: undefined: x"`}, unwanted: []string{"cgo"}},
		{name: "nothing printed", output: "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			asked := false
			got := Diagnose(tt.output, tt.cgo, tt.prepare, func() []string { asked = true; return tt.needCgo })
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Diagnose = %q, lacks %q", got, w)
				}
			}
			for _, u := range tt.unwanted {
				if strings.Contains(got, u) {
					t.Errorf("Diagnose = %q, holds %q", got, u)
				}
			}
			if len(tt.want) == 0 && got != "" {
				t.Errorf("Diagnose = %q, want none", got)
			}
			if asked && !tt.asks {
				t.Error("asked which packages need cgo, for a build it cannot explain")
			}
		})
	}
}
