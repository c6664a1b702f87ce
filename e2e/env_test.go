package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testEnv adds the tests' helpers to the environment scripts/testenv runs.
type testEnv struct{ testenv.Env }

// tags lists a repository's tags; none when the repository does not exist.
func tags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	list, err := remote.List(r)
	if err != nil && strings.Contains(err.Error(), "NAME_UNKNOWN") {
		return nil
	}
	if err != nil {
		t.Fatalf("list %s: %v", repo, err)
	}
	slices.Sort(list)
	return list
}

// index reads the index ref names, and its digest. A single-platform
// build is a plain manifest: its index is nil.
func index(t *testing.T, ref string) (v1.ImageIndex, v1.Hash) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	if !desc.MediaType.IsIndex() {
		return nil, desc.Digest
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	return idx, desc.Digest
}

// platformImages returns the images of an index by "os/arch".
func platformImages(t *testing.T, idx v1.ImageIndex) map[string]v1.Image {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Image{}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		key := "unknown"
		if d.Platform != nil {
			key = d.Platform.OS + "/" + d.Platform.Architecture
		}
		out[key] = img
	}
	return out
}

// files lists the paths in an image's flattened filesystem.
func files(t *testing.T, img v1.Image) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	registrytest.Walk(t, img, func(path string, _ io.Reader) { out[path] = true })
	return out
}

// bothPlatforms reads the index ref names, which must hold exactly the
// linux/amd64 and linux/arm64 images (attestations are off by default),
// each running as a user that is not root; it returns them by "os/arch".
func bothPlatforms(t *testing.T, ref string) map[string]v1.Image {
	t.Helper()
	idx, _ := index(t, ref)
	if idx == nil {
		t.Fatalf("%s is a single image, want an index of linux/amd64 and linux/arm64", ref)
	}
	images := platformImages(t, idx)
	if len(images) != 2 || images["linux/amd64"] == nil || images["linux/arm64"] == nil {
		t.Fatalf("%s: platforms = %v, want exactly linux/amd64 and linux/arm64", ref, keys(images))
	}
	for platform, img := range images {
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if u := cfg.Config.User; u == "" || u == "root" || strings.HasPrefix(u, "0") {
			t.Errorf("%s (%s) runs as %q", ref, platform, u)
		}
	}
	return images
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// docker runs the docker CLI against the test engine.
func (e testEnv) docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"--host", e.DockerHost}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// serve runs image on the test engine (host network) listening on a free
// loopback port (ADDR) and returns the answer of GET path; the container is
// removed afterwards.
func (e testEnv) serve(t *testing.T, image, platform, path string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	id := e.start(t, image, platform, "-e", "ADDR="+addr)
	defer e.docker(t, "rm", "-f", id)
	return e.get(t, id, "http://"+addr+path)
}

// start runs image detached on the test engine, on the host network, with
// the docker run options opts, and returns the container's id. It is
// removed at the end of the test, not when it stops, so that get can show
// the logs of one that exited.
func (e testEnv) start(t *testing.T, image, platform string, opts ...string) string {
	t.Helper()
	args := append([]string{"run", "-d", "--network", "host", "--platform", platform}, opts...)
	if strings.Contains(image, "/") {
		args = append(args, "--pull", "always") // the engine may hold an older image of that tag
	}
	id, err := e.docker(t, append(args, image)...)
	if err != nil {
		t.Fatalf("docker run %s: %v: %s", image, err, id)
	}
	id = id[strings.LastIndex(id, "\n")+1:]
	t.Cleanup(func() { e.docker(t, "rm", "-f", id) })
	return id
}

// get returns the answer of GET url from the container id, waiting up to a
// minute for it to listen; it fails with the container's logs.
func (e testEnv) get(t *testing.T, id, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body)
		}
		if running, _ := e.docker(t, "inspect", "-f", "{{.State.Running}}", id); running == "false" {
			break // it exited: no use waiting
		}
		time.Sleep(200 * time.Millisecond)
	}
	state, _ := e.docker(t, "inspect", "-f", "{{.State.Status}} (exit {{.State.ExitCode}})", id)
	logs, _ := e.docker(t, "logs", id)
	t.Fatalf("container %s, %s, did not answer %s: logs:\n%s", id, state, url, logs)
	return ""
}
