package conformance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/gantry-build/gantry/internal/dockerfile"
	"github.com/gantry-build/gantry/internal/gobuild"
	"github.com/gantry-build/gantry/internal/imageuser"
	"github.com/gantry-build/gantry/magetools/config"
)

// imageBuildArgs are the build arguments the image build passes, so that
// the check follows the stages the build takes (CGO_ENABLED chooses one).
func imageBuildArgs(cfg config.Config) map[string]string {
	args := gobuild.NewOptions(cfg, gobuild.Stamp{}).BuildArgs()
	maps.Copy(args, cfg.BuildArgs)
	return args
}

// checkDockerfile applies the Dockerfile rules to content, read from path:
// the prod and dev stages exist, build stages run on $BUILDPLATFORM, the
// prod runtime runs no RUN and no root user, and no image is latest. It
// also tells which RUN instructions of the targets run on the target
// platform, for the workflow's QEMU step.
func checkDockerfile(path string, content []byte, cfg config.Config) ([]Finding, Emulation) {
	file, err := dockerfile.Parse(content)
	if err != nil {
		return []Finding{parseError(path, err)}, Emulation{}
	}
	df := newStageGraph(path, file, imageBuildArgs(cfg))
	findings := df.latestTags()
	for _, m := range file.Missing(cfg.ProdStage, cfg.DevStage) {
		findings = append(findings, Finding{Severity: Error, Rule: RuleStages, Path: path, Message: m.Problem(), Fix: m.Fix()})
	}
	prod, dev := file.Stage(cfg.ProdStage), file.Stage(cfg.DevStage)
	findings = append(findings, df.buildPlatforms(prod, dev)...)
	if prod >= 0 {
		findings = append(findings, df.prodRuns(prod)...)
		findings = append(findings, df.prodUser(prod)...)
	}
	return byLine(findings), Emulation{Known: true, Path: path, RunLines: df.emulatedRuns(prod, dev)}
}

func parseError(path string, err error) Finding {
	f := Finding{Severity: Error, Rule: RuleDockerfile, Path: path,
		Message: fmt.Sprintf("cannot parse the Dockerfile: %v", err),
		Fix:     "fix the syntax at the line named; `docker buildx build --check` reports the same"}
	var loc *parser.LocationError
	if errors.As(err, &loc) && len(loc.Locations) > 0 && len(loc.Locations[0]) > 0 {
		f.Line = loc.Locations[0][0].Start.Line
	}
	return f
}

// stageGraph is a parsed Dockerfile with its stages' relations resolved.
type stageGraph struct {
	dockerfile.File
	path string
	// base[i] is the stage that stage i is FROM, or -1 for an image.
	base []int
	// froms[i] is stage i's FROM image with the build arguments expanded.
	froms []string
	// sources[i] are the --from of stage i's COPY and RUN --mount, expanded.
	sources [][]source
	// deps[i] are the stages that stage i copies or mounts from.
	deps [][]int
	// buildArgs are the build's arguments (imageBuildArgs).
	buildArgs map[string]string
}

// source is the --from of a COPY or RUN --mount: a stage name or number,
// or an image.
type source struct {
	from string
	line int
}

func newStageGraph(path string, file dockerfile.File, buildArgs map[string]string) stageGraph {
	n := len(file.Stages)
	df := stageGraph{File: file, path: path, buildArgs: buildArgs,
		base: make([]int, n), froms: make([]string, n), sources: make([][]source, n), deps: make([][]int, n)}
	expand := file.Expander(buildArgs)
	for i, s := range file.Stages {
		df.froms[i] = expand(s.BaseName)
		df.base[i] = file.BaseStage(i, expand)
		for _, src := range sourcesOf(s) {
			src.from = expand(src.from)
			df.sources[i] = append(df.sources[i], src)
			if dep := df.stageRef(src.from, i); dep >= 0 {
				df.deps[i] = append(df.deps[i], dep)
			}
		}
	}
	return df
}

