package conformance

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gantry-build/gantry/docker"
)

func TestCheckDockerignore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		content  string
		missing  bool
		embedded bool
		// files are the build context on disk; none: no walk.
		files []string
		want  []want
	}{
		{name: "the template", content: string(docker.Dockerignore)},
		{name: "globbed", content: "**/.git\n.env*\n"},
		{name: "directory form", content: ".git/\n.env*\n"},
		{name: "missing, own Dockerfile", missing: true,
			want: []want{{RuleDockerignore, Error, 0, "docker/dockerignore to .dockerignore"}}},
		{name: "missing, embedded Dockerfile", missing: true, embedded: true,
			want: []want{{RuleDockerignore, Warning, 0, "docker/dockerignore to .dockerignore"}}},
		{name: "no .git", content: ".env*\n*.md\n",
			want: []want{{RuleDockerignore, Error, 0, "add a line `**/.git`"}}},
		{name: "only .env, not .env.production", content: ".git\n.env\n",
			want: []want{{RuleDockerignore, Error, 0, "add a line `**/.env*`"}}},
		{name: "both lacking, one finding each", content: "*.md\n",
			want: []want{{RuleDockerignore, Error, 0, "`**/.git`"}, {RuleDockerignore, Error, 0, "`**/.env*`"}}},
		{name: "brought back by !", content: ".git\n.env*\n!.git\n",
			want: []want{{RuleDockerignore, Error, 0, "remove `!.git`: no later `!` line"}}},
		// The case: .git itself is ignored, but BuildKit walks into
		// it for the exception and sends the token's file.
		{name: "part of .git brought back", content: ".git\n.env*\n!.git/config\n",
			want: []want{{RuleDockerignore, Error, 0, "remove `!.git/config`"}}},
		{name: "git objects brought back by a glob", content: ".git\n.env*\n!**/objects\n",
			want: []want{{RuleDockerignore, Error, 0, "remove `!**/objects`"}}},
		{name: "an .env file brought back", content: ".git\n.env*\n!.env.local\n",
			want: []want{{RuleDockerignore, Error, 0, "remove `!.env.local`"}}},
		{name: "an exception elsewhere brings nothing back", content: ".git\n.env*\n*.md\n!README.md\n"},
		// fsutil skips an excluded directory when no plain exception lies
		// inside it: !config cannot reach .git/config.
		{name: "an exception outside .git", content: ".git\n.env*\n!config\n"},
		{name: "everything ignored, the code let back", content: "*\n!go.mod\n!go.sum\n!cmd/\n!internal/\n"},
		{name: "an .env file in a sub-directory on disk", content: ".git\n.env*\n",
			files: []string{"main.go", "config/.env", "config/app.yaml"},
			want:  []want{{RuleDockerignore, Error, 0, "add a line `**/.env*`"}}},
		{name: "a submodule's .git on disk", content: ".git\n.env*\n",
			files: []string{"main.go", "vendor/lib/.git", "vendor/lib/lib.go"},
			want:  []want{{RuleDockerignore, Error, 0, "add a line `**/.git`"}}},
		// The case: a template of secrets beside the deployment.
		{name: "a nested .env file, root-only pattern", content: ".git\n.env*\n",
			files: []string{"main.go", "deploy/.env.tpl"},
			want:  []want{{RuleDockerignore, Error, 0, "add a line `**/.env*`"}}},
		{name: "a nested .env file and a submodule, the template", content: string(docker.Dockerignore),
			files: []string{"main.go", "deploy/.env.tpl", "vendor/lib/.git", ".git/config", ".env"}},
		{name: "nested files ignored at every depth", content: "**/.git\n**/.env*\n",
			files: []string{"main.go", "config/.env", "vendor/lib/.git", ".git/config"}},
		{name: "an ignored directory is not walked", content: ".git\n.env*\nconfig\n",
			files: []string{"config/.env", ".git/config", ".env"}},
		{name: "files on disk brought back", content: ".git\n.env*\n!.git/hooks\n",
			files: []string{".git/hooks/post-checkout", ".git/config"},
			want:  []want{{RuleDockerignore, Error, 0, "remove `!.git/hooks`"}}},
		{name: "an invalid pattern", content: ".git\n.env*\n[\n",
			want: []want{{RuleDockerignore, Error, 0, "fix the pattern"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var context fstest.MapFS
			if tt.files != nil {
				context = fstest.MapFS{}
				for _, f := range tt.files {
					context[f] = &fstest.MapFile{Data: []byte("x")}
				}
			}
			var got []Finding
			if context == nil {
				got, _ = checkDockerignore(".dockerignore", []byte(tt.content), !tt.missing, tt.embedded, nil)
			} else {
				got, _ = checkDockerignore(".dockerignore", []byte(tt.content), !tt.missing, tt.embedded, context)
			}
			assertFindings(t, got, tt.want)
		})
	}
}

// TestCheckDockerignoreNamesTheLeaks: the message lists what BuildKit
// would send, the token's file first among the checkout's paths.
func TestCheckDockerignoreNamesTheLeaks(t *testing.T) {
	t.Parallel()
	got, _ := checkDockerignore(".dockerignore", []byte(".git\n.env*\n!.git/config\n"), true, false, nil)
	if len(got) != 1 || !strings.Contains(got[0].Message, "sends .git/config into the build context") || strings.Contains(got[0].Message, ".git/HEAD") {
		t.Fatalf("findings %v, want one naming .git/config and not .git/HEAD", got)
	}
}

// TestContextFilterSends pins the matching to BuildKit's: the expected
// values are what `docker buildx build` sends for these patterns.
func TestContextFilterSends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns string
		path     string
		sent     bool
	}{
		{".git", ".git/config", false},
		{".git\n!.git/config", ".git/config", true},
		{".git\n!.git/config", ".git/HEAD", false},
		{".git\n!.git/refs", ".git/refs/heads/main", true},
		{".git\n!config", ".git/config", false},   // an exception is anchored at the root
		{".git\n!**/config", ".git/config", true}, // a glob exception makes BuildKit walk every directory
		{".env*", "sub/.env", true},               // patterns are anchored at the root
		{"**/.env*", "sub/.env", false},
		{"*\n!src", "src/.env", true},
		{"*\n!src\nsrc/.env*", "src/.env", false},
		{"sub\n!sub/a\nsub/a/.git", "sub/a/.git/config", false},
		{"", ".git/config", true},
	}
	for _, tt := range tests {
		f, err := newContextFilter(strings.Split(tt.patterns, "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.sends(tt.path); err != nil || got != tt.sent {
			t.Errorf("patterns %q: sends(%s) = %t, %v; want %t", tt.patterns, tt.path, got, err, tt.sent)
		}
	}
}
