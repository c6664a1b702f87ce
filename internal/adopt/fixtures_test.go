package adopt

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/workflow"
)

// fixture is a service laid out like one of the real services Gantry was
// adopted in, and what init with no flags must decide for it.
type fixture struct {
	name   string
	module string
	files  map[string]string
	// master makes the default branch master: a bare origin whose HEAD
	// names master, cloned.
	master bool
	// want are lines the report must hold; wantMagefile pieces of the
	// magefile (wantKept those a rename keeps); wantWorkflow of the workflow.
	want, wantMagefile, wantKept, wantWorkflow []string
}

var fixtures = []fixture{
	{name: "a: ./cmd main with a ./cmd/keygen helper, stamps in pkg/build, tags and CGO_ENABLED=0 declared in .goreleaser.yaml", module: "github.com/acme/ucan/v2",
		files: map[string]string{
			"cmd/main.go":        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/acme/ucan/v2/pkg/build\"\n)\n\nfunc main() { fmt.Println(build.Version()) }\n",
			"cmd/keygen/main.go": "package main\n\nfunc main() {}\n",
			"pkg/build/build.go": "package build\n\nvar (\n\tversion = \"v0.0.0-unknown\"\n\tcommit  = \"unknown\"\n\tdate    string\n)\n\nfunc Version() string { return version + \" \" + commit + \" \" + date }\n",
			".goreleaser.yaml":   "version: 2\nproject_name: ucan\nbuilds:\n  - main: ./cmd\n    binary: ucan-server\n    tags: [netgo]\n    env: [CGO_ENABLED=0]\n    ldflags:\n      - -s -w -X github.com/acme/ucan/v2/pkg/build.version={{.Version}}\n      - -X github.com/acme/ucan/v2/pkg/build.commit={{.Commit}} -X github.com/acme/ucan/v2/pkg/build.date={{.Date}}\n  - main: ./cmd/keygen\n    binary: keygen\n    tags: [keygen]\n",
		},
		want: []string{
			"decided main package ./cmd (from .goreleaser.yaml builds[0].main; the targets decide the same)",
			"decided service ucan-server (from .goreleaser.yaml builds[0].binary; set in the magefile's init())",
			"decided stamp version github.com/acme/ucan/v2/pkg/build.version (from .goreleaser.yaml builds[0].ldflags; set in the magefile's init())",
			"decided stamp date github.com/acme/ucan/v2/pkg/build.date (from .goreleaser.yaml builds[0].ldflags;",
			"decided build tags netgo (from .goreleaser.yaml builds[0].tags; set in the magefile's init())",
			"decided cgo off (from .goreleaser.yaml builds[0].env; the targets decide the same)",
		},
		wantMagefile: []string{
			`magetools.Config.Service = "ucan-server"`, "// from .goreleaser.yaml builds[0].binary",
			`magetools.Config.Stamp.Commit = "github.com/acme/ucan/v2/pkg/build.commit"`,
			`magetools.Config.Tags = []string{"netgo"}`,
			`the service "ucan-server", built from the main package` + "\n// \"./cmd\"",
		},
		wantKept:     []string{`magetools.Config.Stamp.Commit = "github.com/acme/ucan/v2/pkg/build.commit" // from .goreleaser.yaml builds[0].ldflags`},
		wantWorkflow: []string{"branches: [main]"}},
	{name: "b: a root Dockerfile with ENTRYPOINT, CMD, EXPOSE and USER", module: "github.com/acme/gateway",
		files: map[string]string{
			"main.go":    "package main\n\nvar version string\n\nfunc main() { println(version) }\n",
			"Dockerfile": "FROM golang:1.26 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app/server .\nFROM gcr.io/distroless/static\nCOPY --from=build /app/server /app/server\nEXPOSE 8080\nUSER nobody\nENTRYPOINT [\"/app/server\"]\nCMD [\"serve\",\"--port\",\"8080\"]\n",
		},
		want: []string{
			"decided main package . (from Dockerfile line 4; the targets decide the same)",
			"decided arguments (CMD) serve --port 8080 (from Dockerfile line 9 (ENTRYPOINT) and Dockerfile line 10 (CMD); set in the magefile's init())",
			"decided ports (EXPOSE) 8080 (from Dockerfile line 7; set in the magefile's init())",
			"decided cgo off (from Dockerfile line 4; the targets decide the same)",
			"note    USER nobody (from Dockerfile line 8) not carried over: Gantry's images always run as 65532:65532",
			"decided stamp commit - (from no string variable main.commit or other commit variable is declared: off; set in the magefile's init())",
			"note    the commit stamp is off: to stamp it, declare `var commit string` in package main",
		},
		wantMagefile: []string{
			`magetools.Config.Args = []string{"serve", "--port", "8080"} // from Dockerfile line 9 (ENTRYPOINT) and Dockerfile line 10 (CMD)`,
			`magetools.Config.Ports = []string{"8080"}`,
			`magetools.Config.Stamp.Commit = "-"`,
		},
		wantKept: []string{`magetools.Config.Args = []string{"serve", "--port", "8080"}`}},
	{name: "c: default branch master", module: "github.com/acme/legacy", master: true,
		files:        map[string]string{"main.go": "package main\n\nfunc main() {}\n"},
		want:         []string{"decided publishing branch master (from origin/HEAD; set in the magefile's init())"},
		wantMagefile: []string{`magetools.Config.PublishBranch = "master" // from origin/HEAD`},
		wantKept:     []string{`magetools.Config.PublishBranch = "master" // from origin/HEAD`},
		wantWorkflow: []string{`branches: ["master"]`}},
	{name: "d: a /v2 module named server", module: "github.com/acme/server/v2",
		files: map[string]string{
			"main.go":         "package main\n\nfunc main() {}\n",
			".goreleaser.yml": "project_name: quokka\nbuilds:\n  - binary: \"{{ .ProjectName }}\"\n    tags: [sqlite_fts5]\n    env: [CGO_ENABLED=1]\n",
		},
		want: []string{
			"decided service quokka (from .goreleaser.yml project_name; set in the magefile's init())",
			"decided build tags sqlite_fts5 (from .goreleaser.yml builds[0].tags; set in the magefile's init())",
			"decided cgo on (from .goreleaser.yml builds[0].env; set in the magefile's init())",
		},
		wantMagefile: []string{`magetools.Config.Service = "quokka" // from .goreleaser.yml project_name`, "magetools.Config.CGO = true "}},
	{name: "e: a go-sqlite3-like cgo service with CGO_ENABLED=1 and a web/ package with //go:generate", module: "github.com/acme/notes",
		files: map[string]string{
			"main.go":                        "package main\n\nimport (\n\t\"github.com/acme/notes/internal/sqlite\"\n\t\"github.com/acme/notes/web\"\n)\n\nvar version string\n\nfunc main() { println(version, sqlite.Open(), web.Assets()) }\n",
			"internal/sqlite/sqlite.go":      "package sqlite\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc Open() int { return int(C.one()) }\n",
			"internal/sqlite/static_mock.go": "//go:build !cgo\n\npackage sqlite\n\nimport \"errors\"\n\nvar errNoCgo = errors.New(\"Binary was compiled with 'CGO_ENABLED=0', go-sqlite3 requires cgo to work. This is a stub\")\n\nfunc Open() int { panic(errNoCgo) }\n",
			"web/gen.go":                     "package web\n\n//go:generate sh -c \"mkdir -p dist && echo ok > dist/index.html\"\n",
			"web/web.go":                     "package web\n\n// Assets is where go generate writes the UI.\nfunc Assets() string { return \"dist\" }\n",
			".goreleaser.yaml":               "builds:\n  - env: [CGO_ENABLED=1]\n    ldflags: -s -w -X main.version={{.Version}} -linkmode external -extldflags \"-static\"\n",
		},
		want: []string{
			"decided cgo on (from .goreleaser.yaml builds[0].env; set in the magefile's init())",
			"decided prepare command go generate ./web (from //go:generate in ./web/gen.go; set in the magefile's init())",
			"note    linker flag -linkmode=external (from .goreleaser.yaml builds[0].ldflags) not applied: with cgo, Gantry links statically itself",
			"note    linker flag -extldflags=-static (from .goreleaser.yaml builds[0].ldflags) not applied",
			"note    what go generate writes must be ignored by git",
		},
		wantMagefile: []string{"magetools.Config.CGO = true ", `magetools.Config.Prepare = []string{"go", "generate", "./web"} // from //go:generate in ./web/gen.go`},
		wantKept:     []string{"magetools.Config.CGO = true // from .goreleaser.yaml builds[0].env"}},
	{name: "f: a docker/Dockerfile with stages build and runtime", module: "github.com/acme/billing",
		files: map[string]string{
			"main.go":           "package main\n\nvar version, commit, date string\n\nfunc main() { println(version, commit, date) }\n",
			"docker/Dockerfile": "FROM golang:1.26 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -tags timetzdata -o /billing .\nFROM gcr.io/distroless/static AS runtime\nCOPY --from=build /billing /billing\nEXPOSE 9090\nCMD [\"/billing\", \"--listen\", \":9090\"]\n",
		},
		want: []string{
			"decided Dockerfile embedded (from docker/Dockerfile has no prod and dev stages; set in the magefile's init())",
			"decided arguments (CMD) --listen :9090 (from docker/Dockerfile line 8 (CMD); set in the magefile's init())",
			"decided ports (EXPOSE) 9090 (from docker/Dockerfile line 7; set in the magefile's init())",
			"decided build tags timetzdata (from docker/Dockerfile line 4; set in the magefile's init())",
		},
		wantMagefile: []string{`magetools.Config.Dockerfile = "embedded" // from docker/Dockerfile has no prod and dev stages`, `magetools.Config.Args = []string{"--listen", ":9090"}`},
		wantKept:     []string{`magetools.Config.Dockerfile = "embedded" // from docker/Dockerfile has no prod and dev stages`}},
}

