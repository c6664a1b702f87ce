package conformance

import (
	"testing"

	"github.com/gantry-build/gantry/docker"
)

func TestCheckDockerignore(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		missing  bool
		embedded bool
		want     []want
	}{
		{name: "the template", content: string(docker.Dockerignore)},
		{name: "globbed", content: "**/.git\n.env*\n"},
		{name: "directory form", content: ".git/\n.env*\n"},
		{name: "missing, own Dockerfile", missing: true,
			want: []want{{RuleDockerignore, Error, 0, "docker/dockerignore to .dockerignore"}}},
		{name: "missing, embedded Dockerfile", missing: true, embedded: true,
			want: []want{{RuleDockerignore, Warning, 0, "docker/dockerignore to .dockerignore"}}},
		{name: "no .git", content: ".env*\n*.md\n",
			want: []want{{RuleDockerignore, Error, 0, "`.git`"}}},
		{name: "only .env, not .env.production", content: ".git\n.env\n",
			want: []want{{RuleDockerignore, Error, 0, "`.env*`"}}},
		{name: "both lacking, one finding each", content: "*.md\n",
			want: []want{{RuleDockerignore, Error, 0, "`.git`"}, {RuleDockerignore, Error, 0, "`.env*`"}}},
		{name: "brought back by !", content: ".git\n.env*\n!.git\n",
			want: []want{{RuleDockerignore, Error, 0, "no later `!` line"}}},
		{name: "an invalid pattern", content: ".git\n.env*\n[\n",
			want: []want{{RuleDockerignore, Error, 0, "fix the pattern"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertFindings(t, CheckDockerignore(".dockerignore", []byte(tt.content), !tt.missing, tt.embedded), tt.want)
		})
	}
}
