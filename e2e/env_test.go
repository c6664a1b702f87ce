package e2e

import (
	"archive/tar"
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

	"github.com/gantry-build/gantry/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
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
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(h.Name, "./")] = true
	}
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
// loopback port and returns the answer of GET path; the container is
// removed afterwards.
func (e testEnv) serve(t *testing.T, image, platform, path string) string {
	t.Helper()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"run", "-d", "--rm", "--network", "host", "--platform", platform, "-e", "ADDR=" + addr}
	if strings.Contains(image, "/") {
		args = append(args, "--pull", "always") // the engine may hold an older image of that tag
	}
	id, err := e.docker(t, append(args, image)...)
	if err != nil {
		t.Fatalf("docker run %s: %v: %s", image, err, id)
	}
	id = id[strings.LastIndex(id, "\n")+1:]
	defer e.docker(t, "rm", "-f", id)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := e.docker(t, "logs", id)
	t.Fatalf("%s (%s) did not answer on %s: logs:\n%s", image, platform, addr, logs)
	return ""
}
