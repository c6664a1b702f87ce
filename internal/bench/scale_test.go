//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/testsvc"
)

// scale measures issue 20's two ways to scale out, on warm publishes of a
// one-line change: a builder of two BuildKit daemons, a node per
// platform, against the one daemon; and a matrix publish, two platform
// jobs at once then the finalize job, against one job building both.
func (b *bench) scale(t *testing.T) {
	svc := testsvc.New(t, "github.com/acme/scale")
	change := oneLineChange(t, svc)
	stamp := time.Now().UnixNano()

	// Two nodes: the shared daemon serves amd64, a second one arm64.
	const name = "bench-scale-arm"
	defer func() {
		cmd := exec.Command("scripts/testenv", "fresh-stop", name)
		cmd.Dir = b.root
		cmd.Run()
	}()
	cmd := exec.Command("scripts/testenv", "fresh", name)
	cmd.Dir = b.root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/testenv fresh %s: %v", name, err)
	}
	pair := "bench-scale-pair"
	exec.Command("docker", "buildx", "rm", pair).Run()
	defer exec.Command("docker", "buildx", "rm", pair).Run()
	for _, args := range [][]string{
		{"buildx", "create", "--name", pair, "--driver", "remote", "--platform", "linux/amd64", nodeEndpoint(t, env.Builder)},
		{"buildx", "create", "--append", "--name", pair, "--platform", "linux/arm64", nodeEndpoint(t, strings.TrimSpace(string(out)))},
	} {
		if err := command("", nil, "docker", args...); err != nil {
			t.Fatal(err)
		}
	}
	oneRepo := fmt.Sprintf("%s/bench/scale-one-%d", env.Registry, stamp)
	twoRepo := fmt.Sprintf("%s/bench/scale-two-%d", env.Registry, stamp)
	one := publishHead(t, svc, oneRepo, nil)
	two := publishHead(t, svc, twoRepo, map[string]string{"BUILDX_BUILDER": pair})
	// The second daemon starts empty: one untimed publish fills its cache.
	change(0)
	if err := one(); err != nil {
		t.Fatal(err)
	}
	if err := two(); err != nil {
		t.Fatal(err)
	}
	oneDaemon, twoNodes := &figure{prepare: change, fn: one}, &figure{fn: two}
	measureRounds(t, runs, oneDaemon, twoNodes)

	// Matrix: two platform jobs at once, then finalize, against one job.
	mage := filepath.Join(t.TempDir(), "mage")
	if res := svc.Mage(t, nil, "-compile", mage); res.Code != 0 {
		t.Fatalf("mage -compile: exit %d", res.Code)
	}
	singleRepo := fmt.Sprintf("%s/bench/scale-single-%d", env.Registry, stamp)
	shardRepo := fmt.Sprintf("%s/bench/scale-sharded-%d", env.Registry, stamp)
	job := func(shard, dir string) map[string]string {
		head := svc.Git(t, "rev-parse", "HEAD")
		ev := testsvc.Event{Name: "push", Ref: "refs/heads/main", SHA: head, Repository: "acme/bench"}
		return testsvc.Merge(env.GantryEnv(shardRepo), ev.Env(t), map[string]string{"GANTRY_SHARD": shard, "GANTRY_SHARD_DIR": dir})
	}
	var dir string
	var finalize stats
	shards := func() error {
		dir = t.TempDir()
		var cmds []*exec.Cmd
		var outs []*bytes.Buffer
		for _, p := range both {
			cmd := svc.Command(job(p, dir), mage, "ci")
			out := &bytes.Buffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				return err
			}
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				return fmt.Errorf("platform job %s: %v\n%s", both[i], err, outs[i])
			}
		}
		start := time.Now()
		if res := svc.Exec(t, job("finalize", dir), mage, "ci"); res.Code != 0 {
			return fmt.Errorf("finalize: exit %d", res.Code)
		}
		finalize = append(finalize, time.Since(start))
		return nil
	}
	single, sharded := &figure{prepare: change, fn: publishHead(t, svc, singleRepo, nil)}, &figure{fn: shards}
	measureRounds(t, runs, single, sharded)

	b.printf("## 11. Scaling out: two nodes, and a matrix of platform jobs\n\n")
	b.printf("Warm publishes (`go tool mage ci` for a push to main, prod and dev for linux/amd64 and linux/arm64, signing off) of a one-line change, alternated round by round.\n\n")
	b.printf("**A builder of two nodes** (`docker buildx create --append --platform linux/arm64`): the shared BuildKit daemon serves linux/amd64, a second daemon on the same machine linux/arm64. There is no arm64 machine here: the second daemon's arm64 work stands in for a native arm64 machine's, on the same 2 cores, so the figure shows what splitting costs and what runs at once, not what a second machine adds.\n\n")
	b.printf("| builder | publish |\n|---|---|\n| one daemon, both platforms | %s |\n| two daemons, a node per platform | %s (%s of one) |\n\n", oneDaemon.stats, twoNodes.stats, ratio(twoNodes.stats, oneDaemon.stats))
	b.printf("**A matrix** (`gantry init -matrix`): two platform jobs (`GANTRY_SHARD=linux/amd64`, `linux/arm64`) run at once as separate processes on this machine against the shared daemon, then the finalize job (`GANTRY_SHARD=finalize`) assembles the indexes, verifies, tags and moves the tags. On GitHub the platform jobs run on two runners, each with its own cores; here they share 2.\n\n")
	b.printf("| publish | time |\n|---|---|\n| one job building both platforms | %s |\n| platform jobs at once, then finalize | %s (%s of one job) |\n| of which finalize | %s |\n\n", single.stats, sharded.stats, ratio(sharded.stats, single.stats), finalize)
}

// nodeEndpoint is the BuildKit address of a buildx builder's first node.
func nodeEndpoint(t *testing.T, builder string) string {
	t.Helper()
	out, err := exec.Command("docker", "buildx", "inspect", builder).Output()
	if err != nil {
		t.Fatalf("docker buildx inspect %s: %v", builder, err)
	}
	nodes := buildx.ParseInspect(string(out)).Nodes
	if len(nodes) == 0 || nodes[0].Endpoint == "" {
		t.Fatalf("builder %s has no node endpoint:\n%s", builder, out)
	}
	return nodes[0].Endpoint
}
