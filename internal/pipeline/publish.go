package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
)

// push builds img for all its platforms and pushes its immutable tags
// only, returning the index digest.
func (r Run) push(ctx context.Context, img plan.Image, dockerfilePath, tmp string) (string, error) {
	spec := r.Spec(img, dockerfilePath, buildx.Push, img.Immutable())
	spec.MetadataFile = filepath.Join(tmp, img.Target+"-metadata.json")
	if err := r.build(ctx, spec); err != nil {
		return "", fmt.Errorf("build and push %s: %w", img.Target, err)
	}
	return buildx.Digest(spec.MetadataFile)
}

// verify reads a pushed index back by digest and checks its platforms,
// revision and the non-root user.
func (r Run) verify(client registry.Client, img plan.Image, digest string) error {
	ref, err := registry.DigestRef(img.Tags[0], digest)
	if err != nil {
		return err
	}
	_, err = client.Verify(ref, registry.Expect{
		Platforms: img.Platforms,
		Revision:  r.Event.Commit,
		NonRoot:   true,
	})
	return err
}

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
//     and push the immutable tags only;
//  3. read every index back and verify it;
//  4. only then move the moving tags, and only forwards in history.
//
// A failure at any step leaves every moving tag where it was.
func (r Run) Publish(ctx context.Context) ([]Result, error) {
	client := registry.New(ctx)
	var results []Result
	err := r.withTemp(func(tmp string) error {
		if err := client.CheckPush(r.Config.Image); err != nil {
			return err
		}
		for _, img := range r.Plan.Images {
			for _, tag := range img.Moving {
				if _, err := r.shouldMove(ctx, client, tag); err != nil {
					return err
				}
			}
		}
		dockerfilePath := ""
		for _, img := range r.Plan.Images {
			res, err := r.existing(client, img)
			if err != nil {
				return err
			}
			if res.How == "" {
				if dockerfilePath == "" {
					if dockerfilePath, err = r.preflight(ctx, tmp, r.Plan.Images); err != nil {
						return err
					}
				}
				if res.Digest, err = r.push(ctx, img, dockerfilePath, tmp); err != nil {
					return err
				}
				res.How = Built
			}
			if err := r.verify(client, img, res.Digest); err != nil {
				return err
			}
			logrus.Infof("%s %s: %s", res.How, strings.Join(img.Immutable(), ", "), res.Digest)
			results = append(results, res)
		}
		for _, res := range results {
			if err := r.moveTags(ctx, client, res); err != nil {
				return err
			}
		}
		return nil
	})
	return results, err
}

// existing returns the image already in the registry for img, if this run
// must not build it: its immutable tag holds this commit (a re-run), or,
// on a release, the push to main already built this commit (promotion).
// An immutable tag that holds another commit is an error.
func (r Run) existing(client registry.Client, img plan.Image) (Result, error) {
	tag := img.Immutable()[0]
	current, found, err := client.Lookup(tag)
	switch {
	case err != nil:
		return Result{}, err
	case found && current.Revision == r.Event.Commit:
		logrus.Infof("%s already holds commit %.12s: a re-run, not rebuilt", tag, r.Event.Commit)
		return Result{Image: img, Digest: current.Digest, How: Reused}, nil
	case found && r.Event.Kind == event.TagPush && r.Config.AllowReleaseOverwrite:
		logrus.Warnf("%s holds %s (commit %q); replacing it because AllowReleaseOverwrite is set", tag, current.Digest, current.Revision)
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
	mainBuild := r.Config.Image + ":" + r.Plan.Short
	built, found, err := client.Lookup(mainBuild)
	if err != nil || !found || built.Revision != r.Event.Commit {
		logrus.Infof("no prod image of commit %.12s at %s: building the release", r.Event.Commit, mainBuild)
		return Result{Image: img}, err
	}
	src, err := registry.DigestRef(mainBuild, built.Digest)
	if err != nil {
		return Result{}, err
	}
	if err := client.Tag(src, tag); err != nil {
		return Result{}, err
	}
	logrus.Infof("promoted %s (%s) to %s: the release ships the bytes built on main", mainBuild, built.Digest, tag)
	return Result{Image: img, Digest: built.Digest, How: Promoted}, nil
}

// moveTags points res's moving tags at its digest, each only if that
// moves it forwards in history.
func (r Run) moveTags(ctx context.Context, client registry.Client, res Result) error {
	src, err := registry.DigestRef(res.Image.Tags[0], res.Digest)
	if err != nil {
		return err
	}
	for _, tag := range res.Image.Moving {
		move, err := r.shouldMove(ctx, client, tag)
		if err != nil {
			return err
		}
		if !move {
			continue
		}
		if err := client.Tag(src, tag); err != nil {
			return err
		}
		logrus.Infof("moved %s to %s", tag, res.Digest)
	}
	return nil
}

// shouldMove reports whether the moving tag may point at this commit: it
// is new, or it names this commit or one of its ancestors. A run of an
// older commit that finishes late leaves it alone.
func (r Run) shouldMove(ctx context.Context, client registry.Client, tag string) (bool, error) {
	current, found, err := client.Lookup(tag)
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
		logrus.Warnf("%s names commit %.12s, which is not an ancestor of %.12s (a newer commit was published, or history was rewritten): leaving it where it is",
			tag, current.Revision, r.Event.Commit)
	}
	return ancestor, nil
}
