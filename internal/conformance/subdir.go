package conformance

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
)

// serviceInRepo is where a service lies in its repository, where mage
// runs for it, and what it publishes.
type serviceInRepo struct {
	// Dir is the service's module root relative to the repository root,
	// slash-separated: "." at the root.
	Dir string
	// MageDir is where its workflow runs mage: Dir when the service has
	// a magefiles directory of its own (gantry init writes one), else
	// the repository root, whose magefile names the service's directory
	// (Config.Dir).
	MageDir string
	Service string
	Image   ImageTarget
}

// newServiceInRepo describes the service at dir, in the repository at
// repoRoot, for cfg.
func newServiceInRepo(repoRoot, dir string, cfg config.Config) serviceInRepo {
	s := serviceInRepo{Dir: repofile.DirInRepo(repoRoot, dir), MageDir: ".", Service: cfg.Service,
		Image: ImageTarget{Image: cfg.Image, Registry: cfg.Registry, Service: cfg.Service}}
	if info, err := os.Stat(filepath.Join(dir, "magefiles")); err == nil && info.IsDir() {
		s.MageDir = s.Dir
	}
	return s
}

// workflowPath is the Container workflow of the service, relative to the
// repository root: workflow.PathFor(MageDir, Service), or for a service
// in a subdirectory without that file, the root's publish-ghcr.yml when
// it runs mage ci in the service's directory.
func (s serviceInRepo) workflowPath(root repofile.Dir) string {
	own := workflow.PathFor(s.MageDir, s.Service)
	if own == workflow.Path {
		return own
	}
	if exists, err := root.Exists(own); err != nil || exists {
		return own
	}
	if content, err := root.Read(workflow.Path, repofile.MaxBuildFile); err == nil && s.runsHere(content) {
		return workflow.Path
	}
	return own
}

// runsHere reports whether a job of the workflow runs mage ci in MageDir.
func (s serviceInRepo) runsHere(content []byte) bool {
	here := false
	s.mageCIDirs(content, func(dir string, known bool) { here = here || known && dir == s.MageDir })
	return here
}

// mageCIDirs calls fn with the working directory of every step of the
// workflow that runs mage ci.
func (s serviceInRepo) mageCIDirs(content []byte, fn func(dir string, known bool)) {
	wf, _ := actionlint.Parse(content)
	if wf == nil {
		return
	}
	for _, job := range jobs(wf) {
		for _, step := range job.Steps {
			if exec, ok := step.Exec.(*actionlint.ExecRun); ok && exec.Run != nil && runsMageCI(exec.Run.Value) {
				fn(workingDirectory(wf, job, exec))
			}
		}
	}
}

// othersWorkflow reports whether a workflow that runs mage ci runs it for
// other services only: every step running it works in another directory
// of the repository than MageDir (defaults.run.working-directory of the
// job or the workflow, or the step's working-directory). Each service of
// a repository has a workflow of its own (workflow.PathFor); a directory
// given by an expression may be any, so such a step is not another's.
func (s serviceInRepo) othersWorkflow(content []byte) bool {
	others, ours := false, false
	s.mageCIDirs(content, func(dir string, known bool) {
		if known && dir != s.MageDir {
			others = true
		} else {
			ours = true
		}
	})
	return others && !ours
}

// elsewhere reports a Container workflow (at path) of a service with
// magefiles of its own in a subdirectory that runs mage ci only in other
// directories: there, mage finds another magefile or none.
func (s serviceInRepo) elsewhere(path string, content []byte) []Finding {
	wf, _ := actionlint.Parse(content)
	if s.MageDir == "." || wf == nil || !s.othersWorkflow(content) {
		return nil
	}
	return []Finding{{Severity: Error, Rule: RuleWorkflowMageCI, Path: path, Line: mageCILine(wf),
		Message: fmt.Sprintf("the workflow runs mage ci outside the service's directory %s, which holds its magefiles", s.MageDir),
		Fix:     fmt.Sprintf("give the job `defaults: {run: {working-directory: %s}}`, as gantry init writes it", s.MageDir)}}
}

// workingDirectory is the directory a run step runs in, relative to the
// repository root ("." for the root), and whether it is known.
func workingDirectory(wf *actionlint.Workflow, job *actionlint.Job, exec *actionlint.ExecRun) (string, bool) {
	dir := exec.WorkingDirectory
	if dir == nil && job.Defaults != nil && job.Defaults.Run != nil {
		dir = job.Defaults.Run.WorkingDirectory
	}
	if dir == nil && wf.Defaults != nil && wf.Defaults.Run != nil {
		dir = wf.Defaults.Run.WorkingDirectory
	}
	if dir == nil {
		return ".", true
	}
	if strings.Contains(dir.Value, "${{") || path.IsAbs(dir.Value) {
		return "", false
	}
	return path.Clean(dir.Value), true
}

// unreadWorkflows reports the workflows under the .github/workflows of a
// service that lies in a subdirectory of its repository: GitHub reads
// workflows only at the repository's root, so they never run.
func unreadWorkflows(serviceDir string, svc serviceInRepo) []Finding {
	if svc.Dir == "." {
		return nil
	}
	dir := filepath.Join(serviceDir, filepath.FromSlash(path.Dir(workflow.Path)))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // none, or not ours to read: GitHub does not either
	}
	want := workflow.PathFor(svc.MageDir, svc.Service)
	if want == workflow.Path {
		want = "the root's " + want
	}
	var findings []Finding
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowUnread, Path: filepath.Join(dir, e.Name()),
			Message: fmt.Sprintf("this workflow lies under the service's directory %s, and GitHub reads workflows only from the repository root's .github/workflows: it never runs", svc.Dir),
			Fix:     fmt.Sprintf("move it to the repository root's .github/workflows (the Container workflow belongs at %s: gantry init writes it there) and delete it here", want)})
	}
	return findings
}
