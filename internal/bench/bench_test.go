//go:build bench

// Package bench measures Gantry against its references, side by side in one
// run on the end-to-end environment, and writes BENCHMARKS.md. Run it with
// `go tool mage bench` (it needs scripts/testenv up, which the target runs).
package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/pipeline"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/internal/sign"
	"github.com/gantry-build/gantry/internal/testenv"
	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/magetools/config"
)

// runs is how often each timed figure is measured; the median is reported.
const runs = 3

var env testenv.Env

// measure times fn n times; prepare runs untimed before each.
func measure(t *testing.T, n int, prepare func(i int), fn func() error) stats {
	t.Helper()
	f := &figure{prepare: prepare, fn: fn}
	measureRounds(t, n, f)
	return f.stats
}

// figure is one timed row: fn is timed, prepare runs untimed before it.
type figure struct {
	prepare func(i int)
	fn      func() error
	stats   stats
}

// measureRounds times each figure n times in n rounds, every round running
// each figure once, in order. Figures compared by a ratio are measured this
// way, so that a busy stretch of this shared machine slows them alike
// rather than only the ones measured during it.
func measureRounds(t *testing.T, n int, figures ...*figure) {
	t.Helper()
	for i := 0; i < n; i++ {
		for _, f := range figures {
			if f.prepare != nil {
				f.prepare(i)
			}
			start := time.Now()
			if err := f.fn(); err != nil {
				t.Fatal(err)
			}
			f.stats = append(f.stats, time.Since(start))
		}
	}
}

// command runs a command, its output kept in a log shown on failure.
func command(dir string, extraEnv []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, strings.Join(lines[max(0, len(lines)-25):], "\n"))
	}
	return nil
}

// buildx runs one build with the test builder; extra arguments go before
// the context (the last argument).
func (b bench) buildx(spec buildx.Build, extra ...string) error {
	args, err := spec.Args()
	if err != nil {
		return err
	}
	args = append(append(args[:len(args)-1:len(args)-1], extra...), args[len(args)-1])
	return command("", []string{"BUILDX_BUILDER=" + env.Builder}, "docker", args...)
}

type bench struct {
	t       *testing.T
	root    string // the Gantry checkout
	service string // a copy of the example service, changed by the benchmark
	tag     int
	out     strings.Builder
}

// run is the run of a push of a commit to main for the example service,
// as publish makes it (pipeline.Run): the same build arguments, labels,
// timestamps, cache flags and host compile.
func (b *bench) run() pipeline.Run {
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := config.Config{
		Dir: b.service, Image: env.Registry + "/bench/hello",
		BuildArgs: map[string]string{"GO_IMAGE": env.GoImage, "RUNTIME_IMAGE": env.RuntimeImage, "DEV_IMAGE": env.DevImage},
	}.Resolve(noEnv, config.Facts{Dir: b.service, ModulePath: "github.com/gantry-build/gantry/examples/hello", MainCandidates: []string{"."}, HostGOOS: runtime.GOOS, HostGOARCH: runtime.GOARCH})
	if err != nil {
		b.t.Fatal(err)
	}
	ev := event.Context{Kind: event.BranchPush, Name: "push", Ref: "refs/heads/main", Branch: "main",
		Commit: strings.Repeat("0", 40), CommitTime: time.Unix(1795000000, 0).UTC()}
	p, err := plan.Make(ev, cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	return pipeline.Run{Config: cfg, Event: ev, Plan: p, Getenv: func(string) string { return "" },
		Compiler: gobuild.Host{}, Log: logrus.NewEntry(logger)}
}

// spec is a build of the example service with Gantry's Dockerfile, made
// by the code publish builds with (pipeline.Run.Spec), for a push of a
// commit to main. The Dockerfile compiles; see hostSpec for the fast path.
func (b *bench) spec(target string, platforms []string, out buildx.Output) buildx.Build {
	b.tag++
	r := b.run()
	img := plan.Image{Target: target, Stage: r.Config.ProdStage, Platforms: platforms}
	if target == plan.Dev {
		img.Stage = r.Config.DevStage
	}
	var tags []string
	if out == buildx.Load {
		tags = []string{fmt.Sprintf("hello:%s-%d", target, b.tag)}
	}
	spec := r.Spec(img, filepath.Join(b.root, "docker/Dockerfile"), out, tags)
	spec.Progress = "plain" // the output goes to a log
	if out == buildx.Push {
		// A push goes by digest; pushedRef reads it from here.
		spec.MetadataFile = filepath.Join(b.t.TempDir(), "metadata.json")
	}
	return spec
}

// pushedRef is the digest reference of what a pushing spec pushed.
func pushedRef(t *testing.T, spec buildx.Build) string {
	t.Helper()
	digest, err := buildx.Digest(spec.MetadataFile)
	if err != nil {
		t.Fatal(err)
	}
	return spec.Name + "@" + digest
}

// hostSpec is spec with the fast path, as publish builds: the binaries
// compiled on the host into tmp and handed to the build.
func (b *bench) hostSpec(target string, platforms []string, out buildx.Output, tmp string) (buildx.Build, error) {
	spec := b.spec(target, platforms, out)
	img := plan.Image{Target: target, Platforms: platforms}
	return b.run().HostBinaries(context.Background(), tmp, img, spec)
}

var both = []string{"linux/amd64", "linux/arm64"}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(&b.out, format, args...) }

