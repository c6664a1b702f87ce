package buildx

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// base is a build with every field that has no switch-like effect set to
// a fixed value, and cache only; the cases below change one thing each.
func base() Build {
	return Build{
		Context:    "./svc",
		Dockerfile: "/tmp/gantry-1/Dockerfile",
		Target:     "prod",
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		Output:     CacheOnly,
	}
}

// mustArgs returns b.Args(), failing the test on an error.
func mustArgs(t *testing.T, b Build) []string {
	t.Helper()
	args, err := b.Args()
	if err != nil {
		t.Fatalf("Args: %v", err)
	}
	return args
}

func TestArgs(t *testing.T) {
	t.Parallel()
	const epoch = 1714000000
	tests := []struct {
		name  string
		build func() Build
		want  []string
	}{
		{
			name:  "minimal cache only",
			build: base,
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "prod",
				"--platform", "linux/amd64,linux/arm64",
				"--provenance=false", "--sbom=false",
				"--output", "type=cacheonly",
				"./svc"},
		},
		{
			name: "push with everything",
			build: func() Build {
				b := base()
				b.Output = Push
				b.Progress = "plain"
				b.Name = "ghcr.io/acme/svc"
				b.BuildArgs = map[string]string{"MAIN_PACKAGE": "./cmd/svc", "GO_LDFLAGS": "-X main.version=1.2.3", "A": "1"}
				b.Labels = map[string]string{
					"org.opencontainers.image.version":  "1.2.3",
					"org.opencontainers.image.revision": "abc",
					"org.opencontainers.image.created":  "2024-04-24T23:06:40Z",
				}
				b.SourceDateEpoch = epoch
				b.Attestations = true
				b.NoCache = true
				b.CacheFrom = []string{"type=gha,scope=svc-prod", "type=registry,ref=x"}
				b.CacheTo = []string{"type=gha,mode=max,scope=svc-prod"}
				b.MetadataFile = "/tmp/gantry-1/prod-metadata.json"
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "prod",
				"--platform", "linux/amd64,linux/arm64",
				"--progress", "plain",
				"--build-arg", "A=1",
				"--build-arg", "GO_LDFLAGS=-X main.version=1.2.3",
				"--build-arg", "MAIN_PACKAGE=./cmd/svc",
				"--build-arg", "SOURCE_DATE_EPOCH=1714000000",
				"--label", "org.opencontainers.image.created=2024-04-24T23:06:40Z",
				"--label", "org.opencontainers.image.revision=abc",
				"--label", "org.opencontainers.image.version=1.2.3",
				"--provenance=mode=max", "--sbom=true",
				"--no-cache",
				"--cache-from", "type=gha,scope=svc-prod",
				"--cache-from", "type=registry,ref=x",
				"--cache-to", "type=gha,mode=max,scope=svc-prod",
				"--output", "type=image,name=ghcr.io/acme/svc,push-by-digest=true,push=true,oci-mediatypes=true,rewrite-timestamp=true",
				"--metadata-file", "/tmp/gantry-1/prod-metadata.json",
				"./svc"},
		},
		{
			name: "push without epoch has no rewrite-timestamp",
			build: func() Build {
				b := base()
				b.Output = Push
				b.Name = "r/s"
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "prod",
				"--platform", "linux/amd64,linux/arm64",
				"--provenance=false", "--sbom=false",
				"--output", "type=image,name=r/s,push-by-digest=true,push=true,oci-mediatypes=true",
				"./svc"},
		},
		{
			name: "load with epoch",
			build: func() Build {
				b := base()
				b.Output = Load
				b.Platforms = []string{"linux/amd64"}
				b.Tags = []string{"svc:main-abc1234"}
				b.SourceDateEpoch = epoch
				b.Progress = "auto"
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "prod",
				"--platform", "linux/amd64",
				"--progress", "auto",
				"--tag", "svc:main-abc1234",
				"--build-arg", "SOURCE_DATE_EPOCH=1714000000",
				"--provenance=false", "--sbom=false",
				"--output", "type=docker,rewrite-timestamp=true",
				"./svc"},
		},
		{
			name: "load without epoch",
			build: func() Build {
				b := base()
				b.Output = Load
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "prod",
				"--platform", "linux/amd64,linux/arm64",
				"--provenance=false", "--sbom=false",
				"--output", "type=docker",
				"./svc"},
		},
		{
			name: "cache only with epoch never rewrites",
			build: func() Build {
				b := base()
				b.SourceDateEpoch = epoch
				b.CacheFrom = []string{"type=gha,scope=svc-dev"}
				b.Target = "dev"
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "dev",
				"--platform", "linux/amd64,linux/arm64",
				"--build-arg", "SOURCE_DATE_EPOCH=1714000000",
				"--provenance=false", "--sbom=false",
				"--cache-from", "type=gha,scope=svc-dev",
				"--output", "type=cacheonly",
				"./svc"},
		},
		{
			name: "dev push keeps its layer times, named contexts sorted",
			build: func() Build {
				b := base()
				b.Target = "dev"
				b.Output = Push
				b.Name = "r/s"
				b.SourceDateEpoch = epoch
				b.KeepLayerTimes = true
				b.Contexts = map[string]string{"debug-binaries": "/tmp/gantry-1/debug-binaries", "binaries": "/tmp/gantry-1/binaries"}
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "dev",
				"--platform", "linux/amd64,linux/arm64",
				"--build-arg", "SOURCE_DATE_EPOCH=1714000000",
				"--build-context", "binaries=/tmp/gantry-1/binaries",
				"--build-context", "debug-binaries=/tmp/gantry-1/debug-binaries",
				"--provenance=false", "--sbom=false",
				"--output", "type=image,name=r/s,push-by-digest=true,push=true,oci-mediatypes=true",
				"./svc"},
		},
		{
			name: "negative epoch is ignored",
			build: func() Build {
				b := base()
				b.Output = Push
				b.Name = "r/s"
				b.SourceDateEpoch = -5
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "prod",
				"--platform", "linux/amd64,linux/arm64",
				"--provenance=false", "--sbom=false",
				"--output", "type=image,name=r/s,push-by-digest=true,push=true,oci-mediatypes=true",
				"./svc"},
		},
		{
			name: "attestations on, cache only",
			build: func() Build {
				b := base()
				b.Attestations = true
				return b
			},
			want: []string{"buildx", "build",
				"--file", "/tmp/gantry-1/Dockerfile",
				"--target", "prod",
				"--platform", "linux/amd64,linux/arm64",
				"--provenance=mode=max", "--sbom=true",
				"--output", "type=cacheonly",
				"./svc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.build()
			got, err := b.Args()
			if err != nil {
				t.Fatalf("Args: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Args() =\n  %q\nwant\n  %q", got, tt.want)
			}
			if last := got[len(got)-1]; last != b.Context {
				t.Errorf("last argument = %q, want the context %q", last, b.Context)
			}
			cmd, err := b.Cmd()
			if err != nil {
				t.Fatalf("Cmd: %v", err)
			}
			if cmd.Name != "docker" || !reflect.DeepEqual(cmd.Args, got) {
				t.Errorf("Cmd() = %s %q, want docker %q", cmd.Name, cmd.Args, got)
			}
		})
	}
}

