package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantry-build/gantry/internal/testsvc"
)

// catalog lists every repository in the loopback registry.
func catalog(t *testing.T) []string {
	t.Helper()
	reg, err := name.NewRegistry(env.Registry)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(context.Background(), reg)
	if err != nil {
		t.Fatal(err)
	}
	return repos
}

// TestBadInput runs Gantry on bad input: each case must exit non-zero
// with a message that names the problem and the fix, and push nothing.
func TestBadInput(t *testing.T) {
	unauthorized := startProxy(t, "5003")
	unauthorized.set(func(*http.Request) fault { return fault{status: http.StatusUnauthorized} })

	type setup func(t *testing.T, svc *testsvc.Service, repo string) (env map[string]string, args []string)
	// ciFor runs `mage ci` for ev built from the service's HEAD.
	ciFor := func(ev func(head string) testsvc.Event, extra map[string]string) setup {
		return func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			e := ev(svc.Git(t, "rev-parse", "HEAD"))
			return testsvc.Merge(env.GantryEnv(repo), e.Env(t), extra), []string{"ci"}
		}
	}
	main := func(head string) testsvc.Event { return pushMain(head) }
	dockerfile := func(content string) func(t *testing.T, svc *testsvc.Service) {
		return func(t *testing.T, svc *testsvc.Service) {
			svc.Write(t, "docker/Dockerfile", content)
			svc.Commit(t, "a Dockerfile")
		}
	}

	cases := []struct {
		name           string
		prepare        func(t *testing.T, svc *testsvc.Service)
		run            setup
		problem, fixIs string
	}{
		{name: "a v* tag that is not semver", run: ciFor(func(h string) testsvc.Event { return pushTag("v1.2", h) }, nil),
			problem: `tag "v1.2" is not a release version`, fixIs: "delete the tag and push a valid one"},
		{name: "a tag that does not name HEAD",
			prepare: func(t *testing.T, svc *testsvc.Service) {
				svc.Git(t, "tag", "-a", "v3.0.0", "-m", "v3.0.0")
				svc.Write(t, "NEXT.txt", "next\n")
				svc.Commit(t, "next")
			},
			run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
				tagged := svc.Git(t, "rev-parse", "v3.0.0^{commit}")
				return testsvc.Merge(env.GantryEnv(repo), pushTag("v3.0.0", tagged).Env(t)), []string{"ci"}
			},
			problem: "tag v3.0.0 names commit", fixIs: "git checkout v3.0.0"},
		{name: "a dirty tree on release",
			prepare: func(t *testing.T, svc *testsvc.Service) {
				svc.Git(t, "tag", "-a", "v3.1.0", "-m", "v3.1.0")
				svc.Write(t, "UNCOMMITTED.txt", "work in progress\n")
			},
			run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
				return env.GantryEnv(repo), []string{"release"}
			},
			problem: "uncommitted changes", fixIs: "commit or stash them"},
		{name: "a Dockerfile without prod", prepare: dockerfile("FROM " + env.DevImage + " AS dev\n"), run: ciFor(main, nil),
			problem: `no stage "prod"`, fixIs: "FROM <image> AS prod"},
		{name: "a Dockerfile without dev", prepare: dockerfile("FROM " + env.RuntimeImage + " AS prod\n"), run: ciFor(main, nil),
			problem: `no stage "dev"`, fixIs: "FROM <image> AS dev"},
		{name: "a Dockerfile that does not parse", prepare: dockerfile("FROM\n"), run: ciFor(main, nil),
			problem: "parse error on line 1: FROM requires either one or three arguments", fixIs: "fix the syntax at the line named"},
		{name: "a configured Dockerfile that is missing", run: ciFor(main, map[string]string{"GANTRY_DOCKERFILE": "nope/Dockerfile"}),
			problem: "nope/Dockerfile: no such file or directory", fixIs: "fix GANTRY_DOCKERFILE"},
		{name: "an unknown platform", run: ciFor(main, map[string]string{"GANTRY_PLATFORMS": "linux/amd64,linux/amd65"}),
			problem: `unknown platform "linux/amd65"`, fixIs: "use os/arch such as linux/amd64"},
		{name: "an image name that is not a valid reference", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			e := testsvc.Merge(env.GantryEnv(repo), pushMain(svc.Git(t, "rev-parse", "HEAD")).Env(t), map[string]string{"GANTRY_IMAGE": repo + "/bad name"})
			return e, []string{"ci"}
		}, problem: "is not a valid repository reference", fixIs: "set GANTRY_IMAGE"},
		{name: "an invalid service name", run: ciFor(main, map[string]string{"GANTRY_SERVICE": "My Service"}),
			problem: `service name "My Service" is not a valid image name component`, fixIs: "lower-case letters"},
		{name: "a short SHA length out of range", run: ciFor(main, map[string]string{"GANTRY_SHORT_SHA_LENGTH": "2"}),
			problem: `GANTRY_SHORT_SHA_LENGTH="2"`, fixIs: "from 4 to 40"},
		{name: "malformed build arguments", run: ciFor(main, map[string]string{"GANTRY_BUILD_ARGS": "GO_IMAGE"}),
			problem: `GANTRY_BUILD_ARGS entry "GO_IMAGE" is not KEY=VALUE`, fixIs: "GANTRY_BUILD_ARGS=GO_IMAGE="},
		{name: "docker and buildx missing", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			bin := t.TempDir()
			if err := os.Symlink("/usr/bin/git", filepath.Join(bin, "git")); err != nil {
				t.Fatal(err)
			}
			return testsvc.Merge(env.GantryEnv(repo), pushMain(svc.Git(t, "rev-parse", "HEAD")).Env(t), map[string]string{"PATH": bin}), []string{"ci"}
		}, problem: "docker is not installed", fixIs: "install the Docker CLI with the buildx plugin"},
		{name: "a builder that cannot build several platforms", run: ciFor(main, map[string]string{"BUILDX_BUILDER": "default"}),
			problem: "cannot build several platforms", fixIs: "docker buildx create"},
		{name: "not logged in", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			e := testsvc.Merge(env.GantryEnv(repo), pushMain(svc.Git(t, "rev-parse", "HEAD")).Env(t), map[string]string{"GANTRY_IMAGE": strings.Replace(repo, env.Registry, "localhost:5003", 1)})
			return e, []string{"ci"}
		}, problem: "not logged in to localhost:5003", fixIs: "docker login localhost:5003"},
		{name: "an unreachable registry", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			e := testsvc.Merge(env.GantryEnv(repo), pushMain(svc.Git(t, "rev-parse", "HEAD")).Env(t), map[string]string{"GANTRY_IMAGE": "localhost:5002/acme/svc"})
			return e, []string{"ci"}
		}, problem: "cannot push to localhost:5002/acme/svc", fixIs: "is localhost:5002 reachable"},
		{name: "a detached HEAD outside CI", prepare: func(t *testing.T, svc *testsvc.Service) { svc.Git(t, "checkout", "-q", "--detach") },
			run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
				return env.GantryEnv(repo), []string{"publish"}
			},
			problem: "detached HEAD with no v* tag", fixIs: "Publish runs for a push to the publishing branch"},
		{name: "release without a release tag", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			return env.GantryEnv(repo), []string{"release"}
		}, problem: "nothing to release", fixIs: "git tag v1.2.3"},
		{name: "a missing event payload", run: ciFor(main, map[string]string{"GITHUB_EVENT_PATH": ""}),
			problem: "GITHUB_EVENT_PATH is empty", fixIs: "set it to such a file"},
		{name: "a malformed event payload", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			path := filepath.Join(t.TempDir(), "event.json")
			os.WriteFile(path, []byte("{not json"), 0o644)
			e := testsvc.Merge(env.GantryEnv(repo), pushMain(svc.Git(t, "rev-parse", "HEAD")).Env(t), map[string]string{"GITHUB_EVENT_PATH": path})
			return e, []string{"ci"}
		}, problem: "is not valid JSON", fixIs: "must name the event JSON GitHub wrote"},
		{name: "a pull request payload without pull_request", run: ciFor(func(h string) testsvc.Event {
			return testsvc.Event{Name: "pull_request", Ref: "refs/pull/1/merge", SHA: h, Repository: "acme/bad"}
		}, nil), problem: "has no pull_request with number and head.sha", fixIs: "point GITHUB_EVENT_PATH at the event JSON"},
		{name: "GITHUB_SHA missing in Actions", run: ciFor(main, map[string]string{"GITHUB_SHA": ""}),
			problem: "GITHUB_SHA is empty", fixIs: "unset GITHUB_ACTIONS"},
		{name: "no main package",
			prepare: func(t *testing.T, svc *testsvc.Service) {
				svc.Git(t, "rm", "-q", "main.go")
				svc.Write(t, "lib/lib.go", "package lib\n")
				svc.Commit(t, "a library only")
			},
			run: ciFor(main, nil), problem: "no main package found", fixIs: "set GANTRY_MAIN"},
		{name: "several main packages",
			prepare: func(t *testing.T, svc *testsvc.Service) {
				svc.Git(t, "rm", "-q", "main.go")
				svc.Write(t, "cmd/api/main.go", "package main\n\nfunc main() {}\n")
				svc.Write(t, "cmd/worker/main.go", "package main\n\nfunc main() {}\n")
				svc.Commit(t, "two commands")
			},
			run: ciFor(main, nil), problem: "several main packages found (./cmd/api, ./cmd/worker)", fixIs: "choose one with GANTRY_MAIN"},
		{name: "a shallow clone where history is needed",
			prepare: func(t *testing.T, svc *testsvc.Service) {
				// main already names the first commit; the clone cannot see it.
				repo := caseRepo(t)
				res := ci(t, svc, pushMain(svc.Git(t, "rev-parse", "HEAD")), testsvc.Merge(env.GantryEnv(repo+"-shallow"), map[string]string{"GANTRY_PLATFORMS": "linux/amd64"}))
				if res.Code != 0 {
					t.Fatalf("publishing the first commit: exit %d", res.Code)
				}
				svc.Write(t, "NEXT.txt", "next\n")
				svc.Commit(t, "next")
				clone := t.TempDir()
				(&testsvc.Service{Dir: svc.Dir}).Git(t, "clone", "-q", "--depth", "1", "file://"+svc.Dir, clone)
				svc.Dir = clone
				svc.Git(t, "remote", "remove", "origin")
			},
			run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
				e := testsvc.Merge(env.GantryEnv(repo+"-shallow"), pushMain(svc.Git(t, "rev-parse", "HEAD")).Env(t), map[string]string{"GANTRY_PLATFORMS": "linux/amd64"})
				return e, []string{"ci"}
			},
			problem: "this clone is shallow and has no origin remote", fixIs: "fetch-depth: 0"},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d bad inputs", len(cases))
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			svc := testsvc.New(t, "github.com/acme/bad")
			if tt.prepare != nil {
				tt.prepare(t, svc)
			}
			repo := caseRepo(t)
			before := catalog(t)
			beforeTags := tags(t, repo+"-shallow")
			e, args := tt.run(t, svc, repo)
			res := svc.Mage(t, e, args...)
			if res.Code == 0 {
				t.Errorf("exit 0; want non-zero")
			}
			if !strings.Contains(res.Stderr, tt.problem) || !strings.Contains(res.Stderr, tt.fixIs) {
				t.Errorf("the message must name the problem %q and the fix %q", tt.problem, tt.fixIs)
			}
			if e["GITHUB_ACTIONS"] == "true" && slices.Contains(args, "ci") && !strings.Contains(res.Stdout, "::error title=gantry%3A mage ci failed::") {
				t.Errorf("in Actions, the error must be an annotation on stdout:\n%s", res.Stdout)
			}
			if after := catalog(t); !slices.Equal(before, after) {
				t.Errorf("the registry changed: %v -> %v", before, after)
			}
			if after := tags(t, repo+"-shallow"); !slices.Equal(beforeTags, after) {
				t.Errorf("tags changed: %v -> %v", beforeTags, after)
			}
		})
	}
}

// caseRepo is a repository of this run named after the test case.
func caseRepo(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	return env.Registry + "/" + run + "/" + name
}