func TestBenchmarks(t *testing.T) {
	var err error
	if env, err = testenv.Load(); err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, root: testsvc.Root(t), service: t.TempDir()}
	if err := os.CopyFS(b.service, os.DirFS(filepath.Join(b.root, "examples/hello"))); err != nil {
		t.Fatal(err)
	}
	type section struct {
		name string
		run  func(*testing.T)
	}
	all := []section{
		{"sizes", b.sizes}, {"speed", b.speed}, {"cross", b.crossVsEmulation}, {"publish", b.publish},
		{"promotion", b.promotion}, {"startup", b.startup}, {"emulation", b.noEmulation}, {"fastpath", b.fastPath},
		{"signing", b.signing}, {"services", b.services}, {"scale", b.scale},
	}
	sections := selected()
	for _, name := range sections {
		if !slices.ContainsFunc(all, func(s section) bool { return s.name == name }) {
			t.Fatalf("GANTRY_BENCH_SECTIONS names %q, which is no section: use sizes, speed, cross, publish, promotion, startup, emulation, fastpath, signing, services or scale", name)
		}
	}
	if sections != nil {
		b.printf("_Sections %s only (GANTRY_BENCH_SECTIONS), measured separately from the rest of BENCHMARKS.md._\n\n", strings.Join(sections, ", "))
	}
	b.printf("# Benchmarks\n\nProduced by `go tool mage bench` (internal/bench/bench_test.go) on %s. Every figure below comes from the same run; times are the median of %d runs with the range in brackets, unless n says otherwise.\n\n",
		time.Now().UTC().Format("2006-01-02"), runs)
	b.machine(t)
	for _, section := range all {
		if sections == nil || slices.Contains(sections, section.name) {
			section.run(t)
		}
	}
	// Only a full run replaces BENCHMARKS.md; a selection goes beside it.
	out := filepath.Join(b.root, "BENCHMARKS.md")
	if sections != nil {
		out = filepath.Join(os.TempDir(), "BENCHMARKS-"+strings.Join(sections, "-")+".md")
	}
	if err := os.WriteFile(out, []byte(b.out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s:\n%s", out, b.out.String())
}

// selected returns the sections named in GANTRY_BENCH_SECTIONS
// (comma-separated: sizes, speed, cross, publish, promotion, startup,
// emulation, fastpath, signing, services, scale), or nil for all of them.
func selected() []string {
	var out []string
	for _, s := range strings.Split(os.Getenv("GANTRY_BENCH_SECTIONS"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (b *bench) machine(t *testing.T) {
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	version := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return "unknown"
		}
		return strings.TrimSpace(strings.Split(string(out), "\n")[0])
	}
	b.printf("## Machine\n\n- %d cores (%s), %s/%s\n- %s\n- buildx: %s\n- BuildKit: %s, remote driver, registry on loopback\n\n",
		runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version(),
		version("docker", "buildx", "version"), version("sh", "-c", "ls -d /var/cache/gantry-testenv/buildkit-* | sed 's,.*/buildkit-,,'"))
}

// sizes compares the prod image with the binary alone and other runtimes.
func (b *bench) sizes(t *testing.T) {
	ctx := t.TempDir()
	if err := command(b.service, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off"},
		"go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(ctx, "bin/service"), "."); err != nil {
		t.Fatal(err)
	}
	binary, gz := fileSizes(t, filepath.Join(ctx, "bin/service"))
	for _, f := range []struct{ src, dst string }{{"/etc/ssl/certs/ca-certificates.crt", "ca-certificates.crt"}, {"/bin/busybox", "busybox"}} {
		data, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ctx, f.dst), data, 0o755)
	}
	os.WriteFile(filepath.Join(ctx, "passwd"), []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "group"), []byte("root:x:0:\nnonroot:x:65532:\n"), 0o644)

	prod := b.spec("prod", []string{"linux/amd64"}, buildx.Push)
	if err := b.buildx(prod); err != nil {
		t.Fatal(err)
	}
	prodC, prodU := imageSizes(t, pushedRef(t, prod))
	b.printf("## 1. Image size (linux/amd64)\n\nThe floor is the stripped static binary itself: %s (%s gzipped, as a layer is). Sizes are the sums of the image's layers, compressed as pushed and uncompressed.\n\n", kib(binary), kib(gz))
	b.printf("| image | compressed | uncompressed | compressed over the gzipped binary |\n|---|---|---|---|\n")
	b.printf("| **Gantry prod** (static stand-in base, as distroless/static) | %s | %s | **%s** |\n", kib(prodC), kib(prodU), kib(prodC-gz))
	for _, ref := range []struct{ target, label string }{
		{"binary-only", "the binary alone (FROM scratch)"},
		{"scratch-ca-user", "scratch + CA bundle + passwd (by hand)"},
		{"distroless-like", "distroless/static-like base + binary"},
		{"busybox-user", "BusyBox static + user (in place of Alpine)"},
		{"debian-slim-curl", "Debian slim + curl + CA certificates (the RFC's first draft)"},
	} {
		b.tag++
		spec := buildx.Build{Context: ctx, Dockerfile: filepath.Join(b.root, "internal/bench/testdata/references.Dockerfile"), Target: ref.target,
			Platforms: []string{"linux/amd64"}, Output: buildx.Push, Progress: "plain",
			Name: env.Registry + "/bench/ref", MetadataFile: filepath.Join(t.TempDir(), "metadata.json"),
			BuildArgs: map[string]string{"RUNTIME_IMAGE": env.RuntimeImage, "DEV_IMAGE": env.DevImage}}
		if err := b.buildx(spec); err != nil {
			t.Fatal(err)
		}
		c, u := imageSizes(t, pushedRef(t, spec))
		b.printf("| %s | %s | %s | %s |\n", ref.label, kib(c), kib(u), kib(c-gz))
	}
	verdict := "met"
	if prodC-gz >= 300*1024 {
		verdict = "missed"
	}
	b.printf("\nGoal: prod overhead over the binary under 300 KiB compressed: **%s** (%s). Alpine itself cannot be fetched on this machine (no registry and no Alpine mirror is reachable), so a static BusyBox with a user stands in for a shell-ful minimal base.\n\n", verdict, kib(prodC-gz))
}

