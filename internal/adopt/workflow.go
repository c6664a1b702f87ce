package adopt

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/magetools/config"
)

// CheckPublishBranch refuses a publishing branch the targets would
// refuse, with the configuration's and the plan's own checks: no branch
// name, latest, or a moving tag of the form of an immutable one (a short
// SHA, a release version). The short SHA is checked at every length from
// the default up, so that a team raising ShortSHALength (two commits
// sharing one) does not find its branch refused then.
func CheckPublishBranch(branch string) error {
	if err := config.CheckPublishBranch(branch); err != nil {
		return err
	}
	for n := config.DefaultShortSHALength; n <= maxShortSHALength; n++ {
		if err := plan.CheckPublishBranch(branch, n); err != nil {
			return err
		}
	}
	return nil
}

// maxShortSHALength is the longest ShortSHALength the configuration takes.
const maxShortSHALength = 40

// fallbackBranches are the branches init publishes from, the first that
// exists, when the one the repository names is refused.
var fallbackBranches = []string{"main", "master"}

// decidePublishBranch checks the publishing branch: the -branch flag's,
// which must pass; else the one found (discover.ReadPublishBranch), or,
// when that is refused, main or master if exists says the repository has
// it, with a note saying why. Without either it fails with the fix.
func decidePublishBranch(found discover.Fact, flag string, exists func(branch string) bool) (discover.Fact, []string, error) {
	if flag != "" {
		if err := CheckPublishBranch(flag); err != nil {
			return discover.Fact{}, nil, fmt.Errorf("-branch: %w", err)
		}
		return discover.Fact{Value: flag, Source: "-branch"}, nil, nil
	}
	refused := CheckPublishBranch(found.Value)
	if refused == nil {
		return found, nil, nil
	}
	for _, b := range fallbackBranches {
		if b != found.Value && exists(b) {
			note := fmt.Sprintf("the branch %q (from %s) cannot publish: %v; init publishes from %s instead (-branch chooses another)", found.Value, found.Source, refused, b)
			return discover.Fact{Value: b, Source: fmt.Sprintf("the branch %s, as %q (from %s) is refused", b, found.Value, found.Source)}, []string{note}, nil
		}
	}
	return discover.Fact{}, nil, fmt.Errorf("the publishing branch %q (from %s) is refused: %w; and the repository has no main or master branch to publish from instead: pass -branch with the branch whose pushes publish (init sets it as PublishBranch in the magefile and writes the workflow for it)", found.Value, found.Source, refused)
}

// branchExists reports whether the repository at dir has branch, locally
// or at origin.
func branchExists(ctx context.Context, dir string) func(string) bool {
	return func(branch string) bool {
		repo := git.Repo{Dir: dir}
		for _, ref := range []string{"refs/heads/" + branch, "refs/remotes/origin/" + branch} {
			if _, err := repo.Commit(ctx, ref); err == nil {
				return true
			}
		}
		return false
	}
}

// judgeWorkflow tells what to do with the file at the workflow's path
// that exists (path as init reports it): keep a Gantry workflow (one
// running mage ci), replace a hand-written one that builds or pushes the
// service's image (conformance.ImageSteps; why says what it does), and
// refuse anything else, which init must not overwrite unasked.
func judgeWorkflow(path string, content []byte, service string) (replace bool, why string, err error) {
	if conformance.RunsMageCI(content) {
		return false, "", nil
	}
	steps := conformance.ImageSteps(content, conformance.ImageTarget{Registry: config.DefaultRegistry, Service: service})
	if len(steps) == 0 {
		return false, "", fmt.Errorf("%s exists, and is no image workflow Gantry's replaces: it neither runs mage ci nor builds or pushes an image; move it to another name (git mv %s <new name>) and run gantry init again, or pass -force=workflow to overwrite it", path, path)
	}
	var does []string
	for _, s := range steps {
		verb := "builds"
		if s.Pushes {
			verb = "pushes"
		}
		does = append(does, fmt.Sprintf("%s an image at line %d (%s)", verb, s.Line, s.What))
	}
	return true, strings.Join(does, ", "), nil
}

// restorable refuses to replace the file at path (absolute) unless git
// holds it as it is, so that `git checkout -- <file>` brings it back.
func restorable(ctx context.Context, dir, path, shown string) error {
	const fix = "commit it first, so that git can restore it, or pass -force=workflow to overwrite it as it is"
	repo := git.Repo{Dir: dir}
	if !repo.IsRepo(ctx) {
		return fmt.Errorf("%s is an image workflow that Gantry's replaces, but no git repository holds it to restore it from: %s", shown, fix)
	}
	changed, err := repo.Changed(ctx, []string{path})
	if err != nil {
		return fmt.Errorf("%s: compare it with the commit: %w", shown, err)
	}
	if len(changed) > 0 {
		state := "not in the commit"
		if changed[0].InCommit {
			state = "changed since the commit"
		}
		return fmt.Errorf("%s is an image workflow that Gantry's replaces, but it is %s, so git could not restore it: %s", shown, state, fix)
	}
	return nil
}

// workflowFile is the path init reports for the file rel of the
// repository root, relative to the service directory dirInRepo.
func workflowFile(dirInRepo, rel string) string {
	if dirInRepo == "." {
		return rel
	}
	up := strings.Repeat("../", strings.Count(dirInRepo, "/")+1)
	return filepath.ToSlash(up + rel)
}

// replacedWorkflow judges the workflow file among files that exists
// unforced (judgeWorkflow): it says what a hand-written image workflow
// there does, when init replaces it, and is "" otherwise; another file
// there, or one git could not restore, is an error.
func replacedWorkflow(ctx context.Context, root repofile.Dir, files []File, service string, force Force) (string, error) {
	for _, f := range files {
		if f.Key != "workflow" || force.Has(f.Key) {
			continue
		}
		content, err := root.Read(f.Path, repofile.MaxBuildFile)
		if err != nil {
			// Missing, it is written; unreadable (a link out of the
			// repository), writing it fails and says why, in its turn.
			return "", nil
		}
		replace, why, err := judgeWorkflow(f.Path, content, service)
		if err != nil || !replace {
			return "", err
		}
		if err := restorable(ctx, root.Path, filepath.Join(root.Path, filepath.FromSlash(f.Path)), f.Path); err != nil {
			return "", err
		}
		return why, nil
	}
	return "", nil
}

// serviceDirInRepo is dir relative to the root of the repository holding
// it, slash-separated; "." at the root, or outside any repository.
func serviceDirInRepo(dir string) string {
	return repofile.DirInRepo(repofile.RepoRoot(dir), dir)
}
