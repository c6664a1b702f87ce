package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
)

// How an image of a run came to be in the registry.
const (
	Built    = "built"
	Reused   = "reused"   // a re-run: the immutable tag already held this commit
	Promoted = "promoted" // a release of a commit built on main: tagged, not rebuilt
)

// Publish puts every image of the plan in the registry, in the order that
// keeps it consistent:
//
//  1. check the push credentials and the moving tags' history, before
//     anything is built;
//  2. per image, reuse the immutable tag when it already holds this
//     commit (a re-run), promote the main build on a release, or build
//     and push by digest, with no tag (the images to build are built at
//     once: see builds);
//  3. per image, as soon as it is pushed: read the index back and verify
//     it, attach its signature, SBOMs and provenance, verify those as a
//     deployer would (see attest), and only then give it its immutable
//     tags;
//  4. only when every image is done, move the moving tags, only forwards
//     in history, and read them back.
//
// A failure at any step leaves every moving tag where it was, and an image
// that failed step 3 untagged.
func (r Run) Publish(ctx context.Context) ([]Result, error) {
	results := make([]Result, len(r.Plan.Images))
	err := r.withTemp(func(tmp string) error {
		if err := r.preflight(ctx); err != nil {
			return err
		}
		if err := r.put(ctx, tmp, results); err != nil {
			return err
		}
		return r.moveTags(ctx, results)
	})
	return finished(results), err
}

// preflight is step 1 of Publish: what must pass before anything is built.
func (r Run) preflight(ctx context.Context) error {
	if err := r.Registry.CheckPush(ctx, r.Config.Image); err != nil {
		return err
	}
	for _, img := range r.Plan.Images {
		for _, tag := range img.Moving {
			if _, err := r.shouldMove(ctx, tag); err != nil {
				return err
			}
		}
	}
	return nil
}

// put is steps 2 and 3 of Publish: every image of the plan reused,
// promoted or built, verified, attested and given its immutable tags,
// each into results (as long as the plan's images).
func (r Run) put(ctx context.Context, tmp string, results []Result) error {
	var build []plan.Image
	var index []int // build's results
	for i, img := range r.Plan.Images {
		res, err := r.existing(ctx, img)
		if err != nil {
			return err
		}
		if res.How == "" {
			build = append(build, img)
			index = append(index, i)
			continue
		}
		if results[i], err = r.finish(ctx, res); err != nil {
			return err
		}
	}
	return r.builds(ctx, tmp, build, buildx.Push, noTags, func(ctx context.Context, r Run, i int, digest string) error {
		res, err := r.finish(ctx, Result{Image: r.Plan.Images[index[i]], Digest: digest, How: Built})
		if err != nil {
			return err
		}
		results[index[i]] = res
		return nil
	})
}

// noTags are the tags of a push: none, since it goes by digest.
func noTags(plan.Image) []string { return nil }

// finish verifies res's index, attests it, and gives it its immutable
// tags; it logs how the image came to be.
func (r Run) finish(ctx context.Context, res Result) (Result, error) {
	if err := r.verify(ctx, res.Image, res.Digest); err != nil {
		return Result{}, err
	}
	checks, err := r.attest(ctx, res)
	if err != nil {
		return Result{}, err
	}
	res.Checks = checks
	src, err := registry.DigestRef(res.Image.Tags[0], res.Digest)
	if err != nil {
		return Result{}, err
	}
	for _, tag := range res.Image.Immutable() {
		if err := r.Registry.Tag(ctx, src, tag); err != nil {
			return Result{}, err
		}
	}
	r.log(res.Image).WithFields(map[string]any{"tag": strings.Join(res.Image.Immutable(), ","), "digest": res.Digest}).Info(res.How)
	return res, nil
}

// verify reads a pushed index back by digest and checks its platforms,
// revision and the non-root user.
func (r Run) verify(ctx context.Context, img plan.Image, digest string) error {
	ref, err := registry.DigestRef(img.Tags[0], digest)
	if err != nil {
		return err
	}
	_, err = r.Registry.Verify(ctx, ref, registry.Expect{
		Platforms: img.Platforms,
		Revision:  r.Event.Commit,
		NonRoot:   true,
	})
	return err
}