// TestArgsUnknownOutput: a build that does not say what happens to its
// result, or says something unknown, is refused, not built cache-only.
func TestArgsUnknownOutput(t *testing.T) {
	t.Parallel()
	for _, out := range []Output{0, Load + 1, 42, -1} {
		b := base()
		b.Output = out
		args, err := b.Args()
		if err == nil || args != nil {
			t.Errorf("Output %d: Args() = %q, %v; want only an error", out, args, err)
			continue
		}
		for _, s := range []string{"prod", fmt.Sprintf("output %d", out), "buildx.CacheOnly", "Build.Output"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Output %d: error %q does not mention %q", out, err, s)
			}
		}
		if cmd, err := b.Cmd(); err == nil || cmd.Name != "" {
			t.Errorf("Output %d: Cmd() = %+v, %v; want only an error", out, cmd, err)
		}
	}
}

// TestArgsPushByDigest checks that a push names its repository and no
// tag: Gantry tags only what it has verified.
func TestArgsPushByDigest(t *testing.T) {
	t.Parallel()
	for name, b := range map[string]Build{
		"no repository": {Target: "prod", Output: Push},
		"tags":          {Target: "prod", Output: Push, Name: "r/s", Tags: []string{"r/s:t"}},
	} {
		if args, err := b.Args(); err == nil || !strings.Contains(err.Error(), "pushes by digest") {
			t.Errorf("%s: Args() = %q, %v; want an error saying a push is by digest", name, args, err)
		}
	}
}

