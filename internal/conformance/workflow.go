package conformance

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
)

// workflowName is the name the release process gives the workflow
// (README.md, "Checking a service: mage check").
const workflowName = "Container"

// pullRequestEvents are the triggers that run a workflow for a pull request.
var pullRequestEvents = []string{"pull_request", "pull_request_target"}

// CheckWorkflow applies the rules to the Container workflow (content, read
// from path): named Container, running mage ci on pushes to publishBranch
// and of v* tags, no packages: write or id-token: write for pull requests,
// id-token: write for the publishing job when signing (Config.SigningFor
// in GitHub Actions) is keyless, publishing runs serialised, QEMU set up
// only when the Dockerfile's emulation needs it, no latest tag.
func CheckWorkflow(path string, content []byte, emulation Emulation, publishBranch, signing string) []Finding {
	wf, findings := parseWorkflow(path, content)
	if wf == nil {
		return findings
	}
	if wf.Name == nil || wf.Name.Value != workflowName {
		f := Finding{Severity: Error, Rule: RuleWorkflowName, Path: path, Line: 1,
			Message: "the workflow has no name", Fix: "add `name: " + workflowName + "` at the top"}
		if wf.Name != nil {
			f.Line, f.Message, f.Fix = wf.Name.Pos.Line, fmt.Sprintf("the workflow is named %q, not %q", wf.Name.Value, workflowName), "write `name: "+workflowName+"`"
		}
		findings = append(findings, f)
	}
	if mageCILine(wf) == 0 {
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowMageCI, Path: path,
			Message: "no step runs `mage ci`, so the workflow does not follow the release process",
			Fix:     "make the job's last step `run: go tool mage ci`; decide nothing about tags in YAML"})
	} else {
		findings = append(findings, pushTriggers(path, wf, publishBranch)...)
	}
	findings = append(findings, packagesWriteOnPullRequests(path, wf)...)
	findings = append(findings, idTokenOnPullRequests(path, wf)...)
	if signing == config.SigningKeyless {
		findings = append(findings, keylessWithoutIDToken(path, wf)...)
	}
	findings = append(findings, unserialisedPublishing(path, wf)...)
	findings = append(findings, unfinalizedShards(path, wf)...)
	findings = append(findings, qemu(path, wf, emulation)...)
	return byLine(append(findings, workflowLatest(path, wf)...))
}

// CheckOtherWorkflow reports a workflow under another name that does the
// Container workflow's job: it belongs in .github/workflows/publish-ghcr.yml.
func CheckOtherWorkflow(path string, content []byte) []Finding {
	wf, _ := actionlint.Parse(content)
	if wf == nil {
		return nil // not ours to judge
	}
	if line := mageCILine(wf); line > 0 {
		return []Finding{{Severity: Error, Rule: RuleWorkflowMisplaced, Path: path, Line: line,
			Message: "this workflow runs `mage ci` but is not .github/workflows/publish-ghcr.yml, where the release process expects it",
			Fix:     "rename it to .github/workflows/publish-ghcr.yml (merging it into that file if both exist)"}}
	}
	return nil
}

func parseWorkflow(path string, content []byte) (*actionlint.Workflow, []Finding) {
	wf, errs := actionlint.Parse(content)
	var findings []Finding
	for _, err := range errs {
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowParse, Path: path, Line: err.Line,
			Message: err.Message, Fix: "fix the workflow's syntax; actionlint reports the same"})
	}
	return wf, findings
}

// jobs returns the workflow's jobs in file order.
func jobs(wf *actionlint.Workflow) []*actionlint.Job {
	return slices.SortedFunc(maps.Values(wf.Jobs), func(a, b *actionlint.Job) int { return a.Pos.Line - b.Pos.Line })
}

// runSteps calls fn with every run step's script.
func runSteps(wf *actionlint.Workflow, fn func(run *actionlint.String)) {
	for _, job := range jobs(wf) {
		for _, step := range job.Steps {
			if exec, ok := step.Exec.(*actionlint.ExecRun); ok && exec.Run != nil {
				fn(exec.Run)
			}
		}
	}
}

// mageCILine returns the line of the first step that runs `mage ci` (as
// `go tool mage [flags] ci` or `mage [flags] ci`), or 0.
func mageCILine(wf *actionlint.Workflow) int {
	line := 0
	runSteps(wf, func(run *actionlint.String) {
		if line == 0 && runsMageCI(run.Value) {
			line = run.Pos.Line
		}
	})
	return line
}

