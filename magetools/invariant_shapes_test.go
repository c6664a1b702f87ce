package magetools

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/testsvc"
)

// shape is a service repository's layout along the dimensions issue 18's
// services differed in; write lays it out.
type shape struct {
	// main is the main package: ".", "./cmd" or "./cmd/orders".
	main string
	// stamps is where the version variables are: "main", "pkg/build" or
	// "none".
	stamps string
	// ldflags is what stamps them: "goreleaser-boilerplate" (GoReleaser's
	// generated main.version, main.commit, main.date, main.builtBy,
	// whatever the code declares), "makefile" (the team's Makefile, with
	// Make variables in -X) or "none".
	ldflags string
	// dockerfile is the service's root Dockerfile: "none", "cmd-expose",
	// "entrypoint-only" or "inheriting" (the last stage FROM a stage that
	// has ENTRYPOINT, CMD and EXPOSE).
	dockerfile string
	// envFiles commits deploy/.env.tpl and config/.env.example.
	envFiles bool
	// workflow is what .github/workflows/publish-ghcr.yml is before init:
	// "none", "image" (the team's docker/build-push-action workflow) or
	// "unrelated" (one of that name publishing a Helm chart).
	workflow string
	// sub puts the module in services/orders of the repository.
	sub bool
	// branch is the default branch: "main", "master", "trunk" (each
	// origin/HEAD of a clone), or "no-origin" (a repository never pushed,
	// on main).
	branch string
}

// dimensions are each field's values, the baseline's first.
var dimensions = []struct {
	name   string
	values []string
	set    func(*shape, string)
}{
	{"main", []string{".", "./cmd", "./cmd/orders"}, func(s *shape, v string) { s.main = v }},
	{"stamps", []string{"main", "pkg/build", "none"}, func(s *shape, v string) { s.stamps = v }},
	{"ldflags", []string{"none", "goreleaser-boilerplate", "makefile"}, func(s *shape, v string) { s.ldflags = v }},
	{"dockerfile", []string{"none", "cmd-expose", "entrypoint-only", "inheriting"}, func(s *shape, v string) { s.dockerfile = v }},
	{"env files", []string{"no", "yes"}, func(s *shape, v string) { s.envFiles = v == "yes" }},
	{"workflow", []string{"none", "image", "unrelated"}, func(s *shape, v string) { s.workflow = v }},
	{"subdirectory", []string{"no", "yes"}, func(s *shape, v string) { s.sub = v == "yes" }},
	{"branch", []string{"main", "master", "trunk", "no-origin"}, func(s *shape, v string) { s.branch = v }},
}

// combinations is how many seeded combinations of every dimension follow
// the one-at-a-time shapes.
const combinations = 6

// shapes returns the baseline, each other value of each dimension on the
// baseline, every pair of stamps and ldflags values (which decide the
// stamps together: GoReleaser's boilerplate names main.* whatever the code
// declares), then seeded combinations (the same on every run).
func shapes() []shape {
	base := shape{}
	for _, d := range dimensions {
		d.set(&base, d.values[0])
	}
	all := []shape{base}
	for _, d := range dimensions {
		for _, v := range d.values[1:] {
			s := base
			d.set(&s, v)
			all = append(all, s)
		}
	}
	stamps, ldflags := dimensions[1], dimensions[2]
	for _, sv := range stamps.values[1:] {
		for _, lv := range ldflags.values[1:] {
			s := base
			stamps.set(&s, sv)
			ldflags.set(&s, lv)
			all = append(all, s)
		}
	}
	r := rand.New(rand.NewPCG(18, 18))
	for range combinations {
		var s shape
		for _, d := range dimensions {
			d.set(&s, d.values[r.IntN(len(d.values))])
		}
		all = append(all, s)
	}
	return all
}

func (s shape) String() string {
	return fmt.Sprintf("main %s, stamps %s, ldflags %s, Dockerfile %s, env files %v, workflow %s, subdirectory %v, branch %s",
		s.main, s.stamps, s.ldflags, s.dockerfile, s.envFiles, s.workflow, s.sub, s.branch)
}

