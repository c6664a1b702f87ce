package conformance

import (
	"slices"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
)

// wf is a small workflow: the triggers, the workflow-level lines and the
// jobs given, named Container, with the template's concurrency group last
// (so that it moves no line the tests name).
func wf(on, top, jobs string) string {
	return unserialised(on, top, jobs) + serialised
}

// unserialised is wf without the concurrency group.
func unserialised(on, top, jobs string) string {
	return "name: Container\non:\n" + on + top + "jobs:\n" + jobs
}

const serialised = "concurrency:\n  group: container-${{ github.ref }}\n  cancel-in-progress: true\n"

// The triggers take two lines, as the lines the tests name expect.
const (
	onPush = "  # pushes to main publish, v* tags release\n  push: {branches: [main], tags: [\"v*\"]}\n"
	onAll  = onPush + "  pull_request:\n"
	read   = "permissions:\n  contents: read\n"
)

// job is a job running mage ci, with extra lines (if:, permissions:).
func job(id, extra string) string {
	return "  " + id + ":\n    runs-on: ubuntu-latest\n" + extra + "    steps:\n      - uses: actions/checkout@v4\n      - run: go tool mage ci\n"
}

func TestCheckWorkflow(t *testing.T) {
	t.Parallel()
	writePackages := "    permissions:\n      contents: read\n      packages: write\n"
	tests := []struct {
		name          string
		workflow      string
		emulation     Emulation
		publishBranch string // main when empty
		signing       string // off when empty: most cases are about other rules
		want          []want
	}{
		{name: "the template", workflow: string(workflow.PublishGHCR), emulation: Emulation{Known: true, Path: "Dockerfile"}, signing: config.SigningKeyless},
		{name: "minimal", workflow: wf(onAll, read, job("build", ""))},
		{name: "the matrix template", workflow: string(workflow.Matrix), emulation: Emulation{Known: true, Path: "Dockerfile"}, signing: config.SigningKeyless},
		{name: "the matrix template without its finalize job", workflow: string(workflow.Matrix[:strings.Index(string(workflow.Matrix), "  # Once every platform job")]), signing: config.SigningKeyless,
			want: []want{{RuleWorkflowShard, Error, 57, "`needs: platform`"}}},
		{name: "the matrix template, finalize without id-token, keyless", workflow: strings.Replace(string(workflow.Matrix), "      id-token: write\n", "", 1), signing: config.SigningKeyless,
			want: []want{{RuleWorkflowSigning, Warning, 99, "add `id-token: write`"}}},
		{name: "a platform job (set in the step) needs no id-token, but a finalize job", workflow: strings.Replace(wf(onPush, read, job("arm", "    permissions:\n      packages: write\n")), "mage ci\n", "mage ci\n        env:\n          GANTRY_SHARD: linux/arm64\n", 1), signing: config.SigningKeyless,
			want: []want{{RuleWorkflowShard, Error, 8, "GANTRY_SHARD=finalize"}}},
		{name: "a finalize job that needs another job", workflow: wf(onPush, read, job("arm", "    env:\n      GANTRY_SHARD: linux/arm64\n")+job("other", "")+job("fin", "    needs: other\n    env:\n      GANTRY_SHARD: finalize\n")),
			want: []want{{RuleWorkflowShard, Error, 8, "`needs: arm`"}}},

		{name: "another name", workflow: strings.Replace(wf(onAll, read, job("build", "")), "name: Container", "name: Docker", 1),
			want: []want{{RuleWorkflowName, Error, 1, "`name: Container`"}}},
		{name: "no name", workflow: strings.Replace(wf(onAll, read, job("build", "")), "name: Container\n", "", 1),
			want: []want{{RuleWorkflowName, Error, 1, "`name: Container`"}}},

		{name: "no mage ci", workflow: strings.Replace(wf(onAll, read, job("build", "")), "go tool mage ci", "make release", 1),
			want: []want{{RuleWorkflowMageCI, Error, 0, "run: go tool mage ci"}}},
		{name: "another target", workflow: strings.Replace(wf(onAll, read, job("build", "")), "go tool mage ci", "go tool mage publish", 1),
			want: []want{{RuleWorkflowMageCI, Error, 0, "run: go tool mage ci"}}},
		{name: "mage ci with a flag, in a script", workflow: strings.Replace(wf(onAll, read, job("build", "")), "- run: go tool mage ci", "- run: |\n          go version\n          mage -v ci", 1)},

		{name: "packages: write inherited by every job", workflow: wf(onAll, "permissions:\n  packages: write\n", job("build", "")),
			want: []want{{RuleWorkflowPermission, Error, 6, "`if: github.event_name == 'push'`"}}},
		{name: "write-all", workflow: wf(onAll, "permissions: write-all\n", job("build", "")),
			want: []want{{RuleWorkflowPermission, Error, 6, "contents: read"}, {RuleWorkflowPermission, Error, 6, "move `id-token: write` to the publishing job"}}},
		{name: "packages: write on the pull request job", workflow: wf(onAll, read, job("build", "    if: github.event_name == 'pull_request'\n"+writePackages)),
			want: []want{{RuleWorkflowPermission, Error, 12, "grant packages: write only"}}},
		{name: "packages: write on a job without if", workflow: wf(onAll, read, job("build", writePackages)),
			want: []want{{RuleWorkflowPermission, Error, 11, "grant packages: write only"}}},
		{name: "packages: write on the push job", workflow: wf(onAll, read, job("publish", "    if: github.event_name == 'push'\n"+writePackages))},
		{name: "inherited by a push job", workflow: wf(onAll, "permissions:\n  packages: write\n", job("publish", "    if: ${{ github.event_name == 'push' }}\n"))},
		{name: "not for pull requests", workflow: wf(onAll, read, job("publish", "    if: github.event_name != 'pull_request'\n"+writePackages))},
		{name: "on the main branch", workflow: wf(onAll, read, job("publish", "    if: github.ref == 'refs/heads/main'\n"+writePackages))},
		{name: "on tags", workflow: wf(onAll, read, job("publish", "    if: startsWith(github.ref, 'refs/tags/v')\n"+writePackages))},
		{name: "push and something", workflow: wf(onAll, read, job("publish", "    if: github.event_name == 'push' && !cancelled()\n"+writePackages))},
		{name: "push or pull request", workflow: wf(onAll, read, job("publish", "    if: github.event_name == 'push' || github.event_name == 'pull_request'\n"+writePackages)),
			want: []want{{RuleWorkflowPermission, Error, 12, "grant packages: write only"}}},
		{name: "pull_request_target runs on the base branch", workflow: wf(onAll+"  pull_request_target:\n", read, job("publish", "    if: github.ref == 'refs/heads/main'\n"+writePackages)),
			want: []want{{RuleWorkflowPermission, Error, 13, "grant packages: write only"}}},
		{name: "an expression inside text is always true", workflow: wf(onAll, read, job("publish", "    if: event ${{ github.event_name == 'push' }}\n"+writePackages)),
			want: []want{{RuleWorkflowPermission, Error, 12, "grant packages: write only"}}},
		{name: "no pull request trigger", workflow: wf(onPush, "permissions:\n  packages: write\n", job("publish", ""))},
		{name: "no permissions anywhere", workflow: wf(onAll, "", job("build", "")),
			want: []want{{RuleWorkflowPermission, Warning, 7, "permissions: {contents: read}"}}},

		// id-token: write lets a job sign as the workflow (keyless).
		{name: "id-token: write for every job", workflow: wf(onAll, "permissions:\n  contents: read\n  id-token: write\n", job("build", "")),
			want: []want{{RuleWorkflowPermission, Error, 6, "move `id-token: write` to the publishing job"}}},
		{name: "id-token: write at the top though each job sets its own", workflow: wf(onAll, "permissions:\n  id-token: write\n", job("build", "    if: github.event_name == 'pull_request'\n    permissions:\n      contents: read\n")),
			want: []want{{RuleWorkflowPermission, Error, 6, "keep the workflow's own permissions at `contents: read`"}}},
		{name: "id-token: write at the top, no pull request trigger", workflow: wf(onPush, "permissions:\n  id-token: write\n", job("publish", ""))},
		{name: "id-token: write on the pull request job", workflow: wf(onAll, read, job("build", "    if: github.event_name == 'pull_request'\n    permissions:\n      id-token: write\n")),
			want: []want{{RuleWorkflowPermission, Error, 12, "which runs for push only"}}},
		{name: "id-token: write on a job without if", workflow: wf(onAll, read, job("build", "    permissions:\n      contents: read\n      id-token: write\n")),
			want: []want{{RuleWorkflowPermission, Error, 11, "which runs for push only"}}},
		{name: "id-token: write on a job of pull_request_target", workflow: wf(onPush+"  pull_request_target:\n", read, job("build", "    if: github.event_name != 'pull_request'\n    permissions:\n      id-token: write\n")),
			want: []want{{RuleWorkflowPermission, Error, 12, "which runs for push only"}}},
		{name: "write-all on a pull request job", workflow: wf(onAll, read, job("build", "    permissions: write-all\n")),
			want: []want{{RuleWorkflowPermission, Error, 11, "grant packages: write only"}, {RuleWorkflowPermission, Error, 11, "move `id-token: write`"}}},
		{name: "id-token: write on the push job", workflow: wf(onAll, read, job("publish", "    if: github.event_name == 'push'\n    permissions:\n      id-token: write\n")), signing: config.SigningKeyless},
		{name: "id-token: read is no grant", workflow: wf(onAll, read, job("build", "    permissions:\n      id-token: read\n"))},

		// Keyless signing needs id-token: write on the job that publishes.
		{name: "keyless, and the push job lacks id-token", workflow: wf(onAll, read, job("publish", "    if: github.event_name == 'push'\n"+writePackages)), signing: config.SigningKeyless,
			want: []want{{RuleWorkflowSigning, Warning, 12, "add `id-token: write` under the job's `permissions:`"}}},
		{name: "keyless, and the push job inherits no id-token", workflow: wf(onAll, read, job("publish", "    if: github.event_name == 'push'\n")), signing: config.SigningKeyless,
			want: []want{{RuleWorkflowSigning, Warning, 9, "GANTRY_SIGNING=key"}}},
		{name: "keyless, and the push job inherits id-token", workflow: wf(onPush, "permissions:\n  contents: read\n  id-token: write\n", job("publish", "")), signing: config.SigningKeyless},
		{name: "keyless, and one job for pushes and pull requests", workflow: wf(onAll, read, job("build", "")), signing: config.SigningKeyless,
			want: []want{{RuleWorkflowSigning, Warning, 9, "split it first"}}},
		{name: "keyless: the pull request job needs none", workflow: wf(onAll, read, job("build", "    if: github.event_name == 'pull_request'\n")+job("publish", "    if: github.event_name == 'push'\n    permissions:\n      packages: write\n      id-token: write\n")), signing: config.SigningKeyless},
		{name: "signing with a key needs no id-token", workflow: wf(onAll, read, job("publish", "    if: github.event_name == 'push'\n"+writePackages)), signing: config.SigningKey},
		{name: "the template without id-token, keyless", workflow: strings.Replace(string(workflow.PublishGHCR), "      id-token: write\n", "", 1), signing: config.SigningKeyless,
			want: []want{{RuleWorkflowSigning, Warning, 49, "add `id-token: write`"}}},

		{name: "action at latest", workflow: strings.Replace(wf(onAll, read, job("build", "")), "checkout@v4", "checkout@latest", 1),
			want: []want{{RuleLatest, Error, 12, "explicit version"}}},
		{name: "docker action without a tag", workflow: strings.Replace(wf(onAll, read, job("build", "")), "actions/checkout@v4", "docker://alpine", 1),
			want: []want{{RuleLatest, Error, 12, "explicit version"}}},
		{name: "input latest", workflow: strings.Replace(wf(onAll, read, job("build", "")), "checkout@v4", "checkout@v4\n        with:\n          version: latest", 1),
			want: []want{{RuleLatest, Error, 14, "explicit version"}}},
		{name: "job container at latest", workflow: wf(onAll, read, job("build", "    container: golang:latest\n")),
			want: []want{{RuleLatest, Error, 11, "explicit version"}}},
		{name: "service container without a tag", workflow: wf(onAll, read, job("build", "    services:\n      db:\n        image: postgres\n")),
			want: []want{{RuleLatest, Error, 13, "explicit version"}}},
		{name: "go install @latest", workflow: strings.Replace(wf(onAll, read, job("build", "")), "- run: go tool mage ci", "- run: go install golang.org/x/tools/cmd/stringer@latest\n      - run: go tool mage ci", 1),
			want: []want{{RuleLatest, Error, 13, "explicit version"}}},

		{name: "not a workflow", workflow: "name: Container\non: [push\n",
			want: []want{{RuleWorkflowParse, Error, 1, "syntax"}}},

		{name: "no concurrency group", workflow: unserialised(onAll, read, job("build", "")),
			want: []want{{RuleWorkflowConcurrency, Error, 9, "group: container-${{ github.ref }}"}}},
		{name: "no concurrency group on the publishing job", workflow: unserialised(onAll, read, job("build", "    if: github.event_name == 'pull_request'\n")+job("publish", "    if: github.ref == 'refs/heads/main'\n"+writePackages)),
			want: []want{{RuleWorkflowConcurrency, Error, 15, "cancel-in-progress"}}},
		{name: "concurrency on the publishing job", workflow: unserialised(onAll, read, job("build", "    if: github.event_name == 'pull_request'\n")+job("publish", "    if: github.event_name == 'push'\n    concurrency: container-${{ github.ref }}\n"+writePackages))},
		// A ref names no pull request, but it may well name a push.
		{name: "no concurrency group on the tag job", workflow: unserialised(onAll, read, job("release", "    if: startsWith(github.ref, 'refs/tags/v')\n"+writePackages)),
			want: []want{{RuleWorkflowConcurrency, Error, 9, "group: container-${{ github.ref }}"}}},
		{name: "a pull request job needs none", workflow: unserialised(onAll, read, job("build", "    if: github.event_name == 'pull_request'\n"))},
		{name: "a group per run serialises nothing", workflow: unserialised(onAll, read+"concurrency:\n  group: container-${{ github.run_id }}\n", job("build", "")),
			want: []want{{RuleWorkflowConcurrency, Error, 9, "key the group by the ref only"}}},
		{name: "a group per commit serialises nothing", workflow: unserialised(onAll, read, job("build", "    concurrency:\n      group: ${{ github.workflow }}-${{ github.sha }}\n")),
			want: []want{{RuleWorkflowConcurrency, Error, 12, "key the group by the ref only"}}},
		{name: "a group per pull request or ref", workflow: unserialised(onAll, read+"concurrency:\n  group: ${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}\n  cancel-in-progress: false\n", job("build", ""))},
		{name: "one group for every run", workflow: unserialised(onAll, read+"concurrency: publish\n", job("build", ""))},
		{name: "QEMU that no target needs", workflow: strings.Replace(wf(onAll, read, job("build", "")), "      - run: go tool mage ci", "      - uses: docker/setup-qemu-action@v3\n      - run: go tool mage ci", 1),
			emulation: Emulation{Known: true, Path: "Dockerfile"},
			want:      []want{{RuleWorkflowQEMU, Warning, 13, "remove the docker/setup-qemu-action step"}}},
		{name: "QEMU that a RUN needs", workflow: strings.Replace(wf(onAll, read, job("build", "")), "      - run: go tool mage ci", "      - uses: docker/setup-qemu-action@v3\n      - run: go tool mage ci", 1),
			emulation: Emulation{Known: true, Path: "Dockerfile", RunLines: []int{8}}},
		{name: "a RUN that needs QEMU, and none", workflow: wf(onAll, read, job("build", "")),
			emulation: Emulation{Known: true, Path: "Dockerfile", RunLines: []int{8, 12}},
			want:      []want{{RuleWorkflowQEMU, Warning, 13, "FROM --platform=$BUILDPLATFORM"}}},

		{name: "the template on another publishing branch", workflow: string(workflow.PublishGHCR), publishBranch: "master",
			want: []want{{RuleWorkflowBranch, Error, 8, "`branches: [\"master\"]`"}}},
		{name: "the publishing branch among others", workflow: wf("  push:\n    branches: [develop, master]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "master"},
		{name: "the publishing branch by a glob", workflow: wf("  push:\n    branches: [\"release/**\"]\n    tags: [\"v[0-9]+.*\"]\n", read, job("build", "")), publishBranch: "release/v2/main"},
		{name: "a single * stops at a slash", workflow: wf("  push:\n    branches: [\"release/*\"]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "release/v2/main",
			want: []want{{RuleWorkflowBranch, Error, 4, "`branches: [\"release/v2/main\"]`"}}},
		{name: "the publishing branch excluded by a later !", workflow: wf("  push:\n    branches: [\"*\", \"!master\"]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "master",
			want: []want{{RuleWorkflowBranch, Error, 4, "`branches: [\"master\"]`"}}},
		{name: "the publishing branch ignored", workflow: wf("  push:\n    branches-ignore: [master]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "master",
			want: []want{{RuleWorkflowBranch, Error, 4, "`branches: [\"master\"]`"}}},
		{name: "every branch but others ignored", workflow: wf("  push:\n    branches-ignore: [\"dependabot/**\"]\n", read, job("build", "")), publishBranch: "master",
			want: []want{{RuleWorkflowBranch, Error, 3, "`tags: [\"v*\"]`"}}},
		{name: "a non-ASCII publishing branch matches itself", workflow: wf("  push:\n    branches: [développement]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "développement"},
		{name: "a non-ASCII publishing branch by a glob", workflow: wf("  push:\n    branches: [\"dév*\", \"!dév?x\"]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "développement"},
		{name: "a non-ASCII publishing branch excluded", workflow: wf("  push:\n    branches: [\"**\", \"!développement\"]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "développement",
			want: []want{{RuleWorkflowBranch, Error, 4, "`branches: [\"développement\"]`"}}},
		{name: "an unescaped + is a repetition", workflow: wf("  push:\n    branches: [1.2.3+meta]\n    tags: [\"v*\"]\n", read, job("build", "")), publishBranch: "1.2.3+meta",
			want: []want{{RuleWorkflowBranch, Error, 4, "`branches: [\"1.2.3\\\\+meta\"]`"}}},
		{name: "push without filters runs for every branch and tag", workflow: wf("  push:\n  pull_request:\n", read, job("build", "")), publishBranch: "master"},
		{name: "no tag filter: tags do not run it", workflow: wf("  push:\n    branches: [main]\n", read, job("build", "")),
			want: []want{{RuleWorkflowBranch, Error, 3, "`tags: [\"v*\"]`"}}},
		{name: "tags not v*", workflow: wf("  push:\n    branches: [main]\n    tags: [\"release-*\"]\n", read, job("build", "")),
			want: []want{{RuleWorkflowBranch, Error, 5, "`tags: [\"v*\"]`"}}},
		{name: "only tags: no branch runs it", workflow: wf("  push:\n    tags: [\"v*\"]\n", read, job("build", "")),
			want: []want{{RuleWorkflowBranch, Error, 3, "`branches: [\"main\"]`"}}},
		{name: "no push at all", workflow: wf("  pull_request:\n", read, job("build", "")),
			want: []want{{RuleWorkflowBranch, Error, 1, "`push: {branches: [\"main\"], tags: [\"v*\"]}`"}}},
		{name: "QEMU and an unreadable Dockerfile", workflow: strings.Replace(wf(onAll, read, job("build", "")), "      - run: go tool mage ci", "      - uses: docker/setup-qemu-action@v3\n      - run: go tool mage ci", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			branch := tt.publishBranch
			if branch == "" {
				branch = "main"
			}
			signing := tt.signing
			if signing == "" {
				signing = config.SigningOff
			}
			assertFindings(t, CheckWorkflow("publish-ghcr.yml", []byte(tt.workflow), tt.emulation, branch, signing), tt.want)
		})
	}
}

// TestWorkflowForBranch: the workflow gantry init writes for a publishing
// branch runs for a push of that branch, whatever characters it holds,
// and not for a branch its characters would match as a pattern.
func TestWorkflowForBranch(t *testing.T) {
	for _, tt := range []struct{ branch, other string }{
		{"master", "mast"},
		{"développement", "developpement"},
		{"c++", "c"},
		{"!main", "main"},
		{"1.2.3+meta", "1.2.33meta"},
		{"feature]x", "feature"},
		{`say"hi"`, "say"},
	} {
		content, err := workflow.ForBranch(tt.branch)
		if err != nil {
			t.Fatal(err)
		}
		for branch, runs := range map[string]bool{tt.branch: true, tt.other: false} {
			found := slices.ContainsFunc(CheckWorkflow("publish-ghcr.yml", content, Emulation{}, branch, config.SigningKeyless), func(f Finding) bool { return f.Rule == RuleWorkflowBranch })
			if found == runs {
				t.Errorf("the workflow for %q, publishing branch %q: workflow-branch finding %t, want %t", tt.branch, branch, found, !runs)
			}
		}
	}
}

// TestWorkflowBranchMessage: the message names the filters found.
func TestWorkflowBranchMessage(t *testing.T) {
	t.Parallel()
	tests := []struct{ on, want string }{
		{"  push:\n    branches: [main, develop]\n    tags: [\"v*\"]\n", "pushes to the publishing branch \"master\" do not run the workflow (its push filters: branches: [main, develop])"},
		{"  push:\n    branches-ignore: [master]\n    tags: [\"v*\"]\n", "(its push filters: branches-ignore: [master])"},
		{"  push:\n    tags: [\"v*\"]\n", "(its push filters: no branches filter, only tags, so no branch runs it)"},
	}
	for _, tt := range tests {
		got := CheckWorkflow("publish-ghcr.yml", []byte(wf(tt.on, read, job("build", ""))), Emulation{}, "master", config.SigningOff)
		if len(got) != 1 || !strings.Contains(got[0].Message, tt.want) {
			t.Errorf("on:\n%s: findings %v, want one whose message holds %q", tt.on, got, tt.want)
		}
	}
}

func TestCheckOtherWorkflow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		workflow string
		want     []want
	}{
		{name: "runs mage ci", workflow: wf(onAll, read, job("build", "")),
			want: []want{{RuleWorkflowMisplaced, Error, 13, "rename it to .github/workflows/publish-ghcr.yml"}}},
		{name: "runs something else", workflow: strings.Replace(wf(onAll, read, job("build", "")), "mage ci", "test ./...", 1)},
		{name: "not a workflow", workflow: "key: [\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertFindings(t, CheckOtherWorkflow("test.yml", []byte(tt.workflow)), tt.want)
		})
	}
}

func TestRunsMageCI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		script string
		want   bool
	}{
		{"go tool mage ci", true},
		{"mage ci", true},
		{"./bin/mage -v ci", true},
		{"go tool mage -v -t 30m ci;", true},
		{"set -e\ngo tool mage ci\n", true},
		{"go tool mage build && echo ci", false},
		{"mage publish", false},
		{"echo mage; ci", false},
		{"make ci", false},
	}
	for _, tt := range tests {
		if got := runsMageCI(tt.script); got != tt.want {
			t.Errorf("runsMageCI(%q) = %t, want %t", tt.script, got, tt.want)
		}
	}
}
