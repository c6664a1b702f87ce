package pipeline

import (
	"context"
	"fmt"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/module"
)

// CheckPublish refuses to publish anything but a clean push to the
// publishing branch.
func (r Run) CheckPublish(ctx context.Context) error {
	if r.Event.Kind != event.BranchPush || !r.Plan.Push {
		return fmt.Errorf("nothing to publish: %s; Publish runs for a push to the publishing branch %q (see `mage plan`)", r.why(), r.Config.PublishBranch)
	}
	head, err := git.Repo{Dir: r.Config.Dir}.Head(ctx)
	if err != nil {
		return err
	}
	if head != r.Event.Commit {
		return fmt.Errorf("the checkout is at %.12s but the event is for commit %.12s; check out the event's commit (actions/checkout does) so the image is the commit it is labelled with", head, r.Event.Commit)
	}
	return r.checkClean(ctx, "publish")
}

// CheckRelease refuses to release unless this is a v* tag that names the
// commit being built (HEAD) and the tree is clean: the image must be
// exactly the tagged source.
func (r Run) CheckRelease(ctx context.Context) error {
	if r.Event.Kind != event.TagPush || !r.Plan.Push {
		return fmt.Errorf("nothing to release: %s; Release runs for a v* tag at HEAD (git tag v1.2.3 && git push origin v1.2.3)", r.why())
	}
	repo := git.Repo{Dir: r.Config.Dir}
	tagged, err := repo.Commit(ctx, "refs/tags/"+r.Event.Tag)
	if err != nil {
		return fmt.Errorf("tag %s is not in this clone (%v); fetch it (git fetch --tags) or check out the tag", r.Event.Tag, err)
	}
	head, err := repo.Head(ctx)
	if err != nil {
		return err
	}
	if tagged != head || tagged != r.Event.Commit {
		return fmt.Errorf("tag %s names commit %.12s, but HEAD is %.12s (event commit %.12s); check out the tag (git checkout %s) so the release is built from the very commit it names",
			r.Event.Tag, tagged, head, r.Event.Commit, r.Event.Tag)
	}
	return r.checkClean(ctx, "release")
}

// checkClean refuses to publish what the commit does not hold: a dirty
// tree, or a module replaced by a directory outside the repository.
func (r Run) checkClean(ctx context.Context, what string) error {
	if changes := r.Event.Changes; len(changes) > 0 {
		return fmt.Errorf("the build compiles files the commit does not hold as they are: %s; refusing to %s an image that is not the commit it is labelled with. git status may not show them (a file marked --assume-unchanged or --skip-worktree, or listed in .git/info/exclude): commit them, or restore the commit's (git update-index --no-assume-unchanged --no-skip-worktree <file>; git checkout -- <file>; remove a file the commit lacks)", changes, what)
	}
	if r.Event.Dirty {
		return fmt.Errorf("the working tree has uncommitted changes; refusing to %s an image that is not the commit it is labelled with: commit or stash them (git status)", what)
	}
	root, err := git.Repo{Dir: r.Config.Dir}.TopLevel(ctx)
	if err != nil {
		return fmt.Errorf("find the repository of %s: %w", r.Config.Dir, err)
	}
	replaces, err := module.ReplacesOutside(r.Config.Dir, root)
	if err != nil {
		return fmt.Errorf("read the replace directives before %s: %w", what, err)
	}
	if len(replaces) > 0 {
		return fmt.Errorf("go.mod's `%s` (line %d) points outside the repository %s, at %s; refusing to %s an image the commit alone cannot rebuild: %s", replaces[0].Directive, replaces[0].Line, root, replaces[0].Dir, what, module.ReplaceFix)
	}
	return nil
}

func (r Run) why() string {
	if r.Plan.Reason != "" {
		return r.Plan.Reason
	}
	return fmt.Sprintf("this is a %s event", r.Event.Kind)
}

// Release builds and pushes the prod image of a release tag as <version>.
func (r Run) Release(ctx context.Context) ([]Result, error) {
	results, err := r.Publish(ctx)
	if err == nil {
		r.Log.WithField("version", r.Plan.Version).Info("released")
	}
	return results, err
}
