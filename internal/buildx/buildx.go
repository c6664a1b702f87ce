// Package buildx drives `docker buildx build`: the command as an argument
// list (built here, testable without running it), the check that the
// current builder can do the job, and the digest read from buildx's
// metadata file.
package buildx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/run"
)

// Output is what happens to a build's result. Every build says which: the
// zero value is no output, and Args refuses it, like any unknown value.
type Output int

const (
	// CacheOnly builds and keeps nothing but the build cache (pull requests).
	CacheOnly Output = iota + 1
	// Push pushes the image index to the repository Name by digest, with
	// no tag: Gantry tags it once it has verified and attested it, so that
	// a tag never names an image that is not whole.
	Push
	// Load loads a single-platform image into the local Docker engine.
	Load
)

// Build is one `docker buildx build` of one Dockerfile target.
type Build struct {
	Context    string
	Dockerfile string
	Target     string
	Platforms  []string
	// Tags name a loaded image; Name is the repository of a push.
	Tags      []string
	Name      string
	Output    Output
	BuildArgs map[string]string
	Labels    map[string]string
	// SourceDateEpoch is the commit time: BuildKit uses it for image
	// timestamps, and rewrites layer timestamps to it, so that two builds of
	// one commit give the same image.
	SourceDateEpoch int64
	// KeepLayerTimes leaves layer timestamps as built instead of
	// rewriting them to SourceDateEpoch. The rewrite re-reads and
	// re-compresses every layer of the image on every export, unchanged
	// ones included; dev, which is not promised reproducible from cold,
	// skips it (see README, Fast path).
	KeepLayerTimes bool
	// Contexts are named build contexts (name -> local directory): a
	// stage of that name, or a COPY --from of it, reads the directory.
	Contexts map[string]string
	// Attestations adds provenance and SBOM attestations; off, the index
	// holds only the platform images and its digest is reproducible.
	Attestations bool
	CacheFrom    []string
	CacheTo      []string
	// NoCache ignores the build cache.
	NoCache bool
	// MetadataFile receives buildx's JSON metadata (the pushed digest).
	MetadataFile string
	// Progress is buildx's progress mode: "auto" locally, "plain" in CI.
	Progress string

	// Stderr receives buildx's output and Log its command line, when set
	// (os.Stderr and the CLI's Log otherwise); neither is part of the
	// command.
	Stderr io.Writer
	Log    *logrus.Entry
}

// Args returns the arguments of `docker` for this build, or an error
// when its Output is not one of CacheOnly, Push and Load.
func (b Build) Args() ([]string, error) {
	rewrite := ""
	if b.SourceDateEpoch > 0 && !b.KeepLayerTimes {
		rewrite = ",rewrite-timestamp=true"
	}
	var output string
	switch b.Output {
	case CacheOnly:
		output = "type=cacheonly"
	case Push:
		if b.Name == "" || len(b.Tags) > 0 {
			return nil, fmt.Errorf("build of %s: a push names its repository (Build.Name) and no tag (Build.Tags), since it pushes by digest", b.Target)
		}
		output = "type=image,name=" + b.Name + ",push-by-digest=true,push=true,oci-mediatypes=true" + rewrite
	case Load:
		output = "type=docker" + rewrite
	default:
		return nil, fmt.Errorf("build of %s: output %d is none of buildx.CacheOnly, buildx.Push and buildx.Load; set Build.Output to one of them", b.Target, b.Output)
	}
	args := []string{"buildx", "build",
		"--file", b.Dockerfile,
		"--target", b.Target,
		"--platform", strings.Join(b.Platforms, ","),
	}
	if b.Progress != "" {
		args = append(args, "--progress", b.Progress)
	}
	for _, t := range b.Tags {
		args = append(args, "--tag", t)
	}
	buildArgs := maps.Clone(b.BuildArgs)
	if buildArgs == nil {
		buildArgs = map[string]string{}
	}
	if b.SourceDateEpoch > 0 {
		buildArgs["SOURCE_DATE_EPOCH"] = strconv.FormatInt(b.SourceDateEpoch, 10)
	}
	for _, k := range slices.Sorted(maps.Keys(buildArgs)) {
		args = append(args, "--build-arg", k+"="+buildArgs[k])
	}
	for _, k := range slices.Sorted(maps.Keys(b.Contexts)) {
		args = append(args, "--build-context", k+"="+b.Contexts[k])
	}
	for _, k := range slices.Sorted(maps.Keys(b.Labels)) {
		args = append(args, "--label", k+"="+b.Labels[k])
	}
	if b.Attestations {
		args = append(args, "--provenance=mode=max", "--sbom=true")
	} else {
		args = append(args, "--provenance=false", "--sbom=false")
	}
	if b.NoCache {
		args = append(args, "--no-cache")
	}
	for _, c := range b.CacheFrom {
		args = append(args, "--cache-from", c)
	}
	for _, c := range b.CacheTo {
		args = append(args, "--cache-to", c)
	}
	args = append(args, "--output", output)
	if b.MetadataFile != "" {
		args = append(args, "--metadata-file", b.MetadataFile)
	}
	return append(args, b.Context), nil
}

// Cmd returns the build as a command to run; see Args for the error.
func (b Build) Cmd() (run.Cmd, error) {
	args, err := b.Args()
	if err != nil {
		return run.Cmd{}, err
	}
	return run.Cmd{Name: "docker", Args: args}, nil
}