// speed compares two-platform prod builds with a plain go build.
func (b *bench) speed(t *testing.T) {
	mainGo := filepath.Join(b.service, "main.go")
	original, err := os.ReadFile(mainGo)
	if err != nil {
		t.Fatal(err)
	}
	var greeting string // the greeting of the latest change
	change := func(i int) {
		greeting = fmt.Sprintf("hello from gantry (%d, %d)", time.Now().UnixNano(), i)
		edited := strings.Replace(string(original), `"hello from gantry\n"`, strconv.Quote(greeting+"\n"), 1)
		if err := os.WriteFile(mainGo, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	defer os.WriteFile(mainGo, original, 0o644)
	plain := func() error {
		for _, arch := range []string{"amd64", "arm64"} {
			if err := command(b.service, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch, "GOWORK=off"},
				"go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(t.TempDir(), "service"), "."); err != nil {
				return err
			}
		}
		return nil
	}
	// build returns a build of the example service; it records the tag
	// it pushes and the greeting built into it when pushed is not nil.
	build := func(out buildx.Output, pushed map[string]string, extra ...string) func() error {
		return func() error {
			spec, err := b.hostSpec("prod", both, out, t.TempDir())
			if err != nil {
				return err
			}
			if err := b.buildx(spec, extra...); err != nil {
				return err
			}
			if pushed != nil {
				pushed[pushedRef(t, spec)] = greeting
			}
			return nil
		}
	}
	changed := map[string]string{} // pushed image -> greeting
	// In each round, warm follows cold, which built the same source.
	plainWarm := &figure{fn: plain, prepare: func(int) { // warms the Go cache
		if err := plain(); err != nil {
			t.Fatal(err)
		}
	}}
	plainChanged := &figure{prepare: change, fn: plain}
	cold := &figure{fn: build(buildx.Push, nil, "--no-cache")}
	warm := &figure{fn: build(buildx.Push, nil)}
	warmChanged := &figure{prepare: change, fn: build(buildx.Push, changed)}
	warmChangedOnly := &figure{prepare: change, fn: build(buildx.CacheOnly, nil)}
	measureRounds(t, runs, plainWarm, plainChanged, cold, warm, warmChanged, warmChangedOnly)
	// A build that reused an earlier build's binaries would be timed
	// without its work: each image must serve its change.
	for ref, greeting := range changed {
		if bin := imageFile(t, ref, "linux/amd64", gobuild.Binary); !bytes.Contains(bin, []byte(greeting)) {
			t.Fatalf("%s does not hold the change it was built from (%q)", ref, greeting)
		}
	}

	b.printf("## 2. Two-platform build speed (prod, linux/amd64 + linux/arm64)\n\n")
	b.printf("References: a plain host `go build` of the same binary for both platforms, one after the other, with a warm Go cache: %s with nothing changed, %s after a one-line change.\n\n", plainWarm.stats, plainChanged.stats)
	b.printf("Every build takes Gantry's fast path, as publish does: the binaries are compiled on the host (that time is included) and copied into the image (`--build-context binaries=...`). Cold is `--no-cache` for BuildKit; the host's Go cache stays warm, as CI restores it. The rows are measured in rounds, each round timing every row once, so that the ratios compare runs made side by side.\n\n")
	b.printf("| build | time | ÷ plain go build (unchanged) | ÷ plain go build (one-line change) |\n|---|---|---|---|\n")
	for _, row := range []struct {
		label string
		s     stats
	}{
		{"cold (`--no-cache`), build and push", cold.stats},
		{"warm, nothing changed, build and push", warm.stats},
		{"warm, one-line change, build and push", warmChanged.stats},
		{"warm, one-line change, build only (`type=cacheonly`)", warmChangedOnly.stats},
	} {
		b.printf("| %s | %s | %s | %s |\n", row.label, row.s, ratio(row.s, plainWarm.stats), ratio(row.s, plainChanged.stats))
	}
	verdict := "met"
	if warmChanged.stats.median().Seconds() >= 1.5*plainWarm.stats.median().Seconds() {
		verdict = fmt.Sprintf("missed: %s of the plain build", ratio(warmChanged.stats, plainWarm.stats))
	}
	b.printf("\nGoal: warm after a one-line change under 1.5× the plain `go build` (unchanged, as before): **%s**. A plain `go build` of a small service with a warm cache takes about a quarter of a second per platform, so fixed costs dominate: starting buildx (the docker CLI, the plugin, the session with the builder), sending the binaries, compressing their layers, and, for a push, exporting and pushing two images and an index. Gantry compiles the two platforms at once; the layers keep the times of the binaries' tree, which carries the commit time (no `rewrite-timestamp`).\n\n", verdict)
}

// crossVsEmulation compares Gantry's cross-compiling prod build for arm64
// with a naive Dockerfile that compiles in an arm64 stage under QEMU.
func (b *bench) crossVsEmulation(t *testing.T) {
	arm := []string{"linux/arm64"}
	cross := measure(t, 2, nil, func() error { return b.buildx(b.spec("prod", arm, buildx.CacheOnly), "--no-cache") })
	naive := measure(t, 2, nil, func() error {
		spec := b.spec("prod", arm, buildx.CacheOnly)
		spec.Dockerfile = filepath.Join(b.root, "internal/bench/testdata/naive.Dockerfile")
		return b.buildx(spec, "--no-cache")
	})
	b.printf("## 3. Cross-compiling against emulation (prod, linux/arm64, cold)\n\n| Dockerfile | time |\n|---|---|\n| Gantry's: build stage on `$BUILDPLATFORM`, `GOARCH=arm64` | %s |\n| naive: `go build` in an arm64 stage under QEMU ([internal/bench/testdata/naive.Dockerfile](internal/bench/testdata/naive.Dockerfile)) | %s |\n\nThe naive build takes **%s** the time of Gantry's.\n\n", cross, naive, ratio(naive, cross))
}

// publish times the whole job of a push to main: `mage ci`, prod and dev
// for two platforms, pushed and verified, tags moved.
func (b *bench) publish(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/publish")
	repo := fmt.Sprintf("%s/bench/publish-%d", env.Registry, time.Now().UnixNano())
	ci := func(extra map[string]string) error { return publishHead(t, svc, repo, extra)() }
	change := oneLineChange(t, svc)
	cold := measure(t, 1, change, func() error { return ci(map[string]string{"GANTRY_NO_CACHE": "true"}) })
	var cpu stats
	warm := measure(t, runs, change, func() error {
		before := cpuTime(t)
		err := ci(nil)
		cpu = append(cpu, cpuTime(t)-before)
		return err
	})
	cores := runtime.NumCPU()
	floor := cpu.median() / time.Duration(cores)
	b.printf("## 4. Publish: the whole job of a push to main\n\n`go tool mage ci` for a push to main: prod and dev for linux/amd64 and linux/arm64, built, pushed, read back and verified, moving tags set.\n\n| publish | time |\n|---|---|\n| cold (`GANTRY_NO_CACHE=true`: Delve and the dev packages fetched and built again; the binaries compiled on the host, whose Go cache is warm) | %s |\n| warm, after a one-line change | %s |\n| CPU time of the warm publish: Mage and every command it runs, buildkitd and the registry | %s |\n\n", cold, warm, cpu)
	b.printf("Goal: the warm publish under 5 s: **%s**. The warm publish needs %.1f CPU-seconds, so on %d cores no schedule finishes it in under %.1f s. About half of it is the four host `go build`s (prod and debug for two platforms, each linking a new binary); the rest is the docker CLI and buildx plugin (three runs), BuildKit compressing and pushing the new layers, the registry, and Mage's own start (`go tool`, then `go version`, `go env` and two `go list`s to check its compiled magefile). After the moving tags move, Publish also waits 1 s before reading them back (`DefaultSettle`, against a run that moves them back; see moveTags).\n\n",
		verdict(warm.median() < 5*time.Second), cpu.median().Seconds(), cores, floor.Seconds())
}

// signing compares warm publishes of a one-line change with signing off
// and with a cosign key: what signing and attesting add to the whole, and
// the bytes they add to the registry.
func (b *bench) signing(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/signing")
	private, _, err := sign.GenerateKey([]byte("bench"))
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(key, private, 0o600); err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().UnixNano()
	unsigned, signed := fmt.Sprintf("%s/bench/unsigned-%d", env.Registry, stamp), fmt.Sprintf("%s/bench/signed-%d", env.Registry, stamp)
	keyEnv := map[string]string{"GANTRY_SIGNING": "key", "GANTRY_SIGNING_KEY": key, "COSIGN_PASSWORD": "bench"}
	publish := func(repo string, extra map[string]string) func() error { return publishHead(t, svc, repo, extra) }
	change := oneLineChange(t, svc)
	// Warm the builder and both repositories first.
	for _, warm := range []func() error{publish(unsigned, nil), publish(signed, keyEnv)} {
		if err := warm(); err != nil {
			t.Fatal(err)
		}
	}
	off := &figure{prepare: change, fn: publish(unsigned, nil)}
	on := &figure{prepare: change, fn: publish(signed, keyEnv)}
	measureRounds(t, runs, off, on)

	head := svc.Git(t, "rev-parse", "HEAD")
	added, artifacts := int64(0), 0
	for _, tag := range []string{head[:7], head[:7] + "-dev"} {
		digests := []string{registrytest.Digest(t, signed+":"+tag)}
		digests = append(digests, platformManifests(t, signed+":"+tag)...)
		for _, d := range digests {
			n, bytes := attachedBytes(t, signed, d)
			artifacts += n
			added += bytes
		}
	}
	share := float64(on.stats.median()-off.stats.median()) / float64(on.stats.median())
	b.printf("## 9. Signing and attesting\n\n`go tool mage ci` for a push to main after a one-line change, warm, as in section 4, with signing off and with a cosign key (`GANTRY_SIGNING=key`): the key run attaches to each of prod and dev a signature and provenance, and an SBOM to each of their platform manifests (four in all), and verifies them all (reading each binary back out of its image) before it tags anything. Keyless signing in Actions adds a Fulcio certificate request and a Rekor upload, which cannot be measured here.\n\n| publish | time |\n|---|---|\n| signing off | %s |\n| signed with a key, attested and verified | %s |\n\nSigning and attesting take **%.0f%%** of the signed publish. Goal: under 10%%: **%s**. The rows are measured in rounds. Each publish adds %d artifacts to the registry, %s in all (their manifests, bundles and the referrers-tag indexes that list them).\n\n",
		off.stats, on.stats, 100*share, verdict(share < 0.10), artifacts, kib(added))
}

// platformManifests returns the platform manifest digests of the index ref.
func platformManifests(t *testing.T, ref string) []string {
	t.Helper()
	list, err := registry.New().Manifests(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, m := range list {
		digests = append(digests, m.Digest)
	}
	return digests
}

// attachedBytes counts the referrers of repo@digest and the bytes they
// (manifests and blobs) and the referrers tag that lists them take in the
// registry.
func attachedBytes(t *testing.T, repo, digest string) (int, int64) {
	t.Helper()
	referrers, err := registry.New().Referrers(context.Background(), repo+"@"+digest)
	if err != nil {
		t.Fatal(err)
	}
	total := descriptorSize(t, repo+":"+strings.Replace(digest, ":", "-", 1))
	for _, r := range referrers {
		ref := repo + "@" + r.Digest
		total += descriptorSize(t, ref) + manifestSize(t, ref)
	}
	return len(referrers), total
}

// descriptorSize is the size of the manifest or index ref names.
func descriptorSize(t *testing.T, ref string) int64 {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Size
}

// publishHead returns a publish of svc's HEAD to repo, as `mage ci` does
// for a push to main, with extra over the test environment.
func publishHead(t *testing.T, svc *testsvc.Service, repo string, extra map[string]string) func() error {
	return func() error {
		head := svc.Git(t, "rev-parse", "HEAD")
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "acme/bench"}
		if res := svc.Mage(t, testsvc.Merge(env.GantryEnv(repo), ev.Env(t), extra), "ci"); res.Code != 0 {
			return fmt.Errorf("mage ci: exit %d", res.Code)
		}
		return nil
	}
}

// oneLineChange returns a prepare step that commits a one-line change to
// svc.
func oneLineChange(t *testing.T, svc *testsvc.Service) func(int) {
	return func(i int) {
		svc.Write(t, "version.go", fmt.Sprintf("package main\n\nconst change = %d\n", time.Now().UnixNano()))
		svc.Commit(t, fmt.Sprintf("change %d", i))
	}
}

// cpuTime is the CPU time used so far by this process's finished children
// (Mage and everything it ran) and by the test environment's buildkitd and
// registry, whose pid files scripts/testenv keeps beside its env file.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &usage); err != nil {
		t.Fatal(err)
	}
	total := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	for _, daemon := range []string{"buildkitd", "registry"} {
		pid, err := os.ReadFile(filepath.Join(filepath.Dir(testenv.File()), daemon+".pid"))
		if err != nil {
			t.Fatal(err)
		}
		stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "stat"))
		if err != nil {
			t.Fatalf("%s: %v", daemon, err)
		}
		// After the command name in parentheses: state is field 3, utime
		// and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		for _, f := range fields[11:13] {
			ticks, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				t.Fatalf("%s stat: %v", daemon, err)
			}
			total += time.Duration(ticks) * 10 * time.Millisecond
		}
	}
	return total
}

