package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/registry"
	"github.com/gantry-build/gantry/internal/registrytest"
	"github.com/gantry-build/gantry/magetools/config"
)

// shardRun is the fixture's run of c2 on main as the job shard
// (a platform, or config.ShardFinalize), with dir as ShardDir.
func (f *fixture) shardRun(t *testing.T, shard, dir string) Run {
	t.Helper()
	return f.run(t, false, f.dir, func(c *config.Config) { c.Shard, c.ShardDir = shard, dir })
}

// runShards runs a platform job for each platform into dir and returns
// what each pushed, by platform.
func runShards(t *testing.T, f *fixture, dir string, platforms ...string) map[string][]Result {
	t.Helper()
	out := map[string][]Result{}
	for _, p := range platforms {
		r := f.shardRun(t, p, dir)
		b, _, _ := withFakes(t, &r)
		res, err := r.Shard(context.Background())
		if err != nil {
			t.Fatalf("Shard %s: %v", p, err)
		}
		for _, spec := range b.builds {
			if !slices.Equal(spec.Platforms, []string{p}) || spec.Name != f.image || len(spec.Tags) > 0 {
				t.Errorf("job %s built %s for %q as %q tagged %q; want its platform alone, by digest", p, spec.Target, spec.Platforms, spec.Name, spec.Tags)
			}
		}
		out[p] = res
	}
	return out
}

func TestShardThenFinalize(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	sha := f.short(f.c2)
	shards := runShards(t, f, dir, "linux/amd64", "linux/arm64")

	// The platform jobs tag nothing, and hand their digests on.
	if got := digests(t, f, sha, "main", sha+"-dev", "main-dev"); got[sha]+got["main"]+got[sha+"-dev"]+got["main-dev"] != "" {
		t.Errorf("the platform jobs tagged: %v", got)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		data, err := os.ReadFile(filepath.Join(dir, ShardFileName(p)))
		if err != nil {
			t.Fatal(err)
		}
		var file ShardFile
		if err := json.Unmarshal(data, &file); err != nil {
			t.Fatal(err)
		}
		want := ShardFile{Commit: f.c2, Image: f.image, Platform: p, Images: []ShardImage{
			{Target: "prod", Digest: shards[p][0].Digest}, {Target: "dev", Digest: shards[p][1].Digest}}}
		if fmt.Sprint(file) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %+v\nwant %+v", ShardFileName(p), file, want)
		}
	}

	r := f.shardRun(t, config.ShardFinalize, dir)
	_, j, _ := withFakes(t, &r)
	r.Builder = forbiddenBuilder{t}
	res, err := r.Finalize(context.Background())
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	checkOrder(t, j.list(), []string{"check push"}, [][]string{
		{"push index linux/amd64,linux/arm64", "verify " + res[0].Digest, "tag " + sha},
		{"push index linux/amd64,linux/arm64", "verify " + res[1].Digest, "tag " + sha + "-dev"},
	}, []string{"tag main", "tag main-dev"})
	client := registry.New()
	for i, target := range []string{"prod", "dev"} {
		// The index is the one buildx pushes for both platforms: the
		// platform images in the plan's order, in BuildKit's bytes.
		var manifests []registry.PlatformManifest
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			m, err := client.ReadPlatformManifest(context.Background(), f.image+"@"+shards[p][i].Digest)
			if err != nil {
				t.Fatal(err)
			}
			manifests = append(manifests, m)
		}
		raw, err := registry.IndexJSON(manifests, []string{"linux/amd64", "linux/arm64"})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); res[i].Digest != want || res[i].How != Built {
			t.Errorf("%s: %s %s, want the index of the platform jobs' images %s", target, res[i].How, res[i].Digest, want)
		}
	}
	want := map[string]string{sha: res[0].Digest, "main": res[0].Digest, sha + "-dev": res[1].Digest, "main-dev": res[1].Digest}
	if got := digests(t, f, sha, "main", sha+"-dev", "main-dev"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("registry %v, want %v", got, want)
	}

	t.Run("finalize again: reused, nothing pushed", func(t *testing.T) {
		r := f.shardRun(t, config.ShardFinalize, dir)
		_, j, _ := withFakes(t, &r)
		r.Builder = forbiddenBuilder{t}
		again, err := r.Finalize(context.Background())
		if err != nil {
			t.Fatalf("Finalize again: %v", err)
		}
		for i := range again {
			if again[i].How != Reused || again[i].Digest != res[i].Digest {
				t.Errorf("%s: %s %s, want reused %s", again[i].Image.Target, again[i].How, again[i].Digest, res[i].Digest)
			}
		}
		if slices.ContainsFunc(j.list(), func(e string) bool { return e == "push index linux/amd64,linux/arm64" }) {
			t.Errorf("a re-run pushed an index: %q", j.list())
		}
	})

	t.Run("a platform job re-run after publishing builds nothing", func(t *testing.T) {
		r := f.shardRun(t, "linux/arm64", t.TempDir())
		r.Builder = forbiddenBuilder{t}
		got, err := r.Shard(context.Background())
		if err != nil || len(got) != 0 {
			t.Errorf("Shard after publishing = %v, %v; want nothing built", got, err)
		}
	})
}

