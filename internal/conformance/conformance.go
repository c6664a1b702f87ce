// Package conformance checks a service against the release process (see
// README.md, "Checking a service: mage check"): its Dockerfile stages, its
// .dockerignore and build context, its main package's version stamps and
// cgo needs, and its Container workflow. Each finding names the problem
// and the fix. Check reads the files and lists the packages; the rules
// themselves are pure functions of what it read.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/gantry-build/gantry/docker"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/magetools/config"
	"github.com/gantry-build/gantry/workflow"
)

// Severity tells whether a finding fails the check.
type Severity int

const (
	// Error breaks a rule of the release process: `mage check` fails.
	Error Severity = iota + 1
	// Warning is worth fixing but breaks nothing.
	Warning
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Rules, as named in findings and in README.md.
const (
	RuleDockerfile          = "dockerfile"           // the Dockerfile cannot be read or parsed
	RuleStages              = "stages"               // the prod or dev stage is missing
	RuleBuildPlatform       = "build-platform"       // a build stage does not run on $BUILDPLATFORM
	RuleProdRun             = "prod-run"             // the prod runtime has a RUN
	RuleProdUser            = "prod-user"            // prod runs as root
	RuleLatest              = "no-latest"            // a latest tag, explicit or implied
	RuleDockerignore        = "dockerignore"         // .dockerignore missing or leaking .git/.env*
	RuleWorkflowMissing     = "workflow-missing"     // no .github/workflows/publish-ghcr.yml
	RuleWorkflowMisplaced   = "workflow-misplaced"   // another workflow runs mage ci
	RuleWorkflowParse       = "workflow-parse"       // a workflow is not valid YAML or Actions syntax
	RuleWorkflowName        = "workflow-name"        // the workflow is not named Container
	RuleWorkflowMageCI      = "workflow-mage-ci"     // the workflow does not run mage ci
	RuleWorkflowPermission  = "workflow-permission"  // packages: write or id-token: write reaches pull requests
	RuleWorkflowSigning     = "workflow-signing"     // signing is keyless and the publishing job has no id-token: write
	RuleWorkflowConcurrency = "workflow-concurrency" // publishing runs of one ref may overlap
	RuleWorkflowQEMU        = "workflow-qemu"        // QEMU set up that no target needs, or needed and not set up
	RuleWorkflowBranch      = "workflow-branch"      // pushes to PublishBranch or of v* tags do not run the workflow
	RuleWorkflowPublisher   = "workflow-publisher"   // another workflow pushes the service's image
	RuleWorkflowUnread      = "workflow-unread"      // a workflow under a service's subdirectory, which GitHub never reads
	RuleWorkflowShard       = "workflow-shard"       // platform jobs (GANTRY_SHARD=<platform>) with no finalize job after them
	RuleStamp               = "stamp"                // a -X target that is no string variable the binary links
	RuleCgo                 = "cgo"                  // a package works only with cgo, and Gantry builds with cgo off
	RulePackages            = "packages"             // the main package's graph cannot be listed
	RuleReplace             = "replace"              // go.mod replaces a module with a directory outside the repository
	RuleDockerfileUnused    = "dockerfile-unused"    // a root Dockerfile that Gantry does not build
	RuleContextSize         = "context-size"         // the build context is over ContextSizeLimit
)

// Finding is one departure from the release process.
type Finding struct {
	Severity Severity
	Rule     string
	// Path is the file, as dir (Check's argument) reaches it.
	Path string
	// Line is 1-based; 0 when the finding is about the file as a whole.
	Line    int
	Message string
	Fix     string
}

// EmbeddedDockerfile is the Path of findings in Gantry's own Dockerfile,
// used when the service has none.
const EmbeddedDockerfile = "(embedded) docker/Dockerfile"

// Check reads the service at dir (its module root and build context) with
// its resolved configuration and returns every finding: the Dockerfile's
// and the unused Dockerfiles', the .dockerignore's and the build
// context's, the main package's graph's (list: ListPackages, or the
// graph the caller listed already) and the workflows' of the repository
// holding dir.
func Check(ctx context.Context, dir string, cfg config.Config, list Lister) []Finding {
	var findings []Finding
	var emulation Emulation
	// The service's files are read through root: a link leading out of
	// the repository, a named pipe or a file too big is a finding, not a
	// hang or a read of another file.
	root := repofile.At(dir)
	if cfg.Dockerfile == "" {
		findings, emulation = checkDockerfile(EmbeddedDockerfile, docker.Dockerfile, cfg)
		findings = append(findings, CheckFastPath(EmbeddedDockerfile, docker.Dockerfile)...)
	} else {
		path := filepath.Join(dir, cfg.Dockerfile)
		if content, err := root.Read(filepath.ToSlash(cfg.Dockerfile), repofile.MaxBuildFile); err != nil {
			findings = append(findings, Finding{Severity: Error, Rule: RuleDockerfile, Path: path,
				Message: fmt.Sprintf("cannot read the Dockerfile: %v", err),
				Fix:     "fix GANTRY_DOCKERFILE or Config.Dockerfile (relative to the service directory), or remove it to use Gantry's default"})
		} else {
			findings, emulation = checkDockerfile(path, content, cfg)
			findings = append(findings, CheckFastPath(path, content)...)
		}
	}
	findings = append(findings, unusedDockerfiles(root, cfg)...)

	ignorePath := filepath.Join(dir, ".dockerignore")
	if ignore, err := root.Read(".dockerignore", repofile.MaxBuildFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		findings = append(findings, Finding{Severity: Error, Rule: RuleDockerignore, Path: ignorePath,
			Message: fmt.Sprintf("cannot read the .dockerignore: %v", err),
			Fix:     "make .dockerignore a regular file of the repository (gantry init writes Gantry's)"})
	} else {
		ignoreFindings, sent := checkDockerignore(ignorePath, ignore, err == nil, cfg.Dockerfile == "", os.DirFS(dir))
		findings = append(findings, ignoreFindings...)
		findings = append(findings, CheckContextSize(ignorePath, sent)...)
	}

	list = listOnce(list)
	findings = append(findings, checkPackages(ctx, dir, cfg, list)...)
	findings = append(findings, checkEmbeds(ctx, dir, cfg, list)...)

	// The workflow runs in GitHub Actions, wherever the check runs.
	repoRoot := repofile.RepoRoot(dir)
	svc := newServiceInRepo(repoRoot, dir, cfg)
	findings = append(findings, unreadWorkflows(dir, svc)...)
	return append(findings, checkWorkflows(repofile.At(repoRoot), svc, emulation, cfg.PublishBranch, cfg.SigningFor(true))...)
}

// Emulation tells which RUN instructions building the targets executes on
// the target platform, so under emulation (QEMU) for every platform but
// the runner's.
type Emulation struct {
	// Known is false when the Dockerfile could not be read: nothing is known.
	Known bool
	// Path is the Dockerfile's, as in findings.
	Path string
	// RunLines are the lines of those RUN instructions; none is the goal.
	RunLines []int
}

// checkWorkflows checks the Container workflow of the service svc (at
// workflow.PathFor) and looks, in the repository root, for another
// workflow doing its job under another name, or pushing its image.
func checkWorkflows(root repofile.Dir, svc serviceInRepo, emulation Emulation, publishBranch, signing string) []Finding {
	dir := filepath.Join(root.Path, filepath.Dir(workflow.Path))
	wantPath := svc.workflowPath(root)
	want := filepath.Join(root.Path, wantPath)
	var findings []Finding
	switch content, err := root.Read(wantPath, repofile.MaxBuildFile); {
	case errors.Is(err, os.ErrNotExist):
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowMissing, Path: want,
			Message: "the Container workflow is missing",
			Fix:     "run `go run github.com/gantry-build/gantry/cmd/gantry@<version> init`, or copy .github/workflows/publish-ghcr.yml from Gantry to " + wantPath})
	case err != nil:
		findings = append(findings, Finding{Severity: Error, Rule: RuleWorkflowParse, Path: want,
			Message: fmt.Sprintf("cannot read the workflow: %v", err), Fix: "make it a regular, readable file of the repository"})
	default:
		findings = append(findings, CheckWorkflow(want, content, emulation, publishBranch, signing)...)
		findings = append(findings, svc.elsewhere(want, content)...)
	}

	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return append(findings, Finding{Severity: Error, Rule: RuleWorkflowParse, Path: dir,
			Message: fmt.Sprintf("cannot list the workflows: %v", err), Fix: "make the directory readable"})
	}
	for _, e := range entries {
		file := filepath.Join(dir, e.Name())
		if ext := filepath.Ext(e.Name()); e.IsDir() || file == want || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		// Another workflow only matters if it runs mage ci (for this
		// service) or pushes the image; one that cannot be read is
		// GitHub's to reject, not ours.
		if content, err := root.Read(path.Join(path.Dir(workflow.Path), e.Name()), repofile.MaxBuildFile); err == nil {
			if !svc.othersWorkflow(content) {
				findings = append(findings, CheckOtherWorkflow(file, content)...)
			}
			findings = append(findings, CheckPublishers(file, content, svc.Image)...)
		}
	}
	return findings
}
