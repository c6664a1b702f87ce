package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/gantry-build/gantry/internal/imageuser"
	"github.com/gantry-build/gantry/magetools/config"
)

// CheckDockerfile applies the Dockerfile rules to content, read from path:
// the prod and dev stages exist, build stages run on $BUILDPLATFORM, the
// prod runtime runs no RUN and no root user, and no image is latest.
func CheckDockerfile(path string, content []byte, cfg config.Config) []Finding {
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return []Finding{parseError(path, err)}
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return []Finding{parseError(path, err)}
	}
	df := newDockerfile(path, stages, metaArgs, res.EscapeToken, cfg.BuildArgs)
	findings := df.latestTags()
	prod, dev := df.stage(cfg.ProdStage), df.stage(cfg.DevStage)
	for _, target := range []struct {
		index            int
		name, env, field string
	}{{prod, cfg.ProdStage, "GANTRY_PROD_STAGE", "Config.ProdStage"}, {dev, cfg.DevStage, "GANTRY_DEV_STAGE", "Config.DevStage"}} {
		if target.index < 0 {
			findings = append(findings, Finding{Severity: Error, Rule: RuleStages, Path: path,
				Message: fmt.Sprintf("there is no stage %q (stages: %s)", target.name, df.stageNames()),
				Fix:     fmt.Sprintf("add `FROM <image> AS %s`, or name the stage in %s (%s)", target.name, target.env, target.field)})
		}
	}
	findings = append(findings, df.buildPlatforms(prod, dev)...)
	if prod >= 0 {
		findings = append(findings, df.prodRuns(prod)...)
		findings = append(findings, df.prodUser(prod)...)
	}
	return byLine(findings)
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

// dockerfile is a parsed Dockerfile with its stages' relations resolved.
type dockerfile struct {
	path     string
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	// base[i] is the stage that stage i is FROM, or -1 for an image.
	base []int
	// froms[i] is stage i's FROM image with the build arguments expanded.
	froms []string
	// sources[i] are the --from of stage i's COPY and RUN --mount, expanded.
	sources [][]source
	// deps[i] are the stages that stage i copies or mounts from.
	deps [][]int
	// buildArgs are Gantry's build arguments (Config.BuildArgs).
	buildArgs map[string]string
}

// source is the --from of a COPY or RUN --mount: a stage name or number,
// or an image.
type source struct {
	from string
	line int
}

func newDockerfile(path string, stages []instructions.Stage, metaArgs []instructions.ArgCommand, escape rune, buildArgs map[string]string) dockerfile {
	n := len(stages)
	df := dockerfile{path: path, stages: stages, metaArgs: metaArgs, buildArgs: buildArgs,
		base: make([]int, n), froms: make([]string, n), sources: make([][]source, n), deps: make([][]int, n)}
	env := shell.EnvsFromSlice(argValues(metaArgs, buildArgs))
	lex := shell.NewLex(escape)
	for i, s := range stages {
		df.froms[i] = expand(lex, s.BaseName, env)
		df.base[i] = df.stageBefore(df.froms[i], i)
		for _, src := range sourcesOf(s) {
			src.from = expand(lex, src.from, env)
			df.sources[i] = append(df.sources[i], src)
			if dep := df.stageRef(src.from, i); dep >= 0 {
				df.deps[i] = append(df.deps[i], dep)
			}
		}
	}
	return df
}

// argValues are the global ARGs' values as a build gets them: their
// defaults, replaced by the build arguments Gantry passes.
func argValues(metaArgs []instructions.ArgCommand, buildArgs map[string]string) []string {
	values := map[string]string{}
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if kv.Value != nil {
				values[kv.Key] = *kv.Value
			}
		}
	}
	maps.Copy(values, buildArgs)
	var env []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		env = append(env, k+"="+values[k])
	}
	return env
}

// expand resolves $VAR and ${VAR} as BuildKit does; a word it cannot
// expand is kept as written.
func expand(lex *shell.Lex, word string, env shell.EnvGetter) string {
	out, _, err := lex.ProcessWord(word, env)
	if err != nil {
		return word
	}
	return out
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

// stage returns the index of the stage called name, or -1.
func (df dockerfile) stage(name string) int {
	return slices.IndexFunc(df.stages, func(s instructions.Stage) bool { return strings.EqualFold(s.Name, name) })
}

// stageBefore returns the index of a stage called name defined before
// stage i (FROM can only name those), or -1.
func (df dockerfile) stageBefore(name string, i int) int {
	j := df.stage(name)
	if j >= i {
		return -1
	}
	return j
}

// stageRef resolves a --from of stage i: a stage name or number, or -1 for
// an image.
func (df dockerfile) stageRef(from string, i int) int {
	if n, err := strconv.Atoi(from); err == nil && n >= 0 && n < i {
		return n
	}
	return df.stageBefore(from, i)
}

func (df dockerfile) stageNames() string {
	var names []string
	for _, s := range df.stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return "none named"
	}
	return strings.Join(names, ", ")
}

