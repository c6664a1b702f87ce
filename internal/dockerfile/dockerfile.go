// Package dockerfile reads a Dockerfile with BuildKit's own parser (the
// one buildx will use) and finds its stages as BuildKit names them. It is
// the one stage check: publish refuses a file that cannot give the prod
// and dev targets before any build starts, and mage check reports the same
// finding with the same words.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// File is a parsed Dockerfile.
type File struct {
	Stages []instructions.Stage
	// MetaArgs are the ARGs before the first FROM.
	MetaArgs []instructions.ArgCommand
	// Escape is the escape character (# escape=), for expanding words.
	Escape rune
}

// Parse parses content as BuildKit does. Its errors are BuildKit's, with
// the line (a *parser.LocationError) where BuildKit knows it.
func Parse(content []byte) (File, error) {
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return File{}, err
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return File{}, err
	}
	return File{Stages: stages, MetaArgs: metaArgs, Escape: res.EscapeToken}, nil
}

// Stage returns the index of the stage called name, or -1. Names are
// case-insensitive, as BuildKit's --target is; an unnamed stage has none.
func (f File) Stage(name string) int {
	if name == "" {
		return -1
	}
	return slices.IndexFunc(f.Stages, func(s instructions.Stage) bool { return strings.EqualFold(s.Name, name) })
}

// StageNames are the named stages, in order.
func (f File) StageNames() []string {
	var names []string
	for _, s := range f.Stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	return names
}

// ArgDefaults are the values the ARGs before the first FROM give: what a
// FROM line expands with, and what an ARG of a stage without a value of
// its own takes.
func (f File) ArgDefaults() map[string]string {
	values := map[string]string{}
	for _, cmd := range f.MetaArgs {
		for _, kv := range cmd.Args {
			if kv.Value != nil {
				values[kv.Key] = *kv.Value
			}
		}
	}
	return values
}

// Expander returns a function that expands a FROM or --from word as
// BuildKit does: with the global ARGs' defaults, replaced by buildArgs. A
// word it cannot expand is kept as written.
func (f File) Expander(buildArgs map[string]string) func(word string) string {
	values := f.ArgDefaults()
	maps.Copy(values, buildArgs)
	var env []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		env = append(env, k+"="+values[k])
	}
	getter, lex := shell.EnvsFromSlice(env), shell.NewLex(f.Escape)
	return func(word string) string {
		out, _, err := lex.ProcessWord(word, getter)
		if err != nil {
			return word
		}
		return out
	}
}

// BaseStage returns the stage stage i is FROM (its FROM expanded with
// expand, an Expander), or -1 when it is FROM an image: FROM can name
// only an earlier stage.
func (f File) BaseStage(i int, expand func(string) string) int {
	j := f.Stage(expand(f.Stages[i].BaseName))
	if j >= i {
		return -1
	}
	return j
}

// Chain is stage i and the stages it is FROM, transitively, stage i
// first: the stages its image is made of.
func (f File) Chain(i int, expand func(string) string) []int {
	var chain []int
	for ; i >= 0; i = f.BaseStage(i, expand) {
		chain = append(chain, i)
	}
	return chain
}

// Command is a CMD or ENTRYPOINT: its words as written (the line, for
// the shell form), and the line it is on.
type Command struct {
	Args  []string
	Shell bool
	Line  int
}

// Value is a USER, a WORKDIR or an EXPOSEd port, and the line it is on.
type Value struct {
	Value string
	Line  int
}

// Image is how the image of a stage runs, as the instructions of this
// file set it: what the stage sets, over what it inherits from the stages
// it is FROM. nil (none) leaves the base image's.
type Image struct {
	Cmd, Entrypoint *Command
	// Expose are the ports exposed, each once, first first.
	Expose        []Value
	User, Workdir *Value
}

