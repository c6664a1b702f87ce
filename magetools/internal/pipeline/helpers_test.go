package pipeline

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-build/gantry/internal/gittest"

	"github.com/google/go-containerregistry/pkg/name"
	memreg "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/magetools/internal/event"
	"github.com/gantry-build/gantry/magetools/internal/plan"
	"github.com/gantry-build/gantry/magetools/internal/registry"
)

// getenv returns a fake os.Getenv reading m.
func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// lookup returns a fake os.LookupEnv reading m.
func lookup(m map[string]string) config.Lookup {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// isolate keeps the machine's git configuration, docker logins and any
// repository above the temporary directory out of the test. PATH holds
// git only, so that nothing a test runs can start docker or a build.
// The git helpers of every test here.
var (
	gitRun     = gittest.Run
	newRepo    = gittest.NewRepo
	commitFile = gittest.Commit
)

func isolate(t *testing.T) {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	gittest.Isolate(t)
	bin := t.TempDir()
	if err := os.Symlink(gitPath, filepath.Join(bin, "git")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("PATH", bin)
}

// resolve resolves cfg as load() does, for a service whose module root is
// dir and whose main package is the root.
func resolve(t *testing.T, cfg config.Config, env map[string]string) config.Config {
	t.Helper()
	facts := config.Facts{Dir: cfg.Dir, ModulePath: "github.com/acme/svc", MainCandidates: []string{"."}, OwnerRepo: "acme/svc"}
	r, err := cfg.Resolve(lookup(env), facts)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return r
}

// makeRun resolves cfg, computes the plan of ev and returns the run.
func makeRun(t *testing.T, cfg config.Config, ev event.Context, env map[string]string) Run {
	t.Helper()
	cfg = resolve(t, cfg, nil)
	p, err := plan.Make(ev, cfg)
	if err != nil {
		t.Fatalf("plan.Make: %v", err)
	}
	return Run{Config: cfg, Event: ev, Plan: p, Getenv: getenv(env)}
}

// requestLog records the requests a test registry answered.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

func (l *requestLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

// newRegistry starts an in-memory registry on 127.0.0.1 and returns its
// host:port and its request log.
func newRegistry(t *testing.T) (string, *requestLog) {
	t.Helper()
	reqs := &requestLog{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{
		Handler: reqs.wrap(memreg.New(memreg.Logger(log.New(io.Discard, "", 0)))),
	}}
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), reqs
}

// platformImage is a random image whose config has the revision label
// (unless rev is "") and runs as user.
func platformImage(t *testing.T, platform, rev, user string) v1.Image {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.User = user
	cf.Config.Labels = map[string]string{}
	if rev != "" {
		cf.Config.Labels[registry.RevisionLabel] = rev
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// buildIndex is what a build of rev pushes: linux/amd64 and linux/arm64,
// as uid 65532.
func buildIndex(t *testing.T, rev string) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		platform, _ := v1.ParsePlatform(p)
		adds = append(adds, mutate.IndexAddendum{
			Add:        platformImage(t, p, rev, "65532:65532"),
			Descriptor: v1.Descriptor{Platform: platform},
		})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// pushIndex pushes an index of rev as ref and returns its digest.
func pushIndex(t *testing.T, ref, rev string) string {
	t.Helper()
	idx := buildIndex(t, rev)
	r, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// digestOf returns the digest ref names, or "" when it does not exist.
func digestOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("head %s: %v", ref, err)
	}
	return desc.Digest.String()
}

// wantErr fails unless err mentions every string of want.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", want)
	}
	t.Logf("error: %v", err)
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}
