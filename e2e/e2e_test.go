// Package e2e proves Gantry end to end: real BuildKit and buildx build real
// images, push them to a real registry on loopback, and the tests read them
// back with go-containerregistry and run them on a real Docker engine.
// scripts/testenv sets the environment up; without it the suite fails.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/testenv"
	"github.com/gantry-build/gantry/internal/testsvc"
)

var env testEnv

func TestMain(m *testing.M) {
	e, err := testenv.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	env = testEnv{e}
	os.Exit(m.Run())
}

// run is a unique registry namespace, so runs never see each other's tags.
var run = fmt.Sprintf("e2e-%d", time.Now().UnixNano())

// TestService adopts Gantry in a new service without a Dockerfile (the
// embedded default is used) and walks it through every event.
func TestService(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/widget")
	repo := env.Registry + "/" + run + "/widget"
	base := env.GantryEnv(repo)
	head := svc.Git(t, "rev-parse", "HEAD")
	short := head[:7]
	commitTime := svc.Git(t, "show", "-s", "--format=%cI", "HEAD")

	// Later steps read what this one pushed.
	if !t.Run("push to main publishes prod and dev", func(t *testing.T) {
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "acme/widget"}
		summary, outputs := filepath.Join(t.TempDir(), "summary.md"), filepath.Join(t.TempDir(), "outputs")
		start := time.Now()
		res := svc.Mage(t, testsvc.Merge(base, ev.Env(t), map[string]string{"GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": outputs}), "ci")
		t.Logf("FIGURE publish (two platforms, prod+dev): %s", time.Since(start).Round(time.Second))
		if res.Code != 0 {
			t.Fatalf("mage ci: exit %d", res.Code)
		}
		_, prod := index(t, repo+":"+short)
		_, dev := index(t, repo+":"+short+"-dev")
		written, _ := os.ReadFile(summary)
		t.Logf("job summary:\n%s", written)
		for _, want := range []string{"| prod | linux/amd64, linux/arm64 |", "`" + repo + ":main`", "docker pull " + repo + "@" + prod.String(), dev.String()} {
			if !strings.Contains(string(written), want) {
				t.Errorf("job summary lacks %q", want)
			}
		}
		set, _ := os.ReadFile(outputs)
		for _, want := range []string{"prod-digest=" + prod.String(), "dev-digest=" + dev.String(), "prod-tags=" + repo + ":" + short + "," + repo + ":main"} {
			if !strings.Contains(string(set), want) {
				t.Errorf("step outputs lack %q:\n%s", want, set)
			}
		}
		for _, want := range []string{"::group::build prod for linux/amd64, linux/arm64", "::endgroup::"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("no log group %q on stdout", want)
			}
		}
		want := []string{short, short + "-dev", "main", "main-dev"}
		if got := tags(t, repo); !slices.Equal(got, want) {
			t.Fatalf("tags = %v, want %v", got, want)
		}
		_, prodDigest := index(t, repo+":"+short)
		if _, d := index(t, repo+":main"); d != prodDigest {
			t.Errorf("main = %s, %s = %s: moving tag not on the immutable one", d, short, prodDigest)
		}
		_, devDigest := index(t, repo+":"+short+"-dev")
		if _, d := index(t, repo+":main-dev"); d != devDigest {
			t.Errorf("main-dev = %s, %s-dev = %s", d, short, devDigest)
		}
	}) {
		t.FailNow()
	}

	t.Run("prod: both platforms, non-root, no shell, OCI labels", func(t *testing.T) {
		for platform, img := range bothPlatforms(t, repo+":"+short) {
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			labels := cfg.Config.Labels
			for k, v := range map[string]string{
				"org.opencontainers.image.revision": head,
				"org.opencontainers.image.version":  "main-" + short,
				"org.opencontainers.image.created":  utc(t, commitTime),
				"org.opencontainers.image.source":   "https://github.com/acme/widget",
				"org.opencontainers.image.title":    "widget",
			} {
				if labels[k] != v {
					t.Errorf("%s: label %s = %q, want %q", platform, k, labels[k], v)
				}
			}
			fs := files(t, img)
			for _, shell := range []string{"bin/sh", "bin/bash", "usr/bin/curl", "bin/busybox"} {
				if fs[shell] {
					t.Errorf("%s: prod has %s", platform, shell)
				}
			}
			if !fs["usr/local/bin/service"] || !fs["etc/ssl/certs/ca-certificates.crt"] {
				t.Errorf("%s: prod lacks the service or the CA bundle", platform)
			}
		}
	})

	t.Run("dev: both platforms, Delve and the debugging tools", func(t *testing.T) {
		for platform, img := range bothPlatforms(t, repo+":"+short+"-dev") {
			fs := files(t, img)
			for _, tool := range []string{"usr/local/bin/dlv", "usr/local/bin/service", "bin/bash", "usr/bin/less", "usr/bin/vim.tiny",
				"bin/ps", "usr/bin/htop", "usr/bin/strace", "bin/ping", "usr/bin/dig", "bin/netstat", "usr/bin/tcpdump", "usr/bin/jq", "usr/bin/curl"} {
				if !fs[tool] && !fs[strings.Replace(tool, "bin/", "usr/bin/", 1)] && !fs[strings.Replace(tool, "usr/bin/", "usr/sbin/", 1)] {
					t.Errorf("%s: dev lacks %s", platform, tool)
				}
			}
		}
	})

	t.Run("the pushed prod image answers on both platforms", func(t *testing.T) {
		for _, platform := range []string{"linux/amd64", "linux/arm64"} {
			if got := env.serve(t, repo+":"+short, platform, "/healthz"); got != "ok\n" {
				t.Errorf("%s /healthz = %q", platform, got)
			}
			if got := env.serve(t, repo+":main", platform, "/version"); !strings.Contains(got, `"version":"main-`+short+`"`) || !strings.Contains(got, head) {
				t.Errorf("%s /version = %q", platform, got)
			}
		}
	})

	t.Run("dlv runs in the dev image on both platforms", func(t *testing.T) {
		for _, platform := range []string{"linux/amd64", "linux/arm64"} {
			out, err := env.docker(t, "run", "--rm", "--network", "host", "--platform", platform, "--entrypoint", "dlv", repo+":"+short+"-dev", "version")
			if err != nil || !strings.Contains(out, "Delve Debugger") {
				t.Errorf("%s: dlv version: %v: %s", platform, err, out)
			}
		}
	})

	t.Run("tag v1.2.3 releases prod only, promoting main's build", func(t *testing.T) {
		svc.Git(t, "tag", "-a", "v1.2.3", "-m", "v1.2.3")
		ev := testsvc.Event{Name: "push", Ref: "refs/tags/v1.2.3", SHA: head, Repository: "acme/widget"}
		res := svc.Mage(t, testsvc.Merge(base, ev.Env(t)), "ci")
		if res.Code != 0 {
			t.Fatalf("mage ci: exit %d", res.Code)
		}
		want := []string{short, short + "-dev", "1.2.3", "main", "main-dev"}
		slices.Sort(want)
		if got := tags(t, repo); !slices.Equal(got, want) {
			t.Fatalf("tags = %v, want %v (no dev tag for a release)", got, want)
		}
		_, release := index(t, repo+":1.2.3")
		if _, built := index(t, repo+":"+short); release != built {
			t.Errorf("1.2.3 is %s, not the %s built on main (%s)", release, short, built)
		}
	})

	t.Run("a tag that does not name HEAD is refused, nothing pushed", func(t *testing.T) {
		before := tags(t, repo)
		svc.Write(t, "NOTES.txt", "a second commit\n")
		svc.Commit(t, "second commit")
		svc.Git(t, "tag", "-a", "v1.3.0", "-m", "v1.3.0", head)
		ev := testsvc.Event{Name: "push", Ref: "refs/tags/v1.3.0", SHA: head, Repository: "acme/widget"}
		res := svc.Mage(t, testsvc.Merge(base, ev.Env(t)), "ci")
		if res.Code == 0 || !strings.Contains(res.Stderr, "tag v1.3.0 names commit") || !strings.Contains(res.Stderr, "git checkout v1.3.0") {
			t.Errorf("exit %d; want a refusal naming the tag and the fix", res.Code)
		}
		if got := tags(t, repo); !slices.Equal(got, before) {
			t.Errorf("tags changed: %v -> %v", before, got)
		}
	})

	t.Run("a pull request builds both targets and pushes nothing", func(t *testing.T) {
		before := tags(t, repo)
		prHead := svc.Git(t, "rev-parse", "HEAD")
		ev := testsvc.Event{Name: "pull_request", Ref: "refs/pull/5/merge", SHA: strings.Repeat("e", 40), Repository: "acme/widget",
			Payload: testsvc.PullRequestPayload(5, prHead, "feature/x", "acme/widget", "acme/widget")}
		// With -v and a token and a secret build argument in the
		// environment: neither may appear anywhere in the output.
		const token, secret = "ghs_e2eTokenThatMustNotLeak", "e2e-secret-value-that-must-not-leak"
		res := svc.Mage(t, testsvc.Merge(base, ev.Env(t), map[string]string{
			"GITHUB_TOKEN":      token,
			"GANTRY_BUILD_ARGS": base["GANTRY_BUILD_ARGS"] + ",E2E_SECRET=" + secret,
		}), "-v", "ci")
		if res.Code != 0 {
			t.Fatalf("mage ci: exit %d", res.Code)
		}
		all := res.Stdout + res.Stderr
		if strings.Contains(all, token) || strings.Contains(all, secret) {
			t.Error("the output of `mage -v ci` holds the token or a build argument's value")
		}
		if !strings.Contains(all, "run: docker buildx build") || !strings.Contains(all, "E2E_SECRET=***") {
			t.Error("the debug log lacks the redacted buildx command line: the check above proved nothing")
		}
		for _, target := range []string{"prod", "dev"} {
			if !logged(res.Stderr, "built; nothing pushed", "target="+target, "platforms=linux/amd64") {
				t.Errorf("output lacks the log line of %s built for linux/amd64, nothing pushed", target)
			}
		}
		if got := tags(t, repo); !slices.Equal(got, before) {
			t.Errorf("tags changed: %v -> %v", before, got)
		}
	})

	t.Run("a Dockerfile without dev is refused, nothing pushed", func(t *testing.T) {
		before := tags(t, repo)
		svc.Write(t, "docker/Dockerfile", "FROM "+env.RuntimeImage+" AS prod\nCOPY main.go /\n")
		sha := svc.Commit(t, "a Dockerfile without dev")
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: sha, Repository: "acme/widget"}
		res := svc.Mage(t, testsvc.Merge(base, ev.Env(t)), "ci")
		if res.Code == 0 || !strings.Contains(res.Stderr, `no stage "dev"`) || !strings.Contains(res.Stderr, "FROM <image> AS dev") {
			t.Errorf("exit %d; want a refusal naming the stage and the fix", res.Code)
		}
		if got := tags(t, repo); !slices.Equal(got, before) {
			t.Errorf("tags changed: %v -> %v", before, got)
		}
		svc.Git(t, "rm", "-q", "docker/Dockerfile")
		svc.Commit(t, "back to the default Dockerfile")
	})

	t.Run("mage image loads a runnable image into the local engine", func(t *testing.T) {
		res := svc.Mage(t, base, "image")
		if res.Code != 0 {
			t.Fatalf("mage image: exit %d", res.Code)
		}
		tag := strings.TrimSpace(res.Stdout)
		if !strings.HasPrefix(tag, "widget:main-") {
			t.Fatalf("mage image printed %q, want the loaded tag", tag)
		}
		if got := env.serve(t, tag, "linux/amd64", "/healthz"); got != "ok\n" {
			t.Errorf("/healthz = %q", got)
		}
	})
}

