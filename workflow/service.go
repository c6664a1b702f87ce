package workflow

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// PathFor is where the workflow of the service named service is kept,
// relative to its repository's root, when the service's module root is
// the directory dir of the repository (slash-separated; "." at the root).
// GitHub reads workflows only from the root's .github/workflows, so a
// service in a subdirectory keeps its workflow there too, under a name of
// its own (publish-ghcr-<service>.yml), which another service's does not
// take.
func PathFor(dir, service string) string {
	if dir == "" || dir == "." || service == "" {
		return Path
	}
	return ".github/workflows/publish-ghcr-" + service + ".yml"
}

// The template's lines that ForService changes, each with how many times
// it holds them.
var serviceEdits = []struct {
	line  string
	count int
}{
	{"# A service copies this file as it is.\n", 1},
	{"    tags: [\"v*\"]\n  pull_request:\n", 1},
	{"  group: container-${{ github.ref }}\n", 1},
	{"    runs-on: ubuntu-latest\n", 2},
	{"          cache-dependency-path: \"**/go.sum\"\n", 2},
	{"          go-version-file: go.mod\n", 2},
}

// ForService is the workflow of the service named service whose module
// root is the directory dir of its repository, publishing on branch: at
// the root, ForBranch's. In a subdirectory, the file lives at the
// repository's root (PathFor) and: its jobs run in dir
// (defaults.run.working-directory); pushes and pull requests run it only
// when they change a file under dir or the workflow itself (GitHub does
// not filter tag pushes by paths, so every release still runs it);
// setup-go reads dir's go.mod and keys its cache on dir's go.sum files;
// and its concurrency group names the service, so that the runs of
// another service of the repository neither wait for it nor cancel it.
func ForService(branch, dir, service string) ([]byte, error) {
	content, err := ForBranch(branch)
	if err != nil || dir == "" || dir == "." {
		return content, err
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	for _, e := range serviceEdits {
		if n := bytes.Count(content, []byte(e.line)); n != e.count {
			return nil, fmt.Errorf("the workflow template holds %q %d times, not %d: it cannot be written for a service in a subdirectory", strings.TrimSpace(e.line), n, e.count)
		}
	}
	quoted := strconv.Quote // Go's escapes are YAML's too
	paths := fmt.Sprintf("[%s, %s]", quoted(literalPattern(dir)+"/**"), quoted(literalPattern(PathFor(dir, service))))
	replacements := []string{
		fmt.Sprintf("# This copy is for the service %s, in the directory %s of the repository:\n# its jobs run there.\n", service, dir),
		"    tags: [\"v*\"]\n" +
			"    # Only changes to the service or to this workflow run it (a tag push\n" +
			"    # is not filtered by paths: every release runs).\n" +
			"    paths: " + paths + "\n" +
			"  pull_request:\n" +
			"    paths: " + paths + "\n",
		// Concurrency groups are the repository's: the service's name
		// keeps its runs apart from other services' runs of one ref.
		"  group: container-" + service + "-${{ github.ref }}\n",
		"    runs-on: ubuntu-latest\n    defaults:\n      run:\n        working-directory: " + quoted(dir) + "\n",
		"          cache-dependency-path: " + quoted(dir+"/**/go.sum") + "\n",
		"          go-version-file: " + quoted(dir+"/go.mod") + "\n",
	}
	for i, e := range serviceEdits {
		content = bytes.ReplaceAll(content, []byte(e.line), []byte(replacements[i]))
	}
	return content, nil
}

// checkDir refuses a directory that is not a clean path inside the
// repository, or that a workflow cannot name on one line.
func checkDir(dir string) error {
	if path.IsAbs(dir) || path.Clean(dir) != dir || dir == ".." || strings.HasPrefix(dir, "../") || strings.ContainsAny(dir, "\n\r\\") {
		return fmt.Errorf("service directory %q is not a clean relative path inside the repository (such as services/api)", dir)
	}
	return nil
}
