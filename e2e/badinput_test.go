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
	// pushTo is a push of HEAD to branch.
	pushTo := func(branch string) func(head string) testsvc.Event {
		return func(head string) testsvc.Event {
			return testsvc.Event{Name: "push", Ref: "refs/heads/" + branch, SHA: head, Repository: "acme/bad"}
		}
	}
	// local runs targets outside Actions, on the service's checkout.
	local := func(extra map[string]string, targets ...string) setup {
		return func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			return testsvc.Merge(env.GantryEnv(repo), extra), targets
		}
	}
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
		}, problem: `path component "bad name" is not a valid image name component`, fixIs: "set GANTRY_IMAGE"},
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
			run: ciFor(main, nil), problem: "several main packages found (./cmd/api, ./cmd/worker)", fixIs: "set GANTRY_MAIN or Config.MainPackage"},
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
		{name: "publishing branch latest", run: ciFor(pushTo("latest"), map[string]string{"GANTRY_PUBLISH_BRANCH": "latest"}),
			problem: `publishing branch "latest" would push the tag "latest", and Gantry never pushes latest`, fixIs: "publish from another branch"},
		{name: "publishing branch equal to the short SHA", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			short := svc.Git(t, "rev-parse", "HEAD")[:7] // GANTRY_SHORT_SHA_LENGTH's default
			return ciFor(pushTo(short), map[string]string{"GANTRY_PUBLISH_BRANCH": short})(t, svc, repo)
		}, problem: "looks like a short commit SHA: it is the immutable prod tag of any commit starting with", fixIs: "publish from a branch with another name"},
		{name: "GITHUB_SHA with an injected flag", run: ciFor(func(h string) testsvc.Event { return pushMain(h + " -X main.version=PWNED") }, nil),
			problem: "-X main.version=PWNED\" is not a full commit SHA", fixIs: "set it to a full SHA (git rev-parse HEAD)"},
		{name: "a pull request head SHA with an injected flag", run: ciFor(func(h string) testsvc.Event {
			return testsvc.Event{Name: "pull_request", Ref: "refs/pull/1/merge", SHA: h, Repository: "acme/bad",
				Payload: testsvc.PullRequestPayload(1, h+" -X main.version=PWNED", "feature", "acme/bad", "acme/bad")}
		}, nil), problem: "pull_request.head.sha", fixIs: "point GITHUB_EVENT_PATH at the event JSON GitHub wrote"},
		{name: "GITHUB_REF that is not a full ref", run: ciFor(pushTo("main"), map[string]string{"GITHUB_REF": "main"}),
			problem: `GITHUB_REF="main": "main" is not a full ref`, fixIs: "set it as GitHub does, e.g. refs/heads/main"},
		{name: "GITHUB_REPOSITORY going up", run: ciFor(main, map[string]string{"GITHUB_REPOSITORY": "../../x"}),
			problem: `GITHUB_REPOSITORY="../../x" is not owner/repo`, fixIs: "e.g. acme/widget"},
		{name: "a payload field of the wrong type", run: ciFor(func(h string) testsvc.Event {
			return testsvc.Event{Name: "pull_request", Ref: "refs/pull/1/merge", SHA: h, Repository: "acme/bad",
				Payload: map[string]any{"pull_request": map[string]any{"number": "1", "head": map[string]any{"sha": h}}}}
		}, nil), problem: "field pull_request.number holds a JSON string", fixIs: "must name the event JSON GitHub wrote"},
		{name: "a main package read as a flag by go build", run: local(map[string]string{"GANTRY_MAIN": "-toolexec=x"}, "build"),
			problem: `main package "-toolexec=x" starts with '-', which go reads as a flag`, fixIs: "give the main package as . or ./cmd/<name>"},
		{name: "a main package read as a flag in CI", run: ciFor(main, map[string]string{"GANTRY_MAIN": "-toolexec=x"}),
			problem: `main package "-toolexec=x" starts with '-'`, fixIs: "./cmd/<name>"},
		{name: "a stamp variable injecting a flag", run: ciFor(main, map[string]string{"GANTRY_STAMP_VERSION": "main.version=x -X main.commit"}),
			problem: `stamp variable "main.version=x -X main.commit" is not a package-qualified variable name`, fixIs: "such as main.version"},
		{name: "a registry given as a URL", run: ciFor(main, map[string]string{"GANTRY_REGISTRY": "https://ghcr.io"}),
			problem: `registry "https://ghcr.io" has a URL scheme`, fixIs: "give the host name only"},
		{name: "an image with an empty path component", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			return ciFor(main, map[string]string{"GANTRY_IMAGE": env.Registry + "/acme//widget"})(t, svc, repo)
		}, problem: `path component "" is not a valid image name component`, fixIs: "set GANTRY_IMAGE"},
		{name: "an image with a leading dash", run: func(t *testing.T, svc *testsvc.Service, repo string) (map[string]string, []string) {
			return ciFor(main, map[string]string{"GANTRY_IMAGE": env.Registry + "/acme/-widget-"})(t, svc, repo)
		}, problem: `"-widget-" is not a valid image name component`, fixIs: "set GANTRY_IMAGE"},
		{name: "a Dockerfile outside the repository", run: ciFor(main, map[string]string{"GANTRY_DOCKERFILE": "../Dockerfile"}),
			problem: `Dockerfile "../Dockerfile" lies outside the repository`, fixIs: "move it into the repository"},
		{name: "an absolute Dockerfile", run: ciFor(main, map[string]string{"GANTRY_DOCKERFILE": "/etc/Dockerfile"}),
			problem: `Dockerfile "/etc/Dockerfile" is an absolute path`, fixIs: "give it relative to the service directory"},
		{name: "a platform listed twice", run: ciFor(main, map[string]string{"GANTRY_PLATFORMS": "linux/amd64,linux/amd64"}),
			problem: `platform "linux/amd64" is listed twice`, fixIs: "list each platform once"},
		{name: "a comma in a build argument value", run: ciFor(main, map[string]string{"GANTRY_BUILD_ARGS": "A=1,2"}),
			problem: `GANTRY_BUILD_ARGS entry "2" is not KEY=VALUE`, fixIs: "set such a value in Config.BuildArgs"},
		{name: "a service directory that does not exist", run: ciFor(main, map[string]string{"GANTRY_DIR": "/nonexistent"}),
			problem: "the service directory /nonexistent does not exist", fixIs: "set GANTRY_DIR or Config.Dir"},
		{name: "a publish on a stray v tag", prepare: func(t *testing.T, svc *testsvc.Service) { svc.Git(t, "tag", "vnext-wip") },
			run: local(nil, "publish"), problem: `tag "vnext-wip" is not a release version`, fixIs: "delete the tag and push a valid one"},
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
