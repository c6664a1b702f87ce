package conformance

import (
	"bytes"
	"fmt"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// mustIgnore are paths the build context must never carry, with the
// pattern that keeps each out: history and secrets.
var mustIgnore = []struct{ path, pattern string }{
	{".git", ".git"},
	{".env", ".env*"},
	{".env.production", ".env*"},
}

// CheckDockerignore checks the service's .dockerignore (content, read
// from path when exists). Without one, Gantry's template is used beside its
// embedded Dockerfile, so a missing file is only a warning then.
func CheckDockerignore(path string, content []byte, exists, embeddedDockerfile bool) []Finding {
	if !exists {
		f := Finding{Severity: Error, Rule: RuleDockerignore, Path: path,
			Message: "there is no .dockerignore, so the build context carries .git, .env files and everything else",
			Fix:     "copy Gantry's docker/dockerignore to .dockerignore (gantry init writes it)"}
		if embeddedDockerfile {
			f.Severity = Warning
			f.Message = "there is no .dockerignore; Gantry's template applies while the service uses the default Dockerfile, but not once it has its own"
		}
		return []Finding{f}
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(content))
	if err != nil {
		return []Finding{{Severity: Error, Rule: RuleDockerignore, Path: path,
			Message: fmt.Sprintf("cannot read the patterns: %v", err), Fix: "fix the file, one pattern a line"}}
	}
	matcher, err := patternmatcher.New(patterns)
	if err != nil {
		return []Finding{{Severity: Error, Rule: RuleDockerignore, Path: path,
			Message: fmt.Sprintf("a pattern is invalid: %v", err), Fix: "fix the pattern named"}}
	}
	var findings []Finding
	added := map[string]bool{}
	for _, m := range mustIgnore {
		// Matched as BuildKit does, so that **/.git or a later ! line count.
		if ignored, err := matcher.MatchesOrParentMatches(m.path); (err != nil || !ignored) && !added[m.pattern] {
			added[m.pattern] = true
			findings = append(findings, Finding{Severity: Error, Rule: RuleDockerignore, Path: path,
				Message: fmt.Sprintf("%s is not ignored, so it goes into the build context and may end up in an image", m.path),
				Fix:     fmt.Sprintf("add a line `%s` (and no later `!` line that brings it back)", m.pattern)})
		}
	}
	return findings
}