// promotion compares a release of a commit main built with its
// alternative, a rebuild with ReleaseRebuild on the builder main's build
// of the commit has just warmed.
func (b *bench) promotion(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/bench")
	head := svc.Git(t, "rev-parse", "HEAD")
	repo := fmt.Sprintf("%s/bench/promote-%d", env.Registry, time.Now().UnixNano())
	event := func(ref string) map[string]string {
		return testsvc.Event{Name: "push", Ref: ref, SHA: head, Repository: "acme/bench"}.Env(t)
	}
	if res := svc.Mage(t, testsvc.Merge(env.GantryEnv(repo), event("refs/heads/main")), "ci"); res.Code != 0 {
		t.Fatal("publishing main failed")
	}
	rebuilds := map[string]bool{} // release version -> rebuilt
	release := func(rebuild bool) func() error {
		return func() error {
			version := fmt.Sprintf("1.0.%d", len(rebuilds)+1)
			rebuilds[version] = rebuild
			svc.Git(t, "tag", "-a", "v"+version, "-m", "v"+version)
			extra := map[string]string{"GANTRY_RELEASE_REBUILD": strconv.FormatBool(rebuild)}
			if res := svc.Mage(t, testsvc.Merge(env.GantryEnv(repo), event("refs/tags/v"+version), extra), "ci"); res.Code != 0 {
				return fmt.Errorf("release v%s: exit %d", version, res.Code)
			}
			return nil
		}
	}
	// Measured in rounds, as the ratio compares them.
	promoted, rebuilt := &figure{fn: release(false)}, &figure{fn: release(true)}
	measureRounds(t, runs, promoted, rebuilt)
	// A rebuild that promoted main's image, or the reverse, would be timed
	// doing the other's work.
	mainDigest := registrytest.Digest(t, repo+":main")
	for version, rebuild := range rebuilds {
		switch isMain := registrytest.Digest(t, repo+":"+version) == mainDigest; {
		case rebuild && isMain:
			t.Fatalf("release %s, with GANTRY_RELEASE_REBUILD=true, names main's image %s: it was promoted, not rebuilt", version, mainDigest)
		case !rebuild && !isMain:
			t.Fatalf("release %s names another image than main's %s: it was rebuilt, not promoted", version, mainDigest)
		}
	}
	verdict := "met"
	if promoted.stats.median() >= rebuilt.stats.median()/10 {
		verdict = "missed"
	}
	b.printf("## 5. Release: promotion against a warm rebuild (`go tool mage ci` on a `v*` tag, two platforms)\n\n| release | time |\n|---|---|\n| promotion of the commit main built (registry-side tag) | %s |\n| rebuild (`GANTRY_RELEASE_REBUILD=true`: prod built from the tag, stamped with its version, on the builder main's build of the commit warmed; the fast path compiles the binaries on the host, whose Go cache is warm, as CI restores it) | %s |\n\nPromotion takes **%s** the time of a rebuild. Goal: under a tenth: **%s**. The rows are measured in rounds, each round timing each once. Both include Mage's start and the plan (section 6), which is most of a promotion; a rebuild of a commit main built, with warm caches, compiles nothing and only links the binaries again with the version stamped. Promotion is kept for what it ships: the bytes main built and verified.\n\n",
		promoted.stats, rebuilt.stats, ratio(promoted.stats, rebuilt.stats), verdict)
}