// TestArgsSorted checks that maps become sorted, stable flag lists: an
// argument list that changed order between runs would bust the cache key
// of nothing, but would make logs and tests flaky.
func TestArgsSorted(t *testing.T) {
	t.Parallel()
	b := base()
	b.BuildArgs = map[string]string{}
	b.Labels = map[string]string{}
	for _, k := range []string{"Z", "m", "B", "a", "C_1", "C_0", "y", "GO_IMAGE"} {
		b.BuildArgs[k] = "v" + k
		b.Labels["l."+k] = "w" + k
	}
	b.SourceDateEpoch = 1
	var first []string
	for i := range 20 {
		args := mustArgs(t, b)
		if i == 0 {
			first = args
		} else if !reflect.DeepEqual(args, first) {
			t.Fatalf("Args() differs between calls:\n%q\n%q", first, args)
		}
	}
	var buildArgs, labels []string
	for i := 0; i < len(first)-1; i++ {
		switch first[i] {
		case "--build-arg":
			buildArgs = append(buildArgs, first[i+1])
		case "--label":
			labels = append(labels, first[i+1])
		}
	}
	if len(buildArgs) != 9 || !slices.IsSorted(buildArgs) {
		t.Errorf("build args = %q, want 9 sorted (SOURCE_DATE_EPOCH included)", buildArgs)
	}
	if !slices.Contains(buildArgs, "SOURCE_DATE_EPOCH=1") {
		t.Errorf("build args = %q, want SOURCE_DATE_EPOCH=1", buildArgs)
	}
	if len(labels) != 8 || !slices.IsSorted(labels) {
		t.Errorf("labels = %q, want 8 sorted", labels)
	}
}

// TestArgsDoesNotMutate checks that adding SOURCE_DATE_EPOCH does not
// write into the caller's map.
func TestArgsDoesNotMutate(t *testing.T) {
	t.Parallel()
	b := base()
	b.BuildArgs = map[string]string{"A": "1"}
	b.SourceDateEpoch = 99
	before := maps.Clone(b.BuildArgs)
	_ = mustArgs(t, b)
	if !maps.Equal(b.BuildArgs, before) {
		t.Errorf("Args() changed BuildArgs to %v, want %v", b.BuildArgs, before)
	}
}

