package sbom

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

const testImage = "registry.example/team/service@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// buildService builds testdata/svc once: a real Go binary with real
// modules and sums. (A test binary will not do: go test records no
// dependencies in it.)
var buildService = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "sbom-svc")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	exe := filepath.Join(dir, "svc")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-ldflags=-X=main.version=v1.0.0", "-o", exe, "./testdata/svc")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./testdata/svc: %w\n%s", err, out)
	}
	return os.ReadFile(exe)
})

func serviceBinary(t *testing.T) []byte {
	t.Helper()
	b, err := buildService()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testInfo(t *testing.T) *debug.BuildInfo {
	t.Helper()
	info, err := buildinfo.Read(bytes.NewReader(serviceBinary(t)))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func testInput(t *testing.T) Input {
	return Input{
		Image: testImage, Platform: "linux/arm64", Binary: "/usr/local/bin/service", Info: testInfo(t),
		Packages: []Package{
			{Name: "libc6", Version: "2.36-9+deb12u10", Architecture: "arm64", Source: "glibc"},
			{Name: "tzdata", Version: "2025b-0+deb12u1", Architecture: "all"},
		},
		Files: []File{{Path: "/etc/passwd", SHA256: strings.Repeat("ab", 32)}},
	}
}

func decode(t *testing.T, b []byte) cdx.BOM {
	t.Helper()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("the SBOM is no CycloneDX JSON: %v", err)
	}
	return bom
}

func component(t *testing.T, bom cdx.BOM, ref string) cdx.Component {
	t.Helper()
	for _, c := range *bom.Components {
		if c.BOMRef == ref {
			return c
		}
	}
	t.Fatalf("the SBOM has no component %s", ref)
	return cdx.Component{}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	in := testInput(t)
	got, err := JSON(in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := JSON(testInput(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Error("JSON of equal inputs differs: the SBOM is not deterministic")
	}
	var raw map[string]any
	if err := json.Unmarshal(got, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["bomFormat"] != "CycloneDX" || raw["specVersion"] != "1.6" {
		t.Errorf("bomFormat %v, specVersion %v; want CycloneDX 1.6", raw["bomFormat"], raw["specVersion"])
	}
	if bytes.Contains(got, []byte(`"timestamp"`)) {
		t.Error("the SBOM has a timestamp: equal inputs would not give equal bytes")
	}

	bom := decode(t, got)
	if want := "urn:uuid:01234567-89ab-8def-8123-456789abcdef"; bom.SerialNumber != want {
		t.Errorf("serialNumber = %s, want %s", bom.SerialNumber, want)
	}
	meta := bom.Metadata.Component
	if meta.Type != cdx.ComponentTypeContainer || meta.Name != "registry.example/team/service" ||
		meta.PackageURL != "pkg:oci/service@sha256%3A0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef?repository_url=registry.example/team/service" ||
		!slices.Contains(*meta.Properties, cdx.Property{Name: propPlatform, Value: "linux/arm64"}) {
		t.Errorf("metadata.component = %+v", meta)
	}

	main := component(t, bom, moduleRef(in.Info.Main.Path, in.Info.Main.Version))
	if main.Type != cdx.ComponentTypeApplication || main.Name != "github.com/gantry-build/gantry" ||
		!slices.Contains(*main.Properties, cdx.Property{Name: propBuild + "-ldflags", Value: "-X=main.version=v1.0.0"}) {
		t.Errorf("main module = %+v", main)
	}
	for _, s := range in.Info.Settings {
		if !slices.Contains(*main.Properties, cdx.Property{Name: propBuild + s.Key, Value: s.Value}) {
			t.Errorf("main module lacks build setting %s=%s", s.Key, s.Value)
		}
	}

	goVersion, _, _ := strings.Cut(in.Info.GoVersion, " ")
	std := component(t, bom, "golang:stdlib@"+goVersion)
	if std.PackageURL != "pkg:golang/stdlib@"+strings.TrimPrefix(goVersion, "go") {
		t.Errorf("stdlib purl = %s", std.PackageURL)
	}

	shellwords := component(t, bom, "golang:github.com/mattn/go-shellwords@v1.0.12")
	if shellwords.Type != cdx.ComponentTypeLibrary || shellwords.PackageURL != "pkg:golang/github.com/mattn/go-shellwords@v1.0.12" {
		t.Errorf("go-shellwords component = %+v", shellwords)
	}
	// go.sum's h1:M2zGm7EW6UQJvDeQxo4T51eKPurbeFbe8WtebGE2xrk= in hex.
	wantHash := cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: "336cc69bb116e94409bc3790c68e13e7578a3eeadb7856def16b5e6c6136c6b9"}
	if shellwords.Hashes == nil || !reflect.DeepEqual(*shellwords.Hashes, []cdx.Hash{wantHash}) {
		t.Errorf("go-shellwords hashes = %+v, want %+v", shellwords.Hashes, wantHash)
	}

	libc := component(t, bom, "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=arm64")
	if libc.Name != "libc6" || libc.PackageURL != libc.BOMRef || !slices.Contains(*libc.Properties, cdx.Property{Name: propSource, Value: "glibc"}) {
		t.Errorf("libc6 component = %+v", libc)
	}
	passwd := component(t, bom, "file:/etc/passwd")
	if passwd.Type != cdx.ComponentTypeFile || (*passwd.Hashes)[0] != (cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: strings.Repeat("ab", 32)}) {
		t.Errorf("/etc/passwd component = %+v", passwd)
	}

	deps := *bom.Dependencies
	if len(deps) != 1 || deps[0].Ref != main.BOMRef || len(*deps[0].Dependencies) != len(in.Info.Deps) {
		t.Errorf("dependencies = %+v, want the main module depending on its %d modules", deps, len(in.Info.Deps))
	}

	mods, err := Modules(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := BinaryModules(in.Info); !reflect.DeepEqual(mods, want) {
		t.Errorf("Modules(JSON) = %v\nBinaryModules = %v", mods, want)
	}
	if d := Diff(mods, BinaryModules(in.Info)); len(d) != 0 {
		t.Errorf("Diff of an SBOM and its own binary = %q, want none", d)
	}
}

// TestJSONReplacedModules: a replaced module is listed as what was
// compiled, saying what it replaces, and reads back as BinaryModules does.
func TestJSONReplacedModules(t *testing.T) {
	t.Parallel()
	info := &debug.BuildInfo{
		GoVersion: "go1.26.8 X:boringcrypto", Path: "example.com/svc/cmd/svc",
		Main: debug.Module{Path: "example.com/svc", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: "golang.org/x/net", Version: "v0.1.0", Sum: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
				Replace: &debug.Module{Path: "example.com/fork/net", Version: "v0.1.1-fix", Sum: "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}},
			{Path: "example.com/lib", Version: "v1.0.0", Replace: &debug.Module{Path: "../lib"}},
			{Path: "github.com/docker/cli", Version: "v29.8.2+incompatible", Sum: "h1:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="},
		},
	}
	got, err := JSON(Input{Image: testImage, Platform: "linux/amd64", Binary: "/svc", Info: info})
	if err != nil {
		t.Fatal(err)
	}
	bom := decode(t, got)
	fork := component(t, bom, "golang:example.com/fork/net@v0.1.1-fix")
	if fork.PackageURL != "pkg:golang/example.com/fork/net@v0.1.1-fix" ||
		(*fork.Hashes)[0].Value != strings.Repeat("01", 32) ||
		!slices.Contains(*fork.Properties, cdx.Property{Name: propReplaces, Value: "golang.org/x/net@v0.1.0"}) {
		t.Errorf("replacement component = %+v", fork)
	}
	local := component(t, bom, "golang:../lib@")
	if local.PackageURL != "" || local.Hashes != nil {
		t.Errorf("local replacement has a purl or hash: %+v", local)
	}
	if cli := component(t, bom, "golang:github.com/docker/cli@v29.8.2+incompatible"); cli.PackageURL != "pkg:golang/github.com/docker/cli@v29.8.2+incompatible" {
		t.Errorf("docker/cli purl = %s", cli.PackageURL)
	}
	if std := component(t, bom, "golang:stdlib@go1.26.8"); std.PackageURL != "pkg:golang/stdlib@1.26.8" {
		t.Errorf("stdlib purl = %s", std.PackageURL)
	}
	mods, err := Modules(got)
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{
		{Path: "../lib"},
		{Path: "example.com/fork/net", Version: "v0.1.1-fix", Sum: "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="},
		{Path: "github.com/docker/cli", Version: "v29.8.2+incompatible", Sum: "h1:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="},
	}
	if !reflect.DeepEqual(mods, want) || !reflect.DeepEqual(BinaryModules(info), want) {
		t.Errorf("Modules = %v\nBinaryModules = %v\nwant %v", mods, BinaryModules(info), want)
	}
}

func TestJSONErrors(t *testing.T) {
	t.Parallel()
	info := &debug.BuildInfo{Main: debug.Module{Path: "example.com/svc"}}
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"tag, not digest", Input{Image: "registry.example/svc:latest", Info: info}, "is not repo@sha256:<digest>"},
		{"no build info", Input{Image: testImage, Binary: "/svc"}, "no Go build info for /svc"},
		{"sum not h1", Input{Image: testImage, Info: &debug.BuildInfo{Deps: []*debug.Module{{Path: "a.example/m", Version: "v1.0.0", Sum: "h2:xyz"}}}},
			`module a.example/m v1.0.0: sum "h2:xyz" is not an h1: SHA-256 hash`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := JSON(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("JSON: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestModulesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, sbom, want string }{
		{"not JSON", "<bom/>", "decode the CycloneDX SBOM"},
		{"no main module", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x"}]}`, "the SBOM has 0 Go main modules"},
		{"dangling dependency", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"bom-ref":"golang:m@","type":"application","name":"m"}],
			"dependencies":[{"ref":"golang:m@","dependsOn":["golang:gone@v1"]}]}`, "depends on golang:gone@v1, which it does not list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Modules([]byte(tt.sbom)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Modules: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	net1 := Module{Path: "golang.org/x/net", Version: "v0.1.0", Sum: "h1:a"}
	net2 := Module{Path: "golang.org/x/net", Version: "v0.2.0", Sum: "h1:b"}
	text := Module{Path: "golang.org/x/text", Version: "v0.3.0", Sum: "h1:c"}
	tests := []struct {
		name         string
		sbom, binary []Module
		want         []string
	}{
		{"equal", []Module{net1, text}, []Module{net1, text}, nil},
		{"both empty", nil, []Module{}, nil},
		{"changed version", []Module{net1, text}, []Module{net2, text}, []string{"golang.org/x/net v0.1.0 in the SBOM, v0.2.0 in the binary"}},
		{"missing from the SBOM", []Module{net1}, []Module{net1, text}, []string{"missing from the SBOM: golang.org/x/text v0.3.0"}},
		{"not in the binary", []Module{net1, text}, []Module{text}, []string{"not in the binary: golang.org/x/net v0.1.0"}},
		{"changed sum", []Module{net1}, []Module{{Path: net1.Path, Version: net1.Version, Sum: "h1:z"}}, []string{"golang.org/x/net v0.1.0: sum h1:a in the SBOM, h1:z in the binary"}},
		{"several, sorted by path", []Module{text, net1}, []Module{net2}, []string{
			"golang.org/x/net v0.1.0 in the SBOM, v0.2.0 in the binary",
			"not in the binary: golang.org/x/text v0.3.0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Diff(tt.sbom, tt.binary); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %q, want %q", got, tt.want)
			}
		})
	}
}