// startup times `go tool mage plan` with Mage's cache warm and cold.
func (b *bench) startup(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/startup")
	plan := func(extra map[string]string) func() error {
		return func() error {
			if res := svc.Mage(t, extra, "plan"); res.Code != 0 {
				return fmt.Errorf("mage plan: exit %d", res.Code)
			}
			return nil
		}
	}
	plan(nil)()
	warm := measure(t, 5, nil, plan(nil))
	cold := measure(t, runs, nil, func() error { return plan(map[string]string{"MAGEFILE_CACHE": t.TempDir()})() })
	b.printf("## 6. Start-up: `go tool mage plan`\n\n| Mage cache | time |\n|---|---|\n| warm (`MAGEFILE_CACHE` kept; with a Go build cache, Mage still runs `go build` on the magefile every time, to catch changed dependencies: nothing is compiled, the binary is linked again) | %s |\n| cold (`MAGEFILE_CACHE` empty: the magefile is compiled; Go's build cache is warm) | %s |\n\n", warm, cold)
}

// noEmulation proves that prod and dev build for arm64 with the arm64
// emulator switched off, and compares dev with the former apt-based stage.
func (b *bench) noEmulation(t *testing.T) {
	const entry = "/proc/sys/fs/binfmt_misc/qemu-aarch64"
	setEmulation := func(on bool) {
		value := "0"
		if on {
			value = "1"
		}
		if err := os.WriteFile(entry, []byte(value), 0o644); err != nil {
			t.Fatalf("switch arm64 emulation: %v", err)
		}
	}
	defer setEmulation(true)
	newDev := func() error {
		return b.buildx(b.spec("dev", both, buildx.CacheOnly), "--no-cache-filter", "dev-base,dev-tools,dev")
	}
	oldDev := func() error {
		spec := b.spec("dev", both, buildx.CacheOnly)
		spec.Dockerfile = filepath.Join(b.root, "internal/bench/testdata/dev-apt.Dockerfile")
		return b.buildx(spec, "--no-cache-filter", "dev")
	}
	// Warm what both dev designs share (the debug build, Delve), so that
	// the timed builds differ only in how the tools get into the image.
	for _, warm := range []func() error{newDev, oldDev} {
		if err := warm(); err != nil {
			t.Fatal(err)
		}
	}

	setEmulation(false)
	naive := b.spec("prod", []string{"linux/arm64"}, buildx.CacheOnly)
	naive.Dockerfile = filepath.Join(b.root, "internal/bench/testdata/naive.Dockerfile")
	naiveErr := b.buildx(naive, "--no-cache")
	if naiveErr == nil {
		t.Fatal("the naive arm64 build succeeded with emulation off: the switch does not work")
	}
	prodOff := measure(t, 1, nil, func() error { return b.buildx(b.spec("prod", both, buildx.CacheOnly), "--no-cache") })
	devOff := measure(t, 2, nil, newDev)
	setEmulation(true)
	devOn := measure(t, 2, nil, newDev)
	devApt := measure(t, 2, nil, oldDev)
	b.printf("## 7. No emulation\n\nWith the arm64 emulator switched off (`%s` set to 0), the naive Dockerfile fails as it must (%q), while:\n\n",
		entry, firstLine(naiveErr.Error(), "exec format error"))
	b.printf("| build, two platforms | emulation | time |\n|---|---|---|\n")
	b.printf("| Gantry prod, cold | off | %s |\n| Gantry dev, its tool stages uncached | off | %s |\n| Gantry dev, its tool stages uncached | on | %s |\n| former dev stage (`apt-get install` on the target platform, [internal/bench/testdata/dev-apt.Dockerfile](internal/bench/testdata/dev-apt.Dockerfile)), uncached | on (needed) | %s |\n\n",
		prodOff, devOff, devOn, devApt)
	b.printf("Both targets build for linux/arm64 without QEMU. The dev tools are now the arm64 Debian packages unpacked on the build platform: getting them into the two-platform dev image takes %s the time of the former apt-under-QEMU stage (before %s, after %s). The debug build and Delve were built before these rows, untimed, so the rows differ only in the tool stages.\n\n",
		ratio(devOff, devApt), devApt, devOff)
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

func firstLine(s, want string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, want) {
			return strings.TrimSpace(line)
		}
	}
	return want
}

