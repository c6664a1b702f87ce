package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/pipeline"
	"github.com/gantry-build/gantry/internal/testsvc"
)

// TestScaleOut proves issue 20's promises against the real builder and
// registry: a commit published by one runner, by platform jobs and a
// finalize job (matrix sharding), and on a builder of two BuildKit daemons
// (a node per platform) gives the same platform manifests and the same
// index digests, prod and dev; a failed platform job tags nothing; a
// finalize re-run changes nothing; finalize refuses another commit's shard
// files. The single-runner build is the reference of both others; the
// shards share the shared builder's cache with it, and the second daemon
// imports the cache it exported.
func TestScaleOut(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/scale")
	head := svc.Git(t, "rev-parse", "HEAD")
	ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "acme/scale"}
	publishedTags := []string{head[:7], head[:7] + "-dev"}

	single := env.Registry + "/" + run + "/scale-single"
	// The single runner exports its build cache, which the two-node
	// builder's empty second daemon imports, as a fresh CI runner does:
	// Delve and the dev tools are not built again for arm64 (minutes).
	cache := map[string]string{"GANTRY_CACHE": "registry:" + env.Registry + "/" + run + "/scale-cache"}
	if res := svc.Mage(t, testsvc.Merge(env.GantryEnv(single), ev.Env(t), cache), "ci"); res.Code != 0 {
		t.Fatalf("single-runner publish: exit %d", res.Code)
	}
	want := published(t, single, publishedTags)

	t.Run("matrix: platform jobs, then finalize", func(t *testing.T) {
		repo := env.Registry + "/" + run + "/scale-sharded"
		dir := t.TempDir()
		job := func(shard string, extra map[string]string) map[string]string {
			return testsvc.Merge(env.GantryEnv(repo), ev.Env(t), map[string]string{"GANTRY_SHARD": shard, "GANTRY_SHARD_DIR": dir}, extra)
		}

		// A platform job whose dev build fails hands nothing on, tags nothing.
		broken := job("linux/arm64", map[string]string{"GANTRY_BUILD_ARGS": env.GantryEnv(repo)["GANTRY_BUILD_ARGS"] + ",DEV_IMAGE=" + env.Registry + "/no/such-image:1"})
		if res := svc.Mage(t, broken, "ci"); res.Code == 0 {
			t.Fatal("the broken platform job succeeded")
		}
		if got := tags(t, repo); len(got) > 0 {
			t.Errorf("tags after a failed platform job: %q", got)
		}
		if _, err := os.Stat(filepath.Join(dir, pipeline.ShardFileName("linux/arm64"))); err == nil {
			t.Error("the failed platform job wrote its shard file")
		}

		// Both platform jobs at once, as a matrix runs them on two
		// machines. Here they share a checkout, where two `go tool mage`
		// would compile the magefile into the same file at once: they run
		// one compiled binary.
		mage := filepath.Join(t.TempDir(), "mage")
		if res := svc.Mage(t, nil, "-compile", mage); res.Code != 0 {
			t.Fatalf("mage -compile: exit %d", res.Code)
		}
		var cmds []*exec.Cmd
		var outs []*bytes.Buffer
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			cmd := svc.Command(job(p, nil), mage, "ci")
			out := &bytes.Buffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("platform job %d: %v\n%s", i, err, outs[i])
			}
		}
		if got := tags(t, repo); len(got) > 0 {
			t.Errorf("the platform jobs tagged: %q", got)
		}
		var file pipeline.ShardFile
		data, err := os.ReadFile(filepath.Join(dir, pipeline.ShardFileName("linux/arm64")))
		if err == nil {
			err = json.Unmarshal(data, &file)
		}
		if err != nil || file.Commit != head || len(file.Images) != 2 {
			t.Errorf("arm64 shard file: %+v, %v", file, err)
		}

		finalize := job("finalize", nil)
		if res := svc.Mage(t, finalize, "ci"); res.Code != 0 {
			t.Fatalf("finalize: exit %d", res.Code)
		}
		got := published(t, repo, publishedTags)
		for key, w := range want {
			if got[key] != w {
				t.Errorf("%s: sharded %s, single runner %s", key, got[key], w)
			}
		}
		if _, d := index(t, repo+":main"); d.String() != got[head[:7]+" index"] {
			t.Errorf("main = %s, want prod's index", d)
		}

		t.Run("finalize again: nothing changes", func(t *testing.T) {
			before := digests(t, repo)
			res := svc.Mage(t, finalize, "ci")
			if res.Code != 0 {
				t.Fatalf("finalize again: exit %d", res.Code)
			}
			after := digests(t, repo)
			for tag, d := range before {
				if after[tag] != d {
					t.Errorf("%s moved from %s to %s", tag, d, after[tag])
				}
			}
			if !strings.Contains(res.Stderr, "a re-run, not rebuilt") {
				t.Error("finalize again did not reuse what was published")
			}
		})

		t.Run("finalize refuses another commit's shard files", func(t *testing.T) {
			svc.Write(t, "NEXT.txt", "next\n")
			next := svc.Commit(t, "the next commit")
			evNext := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: next, Repository: "acme/scale"}
			res := svc.Mage(t, testsvc.Merge(finalize, evNext.Env(t)), "ci")
			if res.Code == 0 {
				t.Fatal("finalize of the next commit accepted this commit's shard files")
			}
			if !strings.Contains(res.Stderr, "is of commit "+head[:12]) || !strings.Contains(res.Stderr, "not this run's") {
				t.Errorf("the refusal does not say the files are another commit's")
			}
			if got := tags(t, repo); strings.Contains(strings.Join(got, " "), next[:7]) {
				t.Errorf("tagged the next commit: %q", got)
			}
			svc.Git(t, "reset", "-q", "--hard", head)
		})
	})

	t.Run("a builder of two daemons, a node per platform", func(t *testing.T) {
		const fresh = "e2e-scale-arm"
		t.Cleanup(func() {
			cmd := exec.Command("scripts/testenv", "fresh-stop", fresh)
			cmd.Dir = testsvc.Root(t)
			cmd.Run()
		})
		arm := endpoint(t, freshBuilder(t, fresh))
		amd := endpoint(t, env.Builder)
		pair := "e2e-scale-pair"
		exec.Command("docker", "buildx", "rm", pair).Run()
		t.Cleanup(func() { exec.Command("docker", "buildx", "rm", pair).Run() })
		for _, args := range [][]string{
			{"buildx", "create", "--name", pair, "--driver", "remote", "--platform", "linux/amd64", amd},
			{"buildx", "create", "--append", "--name", pair, "--platform", "linux/arm64", arm},
		} {
			if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
				t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		repo := env.Registry + "/" + run + "/scale-nodes"
		res := svc.Mage(t, testsvc.Merge(env.GantryEnv(repo), ev.Env(t), cache, map[string]string{"BUILDX_BUILDER": pair}), "ci")
		if res.Code != 0 {
			t.Fatalf("publish on two nodes: exit %d", res.Code)
		}
		got := published(t, repo, publishedTags)
		for key, w := range want {
			if got[key] != w {
				t.Errorf("%s: two nodes %s, one %s", key, got[key], w)
			}
		}
		// The second daemon started empty: what it holds now it built.
		out, err := exec.Command("docker", "buildx", "du", "--builder", "gantry-fresh-"+fresh).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Total:") || strings.Contains(string(out), "Total:\t0B") {
			t.Errorf("the arm64 node built nothing: %v\n%s", err, out)
		}
	})
}

// published returns, for each of tags in repo, its index digest and each
// platform's manifest digest and layers.
func published(t *testing.T, repo string, tags []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tag := range tags {
		idx, d := index(t, repo+":"+tag)
		out[tag+" index"] = d.String()
		for platform, img := range platformImages(t, idx) {
			out[tag+" "+platform] = describe(t, img)
		}
	}
	if len(out) != 3*len(tags) {
		t.Fatalf("%s: %d entries, want an index and two platforms per tag: %v", repo, len(out), out)
	}
	return out
}

// endpoint is the BuildKit address of a buildx builder's first node.
func endpoint(t *testing.T, builder string) string {
	t.Helper()
	out, err := exec.Command("docker", "buildx", "inspect", builder).Output()
	if err != nil {
		t.Fatalf("docker buildx inspect %s: %v", builder, err)
	}
	b := buildx.ParseInspect(string(out))
	if len(b.Nodes) == 0 || b.Nodes[0].Endpoint == "" {
		t.Fatalf("builder %s has no node endpoint:\n%s", builder, out)
	}
	return b.Nodes[0].Endpoint
}