func TestInitRealServices(t *testing.T) {
	root := testsvc.Root(t)
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			svc := &testsvc.Service{Dir: t.TempDir()}
			svc.Write(t, "go.mod", "module "+fx.module+"\n\ngo 1.26\n")
			for name, content := range fx.files {
				svc.Write(t, name, content)
			}
			svc.Git(t, "init", "-q", "-b", "main")
			svc.Commit(t, "the service")
			if fx.master {
				svc = cloneAsMaster(t, svc)
			}

			report := initService(t, svc.Dir, Options{Dir: svc.Dir, Replace: root, GantryVersion: "v0.0.0"})
			for _, line := range fx.want {
				if !strings.Contains(report, line) {
					t.Errorf("the report lacks %q:\n%s", line, report)
				}
			}
			magefile := readFile(t, svc.Dir, "magefiles/magefile.go")
			for _, piece := range fx.wantMagefile { // gofmt may align the comments
				if !strings.Contains(singleSpaced(magefile), piece) {
					t.Errorf("the magefile lacks %q:\n%s", piece, magefile)
				}
			}
			wf := readFile(t, svc.Dir, workflow.Path)
			for _, piece := range fx.wantWorkflow {
				if !strings.Contains(wf, piece) {
					t.Errorf("the workflow lacks %q", piece)
				}
			}
			vet(t, svc)
			if res := svc.Mage(t, nil, "plan"); res.Code != 0 {
				t.Errorf("mage plan refuses the configuration init wrote (exit %d):\n%s", res.Code, res.Stderr)
			}

			t.Run("re-run without flags leaves the magefile as it is", func(t *testing.T) {
				report := initService(t, svc.Dir, Options{Dir: svc.Dir, Replace: root, GantryVersion: "v0.0.0"})
				if got := readFile(t, svc.Dir, "magefiles/magefile.go"); got != magefile {
					t.Errorf("the magefile changed:\n%s\nwas:\n%s", got, magefile)
				}
				if !strings.Contains(report, "skipped magefiles/magefile.go: it sets what init decided already\n") {
					t.Errorf("the report does not say the magefile is up to date:\n%s", report)
				}
			})

			// The go directive: the service's go.mod is untouched, and go.work
			// is no older than any module it uses, and no newer than needed.
			if got := readFile(t, svc.Dir, "go.mod"); !strings.Contains(got, "\ngo 1.26\n") {
				t.Errorf("the service's go directive changed:\n%s", got)
			}
			work, err := modfile.ParseWork("go.work", []byte(readFile(t, svc.Dir, "go.work")), nil)
			if err != nil {
				t.Fatal(err)
			}
			magefilesMod, err := modfile.Parse("go.mod", []byte(readFile(t, svc.Dir, "magefiles/go.mod")), nil)
			if err != nil {
				t.Fatal(err)
			}
			if work.Go.Version != magefilesMod.Go.Version {
				t.Errorf("go.work says go %s, the magefiles module %s: want the higher of the service's (1.26) and the magefiles'", work.Go.Version, magefilesMod.Go.Version)
			}

			t.Run("re-run with -service renames in place", func(t *testing.T) {
				report := initService(t, svc.Dir, Options{Dir: svc.Dir, Replace: root, GantryVersion: "v0.0.0", Service: "renamed"})
				if !strings.Contains(report, "wrote   magefiles/magefile.go\n") {
					t.Errorf("the magefile was not updated:\n%s", report)
				}
				magefile := readFile(t, svc.Dir, "magefiles/magefile.go")
				if !regexp.MustCompile(`magetools\.Config\.Service = "renamed" +// from -service\n`).MatchString(magefile) || strings.Count(magefile, "Config.Service =") != 1 {
					t.Errorf("the magefile does not set the new name once:\n%s", magefile)
				}
				for _, piece := range fx.wantKept {
					if !strings.Contains(singleSpaced(magefile), piece) {
						t.Errorf("the update lost %q:\n%s", piece, magefile)
					}
				}
				vet(t, svc)
				res := svc.Mage(t, nil, "-l")
				if res.Code != 0 || !strings.Contains(res.Stdout, `the service "renamed"`) {
					t.Errorf("mage -l does not say the new name (exit %d):\n%s", res.Code, res.Stdout)
				}
			})
		})
	}
}

