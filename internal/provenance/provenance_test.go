package provenance

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	commit   = "0123456789abcdef0123456789abcdef01234567"
	indexHex = "1111111111111111111111111111111111111111111111111111111111111111"
	armHex   = "2222222222222222222222222222222222222222222222222222222222222222"
	fileHex  = "3333333333333333333333333333333333333333333333333333333333333333"
	baseHex  = "4444444444444444444444444444444444444444444444444444444444444444"
)

func build() Build {
	return Build{
		Subjects: []Subject{
			IndexSubject("ghcr.io/o/svc", "sha256:"+indexHex),
			PlatformSubject("ghcr.io/o/svc", "linux/arm64", "sha256:"+armHex),
		},
		Repository:    "https://github.com/o/r",
		Commit:        commit,
		Ref:           "refs/heads/main",
		Target:        "prod",
		Platforms:     []string{"linux/arm64"},
		Dockerfile:    Dockerfile{Path: "docker/Dockerfile", Digest: "sha256:" + fileHex},
		BaseImages:    []Dependency{{URI: "pkg:docker/golang@1.26.8-bookworm", Digest: "sha256:" + baseHex}},
		GoVersion:     "go1.26.8",
		BuildArgs:     map[string]string{"MAIN_PACKAGE": "./cmd/svc", "SOURCE_DATE_EPOCH": "1764900000", "GO_LDFLAGS": "-s -w"},
		Builder:       "https://github.com/o/r/.github/workflows/publish-ghcr.yml@refs/heads/main",
		Invocation:    "https://github.com/o/r/actions/runs/42/attempts/1",
		Started:       time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC),
		Finished:      time.Date(2026, 12, 5, 2, 3, 30, 0, time.UTC),
		GantryVersion: "v1.4.0",
	}
}

// decode returns the statement as generic JSON, to assert on its shape as
// a verifier that does not use Go's bindings sees it.
func decode(t *testing.T, statement []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(statement, &v); err != nil {
		t.Fatalf("the statement is not JSON: %v\n%s", err, statement)
	}
	return v
}

// at follows a path of object keys and array indexes through generic JSON.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not an object: %v", path, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: no element %d in %v", path, k, v)
			}
			v = a[k]
		}
	}
	return v
}