// TestArgsEpochOverridesBuildArg: the commit time wins over a
// SOURCE_DATE_EPOCH build argument, and is passed once.
func TestArgsEpochOverridesBuildArg(t *testing.T) {
	t.Parallel()
	b := base()
	b.BuildArgs = map[string]string{"SOURCE_DATE_EPOCH": "5"}
	b.SourceDateEpoch = 7
	args := mustArgs(t, b)
	n := 0
	for i, a := range args {
		if a == "--build-arg" && strings.HasPrefix(args[i+1], "SOURCE_DATE_EPOCH=") {
			n++
			if args[i+1] != "SOURCE_DATE_EPOCH=7" {
				t.Errorf("got %q, want SOURCE_DATE_EPOCH=7", args[i+1])
			}
		}
	}
	if n != 1 {
		t.Errorf("SOURCE_DATE_EPOCH passed %d times in %q, want once", n, args)
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const realistic = `{
  "buildx.build.ref": "builder/builder0/k3d0l4qmzq4jz8s4nq1hbrtv3",
  "containerimage.descriptor": {
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "size": 856
  },
  "containerimage.digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "image.name": "ghcr.io/acme/svc:abc1234"
}`
	tests := []struct {
		name    string
		content *string // nil: no file
		want    string
		wantErr []string
	}{
		{name: "ok", content: ptr(realistic), want: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{name: "missing key", content: ptr(`{"buildx.build.ref": "x", "image.name": "y"}`), wantErr: []string{"no containerimage.digest"}},
		{name: "empty digest", content: ptr(`{"containerimage.digest": ""}`), wantErr: []string{"no containerimage.digest"}},
		{name: "empty object", content: ptr(`{}`), wantErr: []string{"no containerimage.digest"}},
		{name: "bad json", content: ptr(`{"containerimage.digest": `), wantErr: []string{"buildx metadata"}},
		{name: "wrong type", content: ptr(`{"containerimage.digest": 5}`), wantErr: []string{"buildx metadata"}},
		{name: "empty file", content: ptr(``), wantErr: []string{"buildx metadata"}},
		{name: "missing file", wantErr: []string{"read buildx metadata"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Digest(path)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Digest() = %q, want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				if got != "" {
					t.Errorf("Digest() returned %q with the error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Digest(): %v", err)
			}
			if got != tt.want {
				t.Errorf("Digest() = %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

const inspectRemote = `Name:          remote-builder
Driver:        remote
Last Activity: 2025-03-04 10:11:12 +0000 UTC

Nodes:
Name:                  remote-builder0
Endpoint:              tcp://buildkitd.internal:1234
Status:                running
BuildKit daemon flags: --allow-insecure-entitlement=network.host
BuildKit version:      v0.20.1
Platforms:             linux/amd64, linux/amd64/v2, linux/arm64, linux/386
Labels:
 org.mobyproject.buildkit.worker.executor:         oci
 org.mobyproject.buildkit.worker.hostname:         buildkitd
 org.mobyproject.buildkit.worker.network:          host
 org.mobyproject.buildkit.worker.oci.process-mode: sandbox
 org.mobyproject.buildkit.worker.selinux.enabled:  false
 org.mobyproject.buildkit.worker.snapshotter:      overlayfs
GC Policy rule#0:
 All:            false
 Filters:        type==source.local,type==exec.cachemount,type==source.git.checkout
 Keep Duration:  48h0m0s
 Max Used Space: 488.3MiB
GC Policy rule#1:
 All:            true
 Keep Duration:  1440h0m0s
 Reserved Space: 9.313GiB
`

const inspectMultiNode = `Name:          multi
Driver:        docker-container
Last Activity: 2025-03-04 10:11:12 +0000 UTC

Nodes:
Name:                  multi0
Endpoint:              unix:///var/run/docker.sock
Driver Options:        image="moby/buildkit:buildx-stable-1" network="host"
Status:                running
BuildKit daemon flags: --allow-insecure-entitlement=network.host
BuildKit version:      v0.20.1
Platforms:             linux/amd64*, linux/amd64/v2, linux/amd64/v3, linux/386
Labels:
 org.mobyproject.buildkit.worker.executor:         oci
 org.mobyproject.buildkit.worker.hostname:         7b9a0e4f2c11
GC Policy rule#0:
 All:            false
 Keep Duration:  48h0m0s

Name:                  multi1
Endpoint:              ssh://builder@arm-host
Status:                running
BuildKit version:      v0.20.1
Platforms:             linux/arm64*, linux/arm/v7, linux/arm/v6, linux/amd64
Labels:
 org.mobyproject.buildkit.worker.executor:         oci

Name:                  multi2
Endpoint:              ssh://builder@offline-host
Status:                inactive
`

const inspectDocker = `Name:   default
Driver: docker
Last Activity: 2025-03-04 10:11:12 +0000 UTC

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.18.2
Platforms:        linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386
Labels:
 org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1
`

// inspectTwoNodes is a builder of two BuildKit daemons, each created for
// its own platform (docker buildx create --append --platform).
const inspectTwoNodes = `Name:          pair
Driver:        remote
Last Activity: 2026-12-05 04:52:53 +0000 UTC

Nodes:
Name:             pair0
Endpoint:         unix:///run/amd.sock
Status:           running
BuildKit version: v0.34.2
Platforms:        linux/amd64*, linux/amd64, linux/amd64/v2
Labels:
 org.mobyproject.buildkit.worker.executor:         oci

Name:             pair1
Endpoint:         tcp://arm-host:1234
Status:           running
BuildKit version: v0.34.2
Platforms:        linux/arm64*
`

// inspectStars has a platform listed twice, with and without the *
// buildx adds to the platforms a node was configured for.
const inspectStars = `Name:     stars
Driver:   docker-container

Nodes:
Name:      stars0
Endpoint:  unix:///var/run/docker.sock
Status:    running
Platforms: linux/arm64*, linux/amd64*, linux/arm64, linux/amd64 ,  , linux/riscv64
`

// inspectUnreachable is a remote builder buildx cannot reach: inspect
// prints the error in place of the nodes and still exits 0 (see
// runInspect in buildx's commands/inspect.go).
const inspectUnreachable = `Name:   remote-builder
Driver: remote
Error:  failed to list workers: Unavailable: connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.5:1234: connect: connection refused"
`

// inspectNodeError has one node that failed and one that works: the
// builder can still build.
const inspectNodeError = `Name:          multi
Driver:        docker-container
Last Activity: 2025-03-04 10:11:12 +0000 UTC

Nodes:
Name:     multi0
Endpoint: ssh://builder@offline-host
Error:    Cannot connect to the Docker daemon at ssh://builder@offline-host. Is the docker daemon running?

Name:      multi1
Endpoint:  unix:///var/run/docker.sock
Status:    running
Platforms: linux/amd64*, linux/arm64*
`

func TestParseInspect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  string
		want Builder
	}{
		{"remote driver", inspectRemote, Builder{Name: "remote-builder", Driver: "remote",
			Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/arm64", "linux/386"},
			Nodes:     []Node{{Name: "remote-builder0", Endpoint: "tcp://buildkitd.internal:1234", Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/arm64", "linux/386"}}}}},
		{"docker-container, several nodes", inspectMultiNode, Builder{Name: "multi", Driver: "docker-container",
			Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386", "linux/arm64", "linux/arm/v7", "linux/arm/v6"},
			Nodes: []Node{
				{Name: "multi0", Endpoint: "unix:///var/run/docker.sock", Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386"}},
				{Name: "multi1", Endpoint: "ssh://builder@arm-host", Platforms: []string{"linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/amd64"}},
				{Name: "multi2", Endpoint: "ssh://builder@offline-host"},
			}}},
		{"docker driver", inspectDocker, Builder{Name: "default", Driver: "docker",
			Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386"},
			Nodes:     []Node{{Name: "default", Endpoint: "default", Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386"}}}}},
		{"stars and duplicates", inspectStars, Builder{Name: "stars", Driver: "docker-container",
			Platforms: []string{"linux/arm64", "linux/amd64", "linux/riscv64"},
			Nodes:     []Node{{Name: "stars0", Endpoint: "unix:///var/run/docker.sock", Platforms: []string{"linux/arm64", "linux/amd64", "linux/riscv64"}}}}},
		{"CRLF line ends", strings.ReplaceAll(inspectDocker, "\n", "\r\n"), Builder{Name: "default", Driver: "docker",
			Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386"},
			Nodes:     []Node{{Name: "default", Endpoint: "default", Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386"}}}}},
		{"empty", "", Builder{}},
		{"builder error", inspectUnreachable, Builder{Name: "remote-builder", Driver: "remote",
			Err: `failed to list workers: Unavailable: connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.5:1234: connect: connection refused"`}},
		{"a node's error is not the builder's", inspectNodeError, Builder{Name: "multi", Driver: "docker-container",
			Platforms: []string{"linux/amd64", "linux/arm64"},
			Nodes: []Node{
				{Name: "multi0", Endpoint: "ssh://builder@offline-host", Err: "Cannot connect to the Docker daemon at ssh://builder@offline-host. Is the docker daemon running?"},
				{Name: "multi1", Endpoint: "unix:///var/run/docker.sock", Platforms: []string{"linux/amd64", "linux/arm64"}},
			}}},
		{"not yet booted", "Name:   fresh\nDriver: docker-container\n\nNodes:\nName:      fresh0\nEndpoint:  unix:///var/run/docker.sock\nStatus:    inactive\n",
			Builder{Name: "fresh", Driver: "docker-container", Nodes: []Node{{Name: "fresh0", Endpoint: "unix:///var/run/docker.sock"}}}},
		{"two nodes, a platform each (docker buildx create --append --platform)", inspectTwoNodes, Builder{Name: "pair", Driver: "remote",
			Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/arm64"},
			Nodes: []Node{
				{Name: "pair0", Endpoint: "unix:///run/amd.sock", Platforms: []string{"linux/amd64", "linux/amd64/v2"}},
				{Name: "pair1", Endpoint: "tcp://arm-host:1234", Platforms: []string{"linux/arm64"}},
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseInspect(tt.out)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseInspect() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		builder     Builder
		platforms   []string
		wantMissing []string
		wantErr     []string
	}{
		{
			name:      "docker driver, two platforms",
			builder:   ParseInspect(inspectDocker),
			platforms: []string{"linux/amd64", "linux/arm64"},
			wantErr:   []string{`"default"`, "docker driver", "linux/amd64, linux/arm64", "docker buildx create", "BUILDX_BUILDER"},
		},
		{
			name:      "docker driver, two platforms it has",
			builder:   ParseInspect(inspectDocker),
			platforms: []string{"linux/amd64", "linux/386"},
			wantErr:   []string{"docker buildx create"},
		},
		{
			name:      "docker driver, one platform",
			builder:   ParseInspect(inspectDocker),
			platforms: []string{"linux/amd64"},
		},
		{
			name:        "docker driver, one platform it lacks",
			builder:     ParseInspect(inspectDocker),
			platforms:   []string{"linux/arm64"},
			wantMissing: []string{"linux/arm64"},
		},
		{
			name:      "remote builder, all there",
			builder:   ParseInspect(inspectRemote),
			platforms: []string{"linux/amd64", "linux/arm64"},
		},
		{
			name:        "remote builder, some missing",
			builder:     ParseInspect(inspectRemote),
			platforms:   []string{"linux/amd64", "linux/arm/v7", "linux/arm64", "linux/s390x"},
			wantMissing: []string{"linux/arm/v7", "linux/s390x"},
		},
		{
			name:      "several nodes together cover both",
			builder:   ParseInspect(inspectMultiNode),
			platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
		},
		{
			name:      "two nodes, a platform each",
			builder:   ParseInspect(inspectTwoNodes),
			platforms: []string{"linux/amd64", "linux/arm64"},
		},
		{
			name:      "two nodes, a platform neither serves",
			builder:   ParseInspect(inspectTwoNodes),
			platforms: []string{"linux/amd64", "linux/arm64", "linux/s390x", "linux/riscv64"},
			wantErr: []string{`builder "pair" serves linux/s390x, linux/riscv64`, "pair0 at unix:///run/amd.sock (linux/amd64, linux/amd64/v2)",
				"pair1 at tcp://arm-host:1234 (linux/arm64)", "docker buildx create --append --name pair --platform linux/s390x"},
		},
		{
			name:      "a node that is down serves nothing",
			builder:   ParseInspect(inspectNodeError),
			platforms: []string{"linux/amd64", "linux/s390x"},
			wantErr:   []string{"serves linux/s390x", "multi0 at ssh://builder@offline-host (unreachable: Cannot connect", "multi1 at unix:///var/run/docker.sock (linux/amd64, linux/arm64)"},
		},
		{
			name:        "one node: emulation is a warning, not an error",
			builder:     ParseInspect(inspectStars),
			platforms:   []string{"linux/amd64", "linux/s390x"},
			wantMissing: []string{"linux/s390x"},
		},
		{
			name:      "starred platforms count",
			builder:   ParseInspect(inspectStars),
			platforms: []string{"linux/arm64", "linux/amd64"},
		},
		{
			name:        "no platforms known",
			builder:     Builder{Name: "fresh", Driver: "docker-container"},
			platforms:   []string{"linux/amd64", "linux/arm64"},
			wantMissing: []string{"linux/amd64", "linux/arm64"},
		},
		{
			name:    "nothing asked",
			builder: ParseInspect(inspectDocker),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			missing, err := tt.builder.Check(tt.platforms)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Check(%q) = %q, nil; want an error", tt.platforms, missing)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Check(%q): %v", tt.platforms, err)
			}
			if !reflect.DeepEqual(missing, tt.wantMissing) {
				t.Errorf("Check(%q) missing = %q, want %q", tt.platforms, missing, tt.wantMissing)
			}
		})
	}
}

// fakeDocker puts a docker on PATH that prints stdout and stderr and exits
// with code.
func fakeDocker(t *testing.T, stdout, stderr string, code int) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf("#!/bin/sh\ncat %q\ncat %q >&2\nexit %d\n", filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr"), code)
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name           string
		noDocker       bool
		stdout, stderr string
		code           int
		want           Builder
		wantErr        []string
	}{
		{name: "running builder", stdout: inspectRemote, want: ParseInspect(inspectRemote)},
		{name: "no docker", noDocker: true, wantErr: []string{"docker is not installed or not on PATH", "install-buildx"}},
		{name: "no buildx plugin", stderr: "docker: 'buildx' is not a docker command.\nSee 'docker --help'\n", code: 1,
			wantErr: []string{"docker buildx is not installed", "install-buildx", "setup-buildx-action"}},
		{name: "unknown builder", stderr: "ERROR: no builder \"nope\" found\n", code: 1,
			wantErr: []string{"docker buildx inspect --bootstrap: exit status 1", `no builder "nope" found`, "BUILDX_BUILDER"}},
		{name: "unreachable builder, exit 0", stdout: inspectUnreachable,
			wantErr: []string{`buildx builder "remote-builder"`, "connection refused", "BUILDX_BUILDER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noDocker {
				t.Setenv("PATH", t.TempDir())
			} else {
				fakeDocker(t, tt.stdout, tt.stderr, tt.code)
			}
			got, err := Inspect(context.Background())
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Inspect() = %+v, want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Inspect() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCLIDockerConfig: with a DockerConfig, the CLI's commands (build and
// inspect) read it through their own environment.
func TestCLIDockerConfig(t *testing.T) {
	fakeDocker(t, inspectRemote, "", 0)
	seen := filepath.Join(t.TempDir(), "seen")
	// The fake docker records the DOCKER_CONFIG each run saw, then answers.
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(docker)
	if err != nil {
		t.Fatal(err)
	}
	recording := strings.Replace(string(script), "#!/bin/sh\n", "#!/bin/sh\necho \"$1 $DOCKER_CONFIG\" >> "+seen+"\n", 1)
	if err := os.WriteFile(docker, []byte(recording), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", "/user/config")
	cli := CLI{DockerConfig: "/private/config"}
	if _, err := cli.Inspect(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := base()
	b.Stderr = io.Discard
	if _, err := cli.Build(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if _, err := (CLI{}).Inspect(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	if want := "buildx /private/config\nbuildx /private/config\nbuildx /user/config\n"; string(got) != want {
		t.Errorf("docker saw DOCKER_CONFIG:\n%s\nwant:\n%s", got, want)
	}
}