// runsMageCI reports whether a shell script runs the ci target of mage:
// in one command (up to ;, &&, || or |), the word mage followed by ci.
func runsMageCI(script string) bool {
	for _, line := range strings.Split(script, "\n") {
		inMage := false
		for _, word := range strings.Fields(line) {
			switch {
			case word == ";" || word == "&&" || word == "||" || word == "|":
				inMage = false
			case word == "mage" || strings.HasSuffix(word, "/mage"):
				inMage = true
			case inMage && strings.TrimRight(word, ";") == "ci":
				return true
			}
		}
	}
	return false
}

// pullRequestTriggers are the workflow's triggers that run it for a pull
// request.
func pullRequestTriggers(wf *actionlint.Workflow) []string {
	var triggers []string
	for _, ev := range wf.On {
		if slices.Contains(pullRequestEvents, ev.EventName()) {
			triggers = append(triggers, ev.EventName())
		}
	}
	return triggers
}

// pullRequestsRunning are those of triggers that job's if: lets run it.
func pullRequestsRunning(job *actionlint.Job, triggers []string) []string {
	var onPR []string
	for _, ev := range triggers {
		if !excludesEvent(job.If, ev) {
			onPR = append(onPR, ev)
		}
	}
	return onPR
}

// packagesWriteOnPullRequests finds jobs that hold packages: write (their
// own or inherited from the workflow) and can run for a pull request: the
// code of a pull request must never be able to push images.
func packagesWriteOnPullRequests(path string, wf *actionlint.Workflow) []Finding {
	triggers := pullRequestTriggers(wf)
	if len(triggers) == 0 {
		return nil
	}
	var findings []Finding
	for _, job := range jobs(wf) {
		onPR := pullRequestsRunning(job, triggers)
		if len(onPR) == 0 {
			continue
		}
		perms, where := job.Permissions, "its own permissions"
		if perms == nil {
			perms, where = wf.Permissions, "the workflow's permissions, which it inherits"
		}
		switch {
		case perms == nil:
			findings = append(findings, Finding{Severity: Warning, Rule: RuleWorkflowPermission, Path: path, Line: job.Pos.Line,
				Message: fmt.Sprintf("job %q runs on %s and neither it nor the workflow sets permissions, so its token has the repository's defaults, which may include packages: write", job.ID.Value, strings.Join(onPR, ", ")),
				Fix:     "add `permissions: {contents: read}` at the top of the workflow"})
		case writesPackages(perms):
			findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowPermission, Path: path, Line: perms.Pos.Line,
				Message: fmt.Sprintf("job %q runs on %s and has packages: write through %s: pull request code could push images", job.ID.Value, strings.Join(onPR, ", "), where),
				Fix:     "keep the workflow at `contents: read` and grant packages: write only in a publishing job with `if: github.event_name == 'push'`"})
		}
	}
	return findings
}

func writesPackages(p *actionlint.Permissions) bool { return grantsWrite(p, "packages") }

// grantsWrite reports whether permissions p give scope write access.
func grantsWrite(p *actionlint.Permissions, scope string) bool {
	if p == nil {
		return false
	}
	if p.All != nil {
		return p.All.Value == "write-all"
	}
	s, ok := p.Scopes[scope]
	return ok && s.Value != nil && s.Value.Value == "write"
}

// idTokenFix moves id-token: write where the template has it.
const idTokenFix = "move `id-token: write` to the publishing job, which runs for push only (`if: github.event_name == 'push'`), and keep the workflow's own permissions at `contents: read`"

