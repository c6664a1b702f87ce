package conformance

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/embeds"
	"github.com/gantry-build/gantry/internal/gittest"
	"github.com/gantry-build/gantry/internal/testtree"
)

func TestEmbedFindings(t *testing.T) {
	t.Parallel()
	ui := embeds.Missing{ImportPath: "example.com/svc/ui", File: "ui/ui.go", Line: 5, Err: "pattern build/*: no matching files found", Pattern: "build/*", Dir: "ui/build"}
	tests := []struct {
		name    string
		missing []embeds.Missing
		prepare []string
		want    []want
		// message is a piece every finding's message holds.
		message string
	}{
		{name: "every pattern matches in a fresh checkout"},
		{name: "generated, no Prepare: an error with go's message", missing: []embeds.Missing{ui},
			want: []want{{RuleEmbed, Error, 5, "set magetools.Config.Prepare (GANTRY_PREPARE) to the command that generates ui/build"}}, message: "pattern build/*: no matching files found"},
		{name: "generated, with Prepare: Prepare must make them", missing: []embeds.Missing{ui}, prepare: []string{"make", "ui"},
			want: []want{{RuleEmbed, Warning, 5, "make sure `make ui` creates ui/build"}}, message: "pattern build/*: no matching files found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := EmbedFindings("svc", tt.missing, tt.prepare)
			assertFindings(t, got, tt.want)
			for _, f := range got {
				if f.Path != filepath.Join("svc", "ui", "ui.go") || !strings.Contains(f.Message, tt.message) {
					t.Errorf("finding at %s: %q, want at svc/ui/ui.go holding %q", f.Path, f.Message, tt.message)
				}
			}
		})
	}
}

// TestCheckFindsGeneratedEmbeds is the case: ./ui embeds build/*,
// which .gitignore ignores and a yarn build generates; it builds here and
// fails in CI's fresh checkout.
func TestCheckFindsGeneratedEmbeds(t *testing.T) {
	offline(t)
	dir := gittest.NewRepo(t)
	testtree.Write(t, dir, map[string]string{
		"go.mod":              service["go.mod"],
		"main.go":             "package main\n\nimport _ \"example.com/svc/ui\"\n\nvar version, commit, date string\n\nfunc main() {}\n",
		"ui/ui.go":            "package ui\n\nimport \"embed\"\n\n//go:embed build/*\nvar FS embed.FS\n",
		"ui/build/index.html": "<html>",
		".gitignore":          "ui/build\n",
	})
	gittest.Run(t, dir, nil, "add", "-A")
	gittest.Run(t, dir, nil, "commit", "-q", "-m", "service")
	cfg := defaults()
	var got []Finding
	for _, f := range Check(context.Background(), dir, cfg, ListPackages(dir, cfg, testLog())) {
		if f.Rule == RuleEmbed {
			got = append(got, f)
		}
	}
	assertFindings(t, got, []want{{RuleEmbed, Error, 5, "ui/build"}})
	if len(got) == 1 && (got[0].Path != filepath.Join(dir, "ui", "ui.go") || !strings.Contains(got[0].Message, "pattern build/*: no matching files found")) {
		t.Errorf("finding %+v, want at ui/ui.go with go's message", got[0])
	}
}