// sourcesOf lists the --from of stage s's COPY and RUN --mount
// instructions, as written.
func sourcesOf(s instructions.Stage) []source {
	var sources []source
	for _, cmd := range s.Commands {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				sources = append(sources, source{c.From, line(c.Location())})
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					sources = append(sources, source{m.From, line(c.Location())})
				}
			}
		}
	}
	return sources
}

// stageBefore returns the index of a stage called name defined before
// stage i (FROM can only name those), or -1.
func (df stageGraph) stageBefore(name string, i int) int {
	j := df.Stage(name)
	if j >= i {
		return -1
	}
	return j
}

// stageRef resolves a --from of stage i: a stage name or number, or -1 for
// an image.
func (df stageGraph) stageRef(from string, i int) int {
	if n, err := strconv.Atoi(from); err == nil && n >= 0 && n < i {
		return n
	}
	return df.stageBefore(from, i)
}

func (df stageGraph) stageLabel(i int) string {
	if n := df.Stages[i].Name; n != "" {
		return fmt.Sprintf("stage %q", n)
	}
	return fmt.Sprintf("stage %d", i)
}

// runtimeChain is stage i and the stages it is FROM, transitively: what
// the final image is made of, built for the target platform.
func (df stageGraph) runtimeChain(i int) []int {
	var chain []int
	for ; i >= 0; i = df.base[i] {
		chain = append(chain, i)
	}
	return chain
}

// runtimeStages are the stages of the targets' runtime chains.
func (df stageGraph) runtimeStages(targets ...int) map[int]bool {
	runtime := map[int]bool{}
	for _, t := range targets {
		if t >= 0 {
			for _, r := range df.runtimeChain(t) {
				runtime[r] = true
			}
		}
	}
	return runtime
}