// write lays the shape out in a git repository, committed on its branch,
// and returns the module's directory in a checkout of it.
func (s shape) write(t *testing.T) *testsvc.Service {
	t.Helper()
	repo := &testsvc.Service{Dir: t.TempDir() + "/orders"}
	modDir, module := "", "github.com/acme/orders"
	if s.sub {
		modDir, module = "services/orders", "github.com/acme/orders/services/orders"
	}
	files := map[string]string{"go.mod": "module " + module + "\n\ngo 1.24\n", ".gitignore": "bin/\ndist/\n"}
	mainDir := strings.TrimPrefix(strings.TrimPrefix(s.main, "."), "/")
	stampPkg, useStamps := "main", ""
	switch s.stamps {
	case "main":
		useStamps = "\nvar version, commit, date string\n\nfunc info() string { return version + \" \" + commit + \" \" + date }\n"
	case "pkg/build":
		stampPkg = module + "/pkg/build"
		files["pkg/build/build.go"] = "// Package build holds what the release stamps in.\npackage build\n\nvar (\n\tversion = \"dev\"\n\tcommit  = \"none\"\n\tdate    = \"unknown\"\n)\n\n// Info is the build information.\nfunc Info() string { return version + \" \" + commit + \" \" + date }\n"
		useStamps = "\nfunc info() string { return build.Info() }\n"
	default:
		useStamps = "\nfunc info() string { return \"orders\" }\n"
	}
	imports := "import (\n\t\"fmt\"\n"
	if s.stamps == "pkg/build" {
		imports += "\n\t\"" + module + "/pkg/build\"\n"
	}
	files[path.Join(mainDir, "main.go")] = "// Command orders is the service.\npackage main\n\n" + imports + ")\n" + useStamps + "\nfunc main() { fmt.Println(info()) }\n"

	switch s.ldflags {
	case "goreleaser-boilerplate":
		files[".goreleaser.yaml"] = "version: 2\nbefore:\n  hooks:\n    - go mod tidy\nbuilds:\n  - main: " + s.main + "\n    env:\n      - CGO_ENABLED=0\n    goos: [linux, darwin]\n" +
			"    ldflags:\n      - -s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.CommitDate}} -X main.builtBy=goreleaser\n"
	case "makefile":
		files["Makefile"] = "VERSION ?= $(shell git describe --tags --always)\nCOMMIT := $(shell git rev-parse HEAD)\n\n.PHONY: build\nbuild:\n" +
			"\tCGO_ENABLED=0 go build -ldflags \"-X " + stampPkg + ".version=$(VERSION) -X " + stampPkg + ".commit=$(COMMIT)\" -o bin/orders " + s.main + "\n"
	}

	build := "FROM golang:1.24 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/orders " + s.main + "\n"
	switch s.dockerfile {
	case "cmd-expose":
		files["Dockerfile"] = build + "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/orders /app/orders\nEXPOSE 8080\nCMD [\"/app/orders\", \"--listen\", \":8080\"]\n"
	case "entrypoint-only":
		files["Dockerfile"] = build + "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/orders /app/orders\nENTRYPOINT [\"/app/orders\"]\n"
	case "inheriting":
		files["Dockerfile"] = build + "FROM gcr.io/distroless/static-debian12 AS base\nEXPOSE 9000\nENTRYPOINT [\"/app/orders\"]\nCMD [\"serve\"]\n\nFROM base\nCOPY --from=build /out/orders /app/orders\n"
	}
	if s.envFiles {
		files["deploy/.env.tpl"] = "DATABASE_URL=postgres://orders:CHANGEME@localhost/orders\n"
		files["config/.env.example"] = "ADDR=:8080\n"
	}

	branch := s.branch
	if branch == "no-origin" {
		branch = "main"
	}
	// Workflows are the repository's, whatever directory the module is in.
	workflows := map[string]string{}
	switch s.workflow {
	case "image":
		workflows[".github/workflows/publish-ghcr.yml"] = "name: Publish to GHCR\non:\n  push:\n    branches: [" + branch + "]\npermissions:\n  contents: read\n  packages: write\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n" +
			"      - uses: actions/checkout@v4\n      - uses: docker/setup-buildx-action@v3\n      - uses: docker/login-action@v3\n        with:\n          registry: ghcr.io\n          username: ${{ github.actor }}\n          password: ${{ secrets.GITHUB_TOKEN }}\n" +
			"      - id: meta\n        uses: docker/metadata-action@v5\n        with:\n          images: ghcr.io/${{ github.repository }}\n" +
			"      - uses: docker/build-push-action@v6\n        with:\n          context: ./" + modDir + "\n          push: true\n          platforms: linux/amd64,linux/arm64\n          tags: ${{ steps.meta.outputs.tags }}\n"
	case "unrelated":
		workflows[".github/workflows/publish-ghcr.yml"] = "name: Publish chart\non:\n  push:\n    tags: [\"chart-*\"]\npermissions:\n  packages: write\njobs:\n  chart:\n    runs-on: ubuntu-latest\n    steps:\n" +
			"      - uses: actions/checkout@v4\n      - run: helm package deploy/chart && helm push orders-*.tgz oci://ghcr.io/acme/charts\n"
	}

	for name, content := range files {
		repo.Write(t, path.Join(modDir, name), content)
	}
	for name, content := range workflows {
		repo.Write(t, name, content)
	}
	repo.Git(t, "init", "-q", "-b", branch)
	repo.Commit(t, "the orders service")
	if s.branch != "no-origin" {
		repo = repo.Clone(t)
	}
	return &testsvc.Service{Dir: path.Join(repo.Dir, modDir)}
}