// singleSpaced replaces every run of spaces with one.
func singleSpaced(s string) string { return regexp.MustCompile(` +`).ReplaceAllString(s, " ") }

// initService runs Init and returns its report as printed.
func initService(t *testing.T, dir string, opts Options) string {
	t.Helper()
	report, err := Init(context.Background(), opts)
	var out bytes.Buffer
	if werr := report.Write(&out); werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	t.Logf("gantry init:\n%s", out.String())
	return out.String()
}

// vet compiles the magefile in the service's workspace, as mage would.
func vet(t *testing.T, svc *testsvc.Service) {
	t.Helper()
	if res := svc.Exec(t, nil, "go", "vet", "-tags", "mage", "./magefiles"); res.Code != 0 {
		t.Fatalf("go vet -tags mage ./magefiles: exit %d\n%s", res.Code, res.Stderr)
	}
}

// cloneAsMaster moves the service to master and returns a clone of it,
// whose origin/HEAD names master.
func cloneAsMaster(t *testing.T, svc *testsvc.Service) *testsvc.Service {
	t.Helper()
	svc.Git(t, "branch", "-m", "master")
	clone := svc.Clone(t)
	if head := clone.Git(t, "symbolic-ref", "refs/remotes/origin/HEAD"); head != "refs/remotes/origin/master" {
		t.Fatalf("origin/HEAD is %s", head)
	}
	return clone
}

func TestInitKeepsTheServicesMageRequirement(t *testing.T) {
	svc := newService(t)
	svc.Write(t, "go.mod", "module github.com/acme/widget\n\ngo 1.26\n\nrequire github.com/magefile/mage v1.15.0\n")
	report, err := Init(context.Background(), Options{Dir: svc.Dir, Replace: testsvc.Root(t), GantryVersion: "v0.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ran := range report.Ran {
		if strings.HasPrefix(ran, "go get") {
			t.Errorf("ran %q: it may raise the service's requirements", ran)
		}
	}
	gomod := readFile(t, svc.Dir, "go.mod")
	if !strings.Contains(gomod, "require github.com/magefile/mage v1.15.0") || !strings.Contains(gomod, "tool github.com/magefile/mage") {
		t.Errorf("go.mod should keep mage v1.15.0 and list it as a tool:\n%s", gomod)
	}
}
