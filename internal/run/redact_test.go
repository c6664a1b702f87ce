package run

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// writeAll writes text to w in the pieces cut at the positions of cuts.
func writeAll(t *testing.T, w *redactWriter, text string, cuts []int) {
	t.Helper()
	last := 0
	for _, c := range append(cuts, len(text)) {
		if n, err := w.Write([]byte(text[last:c])); err != nil || n != c-last {
			t.Fatalf("Write(%q) = %d, %v", text[last:c], n, err)
		}
		last = c
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestRedactWriter(t *testing.T) {
	t.Parallel()
	secrets := []string{"ghs_token1234", "ghs_tok", "pw"}
	tests := []struct{ name, text, want string }{
		{"no secret", "building prod\n", "building prod\n"},
		{"a secret in a line", "login ghs_token1234 ok\n", "login *** ok\n"},
		{"the longer of two secrets replaced whole", "a ghs_token1234 b ghs_tok c\n", "a *** b *** c\n"},
		{"secrets side by side", "pwpwghs_tok", "*********"},
		{"a start of a secret that is none", "ghs_to\nghs_tokeX\n", "ghs_to\n***eX\n"},
		{"a secret at the very end", "token: ghs_token1234", "token: ***"},
		{"a start of a secret at the very end", "token: ghs_token12", "token: ***en12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Whole, cut once at every position, and byte by byte.
			cutSets := [][]int{nil}
			for i := 1; i < len(tt.text); i++ {
				cutSets = append(cutSets, []int{i})
			}
			var bytewise []int
			for i := 1; i < len(tt.text); i++ {
				bytewise = append(bytewise, i)
			}
			cutSets = append(cutSets, bytewise)
			for _, cuts := range cutSets {
				var out bytes.Buffer
				writeAll(t, newRedactWriter(&out, secrets), tt.text, cuts)
				if out.String() != tt.want {
					t.Errorf("written in pieces cut at %v: %q, want %q", cuts, out.String(), tt.want)
				}
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRedactWriterError(t *testing.T) {
	t.Parallel()
	w := newRedactWriter(failingWriter{}, []string{"secret"})
	if _, err := w.Write([]byte("line\n")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write = %v, want the writer's error", err)
	}
}

// TestRunRedactsStreamedOutput: a token variable's value and a secret of
// the command's own, echoed by the command in several writes, reach the
// user as ***.
func TestRunRedactsStreamedOutput(t *testing.T) {
	needSh(t)
	t.Setenv("ACTIONS_RUNTIME_TOKEN", "runtime-token-value")
	var stdout, stderr bytes.Buffer
	script := `printf 'cache runtime-to'; sleep 0.1; printf 'ken-value\n'; printf 'npm %s\n' "$NPM_TOKEN" >&2; printf 'url %s\n' "$1"`
	err := Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", script, "sh", "https://u:pw-in-url@h"},
		Env: []string{"NPM_TOKEN=npm_value"}, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if want := "cache ***\nurl https://u:***@h\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
	if want := "npm ***\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}