func TestStatement(t *testing.T) {
	t.Parallel()
	embedded := build()
	embedded.Dockerfile.Path = EmbeddedDockerfile
	local := build()
	local.Builder, local.Invocation, local.Started, local.Finished, local.BuildArgs = "https://github.com/gantry-build/gantry@v1.4.0", "", time.Time{}, time.Time{}, nil

	deps := func(dockerfileURI string) any {
		return []any{
			map[string]any{"uri": "git+https://github.com/o/r@refs/heads/main", "digest": map[string]any{"gitCommit": commit}},
			map[string]any{"name": "Dockerfile", "uri": dockerfileURI, "digest": map[string]any{"sha256": fileHex}},
			map[string]any{"uri": "pkg:docker/golang@1.26.8-bookworm", "digest": map[string]any{"sha256": baseHex}},
			map[string]any{"name": "go1.26.8", "uri": "pkg:golang/stdlib@1.26.8"},
		}
	}
	tests := []struct {
		name  string
		build Build
		path  []any
		want  any
	}{
		{"statement type", build(), []any{"_type"}, "https://in-toto.io/Statement/v1"},
		{"predicate type", build(), []any{"predicateType"}, PredicateType},
		{"index subject in in-toto form", build(), []any{"subject", 0}, map[string]any{"name": "ghcr.io/o/svc", "digest": map[string]any{"sha256": indexHex}}},
		{"platform subject", build(), []any{"subject", 1}, map[string]any{"name": "ghcr.io/o/svc#linux/arm64", "digest": map[string]any{"sha256": armHex}}},
		{"build type", build(), []any{"predicate", "buildDefinition", "buildType"}, BuildType},
		{"external parameters", build(), []any{"predicate", "buildDefinition", "externalParameters"}, map[string]any{
			"repository": "https://github.com/o/r", "ref": "refs/heads/main", "target": "prod",
			"platforms": []any{"linux/arm64"}, "dockerfile": "docker/Dockerfile",
			"buildArgs": map[string]any{"MAIN_PACKAGE": "./cmd/svc", "SOURCE_DATE_EPOCH": "1764900000", "GO_LDFLAGS": "-s -w"},
		}},
		{"no build arguments, no buildArgs", local, []any{"predicate", "buildDefinition", "externalParameters", "buildArgs"}, nil},
		{"internal parameters", build(), []any{"predicate", "buildDefinition", "internalParameters"}, map[string]any{"gantryVersion": "v1.4.0"}},
		{"source, Dockerfile at the commit, base image, toolchain", build(), []any{"predicate", "buildDefinition", "resolvedDependencies"},
			deps("git+https://github.com/o/r@" + commit + "#docker/Dockerfile")},
		{"the embedded Dockerfile is Gantry's at its version", embedded, []any{"predicate", "buildDefinition", "resolvedDependencies"},
			deps("pkg:golang/github.com/gantry-build/gantry@v1.4.0#docker/Dockerfile")},
		{"run details in Actions", build(), []any{"predicate", "runDetails"}, map[string]any{
			"builder": map[string]any{"id": "https://github.com/o/r/.github/workflows/publish-ghcr.yml@refs/heads/main"},
			"metadata": map[string]any{"invocationId": "https://github.com/o/r/actions/runs/42/attempts/1",
				"startedOn": "2026-12-05T02:00:00Z", "finishedOn": "2026-12-05T02:03:30Z"},
		}},
		{"run details elsewhere", local, []any{"predicate", "runDetails"}, map[string]any{
			"builder": map[string]any{"id": "https://github.com/gantry-build/gantry@v1.4.0"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := Statement(tt.build)
			if err != nil {
				t.Fatal(err)
			}
			if got := at(t, decode(t, st), tt.path...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%v = %#v\nwant %#v", tt.path, got, tt.want)
			}
		})
	}
}

// TestStatementDeterministic: equal builds give equal bytes, whatever
// order their maps were filled in, and the bytes are compact JSON.
func TestStatementDeterministic(t *testing.T) {
	t.Parallel()
	first, err := Statement(build())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b := build()
		b.BuildArgs = map[string]string{}
		for _, k := range []string{"SOURCE_DATE_EPOCH", "GO_LDFLAGS", "MAIN_PACKAGE"} {
			b.BuildArgs[k] = build().BuildArgs[k]
		}
		again, err := Statement(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("two statements of one build differ:\n%s\n%s", first, again)
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, first); err != nil || !bytes.Equal(compact.Bytes(), first) {
		t.Errorf("the statement is not compact JSON: %v\n%s", err, first)
	}
	if i, j := bytes.Index(first, []byte(`"GO_LDFLAGS"`)), bytes.Index(first, []byte(`"MAIN_PACKAGE"`)); i < 0 || j < i {
		t.Errorf("build arguments not in key order:\n%s", first)
	}
}

func TestStatementRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Build)
		want   string
	}{
		{"no subjects", func(b *Build) { b.Subjects = nil }, "Build.Subjects"},
		{"a subject without a name", func(b *Build) { b.Subjects[1].Name = "" }, "PlatformSubject"},
		{"a short digest", func(b *Build) { b.Subjects[0].Digest = "sha256:abc" }, "sha256:<64 lower-case hex digits>"},
		{"a digest without its algorithm", func(b *Build) { b.Subjects[0].Digest = indexHex }, "sha256:<64 lower-case hex digits>"},
		{"a repository that is no URL", func(b *Build) { b.Repository = "github.com/o/r" }, "https://github.com/o/r"},
		{"a short commit", func(b *Build) { b.Commit = "0123456" }, "git rev-parse HEAD"},
		{"a branch name", func(b *Build) { b.Ref = "main" }, "refs/heads/main"},
		{"no target", func(b *Build) { b.Target = "" }, "prod or dev"},
		{"no platforms", func(b *Build) { b.Platforms = nil }, "linux/amd64"},
		{"an absolute Dockerfile", func(b *Build) { b.Dockerfile.Path = "/src/Dockerfile" }, "relative to the repository root"},
		{"a Dockerfile outside the repository", func(b *Build) { b.Dockerfile.Path = "../Dockerfile" }, "not a clean path inside the repository"},
		{"a Dockerfile without digest", func(b *Build) { b.Dockerfile.Digest = "" }, "Dockerfile docker/Dockerfile"},
		{"a base image without URI", func(b *Build) { b.BaseImages[0].URI = "" }, "pkg:docker/"},
		{"a Go version without go", func(b *Build) { b.GoVersion = "1.26.8" }, "go env GOVERSION"},
		{"no builder", func(b *Build) { b.Builder = "" }, "gantry@<version>"},
		{"no Gantry version", func(b *Build) { b.GantryVersion = "" }, "github.com/gantry-build/gantry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := build()
			tt.change(&b)
			if _, err := Statement(b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one holding %q", err, tt.want)
			}
		})
	}
}

