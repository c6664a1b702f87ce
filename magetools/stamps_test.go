package magetools

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/magetools/config"
)

// TestBuildStamps: the targets that build pass a default stamp only when
// its variable exists, warning once for each left out, and refuse a stamp
// the team set that sets nothing, as mage check's stamp rule judges them.
func TestBuildStamps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nvar version string\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := golist.Graph{Packages: []golist.Package{{Dir: dir, ImportPath: "example.com/svc", Name: "main", GoFiles: []string{"main.go"}}}}
	all := config.StampFields{Version: true, Commit: true, Date: true}
	tests := []struct {
		name     string
		stamp    config.Stamp
		want     config.Stamp
		warnings []string
		err      string
	}{
		{name: "defaults without their variables are left out, each with a warning",
			stamp:    config.Stamp{Version: "main.version", Commit: "main.commit", Date: "main.date", Defaulted: all},
			want:     config.Stamp{Version: "main.version", Defaulted: all},
			warnings: []string{"-X main.commit (the default of Config.Stamp.Commit", "-X main.date (the default of Config.Stamp.Date"}},
		{name: "a stamp the team set that sets nothing stops the build",
			stamp: config.Stamp{Version: "main.version", Commit: "main.commit"},
			err:   "-X main.commit (Config.Stamp.Commit or GANTRY_STAMP_COMMIT) sets nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			l := logrus.New()
			l.SetOutput(&logs)
			s := session{cfg: config.Config{Stamp: tt.stamp}, log: logrus.NewEntry(l),
				packages: func(context.Context) (golist.Graph, error) { return g, nil }}
			r, err := s.build(context.Background())
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Config.Stamp != tt.want {
				t.Errorf("the build's stamps = %+v, want %+v", r.Config.Stamp, tt.want)
			}
			if flags := strings.Join(r.BuildOptions().XFlags, " "); strings.Contains(flags, "main.commit") || strings.Contains(flags, "main.date") {
				t.Errorf("-X flags %q pass a stamp left out", flags)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != len(tt.warnings) {
				t.Fatalf("logged %d lines, want %d warnings:\n%s", len(lines), len(tt.warnings), logs.String())
			}
			for i, w := range tt.warnings {
				if !strings.Contains(lines[i], "level=warning") || !strings.Contains(lines[i], w) || !strings.Contains(lines[i], "the build leaves it out") {
					t.Errorf("line %d = %s, want a warning holding %q", i, lines[i], w)
				}
			}
		})
	}
}