// idTokenOnPullRequests finds id-token: write within reach of a pull
// request: with it, pull request code can get an OIDC token for the
// workflow's identity, which keyless signing trusts, and sign images as
// the workflow. Granted by the workflow, it is an error as soon as pull
// requests trigger the workflow, whichever jobs inherit it now: the next
// job added without permissions would.
func idTokenOnPullRequests(path string, wf *actionlint.Workflow) []Finding {
	triggers := pullRequestTriggers(wf)
	if len(triggers) == 0 {
		return nil
	}
	var findings []Finding
	if grantsWrite(wf.Permissions, "id-token") {
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowPermission, Path: path, Line: wf.Permissions.Pos.Line,
			Message: fmt.Sprintf("the workflow runs on %s and its permissions grant id-token: write to every job without permissions of its own: pull request code could sign images as the workflow", strings.Join(triggers, ", ")),
			Fix:     idTokenFix})
	}
	for _, job := range jobs(wf) {
		if onPR := pullRequestsRunning(job, triggers); len(onPR) > 0 && grantsWrite(job.Permissions, "id-token") {
			findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowPermission, Path: path, Line: job.Permissions.Pos.Line,
				Message: fmt.Sprintf("job %q runs on %s and has id-token: write: pull request code could sign images as the workflow", job.ID.Value, strings.Join(onPR, ", ")),
				Fix:     idTokenFix})
		}
	}
	return findings
}

// keylessWithoutIDToken finds the jobs that run mage ci for a push without
// id-token: write, their own or the workflow's, while signing is keyless:
// without it the job gets no OIDC token, Fulcio certifies no key, and
// publishing cannot sign.
func keylessWithoutIDToken(path string, wf *actionlint.Workflow) []Finding {
	var findings []Finding
	for _, job := range jobs(wf) {
		// A platform job of a matrix signs nothing: its finalize job does.
		if excludesEvent(job.If, "push") || !jobRunsMageCI(job) || isPlatformJob(job) {
			continue
		}
		perms, line := job.Permissions, job.Pos.Line
		if perms != nil {
			line = perms.Pos.Line
		} else {
			perms = wf.Permissions
		}
		if !grantsWrite(perms, "id-token") {
			findings = append(findings, Finding{Severity: Warning, Rule: RuleWorkflowSigning, Path: path, Line: line,
				Message: fmt.Sprintf("job %q runs mage ci for pushes without id-token: write, and signing is keyless (GANTRY_SIGNING, Config.Signing; the default in GitHub Actions): the job gets no OIDC token to sign with", job.ID.Value),
				Fix:     "add `id-token: write` under the job's `permissions:`, beside `contents: read` and `packages: write`, as Gantry's template has it; if the job also runs for pull requests, split it first (a publishing job with `if: github.event_name == 'push'`). Or sign with a key: GANTRY_SIGNING=key"})
		}
	}
	return findings
}

// shardOf returns the GANTRY_SHARD a job's mage ci runs with (the step's
// env over the job's), or "".
func shardOf(job *actionlint.Job) string {
	shard := ""
	if job.Env != nil {
		if v := job.Env.Vars["gantry_shard"]; v != nil && v.Value != nil {
			shard = v.Value.Value
		}
	}
	for _, step := range job.Steps {
		if exec, ok := step.Exec.(*actionlint.ExecRun); ok && exec.Run != nil && runsMageCI(exec.Run.Value) && step.Env != nil {
			if v := step.Env.Vars["gantry_shard"]; v != nil && v.Value != nil {
				shard = v.Value.Value
			}
		}
	}
	return shard
}

// isPlatformJob reports whether job is a platform job of a sharded
// publish: its mage ci runs with GANTRY_SHARD set to a platform (or a
// matrix expression naming one), not finalize.
func isPlatformJob(job *actionlint.Job) bool {
	shard := shardOf(job)
	return jobRunsMageCI(job) && shard != "" && shard != config.ShardFinalize
}

// unfinalizedShards finds platform jobs that run for pushes with no
// finalize job (mage ci with GANTRY_SHARD=finalize) that needs them: they
// push images by digest that nothing ever tags, so nothing is published.
func unfinalizedShards(path string, wf *actionlint.Workflow) []Finding {
	var findings []Finding
	for _, job := range jobs(wf) {
		if excludesEvent(job.If, "push") || !isPlatformJob(job) {
			continue
		}
		finalized := slices.ContainsFunc(jobs(wf), func(f *actionlint.Job) bool {
			return jobRunsMageCI(f) && shardOf(f) == config.ShardFinalize &&
				slices.ContainsFunc(f.Needs, func(n *actionlint.String) bool { return strings.EqualFold(n.Value, job.ID.Value) })
		})
		if !finalized {
			findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowShard, Path: path, Line: job.Pos.Line,
				Message: fmt.Sprintf("job %q builds one platform (GANTRY_SHARD=%s) and pushes it untagged, and no finalize job needs it: nothing it builds is ever published", job.ID.Value, shardOf(job)),
				Fix:     fmt.Sprintf("add a job with `needs: %s` that downloads its shard files and runs `go tool mage ci` with GANTRY_SHARD=finalize, as `gantry init -matrix` writes it", job.ID.Value)})
		}
	}
	return findings
}