// TestExampleService publishes this repository's example service with the
// repository's own magefile, as CI does on a push to main.
func TestExampleService(t *testing.T) {
	svc := copyRepo(t)
	repo := env.Registry + "/" + run + "/hello"
	head := svc.Git(t, "rev-parse", "HEAD")
	ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "gantry-build/gantry"}
	start := time.Now()
	res := svc.Mage(t, testsvc.Merge(env.GantryEnv(repo), ev.Env(t)), "ci")
	t.Logf("FIGURE publish of the example service: %s", time.Since(start).Round(time.Second))
	if res.Code != 0 {
		t.Fatalf("mage ci: exit %d", res.Code)
	}
	want := []string{head[:7], head[:7] + "-dev", "main", "main-dev"}
	if got := tags(t, repo); !slices.Equal(got, want) {
		t.Fatalf("tags = %v, want %v", got, want)
	}
	if got := env.serve(t, repo+":main", "linux/amd64", "/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
}

// copyRepo copies this repository's working tree (tracked and new files,
// as git sees them) into a fresh repository with one commit on main.
func copyRepo(t *testing.T) *testsvc.Service {
	t.Helper()
	root := testsvc.Root(t)
	src := &testsvc.Service{Dir: root}
	dst := &testsvc.Service{Dir: t.TempDir()}
	for _, rel := range strings.Split(src.Git(t, "ls-files", "--cached", "--others", "--exclude-standard"), "\n") {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		dst.Write(t, rel, string(data))
		if info, err := os.Stat(filepath.Join(root, rel)); err == nil && info.Mode()&0o111 != 0 {
			os.Chmod(filepath.Join(dst.Dir, rel), 0o755)
		}
	}
	dst.Git(t, "init", "-q", "-b", "main")
	dst.Commit(t, "copy of the working tree")
	return dst
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// utc turns git's %cI into the RFC 3339 UTC form of the created label.
func utc(t *testing.T, iso string) string {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, iso)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC().Format(time.RFC3339)
}

// logged reports whether out has a log line (logrus's key=value form, as
// in CI) with message msg and every field of fields ("key=value"; a
// value is matched quoted or not).
func logged(out, msg string, fields ...string) bool {
	quote := func(kv string) []string {
		k, v, _ := strings.Cut(kv, "=")
		return []string{kv, k + "=" + strconv.Quote(v)}
	}
	for _, line := range strings.Split(out, "\n") {
		if !slices.ContainsFunc(quote("msg="+msg), func(m string) bool { return strings.Contains(line, m+" ") || strings.HasSuffix(line, m) }) {
			continue
		}
		all := true
		for _, f := range fields {
			all = all && slices.ContainsFunc(quote(f), func(kv string) bool { return strings.Contains(line, " "+kv+" ") || strings.HasSuffix(line, " "+kv) })
		}
		if all {
			return true
		}
	}
	return false
}