// A platform job that fails tags nothing and hands nothing on; finalize
// then refuses, naming the platform, and tags nothing either.
func TestShardFailureTagsNothing(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	runShards(t, f, dir, "linux/amd64")
	r := f.shardRun(t, "linux/arm64", dir)
	b, _, _ := withFakes(t, &r)
	b.Fail, b.FailOn = errors.New("arm64 runner lost"), "dev"
	if _, err := r.Shard(context.Background()); err == nil {
		t.Fatal("Shard: no error from a failed build")
	}
	if _, err := os.Stat(filepath.Join(dir, ShardFileName("linux/arm64"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed platform job wrote its shard file: %v", err)
	}
	fin := f.shardRun(t, config.ShardFinalize, dir)
	_, j, _ := withFakes(t, &fin)
	fin.Builder = forbiddenBuilder{t}
	_, err := fin.Finalize(context.Background())
	wantErr(t, err, "linux/arm64 has none", ShardFileName("linux/arm64"), "GANTRY_SHARD_DIR")
	if entries := j.list(); len(entries) > 0 {
		t.Errorf("finalize touched the registry before refusing: %q", entries)
	}
	sha := f.short(f.c2)
	if got := digests(t, f, sha, "main", sha+"-dev", "main-dev"); got[sha]+got["main"]+got[sha+"-dev"]+got["main-dev"] != "" {
		t.Errorf("tagged after a failed platform job: %v", got)
	}

	// The platform job re-run, finalize completes.
	runShards(t, f, dir, "linux/arm64")
	fin = f.shardRun(t, config.ShardFinalize, dir)
	withFakes(t, &fin)
	if _, err := fin.Finalize(context.Background()); err != nil {
		t.Fatalf("Finalize after the re-run: %v", err)
	}
}

// A finalize re-run after a failure half-way reuses what is published and
// assembles the rest.
func TestFinalizeAfterPartialFailure(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	runShards(t, f, dir, "linux/amd64", "linux/arm64")
	sha := f.short(f.c2)
	r := f.shardRun(t, config.ShardFinalize, dir)
	withFakes(t, &r)
	// dev's tag fails: prod is tagged, the moving tags are not.
	r.Registry = failTag{Registry: r.Registry, tag: f.tag(sha + "-dev")}
	if _, err := r.Finalize(context.Background()); err == nil {
		t.Fatal("Finalize: no error from a failed tag")
	}
	if got := digestOf(t, f.tag(sha)); got == "" || digestOf(t, f.tag("main")) != "" {
		t.Fatalf("after the failure: %s tagged %q, main %q; want prod tagged and main not moved", sha, got, digestOf(t, f.tag("main")))
	}
	r = f.shardRun(t, config.ShardFinalize, dir)
	_, j, _ := withFakes(t, &r)
	res, err := r.Finalize(context.Background())
	if err != nil {
		t.Fatalf("Finalize re-run: %v", err)
	}
	if res[0].How != Reused || res[1].How != Built {
		t.Errorf("re-run: prod %s, dev %s; want prod reused and dev assembled", res[0].How, res[1].How)
	}
	if n := len(slices.DeleteFunc(j.list(), func(e string) bool { return e != "push index linux/amd64,linux/arm64" })); n != 1 {
		t.Errorf("re-run pushed %d indexes, want dev's alone: %q", n, j.list())
	}
	if digestOf(t, f.tag("main")) != res[0].Digest || digestOf(t, f.tag("main-dev")) != res[1].Digest {
		t.Error("the re-run did not move the moving tags")
	}
}

// Finalize refuses what is not this run's: shard files of another commit,
// of another platform, too few, or naming an image of another commit.
func TestFinalizeRefusesAnotherRun(t *testing.T) {
	tests := []struct {
		name   string
		modify func(t *testing.T, f *fixture, dir string)
		want   []string
	}{
		{"a shard file of another commit", func(t *testing.T, f *fixture, dir string) {
			editShard(t, dir, "linux/arm64", func(s *ShardFile) { s.Commit = f.c1 })
		}, []string{"linux/arm64's is of commit " + "%.12s(c1)", "not this run's"}},
		{"a platform the plan does not build", func(t *testing.T, f *fixture, dir string) {
			editShard(t, dir, "linux/arm64", func(s *ShardFile) { s.Platform = "linux/s390x" })
			if err := os.Rename(filepath.Join(dir, ShardFileName("linux/arm64")), filepath.Join(dir, ShardFileName("linux/s390x"))); err != nil {
				t.Fatal(err)
			}
		}, []string{"linux/s390x is not a platform of this plan", "linux/arm64 has none"}},
		{"another repository", func(t *testing.T, f *fixture, dir string) {
			editShard(t, dir, "linux/amd64", func(s *ShardFile) { s.Image = "ghcr.io/acme/other" })
		}, []string{"linux/amd64's pushed to ghcr.io/acme/other"}},
		{"a digest of another commit's image", func(t *testing.T, f *fixture, dir string) {
			img, err := registrytest.NewPlatformImage("linux/arm64", f.c1, "65532:65532")
			if err != nil {
				t.Fatal(err)
			}
			d, err := registrytest.WriteImage(f.image, img)
			if err != nil {
				t.Fatal(err)
			}
			editShard(t, dir, "linux/arm64", func(s *ShardFile) { s.Images[0].Digest = d })
		}, []string{"linux/arm64 prod image", "labelled with commit", "not this commit's build"}},
		{"a file that is not a shard file", func(t *testing.T, f *fixture, dir string) {
			if err := os.WriteFile(filepath.Join(dir, ShardFileName("linux/arm64")), []byte("<html>"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{ShardFileName("linux/arm64"), "re-run the platform jobs"}},
		{"no shard directory", func(t *testing.T, f *fixture, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, []string{"does not exist", "actions/download-artifact", "merge-multiple"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			dir := t.TempDir()
			runShards(t, f, dir, "linux/amd64", "linux/arm64")
			tt.modify(t, f, dir)
			r := f.shardRun(t, config.ShardFinalize, dir)
			_, j, _ := withFakes(t, &r)
			r.Builder = forbiddenBuilder{t}
			_, err := r.Finalize(context.Background())
			want := slices.Clone(tt.want)
			for i, w := range want {
				if w == "linux/arm64's is of commit %.12s(c1)" {
					want[i] = fmt.Sprintf("linux/arm64's is of commit %.12s", f.c1)
				}
			}
			wantErr(t, err, want...)
			if slices.ContainsFunc(j.list(), func(e string) bool { return e != "check push" }) {
				t.Errorf("finalize pushed or tagged before refusing: %q", j.list())
			}
		})
	}
}

// failTag is a registry whose Tag of tag fails.
type failTag struct {
	Registry
	tag string
}

func (r failTag) Tag(ctx context.Context, src, tag string) error {
	if tag == r.tag {
		return fmt.Errorf("tag %s: the registry is down", tag)
	}
	return r.Registry.Tag(ctx, src, tag)
}

// editShard rewrites platform's shard file in dir with edit.
func editShard(t *testing.T, dir, platform string, edit func(*ShardFile)) {
	t.Helper()
	path := filepath.Join(dir, ShardFileName(platform))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s ShardFile
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	if data, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// nodesBuilder is a fakeBuilder whose builder has the given nodes.
type nodesBuilder struct {
	*fakeBuilder
	nodes []buildx.Node
}

func (b nodesBuilder) Inspect(context.Context) (buildx.Builder, error) {
	bl := buildx.Builder{Name: "fleet", Driver: "remote", Nodes: b.nodes}
	for _, n := range b.nodes {
		bl.Platforms = append(bl.Platforms, n.Platforms...)
	}
	return bl, nil
}

// A builder of several nodes must serve every platform of the plan: a
// publish it cannot serve natively fails before buildx runs, with nothing
// pushed or tagged; one that covers them publishes.
func TestPublishOnNodes(t *testing.T) {
	amd := buildx.Node{Name: "fleet0", Endpoint: "tcp://amd:1234", Platforms: []string{"linux/amd64"}}
	arm := buildx.Node{Name: "fleet1", Endpoint: "tcp://arm:1234", Platforms: []string{"linux/arm64"}}
	f := newFixture(t)
	r := f.run(t, false, f.dir, nil)
	b, _, _ := withFakes(t, &r)
	r.Builder = nodesBuilder{b, []buildx.Node{amd, {Name: "fleet1", Endpoint: "tcp://arm:1234", Err: "connection refused"}}}
	_, err := r.Publish(context.Background())
	wantErr(t, err, `no node of buildx builder "fleet" serves linux/arm64`, "fleet1 at tcp://arm:1234 (unreachable: connection refused)", "docker buildx create --append --name fleet --platform linux/arm64")
	if len(b.builds) > 0 {
		t.Errorf("built %d images on a builder that cannot serve the plan", len(b.builds))
	}
	sha := f.short(f.c2)
	if got := digests(t, f, sha, "main"); got[sha]+got["main"] != "" {
		t.Errorf("tagged after the builder check failed: %v", got)
	}
	r.Builder = nodesBuilder{b, []buildx.Node{amd, arm}}
	if _, err := r.Publish(context.Background()); err != nil {
		t.Fatalf("Publish on a node per platform: %v", err)
	}
}

// A sharded release promotes main's build as a single runner's does: the
// platform jobs build nothing, finalize tags main's index. A release of a
// commit main never built is built per platform and assembled.
func TestShardedRelease(t *testing.T) {
	release := func(f *fixture, shard, dir string) Run {
		return f.run(t, true, f.dir, func(c *config.Config) { c.Shard, c.ShardDir = shard, dir })
	}
	t.Run("promoted", func(t *testing.T) {
		f := newFixture(t)
		prod := pushIndex(t, f.tag(f.short(f.c2)), f.c2)
		dir := t.TempDir()
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			r := release(f, p, dir)
			withFakes(t, &r)
			r.Builder = forbiddenBuilder{t}
			if res, err := r.Shard(context.Background()); err != nil || len(res) != 0 {
				t.Fatalf("Shard %s of a promoted release: %v, %v; want nothing built", p, res, err)
			}
		}
		r := release(f, config.ShardFinalize, dir)
		withFakes(t, &r)
		r.Builder = forbiddenBuilder{t}
		res, err := r.Finalize(context.Background())
		if err != nil || len(res) != 1 || res[0].How != Promoted || digestOf(t, f.tag("1.2.3")) != prod {
			t.Errorf("Finalize: %+v, %v; want 1.2.3 promoted from %s", res, err, prod)
		}
	})
	t.Run("built", func(t *testing.T) {
		f := newFixture(t)
		dir := t.TempDir()
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			r := release(f, p, dir)
			b, _, _ := withFakes(t, &r)
			if _, err := r.Shard(context.Background()); err != nil || len(b.builds) != 1 || b.builds[0].Target != "prod" {
				t.Fatalf("Shard %s: %v; builds %d, want prod alone", p, err, len(b.builds))
			}
		}
		r := release(f, config.ShardFinalize, dir)
		withFakes(t, &r)
		res, err := r.Finalize(context.Background())
		if err != nil || len(res) != 1 || res[0].How != Built || digestOf(t, f.tag("1.2.3")) != res[0].Digest {
			t.Errorf("Finalize: %+v, %v; want 1.2.3 assembled", res, err)
		}
	})
}