// Digest reads the image digest that buildx wrote to a metadata file.
func Digest(metadataFile string) (string, error) {
	data, err := os.ReadFile(metadataFile)
	if err != nil {
		return "", fmt.Errorf("read buildx metadata: %w", err)
	}
	var meta struct {
		Digest string `json:"containerimage.digest"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return "", fmt.Errorf("buildx metadata %s: %w", metadataFile, err)
	}
	if meta.Digest == "" {
		return "", fmt.Errorf("buildx metadata %s has no containerimage.digest", metadataFile)
	}
	return meta.Digest, nil
}

// Builder is what `docker buildx inspect` says about the current builder.
type Builder struct {
	Name   string
	Driver string
	// Platforms are every node's, together, each once.
	Platforms []string
	// Nodes are the builder's BuildKit daemons, in buildx's order.
	Nodes []Node
	// Err is the error buildx gives for the builder as a whole, such as a
	// remote BuildKit it cannot reach; inspect still exits 0 then.
	Err string
}

// Node is one BuildKit daemon of a builder. A builder of several nodes
// (docker buildx create --append) sends each platform's build to a node
// that serves it, so that each platform builds natively on its own machine.
type Node struct {
	Name, Endpoint string
	// Platforms are those the node serves: the ones it was created for
	// (--platform, which buildx marks with *), then what its workers
	// report, emulated ones included.
	Platforms []string
	// Err is why buildx could not reach the node; it serves nothing then.
	Err string
}

// ParseInspect reads the text of `docker buildx inspect`: the builder's
// name, driver and error come before "Nodes:", then each node's name,
// endpoint, error and platforms.
func ParseInspect(out string) Builder {
	var b Builder
	var node *Node
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "Nodes:" {
			node = &Node{}
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(key) {
		case "Name":
			if node == nil {
				b.Name = value
			} else {
				b.Nodes = append(b.Nodes, Node{Name: value})
				node = &b.Nodes[len(b.Nodes)-1]
			}
		case "Endpoint":
			if node != nil {
				node.Endpoint = value
			}
		case "Driver":
			b.Driver = value
		case "Error":
			if node == nil {
				b.Err = value
			} else {
				node.Err = value
			}
		case "Platforms":
			for _, p := range strings.Split(value, ",") {
				p = strings.TrimSuffix(strings.TrimSpace(p), "*")
				if p == "" {
					continue
				}
				if !slices.Contains(b.Platforms, p) {
					b.Platforms = append(b.Platforms, p)
				}
				if node != nil && !slices.Contains(node.Platforms, p) {
					node.Platforms = append(node.Platforms, p)
				}
			}
		}
	}
	return b
}

// Check returns an error, with the fix, when the builder cannot build the
// platforms, and the platforms it would have to emulate otherwise. A
// builder of one node builds a platform it does not list with QEMU, which
// only a RUN on that platform needs (missing); a builder of several nodes
// is there to build each platform on a node of its own, so a platform no
// node serves is an error naming the nodes and the fix.
func (b Builder) Check(platforms []string) (missing []string, err error) {
	if b.Driver == "docker" && len(platforms) > 1 {
		return nil, fmt.Errorf("buildx builder %q uses the docker driver, which cannot build several platforms (%s) into one image; create a BuildKit builder: `docker buildx create --use --driver docker-container` (or point BUILDX_BUILDER at a remote BuildKit)",
			b.Name, strings.Join(platforms, ", "))
	}
	for _, p := range platforms {
		if !slices.Contains(b.Platforms, p) {
			missing = append(missing, p)
		}
	}
	if len(b.Nodes) < 2 || len(missing) == 0 {
		return missing, nil
	}
	var nodes []string
	for _, n := range b.Nodes {
		served := strings.Join(n.Platforms, ", ")
		if n.Err != "" {
			served = "unreachable: " + n.Err
		} else if served == "" {
			served = "no platforms"
		}
		nodes = append(nodes, fmt.Sprintf("%s at %s (%s)", n.Name, n.Endpoint, served))
	}
	return nil, fmt.Errorf("no node of buildx builder %q serves %s (its nodes: %s); add a node for each: `docker buildx create --append --name %s --platform %s <endpoint of a BuildKit on that platform>`, or start the node that is down",
		b.Name, strings.Join(missing, ", "), strings.Join(nodes, "; "), b.Name, missing[0])
}

// installHint is how to get buildx, for the errors that find it missing.
const installHint = "install the Docker CLI with the buildx plugin (https://docs.docker.com/build/install-buildx/), or use docker/setup-buildx-action in GitHub Actions"

// Inspect asks buildx about the builder it will use (BUILDX_BUILDER or the
// current one), starting it if needed.
//
// It reads the text of `docker buildx inspect --bootstrap` rather than the
// JSON of `docker buildx ls --format json`: ls never starts a builder (an
// inactive one lists no platforms), ignores BUILDX_BUILDER (it reports the
// context's current builder) and contacts every builder, where inspect
// starts and reads just the one the build will use. env is added to the
// command's environment.
func Inspect(ctx context.Context, env ...string) (Builder, error) {
	out, err := run.Output(ctx, run.Cmd{Name: "docker", Args: []string{"buildx", "inspect", "--bootstrap"}, Env: env})
	var exit *run.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return Builder{}, fmt.Errorf("docker is not installed or not on PATH; %s", installHint)
	case errors.As(err, &exit) && (strings.Contains(exit.Stderr, "is not a docker command") || strings.Contains(exit.Stderr, "unknown command")):
		return Builder{}, fmt.Errorf("docker buildx is not installed; %s", installHint)
	case err != nil:
		return Builder{}, fmt.Errorf("%w; check BUILDX_BUILDER names a builder (`docker buildx ls`) and that it is reachable", err)
	}
	b := ParseInspect(out)
	if b.Err != "" {
		return Builder{}, fmt.Errorf("buildx builder %q: %s; check BUILDX_BUILDER names a builder (`docker buildx ls`) and that it is reachable", b.Name, b.Err)
	}
	return b, nil
}