// Image returns the image of stage i, its FROM resolved with buildArgs
// (as Expander). It follows the builder: a stage FROM another inherits its
// image's settings; an ENTRYPOINT resets the CMD inherited, unless its
// own stage sets one; a relative WORKDIR is joined to the one before.
func (f File) Image(i int, buildArgs map[string]string) Image {
	var img Image
	if i < 0 || i >= len(f.Stages) {
		return img
	}
	chain := f.Chain(i, f.Expander(buildArgs))
	for k := len(chain) - 1; k >= 0; k-- {
		cmdSet := false
		for _, c := range f.Stages[chain[k]].Commands {
			switch c := c.(type) {
			case *instructions.CmdCommand:
				img.Cmd, cmdSet = &Command{c.CmdLine, c.PrependShell, Line(c.Location())}, true
			case *instructions.EntrypointCommand:
				img.Entrypoint = &Command{c.CmdLine, c.PrependShell, Line(c.Location())}
				if !cmdSet {
					img.Cmd = nil
				}
			case *instructions.ExposeCommand:
				for _, p := range c.Ports {
					if !slices.ContainsFunc(img.Expose, func(v Value) bool { return v.Value == p }) {
						img.Expose = append(img.Expose, Value{p, Line(c.Location())})
					}
				}
			case *instructions.UserCommand:
				img.User = &Value{c.User, Line(c.Location())}
			case *instructions.WorkdirCommand:
				dir := c.Path
				if !path.IsAbs(dir) {
					prev := "/"
					if img.Workdir != nil {
						prev = img.Workdir.Value
					}
					dir = path.Join(prev, dir)
				}
				img.Workdir = &Value{dir, Line(c.Location())}
			}
		}
	}
	return img
}

// Line is the first line of an instruction's location, 0 when unknown.
func Line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// Images returns the images the stages start FROM, expanded with
// buildArgs, each once, in order: not the stages built FROM an earlier
// stage, nor scratch.
func (f File) Images(buildArgs map[string]string) []string {
	expand := f.Expander(buildArgs)
	var images []string
	for i, s := range f.Stages {
		from := expand(s.BaseName)
		if j := f.Stage(from); (j >= 0 && j < i) || from == "scratch" || slices.Contains(images, from) {
			continue
		}
		images = append(images, from)
	}
	return images
}

// MissingStage is a target the Dockerfile has no stage for.
type MissingStage struct {
	Target string
	// Named are the Dockerfile's named stages.
	Named []string
}

// Problem says what is missing.
func (m MissingStage) Problem() string {
	named := "none"
	if len(m.Named) > 0 {
		named = strings.Join(m.Named, ", ")
	}
	return fmt.Sprintf("there is no stage %q (its named stages: %s)", m.Target, named)
}

// Fix says how to add it.
func (m MissingStage) Fix() string {
	return fmt.Sprintf("add `FROM <image> AS %s`, or name the stage in GANTRY_PROD_STAGE/GANTRY_DEV_STAGE (Config.ProdStage/DevStage)", m.Target)
}

// Missing returns the targets that have no stage, in the order given.
func (f File) Missing(targets ...string) []MissingStage {
	var missing []MissingStage
	for _, t := range targets {
		if f.Stage(t) < 0 {
			missing = append(missing, MissingStage{Target: t, Named: f.StageNames()})
		}
	}
	return missing
}

// CheckTargets returns an error unless the Dockerfile at path (content)
// parses and has a stage for every target name.
func CheckTargets(path string, content []byte, targets ...string) error {
	f, err := Parse(content)
	if err != nil {
		return fmt.Errorf("parse %s: %w; fix the syntax at the line named (BuildKit's parser), or remove the file to use Gantry's default Dockerfile", path, err)
	}
	var errs []error
	for _, m := range f.Missing(targets...) {
		errs = append(errs, fmt.Errorf("%s: %s; %s", path, m.Problem(), m.Fix()))
	}
	return errors.Join(errs...)
}