// existing returns the image already in the registry for img, if this run
// must not build it: its immutable tag holds this commit (a re-run), or,
// on a release, the push to main already built this commit (promotion,
// unless Config.ReleaseRebuild).
// An immutable tag that holds another commit is an error.
func (r Run) existing(ctx context.Context, img plan.Image) (Result, error) {
	tag := img.Immutable()[0]
	log := r.log(img).WithField("tag", tag)
	current, found, err := r.Registry.Lookup(ctx, tag)
	switch {
	case err != nil:
		return Result{}, err
	case found && current.Revision == r.Event.Commit:
		log.WithField("digest", current.Digest).Info("the tag holds this commit already: a re-run, not rebuilt")
		return Result{Image: img, Digest: current.Digest, How: Reused}, nil
	case found && r.Event.Kind == event.TagPush && r.Config.AllowReleaseOverwrite:
		log.WithField("digest", current.Digest).Warnf("the tag holds commit %q; replacing it because AllowReleaseOverwrite is set", current.Revision)
	case found && current.Revision == "":
		return Result{}, fmt.Errorf("%s already names %s, which has no %s label, so Gantry did not build it and will not overwrite it: delete the tag, or, for a release, set GANTRY_ALLOW_RELEASE_OVERWRITE=true",
			tag, current.Digest, registry.RevisionLabel)
	case found && r.Event.Kind == event.TagPush:
		return Result{}, fmt.Errorf("%s already names an image of commit %.12s, not %.12s; a release version is immutable: release a new version (git tag v<next>), or set GANTRY_ALLOW_RELEASE_OVERWRITE=true to replace it deliberately",
			tag, current.Revision, r.Event.Commit)
	case found:
		return Result{}, fmt.Errorf("%s already names an image of commit %.12s, not %.12s (two commits share the short SHA); raise GANTRY_SHORT_SHA_LENGTH (Config.ShortSHALength)",
			tag, current.Revision, r.Event.Commit)
	}
	if r.Event.Kind != event.TagPush {
		return Result{Image: img}, nil
	}
	if r.Config.ReleaseRebuild {
		log.Info("ReleaseRebuild: building the release with its version stamped, instead of promoting main's build")
		return Result{Image: img}, nil
	}
	mainBuild := r.Config.Image + ":" + r.Plan.Short
	built, found, err := r.Registry.Lookup(ctx, mainBuild)
	if err != nil || !found || built.Revision != r.Event.Commit {
		log.Infof("no prod image of this commit at %s: building the release", mainBuild)
		return Result{Image: img}, err
	}
	log.WithField("digest", built.Digest).Infof("promoting %s: the release ships the bytes built on main", mainBuild)
	return Result{Image: img, Digest: built.Digest, How: Promoted}, nil
}

// maxMoves bounds how often Publish moves a moving tag back to its
// commit after an older run moved it under it.
const maxMoves = 3

// moveTags points every result's moving tags at its digest, each only if
// that moves it forwards in history, then reads them back.
//
// Registries offer no compare-and-swap on tags, so an older run that
// checked a tag before this run moved it can still move it back. The
// workflow's concurrency group serialises runs of a ref so that this does
// not happen (mage check requires it); should it happen anyway, this run
// sees it when it reads the tags back after Settle, and moves them
// forwards again; a run that finds a newer commit there reports that it
// lost the race, and leaves the tag.
func (r Run) moveTags(ctx context.Context, results []Result) error {
	pending := map[string]Result{} // moving tag -> the image it must name
	var order []string
	for _, res := range results {
		for _, tag := range res.Image.Moving {
			pending[tag] = res
			order = append(order, tag)
		}
	}
	for round := 1; len(pending) > 0; round++ {
		if round > maxMoves {
			return fmt.Errorf("moving tags %s were moved back %d times by other runs; let the runs of this branch finish one at a time (the workflow's concurrency group does) and re-run the newest", strings.Join(keysOf(order, pending), ", "), maxMoves)
		}
		for _, tag := range keysOf(order, pending) {
			moved, err := r.moveTag(ctx, tag, pending[tag])
			if err != nil {
				return err
			}
			if !moved {
				delete(pending, tag)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if err := sleep(ctx, r.settle()); err != nil {
			return err
		}
		for _, tag := range keysOf(order, pending) {
			res := pending[tag]
			current, found, err := r.Registry.Lookup(ctx, tag)
			if err != nil {
				return err
			}
			log := r.log(res.Image).WithField("tag", tag)
			if found && current.Digest == res.Digest {
				log.WithField("digest", res.Digest).Info("moved")
				delete(pending, tag)
				continue
			}
			log.WithField("digest", current.Digest).Warnf("another run moved the tag after this one, to commit %.12s; checking which is newer", current.Revision)
		}
	}
	return nil
}

// moveTag points tag at res's digest if that moves it forwards; it
// reports whether it did.
func (r Run) moveTag(ctx context.Context, tag string, res Result) (bool, error) {
	move, err := r.shouldMove(ctx, tag)
	if err != nil || !move {
		return false, err
	}
	src, err := registry.DigestRef(res.Image.Tags[0], res.Digest)
	if err != nil {
		return false, err
	}
	return true, r.Registry.Tag(ctx, src, tag)
}

// keysOf returns the tags of order that are still in pending, in order.
func keysOf(order []string, pending map[string]Result) []string {
	var keys []string
	for _, tag := range order {
		if _, ok := pending[tag]; ok {
			keys = append(keys, tag)
		}
	}
	return keys
}

func (r Run) settle() time.Duration {
	if r.Settle > 0 {
		return r.Settle
	}
	return DefaultSettle
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// shouldMove reports whether the moving tag may point at this commit: it
// is new, or it names this commit or one of its ancestors. A run of an
// older commit that finishes late leaves it alone.
func (r Run) shouldMove(ctx context.Context, tag string) (bool, error) {
	current, found, err := r.Registry.Lookup(ctx, tag)
	if err != nil || !found || current.Revision == r.Event.Commit {
		return err == nil, err
	}
	if current.Revision == "" {
		return false, fmt.Errorf("%s names %s, which has no %s label, so Gantry cannot tell whether it is older than commit %.12s: delete the tag, or point it at an image Gantry built",
			tag, current.Digest, registry.RevisionLabel, r.Event.Commit)
	}
	repo := git.Repo{Dir: r.Config.Dir}
	known, err := repo.History(ctx, current.Revision)
	if err != nil {
		return false, err
	}
	ancestor := false
	if known {
		if ancestor, err = repo.IsAncestor(ctx, current.Revision, r.Event.Commit); err != nil {
			return false, err
		}
	}
	if !ancestor {
		r.Log.WithField("tag", tag).Warnf("the tag names commit %.12s, which is not an ancestor of this one (a newer commit was published, or history was rewritten): leaving it where it is", current.Revision)
	}
	return ancestor, nil
}
