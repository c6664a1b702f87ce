package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-build/gantry/internal/actions"
	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/inputs"
	"github.com/gantry-build/gantry/internal/repofile"
)

// InputsDigest is the service's inputs digest (internal/inputs): the
// files of g (the graph its image build compiles), the Go version of the
// host (the fast path compiles there), the Dockerfile, the .dockerignore,
// and every resolved setting that changes the images' bytes; nothing that
// changes with the commit alone (the version, commit and date stamps, the
// revision, version and created labels). With a Dockerfile of the
// service's own, the whole committed build context counts: Gantry cannot
// tell which files its COPY reads. It is "" with a Prepare command, whose
// outputs are not known before it runs: such a service is always built.
func (r Run) InputsDigest(ctx context.Context, g golist.Graph) (string, error) {
	cfg := r.Config
	if len(cfg.Prepare) > 0 {
		return "", nil
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return "", err
	}
	var in inputs.Inputs
	if err := in.AddGraph(g, dir); err != nil {
		return "", err
	}
	goVersion, err := r.Compiler.Version(ctx, cfg.Dir)
	if err != nil {
		return "", err
	}
	name, content, err := r.dockerfileSource()
	if err != nil {
		return "", err
	}
	in.File("Dockerfile "+name, content)
	if cfg.Dockerfile != "" {
		tree, err := git.Repo{Dir: cfg.Dir}.TreeID(ctx)
		if err != nil {
			return "", err
		}
		in.Setting("build context", tree)
	}
	ignore, err := repofile.At(cfg.Dir).Read(".dockerignore", repofile.MaxBuildFile)
	switch {
	case err == nil:
		in.File(".dockerignore", ignore)
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	// The stamps' variables, not their values.
	for key, value := range gobuild.NewOptions(cfg, gobuild.Stamp{}).BuildArgs() {
		in.Setting("build arg "+key, value)
	}
	for key, value := range cfg.BuildArgs {
		in.Setting("service build arg "+key, value)
	}
	for key, value := range map[string]string{
		"go": goVersion, "service": cfg.Service, "description": cfg.Description, "license": cfg.License,
		"source": r.Event.Repository, "prod stage": cfg.ProdStage, "dev stage": cfg.DevStage,
		"platforms": strings.Join(cfg.Platforms, ","), "attestations": strconv.FormatBool(cfg.Attestations),
		"stamp version": cfg.Stamp.Version, "stamp commit": cfg.Stamp.Commit, "stamp date": cfg.Stamp.Date,
	} {
		in.Setting(key, value)
	}
	return in.Digest(), nil
}

// Affected decides whether this push builds the service: not when every
// moving tag of its plan names an image built from the inputs digest
// (inputs.Decide). A tag that cannot be read builds it.
func (r Run) Affected(ctx context.Context, digest string) inputs.Decision {
	var current []inputs.Current
	for _, img := range r.Plan.Images {
		for _, tag := range img.Moving {
			c, found, err := r.Registry.Lookup(ctx, tag)
			if err != nil {
				return inputs.Decision{Reason: fmt.Sprintf("cannot read %s to compare (%v)", tag, err)}
			}
			current = append(current, inputs.Current{Tag: tag, Found: found, Revision: c.Revision, Inputs: c.Inputs})
		}
	}
	return inputs.Decide(digest, current)
}

// Services are the runs of the services of one repository
// (Config.Services), one run each, carried out together.
type Services []Run

// active are the runs whose plan is not skipped (the plan and its log say
// why the others are).
func (s Services) active() Services {
	var out Services
	for _, r := range s {
		if r.Plan.Skipped == "" {
			out = append(out, r)
		}
	}
	return out
}

// Login logs every service's run in (Run.Login); logout undoes them all.
func (s Services) Login(ctx context.Context) (Services, func(), error) {
	out := slices.Clone(s)
	var logouts []func()
	logout := func() {
		for _, l := range logouts {
			l()
		}
	}
	for i, r := range s {
		loggedIn, l, err := r.Login(ctx)
		if err != nil {
			logout()
			return s, nil, err
		}
		out[i], logouts = loggedIn, append(logouts, l)
	}
	return out, logout, nil
}

// Each applies fn (a check or WithSigning) to every run.
func (s Services) Each(fn func(Run) (Run, error)) (Services, error) {
	out := slices.Clone(s)
	for i, r := range s {
		var err error
		if out[i], err = fn(r); err != nil {
			return s, fmt.Errorf("service %s: %w", r.Config.Service, err)
		}
	}
	return out, nil
}

// Publish publishes the services whose plan is not skipped, as Publish
// does one, together: first every service's checks before any build
// (push access, moving tags); then every service's images at once, on the
// one builder, each service in its own log lane; and only when every
// image of every service is verified, attested and has its immutable
// tags, the moving tags of all of them. A failure anywhere leaves every
// service's moving tags where they were. A skipped service gets no tag.
func (s Services) Publish(ctx context.Context) ([]Result, error) {
	runs := s.active()
	for _, r := range runs {
		if err := r.preflight(ctx); err != nil {
			return nil, fmt.Errorf("service %s: %w", r.Config.Service, err)
		}
	}
	runs, err := runs.prepareOnce(ctx)
	if err != nil {
		return nil, err
	}
	results := make([][]Result, len(runs))
	err = runs.together(func(i int, r Run) error {
		results[i] = make([]Result, len(r.Plan.Images))
		return r.withTemp(func(tmp string) error { return r.put(ctx, tmp, results[i]) })
	})
	if err == nil {
		for i, r := range runs {
			if err = r.moveTags(ctx, results[i]); err != nil {
				err = fmt.Errorf("service %s: %w", r.Config.Service, err)
				break
			}
		}
	}
	for i := range results {
		results[i] = finished(results[i])
	}
	return runs.label(results), err
}

// label names each run's results with its service, in one list.
func (s Services) label(results [][]Result) []Result {
	var all []Result
	for i, res := range results {
		for _, r := range res {
			r.Service = s[i].Config.Service
			all = append(all, r)
		}
	}
	return all
}

// BuildOnly builds every service's images (Run.BuildOnly), together.
func (s Services) BuildOnly(ctx context.Context) ([]Result, error) {
	return s.each(ctx, Run.BuildOnly)
}

// Release releases every service (Run.Release), together.
func (s Services) Release(ctx context.Context) ([]Result, error) {
	return s.each(ctx, Run.Release)
}

func (s Services) each(ctx context.Context, fn func(Run, context.Context) ([]Result, error)) ([]Result, error) {
	runs, err := s.active().prepareOnce(ctx)
	if err != nil {
		return nil, err
	}
	results := make([][]Result, len(runs))
	err = runs.together(func(i int, r Run) error {
		var err error
		results[i], err = fn(r, ctx)
		return err
	})
	return runs.label(results), err
}

// prepareOnce runs each distinct Prepare command of the runs once, one
// after the other, before any build, and returns the runs without it:
// the services share Dir, and the same command (go generate ./...) run
// by several builds at once would write the same files at once.
func (s Services) prepareOnce(ctx context.Context) (Services, error) {
	out := slices.Clone(s)
	done := map[string]bool{}
	for i, r := range s {
		key := strings.Join(r.Config.Prepare, "\x00")
		if key != "" && !done[key] {
			if err := r.Prepare(ctx); err != nil {
				return s, fmt.Errorf("service %s: %w", r.Config.Service, err)
			}
			done[key] = true
		}
		out[i].Config.Prepare = nil
	}
	return out, nil
}

// together runs fn for every run at once, each in its own log lane (the
// output of one service, then the next's: output.go), and joins their
// errors, each naming its service. A failed service does not stop the
// others, as a failed build does not stop the others of a service.
func (s Services) together(fn func(i int, r Run) error) error {
	seq := newSequence(len(s))
	errs := make([]error, len(s))
	var wg sync.WaitGroup
	for i, r := range s {
		lane := seq.lanes[i]
		wg.Go(func() {
			defer lane.Close()
			if err := fn(i, r.in(lane)); err != nil {
				errs[i] = fmt.Errorf("service %s: %w", r.Config.Service, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Report writes one job summary and the step outputs of every service's
// results (in GitHub Actions only), naming the services not rebuilt. A
// target is named <service>-<target> (api-prod: outputs api-prod-digest,
// api-prod-tags).
func (s Services) Report(results []Result) error {
	if len(s) == 0 {
		return nil
	}
	r := s[0]
	var images []actions.Image
	for _, res := range results {
		img := actions.Image{Target: res.Service + "-" + res.Image.Target, Platforms: res.Image.Platforms, Tags: res.Image.Tags, Digest: res.Digest}
		for _, c := range res.Checks {
			img.Verified = append(img.Verified, actions.Check{What: c.What, Detail: c.Detail, Command: c.Command})
		}
		images = append(images, img)
	}
	title := string(r.Event.Kind) + " " + r.Event.Ref
	var skipped []string
	for _, run := range s {
		if run.Plan.Skipped != "" {
			skipped = append(skipped, run.Config.Service+" ("+run.Plan.Skipped+")")
		}
	}
	if len(skipped) > 0 {
		title += "; not rebuilt: " + strings.Join(skipped, "; ")
	}
	if err := r.Actions().AppendSummary(title, r.Plan.Version, images); err != nil {
		return err
	}
	return r.Actions().WriteOutputs(images)
}
