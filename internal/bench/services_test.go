//go:build bench

package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gantry-build/gantry/internal/testsvc"
)

// serviceMain is the main package of each of the five services of the
// services section: small, stamped as the targets stamp by default, and
// linking the shared package, as a monorepo's services do.
const serviceMain = `package main

import (
	"fmt"

	"example.com/mono/internal/shared"
)

var version, commit, date string

func main() { fmt.Println(%q, shared.Name, version, commit, date) }
`

// services times `go tool mage ci` for a push to main in a repository of
// five services, after a commit that changes one of them: affected-only
// (the other four skipped) against a full build of all five
// (GANTRY_BUILD_ALL=true), measured in rounds.
func (b *bench) services(t *testing.T) {
	const n = 5
	svc := &testsvc.Service{Dir: t.TempDir()}
	svc.Write(t, "go.mod", "module example.com/mono\n\ngo 1.26\n")
	svc.Write(t, "internal/shared/shared.go", "package shared\n\nconst Name = \"mono\"\n")
	svc.Write(t, ".gitignore", "bin/\n")
	for i := 1; i <= n; i++ {
		svc.Write(t, fmt.Sprintf("cmd/svc%d/main.go", i), fmt.Sprintf(serviceMain, fmt.Sprintf("svc%d", i)))
	}
	svc.Git(t, "init", "-q", "-b", "main")
	if report := svc.Init(t); !strings.Contains(report, "decided services") {
		t.Fatalf("gantry init did not lay out the services:\n%s", report)
	}
	svc.Commit(t, "five services")
	repo := fmt.Sprintf("%s/bench/services-%d", env.Registry, time.Now().UnixNano())
	ci := func(extra map[string]string) func() error { return publishHead(t, svc, repo, extra) }
	// The first publish gives every service its moving tags.
	if err := ci(nil)(); err != nil {
		t.Fatal(err)
	}
	changeOne := func(i int) {
		svc.Write(t, "cmd/svc1/change.go", fmt.Sprintf("package main\n\nconst change = %d\n", time.Now().UnixNano()))
		svc.Commit(t, fmt.Sprintf("change svc1, %d", i))
	}
	affected := &figure{prepare: changeOne, fn: ci(nil)}
	all := &figure{prepare: changeOne, fn: ci(map[string]string{"GANTRY_BUILD_ALL": "true"})}
	measureRounds(t, runs, affected, all)
	b.printf("## 10. Several services: a commit that changes one of five\n\n`go tool mage ci` for a push to main in a repository of five small services (`./cmd/svc1` to `./cmd/svc5`, sharing a package; `gantry init` lays them out in `Config.Services`), prod and dev for linux/amd64 and linux/arm64 each, after a commit that changes `svc1` only, warm.\n\n| publish | time |\n|---|---|\n| affected-only: `svc1` built, the other four skipped (their inputs digests equal their `main` images') | %s |\n| all five built (`GANTRY_BUILD_ALL=true`), at once on the one builder | %s |\n\nAffected-only takes **%s** the time of building all five. The rows are measured in rounds. Both include Mage's start, one `go list` per service and, for affected-only, the registry reads of each service's moving tags; the four skipped services get no tag.\n\n",
		affected.stats, all.stats, ratio(affected.stats, all.stats))
}
