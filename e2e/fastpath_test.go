package e2e

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/testsvc"
)

// fastService uses a module from the Go module proxy, so that a publish
// has dependency packages that must not be downloaded or compiled again.
const fastService = `package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/google/uuid"
)

var version, commit, date string

func main() {
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("gantry"))
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, id, version) })
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	http.ListenAndServe(addr, nil)
}
`

// freshBuilder starts (or restarts, its state deleted) a buildkitd of the
// test's own beside the shared one: a fresh CI runner. It returns the
// buildx builder's name.
func freshBuilder(t *testing.T, name string) string {
	t.Helper()
	cmd := exec.Command("scripts/testenv", "fresh", name)
	cmd.Dir = testsvc.Root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/testenv fresh %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// TestFastPathOnAFreshRunner publishes a service on a fresh builder, then,
// after a one-line change, on another fresh builder with the first one's
// exported cache, as every CI run does. The second publish downloads no
// module and compiles only the service's own package: the dependency
// packages come from the host's Go build cache (actions/setup-go restores
// it in CI), Delve and the dev tools from the imported build cache.
func TestFastPathOnAFreshRunner(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/fast")
	svc.Write(t, "main.go", fastService)
	if res := svc.Exec(t, map[string]string{"GOWORK": "off", "GOFLAGS": "-mod=mod"}, "go", "get", "github.com/google/uuid@v1.6.0"); res.Code != 0 {
		t.Fatalf("go get: exit %d", res.Code)
	}
	svc.Commit(t, "a service with a dependency")
	// go.work.sum is written once mage has built the magefile.
	svc.Mage(t, nil, "plan")
	svc.Commit(t, "go.work.sum")

	const name = "e2e-fastpath"
	t.Cleanup(func() {
		cmd := exec.Command("scripts/testenv", "fresh-stop", name)
		cmd.Dir = testsvc.Root(t)
		cmd.Run()
	})
	repo := env.Registry + "/" + run + "/fast"
	vars := func(builder string) map[string]string {
		return testsvc.Merge(env.GantryEnv(repo), map[string]string{
			"BUILDX_BUILDER": builder,
			"GANTRY_CACHE":   "registry:" + env.Registry + "/" + run + "/fast-cache",
		})
	}
	publish := func(builder string) testsvc.Result {
		t.Helper()
		head := svc.Git(t, "rev-parse", "HEAD")
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "acme/fast"}
		start := time.Now()
		res := svc.Mage(t, testsvc.Merge(vars(builder), ev.Env(t)), "ci")
		t.Logf("FIGURE publish on a fresh builder: %s", time.Since(start).Round(100*time.Millisecond))
		if res.Code != 0 {
			t.Fatalf("mage ci: exit %d", res.Code)
		}
		return res
	}

	publish(freshBuilder(t, name))
	// The change is new on every run: Go's build cache outlives a test run
	// on this machine, and would otherwise hold the changed package too.
	changed := "ok, changed " + strconv.FormatInt(time.Now().UnixNano(), 10)
	svc.Write(t, "main.go", strings.Replace(fastService, `"ok"`, strconv.Quote(changed), 1))
	head := svc.Commit(t, "a one-line change")
	res := publish(freshBuilder(t, name))
	log := res.Stdout + res.Stderr

	t.Run("no module is downloaded", func(t *testing.T) {
		if strings.Contains(log, "go: downloading") {
			t.Errorf("the publish downloaded modules:\n%s", grep(log, "go: downloading"))
		}
	})
	t.Run("only the service's own package is compiled", func(t *testing.T) {
		// go build -v lists the packages it compiles, not the cached ones.
		if !regexp.MustCompile(`(?m)^github\.com/acme/fast$`).MatchString(log) {
			t.Errorf("no `go build -v` line for the changed package github.com/acme/fast")
		}
		if m := regexp.MustCompile(`(?m)^(github\.com/google/uuid|crypto/sha1|net/http)$`).FindAllString(log, -1); len(m) > 0 {
			t.Errorf("dependency packages compiled again: %q", m)
		}
		if n := strings.Count(log, "compiled on the host"); n != 2 {
			t.Errorf("%d host compiles logged, want 2 (prod and dev, the fast path)", n)
		}
	})
	t.Run("Delve and the dev tools come from the imported cache", func(t *testing.T) {
		for _, stage := range []string{"delve 1/1] RUN", "dev-tools 4/4] RUN"} {
			steps := regexp.MustCompile(`(?m)^(#\d+) \[[^\]]*`+regexp.QuoteMeta(stage)).FindAllStringSubmatch(log, -1)
			if len(steps) != 2 {
				t.Errorf("%d build steps %q in the log, want one per platform", len(steps), stage)
			}
			for _, s := range steps {
				if !strings.Contains(log, s[1]+" CACHED\n") {
					t.Errorf("step %s (%s) ran; want it CACHED from the imported cache:\n%s", s[1], stage, grep(log, s[1]+" "))
				}
			}
		}
	})
	t.Run("the image serves the change", func(t *testing.T) {
		if got := env.serve(t, repo+":"+head[:7], "linux/arm64", "/healthz"); got != changed+"\n" {
			t.Errorf("/healthz = %q", got)
		}
	})
}

// grep returns the lines of s that contain sub, at most 20.
func grep(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) && len(out) < 20 {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