// buildStages are the stages the targets' runtimes copy or mount from, and
// everything those are FROM or copy or mount from in turn. A stage in a
// runtime chain that is also reached this way is a build stage too: what
// is copied from it is built on its platform, the target's.
func (df stageGraph) buildStages(targets ...int) []int {
	var queue []int
	for r := range df.runtimeStages(targets...) {
		queue = append(queue, df.deps[r]...)
	}
	seen := map[int]bool{}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		if seen[i] {
			continue
		}
		seen[i] = true
		queue = append(queue, df.deps[i]...)
		if df.base[i] >= 0 {
			queue = append(queue, df.base[i])
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// platformRoot is the stage that decides stage i's platform: i itself
// when it is FROM an image, else the first stage FROM an image down its
// FROM chain (a stage FROM another stage inherits its platform).
func (df stageGraph) platformRoot(i int) int {
	for df.base[i] >= 0 {
		i = df.base[i]
	}
	return i
}

// onBuildPlatform reports whether stage i runs on $BUILDPLATFORM.
func (df stageGraph) onBuildPlatform(i int) bool {
	p := df.Stages[df.platformRoot(i)].Platform
	return p == "$BUILDPLATFORM" || p == "${BUILDPLATFORM}"
}

// runLines are the lines of stage i's RUN instructions.
func (df stageGraph) runLines(i int) []int {
	var lines []int
	for _, cmd := range df.Stages[i].Commands {
		if run, ok := cmd.(*instructions.RunCommand); ok {
			lines = append(lines, line(run.Location()))
		}
	}
	return lines
}

// emulatedRuns are the lines of every RUN that building the targets
// executes on the target platform: under emulation for every platform but
// the runner's.
func (df stageGraph) emulatedRuns(prod, dev int) []int {
	stages := df.buildStages(prod, dev)
	for r := range df.runtimeStages(prod, dev) {
		if !slices.Contains(stages, r) {
			stages = append(stages, r)
		}
	}
	var lines []int
	for _, i := range stages {
		if !df.onBuildPlatform(i) {
			lines = append(lines, df.runLines(i)...)
		}
	}
	slices.Sort(lines)
	return lines
}

// targetsBuiltFrom names the targets whose runtime chain holds stage i.
func (df stageGraph) targetsBuiltFrom(i int, targets ...int) string {
	var names []string
	for _, t := range targets {
		if t >= 0 && slices.Contains(df.runtimeChain(t), i) {
			names = append(names, df.Stages[t].Name)
		}
	}
	return strings.Join(names, " and ")
}

// buildPlatforms requires every build stage to run on $BUILDPLATFORM, so
// that it runs natively and cross-compiles. A build stage FROM an image
// must say --platform=$BUILDPLATFORM itself. A build stage whose platform
// comes from a target's runtime chain (it is one of those stages, or FROM
// one) has the target platform; that is harmless for files copied out of
// it, but its RUN instructions run under emulation.
func (df stageGraph) buildPlatforms(prod, dev int) []Finding {
	var findings []Finding
	runtime := df.runtimeStages(prod, dev)
	for _, i := range df.buildStages(prod, dev) {
		s := df.Stages[i]
		root := df.platformRoot(i)
		switch {
		case df.onBuildPlatform(i):
		case !runtime[root] && root == i:
			f := Finding{Severity: Error, Rule: RuleBuildPlatform, Path: df.path, Line: line(s.Location),
				Message: fmt.Sprintf("build %s runs on the target platform: under emulation for every other platform, and slow", df.stageLabel(i)),
				Fix:     fmt.Sprintf("write `FROM --platform=$BUILDPLATFORM %s` and cross-compile with GOOS=$TARGETOS GOARCH=$TARGETARCH", s.BaseName)}
			if strings.EqualFold(df.froms[i], "scratch") {
				f.Severity = Warning
				f.Message = fmt.Sprintf("build %s is FROM scratch without --platform: stages built on it get the target platform", df.stageLabel(i))
			}
			findings = append(findings, f)
		case !runtime[root]:
			// FROM a build stage on the target platform: reported there.
		case len(df.runLines(i)) == 0:
			// Only files are taken from the target platform: no emulation.
		case runtime[i]:
			findings = append(findings, Finding{Severity: Error, Rule: RuleBuildPlatform, Path: df.path, Line: line(s.Location),
				Message: fmt.Sprintf("%s is both a build stage (copied or mounted from) and part of the %s runtime, so its RUN runs on the target platform: under emulation, for the build too", df.stageLabel(i), df.targetsBuiltFrom(i, prod, dev)),
				Fix:     fmt.Sprintf("split it: do the build in a stage `FROM --platform=$BUILDPLATFORM %s` that cross-compiles with GOOS=$TARGETOS GOARCH=$TARGETARCH, and base %s on the image, not on the build stage", df.froms[root], df.targetsBuiltFrom(i, prod, dev))})
		default:
			findings = append(findings, Finding{Severity: Error, Rule: RuleBuildPlatform, Path: df.path, Line: line(s.Location),
				Message: fmt.Sprintf("build %s inherits the target platform through its FROM chain from %s, part of the %s runtime, so its RUN runs under emulation", df.stageLabel(i), df.stageLabel(root), df.targetsBuiltFrom(root, prod, dev)),
				Fix:     fmt.Sprintf("write `FROM --platform=$BUILDPLATFORM %s` and cross-compile with GOOS=$TARGETOS GOARCH=$TARGETARCH", df.froms[root])})
		}
	}
	return findings
}

// prodRuns forbids RUN in the prod runtime: it would need emulation for
// every platform but the runner's.
func (df stageGraph) prodRuns(prod int) []Finding {
	var findings []Finding
	for _, i := range df.runtimeChain(prod) {
		for _, cmd := range df.Stages[i].Commands {
			if run, ok := cmd.(*instructions.RunCommand); ok {
				findings = append(findings, Finding{Severity: Error, Rule: RuleProdRun, Path: df.path, Line: line(run.Location()),
					Message: fmt.Sprintf("RUN in the prod runtime (%s) runs on every target platform, under emulation", df.stageLabel(i)),
					Fix:     "do the work in a build stage FROM --platform=$BUILDPLATFORM and COPY --from it the result"})
			}
		}
	}
	return findings
}

// prodUser requires the prod runtime to name a non-root USER itself: the
// base image's user is not visible here and may change with a new tag.
// Root is what publish's verification of the pushed image calls root.
func (df stageGraph) prodUser(prod int) []Finding {
	fix := "add `USER 65532:65532` (or another non-root uid) to the prod stage"
	user := df.Image(prod, df.buildArgs).User
	switch {
	case user == nil:
		return []Finding{{Severity: Error, Rule: RuleProdUser, Path: df.path, Line: line(df.Stages[prod].Location),
			Message: fmt.Sprintf("the prod stage %q sets no USER, so it runs as whatever user its base image has, root by default", df.Stages[prod].Name),
			Fix:     fix}}
	case imageuser.IsRoot(user.Value):
		return []Finding{{Severity: Error, Rule: RuleProdUser, Path: df.path, Line: user.Line,
			Message: fmt.Sprintf("the prod image runs as root (USER %s)", user.Value), Fix: fix}}
	}
	return nil
}

// latestTags finds every latest tag: ARG defaults and build arguments that
// say latest, and FROM, COPY --from and RUN --mount images with a latest
// tag or none at all. A FROM whose image comes from an ARG already
// reported is not reported again.
func (df stageGraph) latestTags() []Finding {
	var findings []Finding
	reported := map[string]bool{}
	fix := "name an explicit version (e.g. golang:1.26-bookworm) or pin a digest; there is never a latest tag"
	argCmds := slices.Clone(df.MetaArgs)
	for _, s := range df.Stages {
		for _, cmd := range s.Commands {
			if a, ok := cmd.(*instructions.ArgCommand); ok {
				argCmds = append(argCmds, *a)
			}
		}
	}
	for _, a := range argCmds {
		for _, kv := range a.Args {
			if kv.Value != nil && saysLatest(*kv.Value) {
				reported[*kv.Value] = true
				findings = append(findings, Finding{Severity: Error, Rule: RuleLatest, Path: df.path, Line: line(a.Location()),
					Message: fmt.Sprintf("ARG %s defaults to %q", kv.Key, *kv.Value), Fix: fix})
			}
		}
	}
	// Build arguments replace ARG defaults: a latest among them is one too.
	for _, k := range slices.Sorted(maps.Keys(df.buildArgs)) {
		if v := df.buildArgs[k]; saysLatest(v) {
			reported[v] = true
			findings = append(findings, Finding{Severity: Error, Rule: RuleLatest, Path: df.path,
				Message: fmt.Sprintf("the build argument %s=%s (Config.BuildArgs or GANTRY_BUILD_ARGS) says latest", k, v),
				Fix:     "set it to an explicit version in Config.BuildArgs or GANTRY_BUILD_ARGS"})
		}
	}
	for i, s := range df.Stages {
		if df.base[i] < 0 && !reported[df.froms[i]] {
			if msg := latestImage(df.froms[i]); msg != "" {
				findings = append(findings, Finding{Severity: Error, Rule: RuleLatest, Path: df.path, Line: line(s.Location),
					Message: fmt.Sprintf("FROM %s %s", describe(s.BaseName, df.froms[i]), msg), Fix: fix})
			}
		}
		for _, src := range df.sources[i] {
			if df.stageRef(src.from, i) < 0 && !reported[src.from] {
				if msg := latestImage(src.from); msg != "" {
					findings = append(findings, Finding{Severity: Error, Rule: RuleLatest, Path: df.path, Line: src.line,
						Message: fmt.Sprintf("--from=%s %s", src.from, msg), Fix: fix})
				}
			}
		}
	}
	return findings
}

// describe shows a word as written and, when build arguments changed it,
// as built.
func describe(written, expanded string) string {
	if written == expanded {
		return written
	}
	return written + " (" + expanded + ")"
}

// byLine orders findings in one file from top to bottom, as one reads it.
func byLine(findings []Finding) []Finding {
	slices.SortStableFunc(findings, func(a, b Finding) int { return a.Line - b.Line })
	return findings
}

func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}
