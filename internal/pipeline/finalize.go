package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
)

// Finalize is the finalize job of a sharded publish (see Shard): it reads
// the platform jobs' shard files in Config.ShardDir and checks them
// against this run (this commit, this repository, every platform of the
// plan and no other), then does what Publish does, with each image's index
// assembled from the platform manifests instead of built: the index
// BuildKit would have pushed for all platforms at once (registry.IndexJSON),
// pushed by digest, then verified, attested and given its immutable tags
// (finish); the moving tags move once every image is done.
//
// Every platform manifest is read back before any index is pushed: one
// that is missing, or whose revision label names another commit, stops
// the run with nothing pushed or tagged. An image already published (its
// immutable tag holds this commit) is reused, and a release promotes as
// Publish does, so a finalize re-run after a failure completes what is
// missing and changes nothing else.
func (r Run) Finalize(ctx context.Context) ([]Result, error) {
	shards, err := ReadShards(r.Config.ShardDir)
	if err != nil {
		return nil, err
	}
	if err := r.checkShards(shards); err != nil {
		return nil, err
	}
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	results := make([]Result, len(r.Plan.Images))
	published := make([]Result, len(r.Plan.Images))
	assemble := map[int][]registry.PlatformManifest{}
	for i, img := range r.Plan.Images {
		res, err := r.existing(ctx, img)
		if err != nil {
			return nil, err
		}
		if published[i] = res; res.How != "" {
			continue
		}
		if assemble[i], err = r.platformManifests(ctx, img, shards); err != nil {
			return nil, err
		}
	}
	for i := range r.Plan.Images {
		res := published[i]
		if manifests, ok := assemble[i]; ok {
			img := r.Plan.Images[i]
			digest, err := r.Registry.PushIndex(ctx, r.Config.Image, manifests, img.Platforms)
			if err != nil {
				return finished(results), err
			}
			r.log(img).WithField("digest", digest).Info("index assembled from the platform jobs' images")
			res = Result{Image: img, Digest: digest, How: Built}
		}
		if results[i], err = r.finish(ctx, res); err != nil {
			return finished(results), err
		}
	}
	return results, r.moveTags(ctx, results)
}

// checkShards refuses shard files of another run: of another commit or
// repository, of a platform the plan does not build, or too few.
func (r Run) checkShards(shards map[string]ShardFile) error {
	var planned []string
	for _, img := range r.Plan.Images {
		for _, p := range img.Platforms {
			if !slices.Contains(planned, p) {
				planned = append(planned, p)
			}
		}
	}
	var problems []string
	for _, p := range slices.Sorted(maps.Keys(shards)) {
		f := shards[p]
		switch {
		case f.Commit != r.Event.Commit:
			problems = append(problems, fmt.Sprintf("%s's is of commit %.12s", p, f.Commit))
		case f.Image != r.Config.Image:
			problems = append(problems, fmt.Sprintf("%s's pushed to %s", p, f.Image))
		case !slices.Contains(planned, p):
			problems = append(problems, fmt.Sprintf("%s is not a platform of this plan (%s)", p, strings.Join(planned, ", ")))
		}
	}
	for _, p := range planned {
		if _, ok := shards[p]; !ok {
			problems = append(problems, fmt.Sprintf("%s has none (no %s)", p, ShardFileName(p)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the shard files in %s are not this run's, of commit %.12s to %s: %s; finalize only what this run's platform jobs (GANTRY_SHARD=<platform>, one per platform of GANTRY_PLATFORMS) built: let every one finish, and download their artifacts alone into GANTRY_SHARD_DIR",
			r.Config.ShardDir, r.Event.Commit, r.Config.Image, strings.Join(problems, "; "))
	}
	return nil
}

// platformManifests reads img's platform manifests that the shard files
// name, in the order of img.Platforms, and checks that each is that
// platform's image of this commit.
func (r Run) platformManifests(ctx context.Context, img plan.Image, shards map[string]ShardFile) ([]registry.PlatformManifest, error) {
	var manifests []registry.PlatformManifest
	for _, p := range img.Platforms {
		i := slices.IndexFunc(shards[p].Images, func(s ShardImage) bool { return s.Target == img.Target })
		if i < 0 {
			return nil, fmt.Errorf("the %s job's shard file lists no %s image, though %s is not published yet: re-run that platform job, then finalize", p, img.Target, img.Immutable()[0])
		}
		ref, err := registry.DigestRef(img.Tags[0], shards[p].Images[i].Digest)
		if err != nil {
			return nil, err
		}
		m, err := r.Registry.ReadPlatformManifest(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("%w; re-run the %s platform job, which pushes it again", err, p)
		}
		if m.Revision != r.Event.Commit {
			return nil, fmt.Errorf("%s, the %s %s image a shard file names, is labelled with commit %q (%s), not %.12s: it is not this commit's build; re-run the %s platform job of this commit and download this run's artifacts",
				ref, p, img.Target, m.Revision, registry.RevisionLabel, r.Event.Commit, p)
		}
		want, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, err
		}
		got, err := v1.ParsePlatform(m.Platform)
		if err != nil || !got.Satisfies(*want) {
			return nil, fmt.Errorf("%s, named as the %s %s image, is an image for %s; re-run the %s platform job", ref, p, img.Target, m.Platform, p)
		}
		manifests = append(manifests, m)
	}
	return manifests, nil
}