func fileSizes(t *testing.T, path string) (raw, gzipped int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counter := &countWriter{}
	zw := gzip.NewWriter(counter)
	raw, err = io.Copy(zw, f)
	if err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return raw, counter.n
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// imageFile reads the file at path (without its leading /) from the
// platform's image of ref in the registry.
func imageFile(t *testing.T, ref, platform, path string) []byte {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithPlatform(*p))
	if err != nil {
		t.Fatal(err)
	}
	return registrytest.ReadFile(t, img, path)
}

// imageSizes sums an image's layers: as pushed, and uncompressed.
func imageSizes(t *testing.T, ref string) (compressed, uncompressed int64) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		compressed += size
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		uncompressed += n
	}
	return compressed, uncompressed
}

func kib(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

// fastPath publishes a realistic service (AWS SDK, gRPC, Prometheus,
// OpenTelemetry, Google Cloud Storage, pgx, Redis, gin, viper, zap: its
// go.mod and go.sum are internal/bench/testdata/realsvc, its modules come
// from the Go module proxy) as CI does on a push to main, on a builder of
// its own (scripts/testenv fresh), with the cache exported to the loopback
// registry (GANTRY_CACHE=registry:...), against the host's `go build` of
// the same binaries.
func (b *bench) fastPath(t *testing.T) {
	svc := testsvc.New(t, "example.com/realsvc")
	// gantry init's go.mod and go.sum hold the Mage tool; the service's
	// requirements join them.
	for _, f := range []string{"main.go", "go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(b.root, "internal/bench/testdata/realsvc", f+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		content := string(data)
		if f != "main.go" {
			adopted, err := os.ReadFile(filepath.Join(svc.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(adopted), "\n") {
				if f == "go.sum" || strings.HasPrefix(line, "tool ") || strings.HasPrefix(line, "require github.com/magefile/mage ") {
					content += line + "\n"
				}
			}
		}
		svc.Write(t, f, content)
	}
	svc.Commit(t, "the realistic service")
	svc.Mage(t, nil, "plan") // writes go.work.sum, which a publish wants committed
	svc.Commit(t, "go.work.sum")
	sum, err := os.ReadFile(filepath.Join(svc.Dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(sum)), "\n") {
		modules[strings.Fields(line)[0]] = true
	}
	if len(modules) < 150 {
		t.Fatalf("the realistic service has %d modules in go.sum, want at least 150", len(modules))
	}

	const name = "bench-fastpath"
	fresh := func() string {
		cmd := exec.Command("scripts/testenv", "fresh", name)
		cmd.Dir = b.root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("scripts/testenv fresh %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	defer func() {
		cmd := exec.Command("scripts/testenv", "fresh-stop", name)
		cmd.Dir = b.root
		cmd.Run()
	}()
	stamp := time.Now().UnixNano()
	repo := fmt.Sprintf("%s/bench/realsvc-%d", env.Registry, stamp)
	cacheRepo := fmt.Sprintf("%s/bench/realsvc-cache-%d", env.Registry, stamp)
	// The Go caches are this machine's, kept from run to run as
	// actions/setup-go restores them (keyed on go.sum); warm them first,
	// so that every row starts from the same Go caches.
	builder := ""
	ci := func() error {
		head := svc.Git(t, "rev-parse", "HEAD")
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "acme/realsvc"}
		vars := testsvc.Merge(env.GantryEnv(repo), ev.Env(t), map[string]string{"BUILDX_BUILDER": builder, "GANTRY_CACHE": "registry:" + cacheRepo})
		if res := svc.Mage(t, vars, "ci"); res.Code != 0 {
			return fmt.Errorf("mage ci: exit %d", res.Code)
		}
		return nil
	}
	change := func(i int) {
		svc.Write(t, "version.go", fmt.Sprintf("package main\n\nconst change = %d\n", time.Now().UnixNano()))
		svc.Commit(t, fmt.Sprintf("change %d", i))
	}
	hostBuild := func() error {
		for _, platform := range both {
			for _, debug := range []bool{false, true} {
				cmd, err := gobuild.CrossCommand(svc.Dir, gobuild.Options{MainPackage: "."}, t.TempDir(), platform, debug)
				if err != nil {
					return err
				}
				if err := command(svc.Dir, cmd.Env, "go", cmd.Args...); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := hostBuild(); err != nil {
		t.Fatal(err)
	}
	builder = fresh()
	cold := measure(t, 1, change, ci)
	// Measured in rounds, as the ratios compare them; the warm run of a
	// round uses the builder the fresh run of the round before started.
	warm := &figure{prepare: change, fn: ci}
	freshRun := &figure{prepare: func(i int) { change(i); builder = fresh() }, fn: ci}
	host := &figure{prepare: change, fn: hostBuild}
	measureRounds(t, runs, warm, freshRun, host)
	prodCache, devCache := manifestSize(t, cacheRepo+":realsvc-prod"), manifestSize(t, cacheRepo+":realsvc-dev")

	b.printf("## 8. Fast path: a realistic service on a fresh CI runner\n\n")
	b.printf("A service assembled from the Go module proxy ([internal/bench/testdata/realsvc](internal/bench/testdata/realsvc): %d modules in go.sum; AWS SDK v2, gRPC, Prometheus, OpenTelemetry, Google Cloud Storage, pgx, Redis, gin, viper, zap), published with `go tool mage ci` for a push to main: prod and dev for linux/amd64 and linux/arm64, built, pushed, verified, moving tags set. Gantry compiles the binaries on the host with the runner's Go caches and hands them to the Dockerfile (`--build-context binaries=...`); BuildKit's cache goes to the loopback registry (`GANTRY_CACHE=registry:...`; mode=min, as publish exports it on the fast path with Gantry's Dockerfile: the images' layers, and only the keys of the Delve and dev-tools stages). A fresh builder is a buildkitd started on an empty state directory (`scripts/testenv fresh`), as a new Actions runner is. The last three rows are measured in rounds, each round timing each of them once, so that their ratios compare runs made side by side. The Go caches are this machine's, warmed before the first row and kept between runs, as `actions/setup-go` restores them; a first run with empty Go caches also compiles every dependency for both platforms, twice (prod and debug).\n\n", len(modules))
	b.printf("| publish | time | ÷ host reference |\n|---|---|---|\n")
	for _, row := range []struct {
		label string
		s     stats
	}{
		{"first run: empty builder, nothing in the registry cache (Delve, dev tools built; Go caches warm)", cold},
		{"one-line change, same builder (warm)", warm.stats},
		{"one-line change, **fresh builder**, previous run's cache imported from the registry", freshRun.stats},
		{"host reference: `go build` of the prod and debug binaries for both platforms after the same change, Go caches warm", host.stats},
	} {
		b.printf("| %s | %s | %s |\n", row.label, row.s, ratio(row.s, host.stats))
	}
	verdict := "met"
	if freshRun.stats.median() > 2*host.stats.median() {
		verdict = "missed"
	}
	b.printf("\nGoal: the fresh-builder row at most 2× the host reference: **%s** (%s).\n\n", verdict, ratio(freshRun.stats, host.stats))
	b.printf("Exported build cache (the registry cache's blobs, compressed, both platforms): prod %s, dev %s, together **%s**, written by main only (pull requests read it). The gha backend's 10 GB per repository holds about %d such sets. `actions/setup-go` saves the Go module and build caches in the same 10 GB, once per go.sum.\n\n",
		mib(prodCache), mib(devCache), mib(prodCache+devCache), int64(10<<30)/max(1, prodCache+devCache))
}

// manifestSize sums the blobs an image manifest (a registry cache with
// image-manifest=true, a referrer) names, each once: its layers and its
// config. (A cache manifest can name a layer twice, for two cache records;
// the registry and the gha backend store it once.)
func manifestSize(t *testing.T, ref string) int64 {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("read the cache %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	n := m.Config.Size
	seen := map[string]bool{}
	for _, l := range m.Layers {
		if !seen[l.Digest.String()] {
			seen[l.Digest.String()] = true
			n += l.Size
		}
	}
	return n
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