func (df dockerfile) stageLabel(i int) string {
	if n := df.stages[i].Name; n != "" {
		return fmt.Sprintf("stage %q", n)
	}
	return fmt.Sprintf("stage %d", i)
}

// runtimeChain is stage i and the stages it is FROM, transitively: what
// the final image is made of, built for the target platform.
func (df dockerfile) runtimeChain(i int) []int {
	var chain []int
	for ; i >= 0; i = df.base[i] {
		chain = append(chain, i)
	}
	return chain
}

// buildStages are the stages the targets copy from, and everything those
// are FROM or copy from in turn, leaving out the targets' runtime chains.
func (df dockerfile) buildStages(targets ...int) []int {
	runtime := map[int]bool{}
	var queue []int
	for _, t := range targets {
		if t < 0 {
			continue
		}
		for _, r := range df.runtimeChain(t) {
			runtime[r] = true
			queue = append(queue, df.deps[r]...)
		}
	}
	seen := map[int]bool{}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		if seen[i] || runtime[i] {
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

// buildPlatforms requires --platform=$BUILDPLATFORM on every build stage
// FROM an image, so that it runs natively and cross-compiles. A stage FROM
// another stage inherits that stage's platform, which is checked itself.
func (df dockerfile) buildPlatforms(prod, dev int) []Finding {
	var findings []Finding
	for _, i := range df.buildStages(prod, dev) {
		s := df.stages[i]
		if df.base[i] >= 0 || s.Platform == "$BUILDPLATFORM" || s.Platform == "${BUILDPLATFORM}" {
			continue
		}
		f := Finding{Severity: Error, Rule: RuleBuildPlatform, Path: df.path, Line: line(s.Location),
			Message: fmt.Sprintf("build %s runs on the target platform: under emulation for every other platform, and slow", df.stageLabel(i)),
			Fix:     fmt.Sprintf("write `FROM --platform=$BUILDPLATFORM %s` and cross-compile with GOOS=$TARGETOS GOARCH=$TARGETARCH", s.BaseName)}
		if strings.EqualFold(df.froms[i], "scratch") {
			f.Severity = Warning
			f.Message = fmt.Sprintf("build %s is FROM scratch without --platform: stages built on it get the target platform", df.stageLabel(i))
		}
		findings = append(findings, f)
	}
	return findings
}

// prodRuns forbids RUN in the prod runtime: it would need emulation for
// every platform but the runner's.
func (df dockerfile) prodRuns(prod int) []Finding {
	var findings []Finding
	for _, i := range df.runtimeChain(prod) {
		for _, cmd := range df.stages[i].Commands {
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
func (df dockerfile) prodUser(prod int) []Finding {
	fix := "add `USER 65532:65532` (or another non-root uid) to the prod stage"
	for _, i := range df.runtimeChain(prod) {
		cmds := df.stages[i].Commands
		for j := len(cmds) - 1; j >= 0; j-- {
			user, ok := cmds[j].(*instructions.UserCommand)
			if !ok {
				continue
			}
			if imageuser.IsRoot(user.User) {
				return []Finding{{Severity: Error, Rule: RuleProdUser, Path: df.path, Line: line(user.Location()),
					Message: fmt.Sprintf("the prod image runs as root (USER %s)", user.User), Fix: fix}}
			}
			return nil
		}
	}
	return []Finding{{Severity: Error, Rule: RuleProdUser, Path: df.path, Line: line(df.stages[prod].Location),
		Message: fmt.Sprintf("the prod stage %q sets no USER, so it runs as whatever user its base image has, root by default", df.stages[prod].Name),
		Fix:     fix}}
}

// latestTags finds every latest tag: ARG defaults and build arguments that
// say latest, and FROM, COPY --from and RUN --mount images with a latest
// tag or none at all. A FROM whose image comes from an ARG already
// reported is not reported again.
func (df dockerfile) latestTags() []Finding {
	var findings []Finding
	reported := map[string]bool{}
	fix := "name an explicit version (e.g. golang:1.26-bookworm) or pin a digest; there is never a latest tag"
	argCmds := slices.Clone(df.metaArgs)
	for _, s := range df.stages {
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
	for i, s := range df.stages {
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