// excludesEvent reports whether the job condition cond is surely false
// for a run triggered by event. It understands comparisons of
// github.event_name and github.ref with strings, startsWith(github.ref,
// ...), && and ||; anything else may be true, so it is not excluded.
func excludesEvent(cond *actionlint.String, event string) bool {
	if cond == nil {
		return false
	}
	src := cond.Value
	switch {
	case cond.IsExpressionAssigned():
		src = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(src), "${{"), "}}")
	case cond.ContainsExpression():
		return false // text around ${{ }} makes a non-empty string: true
	}
	// The lexer reads up to the }} that ends an expression.
	node, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(src + "}}"))
	if err != nil {
		return false
	}
	return excludes(node, event)
}

func excludes(node actionlint.ExprNode, event string) bool {
	switch n := node.(type) {
	case *actionlint.LogicalOpNode:
		if n.Kind == actionlint.LogicalOpNodeKindAnd {
			return excludes(n.Left, event) || excludes(n.Right, event)
		}
		return excludes(n.Left, event) && excludes(n.Right, event)
	case *actionlint.CompareOpNode:
		property, value, ok := githubComparison(n.Left, n.Right)
		if !ok {
			return false
		}
		switch {
		case property == "event_name" && n.Kind == actionlint.CompareOpNodeKindEq:
			return !strings.EqualFold(value, event)
		case property == "event_name" && n.Kind == actionlint.CompareOpNodeKindNotEq:
			return strings.EqualFold(value, event)
		case property == "ref" && n.Kind == actionlint.CompareOpNodeKindEq:
			return neverPullRequestRef(value, event)
		}
	case *actionlint.FuncCallNode:
		if strings.EqualFold(n.Callee, "startsWith") && len(n.Args) == 2 {
			if property, value, ok := githubComparison(n.Args[0], n.Args[1]); ok && property == "ref" {
				return neverPullRequestRef(value, event)
			}
		}
	}
	return false
}

// neverPullRequestRef reports whether github.ref (or its prefix) ref is
// impossible for event: a pull_request runs on refs/pull/..., a
// pull_request_target on the base branch, and neither on a tag. For other
// events a ref says nothing.
func neverPullRequestRef(ref, event string) bool {
	if !slices.Contains(pullRequestEvents, event) {
		return false
	}
	return strings.HasPrefix(ref, "refs/tags/") || (event == "pull_request" && strings.HasPrefix(ref, "refs/heads/"))
}

// githubComparison matches `github.<property>` against a string literal,
// either way round.
func githubComparison(a, b actionlint.ExprNode) (property, value string, ok bool) {
	if s, isString := a.(*actionlint.StringNode); isString {
		a, b = b, s
	}
	deref, isDeref := a.(*actionlint.ObjectDerefNode)
	s, isString := b.(*actionlint.StringNode)
	if !isDeref || !isString {
		return "", "", false
	}
	if v, isVar := deref.Receiver.(*actionlint.VariableNode); !isVar || !strings.EqualFold(v.Name, "github") {
		return "", "", false
	}
	return strings.ToLower(deref.Property), s.Value, true
}