func TestReadRoundTrip(t *testing.T) {
	t.Parallel()
	embedded := build()
	embedded.Dockerfile.Path, embedded.Ref, embedded.Target = EmbeddedDockerfile, "refs/tags/v1.2.3", "dev"
	for _, b := range []Build{build(), embedded} {
		st, err := Statement(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Read(st)
		if err != nil {
			t.Fatal(err)
		}
		want := Summary{Subjects: b.Subjects, Repository: b.Repository, Commit: b.Commit, Ref: b.Ref, Target: b.Target}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Read(Statement(b)) = %+v\nwant %+v", got, want)
		}
	}
}

func TestReadRefuses(t *testing.T) {
	t.Parallel()
	st, err := Statement(build())
	if err != nil {
		t.Fatal(err)
	}
	edit := func(change func(map[string]any)) []byte {
		v := decode(t, st)
		change(v)
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	def := func(v map[string]any) map[string]any {
		return v["predicate"].(map[string]any)["buildDefinition"].(map[string]any)
	}
	tests := []struct {
		name      string
		statement []byte
		want      string
	}{
		{"not JSON", []byte("{"), "not an in-toto statement"},
		{"a signature statement", edit(func(v map[string]any) { v["predicateType"] = "https://sigstore.dev/cosign/sign/v1" }), `"https://sigstore.dev/cosign/sign/v1", not SLSA provenance v1's`},
		{"an SBOM", edit(func(v map[string]any) { v["predicateType"] = "https://cyclonedx.org/bom" }), "read the one whose predicate type is " + PredicateType},
		{"no subjects", edit(func(v map[string]any) { delete(v, "subject") }), "subject"},
		{"another build type", edit(func(v map[string]any) { def(v)["buildType"] = "https://actions.github.io/buildtypes/workflow/v1" }), "Gantry did not build this image"},
		{"no commit", edit(func(v map[string]any) {
			deps := def(v)["resolvedDependencies"].([]any)
			delete(deps[0].(map[string]any), "digest")
		}), "no resolvedDependencies entry git+https://github.com/o/r@refs/heads/main with a gitCommit digest"},
		{"no source dependency", edit(func(v map[string]any) { def(v)["resolvedDependencies"] = []any{} }), "names no commit"},
		{"no ref", edit(func(v map[string]any) { delete(def(v)["externalParameters"].(map[string]any), "ref") }), "externalParameters.ref"},
		{"no target", edit(func(v map[string]any) { delete(def(v)["externalParameters"].(map[string]any), "target") }), "externalParameters.target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Read(tt.statement); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one holding %q", err, tt.want)
			}
		})
	}
}
