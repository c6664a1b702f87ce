package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/buildx"
	"github.com/gantry-build/gantry/internal/plan"
	"github.com/gantry-build/gantry/internal/registry"
)

// A sharded publish (Config.Shard) splits Publish across the jobs of a
// GitHub Actions matrix, one native runner per platform, with no
// scheduler of Gantry's own: each platform job builds its platform of
// every image and pushes it by digest (Shard), and writes the digests to
// a shard file, which the workflow hands on as an artifact; the finalize
// job reads them all, assembles each image's index and publishes it as a
// single runner would have (Finalize). Builds are reproducible, so the
// index is byte for byte the one a single runner pushes.

// ShardFile is what a platform job hands on to the finalize job.
type ShardFile struct {
	// Commit is the commit the job built; Image the repository it pushed to.
	Commit string `json:"commit"`
	Image  string `json:"image"`
	// Platform is the job's (Config.Shard).
	Platform string `json:"platform"`
	// Images are the platform manifests it pushed by digest, one per
	// target; none when every image was already published (a re-run).
	Images []ShardImage `json:"images"`
}

// ShardImage is one target's manifest of a platform.
type ShardImage struct {
	Target string `json:"target"`
	Digest string `json:"digest"`
}

// ShardFileName is the name of platform's shard file:
// gantry-shard-<os>-<arch>[-<variant>].json.
func ShardFileName(platform string) string {
	return "gantry-shard-" + strings.ReplaceAll(platform, "/", "-") + ".json"
}

// Shard is a platform job of a sharded publish: it checks what Publish
// checks before building, then builds this job's platform (Config.Shard)
// of every image that is not in the registry yet, pushes each by digest
// and reads it back (platform, revision, non-root user), and writes their
// digests to the shard file in Config.ShardDir (and as the step output
// shard-file). It never tags, signs or attests: a failed platform job
// leaves no tag behind, and the finalize job does the rest.
func (r Run) Shard(ctx context.Context) ([]Result, error) {
	platform := r.Config.Shard
	var results []Result
	err := r.withTemp(func(tmp string) error {
		if err := r.preflight(ctx); err != nil {
			return err
		}
		var build []plan.Image
		for _, img := range r.Plan.Images {
			if !slices.Contains(img.Platforms, platform) {
				continue
			}
			res, err := r.existing(ctx, img)
			if err != nil {
				return err
			}
			if res.How != "" {
				r.log(img).WithField("digest", res.Digest).Infof("%s: nothing to build for %s, the finalize job publishes it", res.How, platform)
				continue
			}
			img.Platforms = []string{platform}
			build = append(build, img)
		}
		built := make([]Result, len(build))
		err := r.builds(ctx, tmp, build, buildx.Push, noTags, func(ctx context.Context, r Run, i int, digest string) error {
			img := build[i]
			ref, err := registry.DigestRef(img.Tags[0], digest)
			if err != nil {
				return err
			}
			if _, err := r.Registry.Verify(ctx, ref, registry.Expect{Platforms: img.Platforms, Revision: r.Event.Commit, NonRoot: true}); err != nil {
				return err
			}
			r.log(img).WithField("digest", digest).Info("pushed by digest, untagged: the finalize job assembles the index")
			img.Tags, img.Moving = nil, nil // nothing is tagged here
			built[i] = Result{Image: img, Digest: digest, How: Built}
			return nil
		})
		results = finished(built)
		if err != nil {
			return err
		}
		return r.writeShard(results)
	})
	return results, err
}

// writeShard writes the shard file of results and names it in the step
// output shard-file.
func (r Run) writeShard(results []Result) error {
	f := ShardFile{Commit: r.Event.Commit, Image: r.Config.Image, Platform: r.Config.Shard, Images: []ShardImage{}}
	for _, res := range results {
		f.Images = append(f.Images, ShardImage{Target: res.Image.Target, Digest: res.Digest})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.Config.ShardDir, 0o755); err != nil {
		return fmt.Errorf("write the shard file: %w; set GANTRY_SHARD_DIR (Config.ShardDir) to a writable directory", err)
	}
	path := filepath.Join(r.Config.ShardDir, ShardFileName(r.Config.Shard))
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the shard file: %w; set GANTRY_SHARD_DIR (Config.ShardDir) to a writable directory", err)
	}
	r.Log.WithField("file", path).Infof("shard file written: upload it for the finalize job (actions/upload-artifact of %s)", r.Config.ShardDir)
	return r.Actions().SetOutput("shard-file", path)
}

// ReadShards reads the shard files in dir (gantry-shard-*.json), by
// platform.
func ReadShards(dir string) (map[string]ShardFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "gantry-shard-*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no shard files: %s does not exist; download the platform jobs' artifacts there (actions/download-artifact with pattern gantry-shard-* and merge-multiple: true), or set GANTRY_SHARD_DIR (Config.ShardDir) to where they are", dir)
		}
	}
	shards := map[string]ShardFile{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read shard file: %w", err)
		}
		var f ShardFile
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("shard file %s: %w; it is not what a platform job (GANTRY_SHARD=<platform>) writes: re-run the platform jobs", path, err)
		}
		if filepath.Base(path) != ShardFileName(f.Platform) {
			return nil, fmt.Errorf("shard file %s holds platform %q, whose file is %s; re-run the platform jobs and download their artifacts unchanged", path, f.Platform, ShardFileName(f.Platform))
		}
		shards[f.Platform] = f
	}
	return shards, nil
}