// workflowLatest finds latest tags in the workflow: actions at @latest,
// docker:// and container images without a tag or at latest, inputs set
// to latest, and :latest or @latest in run scripts (go install x@latest).
// Runner labels such as ubuntu-latest are GitHub's images, not tags.
func workflowLatest(path string, wf *actionlint.Workflow) []Finding {
	var findings []Finding
	report := func(pos *actionlint.Pos, what string) {
		findings = append(findings, Finding{Severity: Error, Rule: RuleLatest, Path: path, Line: pos.Line, Message: what,
			Fix: "name an explicit version (an action's major tag or commit, an image's version tag or digest)"})
	}
	image := func(img *actionlint.String, what string) {
		if img != nil {
			if msg := latestImage(img.Value); msg != "" {
				report(img.Pos, fmt.Sprintf("%s %s %s", what, img.Value, msg))
			}
		}
	}
	for _, job := range jobs(wf) {
		if job.Container != nil {
			image(job.Container.Image, "the job container")
		}
		if job.Services != nil {
			for _, id := range slices.Sorted(maps.Keys(job.Services.Value)) {
				if c := job.Services.Value[id].Container; c != nil {
					image(c.Image, "the service container")
				}
			}
		}
		for _, step := range job.Steps {
			switch exec := step.Exec.(type) {
			case *actionlint.ExecAction:
				uses := exec.Uses.Value
				if img, ok := strings.CutPrefix(uses, "docker://"); ok {
					if msg := latestImage(img); msg != "" {
						report(exec.Uses.Pos, fmt.Sprintf("uses: %s %s", uses, msg))
					}
				} else if strings.HasSuffix(uses, "@latest") {
					report(exec.Uses.Pos, fmt.Sprintf("uses: %s follows the action's latest ref", uses))
				}
				for _, name := range slices.Sorted(maps.Keys(exec.Inputs)) {
					if in := exec.Inputs[name]; in.Value != nil && saysLatest(in.Value.Value) {
						report(in.Value.Pos, fmt.Sprintf("input %s: %s asks for the latest version", name, in.Value.Value))
					}
				}
			case *actionlint.ExecRun:
				if exec.Run == nil {
					continue
				}
				for _, word := range strings.Fields(exec.Run.Value) {
					if word = strings.Trim(word, `"'`); saysLatest(word) && word != "latest" {
						report(exec.Run.Pos, fmt.Sprintf("the script uses %s", word))
					}
				}
			}
		}
	}
	return findings
}

// concurrencyFix is the template's concurrency group.
const concurrencyFix = "add at the top of the workflow, as Gantry's template has it: `concurrency: {group: container-${{ github.ref }}, cancel-in-progress: true}`"

// unserialisedPublishing requires that runs of one ref never publish at
// once: the moving tags only go forwards because publish checks ancestry
// and then moves them, and two overlapping runs could both pass the check.
// A concurrency group keyed by the ref (or by nothing that differs between
// runs) serialises them, on the workflow or on each job that runs mage ci
// for a push. cancel-in-progress may be either: a cancelled publish leaves
// the moving tags where they were, and the newer run moves them on.
func unserialisedPublishing(path string, wf *actionlint.Workflow) []Finding {
	if wf.Concurrency != nil {
		return perRunGroup(path, "the workflow's", wf.Concurrency)
	}
	var findings []Finding
	for _, job := range jobs(wf) {
		if excludesEvent(job.If, "push") || !jobRunsMageCI(job) {
			continue
		}
		if job.Concurrency == nil {
			findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowConcurrency, Path: path, Line: job.Pos.Line,
				Message: fmt.Sprintf("job %q runs mage ci for pushes with no concurrency group, on it or on the workflow: two runs of one branch can publish at once and move its tags backwards", job.ID.Value),
				Fix:     concurrencyFix})
			continue
		}
		findings = append(findings, perRunGroup(path, fmt.Sprintf("job %q's", job.ID.Value), job.Concurrency)...)
	}
	return findings
}

// perRunGroup reports a concurrency group that differs between runs of one
// ref, so that it serialises nothing.
func perRunGroup(path, whose string, c *actionlint.Concurrency) []Finding {
	line := c.Pos.Line
	var perRun []string
	if c.Group != nil {
		line = c.Group.Pos.Line
		perRun = perRunValues(c.Group.Value)
	}
	if c.Group != nil && len(perRun) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s concurrency has no group", whose)
	if len(perRun) > 0 {
		msg = fmt.Sprintf("%s concurrency group %q holds %s, which differs between runs, so runs of one branch can publish at once and move its tags backwards", whose, c.Group.Value, strings.Join(perRun, ", "))
	}
	return []Finding{{Severity: Error, Rule: RuleWorkflowConcurrency, Path: path, Line: line, Message: msg,
		Fix: "key the group by the ref only: `group: container-${{ github.ref }}`"}}
}

// perRunContext are the github context properties that differ between two
// runs of one ref.
var perRunContext = []string{"run_id", "run_number", "run_attempt", "sha"}

