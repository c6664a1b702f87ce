package inputs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/testtree"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	const d = "sha256:aa"
	main := func(inputs string) Current {
		return Current{Tag: "r/api:main", Found: true, Revision: "0123456789abcdef", Inputs: inputs}
	}
	dev := func(inputs string) Current {
		return Current{Tag: "r/api:main-dev", Found: true, Revision: "0123456789abcdef", Inputs: inputs}
	}
	for _, tc := range []struct {
		name    string
		digest  string
		current []Current
		skip    bool
		reason  string
	}{
		{"equal everywhere", d, []Current{main(d), dev(d)}, true, "nothing it is built from changed since r/api:main (commit 0123456789ab)"},
		{"changed", d, []Current{main("sha256:bb"), dev("sha256:bb")}, false, "its inputs changed since r/api:main (commit 0123456789ab)"},
		{"dev behind (a run that stopped between moves)", d, []Current{main(d), dev("sha256:bb")}, false, "since r/api:main-dev"},
		{"first publish", d, []Current{{Tag: "r/api:main"}}, false, "r/api:main does not exist yet"},
		{"no label", d, []Current{main("")}, false, "without the " + Label + " label"},
		{"digest unknown", "", []Current{main("")}, false, "not known"},
		{"no moving tag", d, nil, false, "moves no tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Decide(tc.digest, tc.current)
			if got.Skip != tc.skip || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("Decide = %+v, want skip %t with %q", got, tc.skip, tc.reason)
			}
		})
	}
}

func TestDigestIgnoresOrder(t *testing.T) {
	t.Parallel()
	var a, b, c Inputs
	a.File("x.go", []byte("x"))
	a.Setting("CGO", "0")
	b.Setting("CGO", "0")
	b.File("x.go", []byte("x"))
	c.File("x.go", []byte("y"))
	c.Setting("CGO", "0")
	if a.Digest() != b.Digest() {
		t.Error("the order of entries changed the digest")
	}
	if a.Digest() == c.Digest() || !strings.HasPrefix(a.Digest(), "sha256:") || len(a.Digest()) != 71 {
		t.Errorf("digests %s, %s", a.Digest(), c.Digest())
	}
	// A name cannot pass for a setting.
	var d, e Inputs
	d.Setting("a", "b")
	e.File("a", nil)
	if d.Digest() == e.Digest() {
		t.Error("a file and a setting gave one digest")
	}
}

// monorepo is a module of two services, api and worker, sharing lib, and a
// module of its own (dep) that api links through a replace.
func monorepo(t *testing.T) string {
	return testtree.New(t, map[string]string{
		"go.mod":              "module example.com/mono\n\ngo 1.22\n\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ./dep\n",
		"cmd/api/main.go":     "package main\n\nimport (\n\t_ \"example.com/dep\"\n\t_ \"example.com/mono/lib\"\n)\n\nfunc main() {}\n",
		"cmd/worker/main.go":  "package main\n\nimport _ \"example.com/mono/lib\"\n\nfunc main() {}\n",
		"cmd/worker/web.txt":  "hello",
		"cmd/worker/embed.go": "package main\n\nimport _ \"embed\"\n\n//go:embed web.txt\nvar web string\n",
		"lib/lib.go":          "package lib\n",
		"dep/go.mod":          "module example.com/dep\n\ngo 1.22\n",
		"dep/dep.go":          "package dep\n",
	})
}

func digestOf(t *testing.T, dir, main string) string {
	t.Helper()
	g, err := golist.List(context.Background(), dir, main, "linux", "amd64", logrus.NewEntry(logrus.New()))
	if err != nil {
		t.Fatal(err)
	}
	var in Inputs
	if err := in.AddGraph(g, dir); err != nil {
		t.Fatal(err)
	}
	return in.Digest()
}

func TestAddGraph(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	for _, tc := range []struct {
		name          string
		file, content string
		api, worker   bool // whose digest changes
	}{
		{"worker's own file", "cmd/worker/main.go", "package main\n\nimport _ \"example.com/mono/lib\"\n\nfunc main() { println() }\n", false, true},
		{"worker's embedded file", "cmd/worker/web.txt", "bonjour", false, true},
		{"the shared package", "lib/lib.go", "package lib\n\nconst X = 1\n", true, true},
		{"api's replaced module", "dep/dep.go", "package dep\n\nconst Y = 2\n", true, false},
		{"a file neither compiles", "README.md", "# mono\n", false, false},
		{"go.mod's go line", "go.mod", "module example.com/mono\n\ngo 1.23\n\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ./dep\n", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := monorepo(t)
			api, worker := digestOf(t, dir, "./cmd/api"), digestOf(t, dir, "./cmd/worker")
			if api == worker {
				t.Fatal("two services, one digest")
			}
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := digestOf(t, dir, "./cmd/api") != api; got != tc.api {
				t.Errorf("api's digest changed: %t, want %t", got, tc.api)
			}
			if got := digestOf(t, dir, "./cmd/worker") != worker; got != tc.worker {
				t.Errorf("worker's digest changed: %t, want %t", got, tc.worker)
			}
		})
	}
}

func TestAddGraphNamesFilesByRepositoryPath(t *testing.T) {
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	// The same tree in two places gives one digest.
	if a, b := digestOf(t, monorepo(t), "./cmd/api"), digestOf(t, monorepo(t), "./cmd/api"); a != b {
		t.Errorf("digests %s and %s of one tree in two directories", a, b)
	}
}
