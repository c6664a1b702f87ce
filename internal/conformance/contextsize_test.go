package conformance

import (
	"strings"
	"testing"
)

func TestCheckContextSize(t *testing.T) {
	t.Parallel()
	const mb = 1_000_000
	source := sentFile{"main.go", 20_000}
	tests := []struct {
		name    string
		sent    []sentFile
		message string // "" for no finding
		fix     string
	}{
		{name: "a service's sources", sent: []sentFile{source, {"go.sum", 40_000}, {"internal/a/a.go", 9_000}}},
		{name: "at the limit", sent: []sentFile{source, {"assets/big.bin", ContextSizeLimit - source.size}}},
		// The case: the binary `mage build` had just written.
		{name: "the binary in bin/", sent: []sentFile{source, {"bin/server", 73 * mb}, {"web/app.js", 2 * mb}},
			message: "BuildKit would send 75 MB with the build context, over 50 MB: biggest bin/ 73 MB (files: bin/server 73 MB); every build uploads it",
			fix:     "e.g. `bin/`; `bin/` in particular"},
		{name: "two big entries", sent: []sentFile{source, {"bin/server", 40 * mb}, {"data/fixtures.db", 20 * mb}, {"docs/a.png", 50_000}},
			message: "BuildKit would send 60 MB with the build context, over 50 MB: biggest bin/ 40 MB, data/ 20 MB (files: bin/server 40 MB, data/fixtures.db 20 MB)",
			fix:     "e.g. `bin/`, `data/`; `bin/` in particular"},
		{name: "many small files add up", sent: manyFiles("web/node_modules/pkg", 600, 100_000),
			message: "biggest web/ 60 MB", fix: "e.g. `web/`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := CheckContextSize(".dockerignore", tt.sent)
			if tt.message == "" {
				if len(got) != 0 {
					t.Errorf("unexpected %v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %v, want one context-size warning", got)
			}
			f := got[0]
			if f.Rule != RuleContextSize || f.Severity != Warning || f.Path != ".dockerignore" {
				t.Errorf("got %s %s on %s, want a context-size warning on .dockerignore", f.Severity, f.Rule, f.Path)
			}
			if !strings.Contains(f.Message, tt.message) || !strings.Contains(f.Fix, tt.fix) {
				t.Errorf("got %q (fix: %q), want the message to hold %q and the fix %q", f.Message, f.Fix, tt.message, tt.fix)
			}
			if tt.fix == "e.g. `web/`" && strings.Contains(f.Fix, "bin/") {
				t.Errorf("fix %q names bin/, which the context does not hold", f.Fix)
			}
		})
	}
}

func manyFiles(dir string, n int, size int64) []sentFile {
	files := make([]sentFile, n)
	for i := range files {
		files[i] = sentFile{path: dir + "/" + strings.Repeat("f", i%50+1) + string(rune('a'+i%26)) + ".js", size: size}
	}
	return files
}