// perRunValues lists the per-run values (github.run_id, github.sha, ...)
// that the expressions in group read.
func perRunValues(group string) []string {
	var found []string
	for rest := group; ; {
		_, expr, ok := strings.Cut(rest, "${{")
		if !ok {
			return found
		}
		rest = expr
		node, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(expr))
		if err != nil {
			continue
		}
		actionlint.VisitExprNode(node, func(n, _ actionlint.ExprNode, entering bool) {
			deref, ok := n.(*actionlint.ObjectDerefNode)
			if !entering || !ok {
				return
			}
			v, ok := deref.Receiver.(*actionlint.VariableNode)
			if ok && strings.EqualFold(v.Name, "github") && slices.Contains(perRunContext, strings.ToLower(deref.Property)) {
				found = append(found, "github."+strings.ToLower(deref.Property))
			}
		})
	}
}

// jobRunsMageCI reports whether a run step of job runs mage ci.
func jobRunsMageCI(job *actionlint.Job) bool {
	return slices.ContainsFunc(job.Steps, func(step *actionlint.Step) bool {
		exec, ok := step.Exec.(*actionlint.ExecRun)
		return ok && exec.Run != nil && runsMageCI(exec.Run.Value)
	})
}

// qemuAction sets up QEMU's binfmt handlers on the runner.
const qemuAction = "docker/setup-qemu-action"

// qemu compares the workflow's QEMU steps with what the Dockerfile needs:
// a step no target needs costs every run its time; a RUN that needs one
// without it fails the build for every platform but the runner's.
func qemu(path string, wf *actionlint.Workflow, emulation Emulation) []Finding {
	if !emulation.Known {
		return nil
	}
	var steps []*actionlint.Pos
	for _, job := range jobs(wf) {
		for _, step := range job.Steps {
			if exec, ok := step.Exec.(*actionlint.ExecAction); ok && exec.Uses != nil {
				if action, _, _ := strings.Cut(exec.Uses.Value, "@"); strings.EqualFold(action, qemuAction) {
					steps = append(steps, exec.Uses.Pos)
				}
			}
		}
	}
	var findings []Finding
	if len(emulation.RunLines) == 0 {
		for _, pos := range steps {
			findings = append(findings, Finding{Severity: Warning, Rule: RuleWorkflowQEMU, Path: path, Line: pos.Line,
				Message: fmt.Sprintf("the workflow sets up QEMU, but no RUN of prod or dev in %s runs on the target platform: no target needs emulation", emulation.Path),
				Fix:     "remove the " + qemuAction + " step"})
		}
		return findings
	}
	if len(steps) == 0 {
		var runs []string
		for _, l := range emulation.RunLines {
			runs = append(runs, fmt.Sprintf("%s:%d", emulation.Path, l))
		}
		findings = append(findings, Finding{Severity: Warning, Rule: RuleWorkflowQEMU, Path: path, Line: mageCILine(wf),
			Message: fmt.Sprintf("RUN at %s runs on the target platform, and the workflow sets up no QEMU: building for a platform other than the runner's fails", strings.Join(runs, ", ")),
			Fix:     "move the work to a build stage FROM --platform=$BUILDPLATFORM and COPY --from it the result; or add `- uses: " + qemuAction + "@v3` before the mage ci step"})
	}
	return findings
}

// releaseTag stands for the v* tags that release: the push filters must let it through.
const releaseTag = "v1.2.3"

