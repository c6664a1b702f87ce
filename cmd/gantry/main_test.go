package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/adopt"
)

func TestRunRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no command", nil, "usage: gantry init"},
		{"another command", []string{"publish"}, "usage: gantry init"},
		{"an argument", []string{"init", "extra"}, "usage: gantry init"},
		{"an unknown flag", []string{"init", "-latest"}, "flag provided but not defined: -latest"},
		// A test binary has no module version, as a gantry built from a
		// checkout has not.
		{"no version to require", []string{"init", "-dir", dir}, "pass -gantry-version v1.2.3, or -replace PATH"},
		{"not a module", []string{"init", "-dir", dir, "-gantry-version", "v1.0.0"}, "run gantry init at the root of the service's Go module"},
		{"a partial version", []string{"init", "-dir", dir, "-gantry-version", "v1"}, `-gantry-version "v1" is not a full module version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("wrote %s", filepath.Join(dir, entries[0].Name()))
			}
		})
	}
}

func TestForceFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"-force"}, "all", ""},
		{[]string{"-force=magefile,workflow"}, "magefile,workflow", ""},
		{[]string{"-force=magefile", "-force=gomod"}, "gomod,magefile", ""},
		{[]string{}, "", ""},
		{[]string{"-force=dockerignore"}, "", `"dockerignore" is not a file init writes`},
	}
	for _, tt := range tests {
		f := forceFlag{}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Var(f, "force", "")
		err := fs.Parse(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || f.String() != tt.want {
			t.Errorf("%v: %q, %v; want %q", tt.args, f.String(), err, tt.want)
		}
	}
}

func TestRemainingFailsInit(t *testing.T) {
	t.Parallel()
	if err := remaining(adopt.Report{Notes: []string{"a note"}}); err != nil {
		t.Errorf("nothing remains: %v", err)
	}
	if err := remaining(adopt.Report{Remaining: []string{"set Prepare"}}); err == nil || !strings.Contains(err.Error(), "1 thing(s) remain") {
		t.Errorf("one remains: %v, want an error counting it", err)
	}
}