// pushTriggers applies the workflow-branch rule: a push to the publishing
// branch and a push of a release tag must each run the workflow, or
// nothing is ever published or released. GitHub runs a push workflow for
// a branch when its branch filters let the branch through, or when it has
// no branch filters and no tag filters either; tags likewise.
func pushTriggers(path string, wf *actionlint.Workflow, publishBranch string) []Finding {
	var push *actionlint.WebhookEvent
	for _, ev := range wf.On {
		if hook, ok := ev.(*actionlint.WebhookEvent); ok && hook.EventName() == "push" {
			push = hook
		}
	}
	if push == nil {
		return []Finding{{Severity: Error, Rule: RuleWorkflowBranch, Path: path, Line: 1,
			Message: "the workflow does not run on push, so it never publishes or releases",
			Fix:     fmt.Sprintf("add under `on:` `push: {branches: [%s], tags: [\"v*\"]}`", workflow.BranchFilter(publishBranch))}}
	}
	branchFiltered := push.Branches != nil || push.BranchesIgnore != nil
	tagFiltered := push.Tags != nil || push.TagsIgnore != nil
	var findings []Finding
	if !refRuns(push.Branches, push.BranchesIgnore, tagFiltered, publishBranch) {
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowBranch, Path: path, Line: filterLine(push, push.Branches, push.BranchesIgnore),
			Message: fmt.Sprintf("pushes to the publishing branch %q do not run the workflow (its push filters: %s), so nothing is ever published", publishBranch, describeFilters(push.Branches, push.BranchesIgnore, "branches")),
			Fix:     fmt.Sprintf("write `branches: [%s]` under `on: push:` (or set GANTRY_PUBLISH_BRANCH or Config.PublishBranch to the branch that publishes)", workflow.BranchFilter(publishBranch))})
	}
	if !refRuns(push.Tags, push.TagsIgnore, branchFiltered, releaseTag) {
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowBranch, Path: path, Line: filterLine(push, push.Tags, push.TagsIgnore),
			Message: fmt.Sprintf("pushes of release tags (%s) do not run the workflow (its push filters: %s), so nothing is ever released", releaseTag, describeFilters(push.Tags, push.TagsIgnore, "tags")),
			Fix:     "write `tags: [\"v*\"]` under `on: push:`"})
	}
	return findings
}

// refRuns reports whether a push of ref runs the workflow, given the
// filters of its kind (branches or tags) and whether the other kind is
// filtered: a workflow filtering only tags runs for no branch.
func refRuns(filter, ignore *actionlint.WebhookEventFilter, otherFiltered bool, ref string) bool {
	switch {
	case filter != nil:
		// Later patterns override earlier ones; a leading ! excludes.
		runs := false
		for _, p := range filter.Values {
			if negated, ok := strings.CutPrefix(p.Value, "!"); ok {
				if refGlobMatches(negated, ref) {
					runs = false
				}
			} else if refGlobMatches(p.Value, ref) {
				runs = true
			}
		}
		return runs
	case ignore != nil:
		return !slices.ContainsFunc(ignore.Values, func(p *actionlint.String) bool { return refGlobMatches(p.Value, ref) })
	}
	return !otherFiltered
}

// refGlobMatches matches a ref name against a GitHub filter pattern: *
// matches within one path segment, ** across them, ? and + repeat the
// character before them, [...] is a class, and \ escapes. It reads both
// by character, not byte, so that a non-ASCII name matches itself.
func refGlobMatches(pattern, ref string) bool {
	chars := []rune(pattern)
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(chars); i++ {
		switch c := chars[i]; {
		case c == '*' && i+1 < len(chars) && chars[i+1] == '*':
			re.WriteString(".*")
			i++
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?' || c == '+':
			re.WriteRune(c)
		case c == '[':
			end := slices.Index(chars[i:], ']')
			if end < 0 {
				return false // actionlint reports the pattern
			}
			re.WriteString(string(chars[i : i+end+1]))
			i += end
		case c == '\\' && i+1 < len(chars):
			re.WriteString(regexp.QuoteMeta(string(chars[i+1])))
			i++
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	matched, err := regexp.MatchString(re.String(), ref)
	return err == nil && matched
}

// describeFilters says what the push filters of one kind are, for a message.
func describeFilters(filter, ignore *actionlint.WebhookEventFilter, kind string) string {
	list := func(f *actionlint.WebhookEventFilter) string {
		var values []string
		for _, v := range f.Values {
			values = append(values, v.Value)
		}
		return "[" + strings.Join(values, ", ") + "]"
	}
	switch {
	case filter != nil:
		return kind + ": " + list(filter)
	case ignore != nil:
		return kind + "-ignore: " + list(ignore)
	}
	other, one := "tags", "branch"
	if kind == "tags" {
		other, one = "branches", "tag"
	}
	return fmt.Sprintf("no %s filter, only %s, so no %s runs it", kind, other, one)
}

// filterLine is the line of the filter that decides, else of push.
func filterLine(push *actionlint.WebhookEvent, filter, ignore *actionlint.WebhookEventFilter) int {
	for _, f := range []*actionlint.WebhookEventFilter{filter, ignore} {
		if f != nil && f.Name != nil && f.Name.Pos != nil {
			return f.Name.Pos.Line
		}
	}
	if push.Pos != nil {
		return push.Pos.Line
	}
	return 1
}
