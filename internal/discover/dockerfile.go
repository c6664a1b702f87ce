package discover

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/gantry-build/gantry/internal/dockerfile"
)

// DockerfilePaths are the Dockerfiles read, in the order their go build
// is trusted: the team's root Dockerfile, then docker/Dockerfile.
var DockerfilePaths = []string{"Dockerfile", "docker/Dockerfile"}

// Dockerfile is what an existing Dockerfile says about the service: its
// go build commands, and how its last stage (the image) runs.
type Dockerfile struct {
	File   string
	Builds []GoBuild
	// Of the image of the last stage, with what it inherits through FROM
	// (dockerfile.File.Image): the command and entrypoint (exec form, or
	// /bin/sh -c and the line for the shell form), the ports (Source: the
	// last port's line) and the user.
	Cmd, Entrypoint, Expose, User Words
	// parsed is the file as BuildKit reads it, for its stages.
	parsed dockerfile.File
}

// Words are values the repository says, and where; Source is "" when it
// says none.
type Words struct {
	Values []string
	Source string
}

// Missing returns the targets the Dockerfile has no stage for, as the
// stage check (internal/dockerfile) says it.
func (d Dockerfile) Missing(targets ...string) []dockerfile.MissingStage {
	return d.parsed.Missing(targets...)
}

// Runtime are the instructions of its last stage that say how the image
// runs (CMD, ENTRYPOINT, EXPOSE, USER), as found, for gantry init to carry
// over to Gantry's settings or to say why it does not.
func (d Dockerfile) Runtime() []Setting {
	var out []Setting
	for _, w := range []struct {
		name  string
		words Words
	}{{"CMD", d.Cmd}, {"ENTRYPOINT", d.Entrypoint}, {"EXPOSE", d.Expose}, {"USER", d.User}} {
		if w.words.Source != "" {
			out = append(out, Setting{w.name, w.words.Values, w.words.Source})
		}
	}
	return out
}

// ParseDockerfile reads a Dockerfile with BuildKit's parser; file names
// it in the sources.
func ParseDockerfile(file string, content []byte) (Dockerfile, error) {
	f, err := dockerfile.Parse(content)
	if err != nil {
		return Dockerfile{}, err
	}
	d := Dockerfile{File: file, parsed: f}
	defaults := f.ArgDefaults()
	expand := f.Expander(nil)
	// env[i] is stage i's ENV, which the stages FROM it inherit.
	env := make([][]Var, len(f.Stages))
	for si, stage := range f.Stages {
		vars := stageVars{defaults: defaults}
		if base := f.BaseStage(si, expand); base >= 0 {
			vars.env = slices.Clone(env[base])
		}
		for _, cmd := range stage.Commands {
			source := fmt.Sprintf("%s line %d", file, dockerfile.Line(cmdLocation(cmd)))
			switch c := cmd.(type) {
			case *instructions.EnvCommand, *instructions.ArgCommand:
				vars.add(c, source)
			case *instructions.RunCommand:
				builds, err := shellGoBuilds(c.CmdLine, c.PrependShell, source)
				if err != nil {
					return Dockerfile{}, err
				}
				for i := range builds {
					builds[i].Inherited = vars.visible()
				}
				d.Builds = append(d.Builds, builds...)
			}
		}
		env[si] = vars.env
	}
	// The image is the last stage's, with what it inherits through FROM.
	img := f.Image(len(f.Stages)-1, nil)
	source := func(line int) string { return fmt.Sprintf("%s line %d", file, line) }
	if c := img.Cmd; c != nil {
		d.Cmd = Words{shellForm(c), source(c.Line)}
	}
	if e := img.Entrypoint; e != nil {
		d.Entrypoint = Words{shellForm(e), source(e.Line)}
	}
	for _, p := range img.Expose {
		d.Expose = Words{append(d.Expose.Values, p.Value), source(p.Line)}
	}
	if u := img.User; u != nil {
		d.User = Words{[]string{u.Value}, source(u.Line)}
	}
	return d, nil
}

// stageVars are the variables a stage's RUN sees: its ARGs (which end
// with the stage) and its ENV (inherited by the stages FROM it).
type stageVars struct {
	env, args []Var
	// defaults are the values of the ARGs before the first FROM, which
	// an ARG in a stage without a value of its own takes.
	defaults map[string]string
}

func (v *stageVars) add(cmd instructions.Command, source string) {
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			v.env = append(v.env, Var{kv.Key, kv.Value, source})
		}
	case *instructions.ArgCommand:
		for _, a := range c.Args {
			if a.Value != nil {
				v.args = append(v.args, Var{a.Key, *a.Value, source})
			} else if def, ok := v.defaults[a.Key]; ok {
				v.args = append(v.args, Var{a.Key, def, source})
			}
		}
	}
}

// visible lists the ARGs, then the ENV, which wins over an ARG of the
// same name.
func (v stageVars) visible() []Var {
	return slices.Concat(v.args, v.env)
}

// shellGoBuilds finds the go build commands of a RUN: in its shell line,
// or its exec form. A shell line too rich to split into words (functions,
// as in Gantry's own dev-tools stage) is an error only when it may hold a
// go build; otherwise it says nothing about the build.
func shellGoBuilds(cmdLine []string, shell bool, source string) ([]GoBuild, error) {
	commands := [][]string{cmdLine}
	if shell {
		line := strings.Join(cmdLine, " ")
		var err error
		if commands, err = shellCommands(line); err != nil {
			if !strings.Contains(line, "go build") {
				return nil, nil
			}
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	}
	return goBuilds(commands, source)
}

// shellForm writes a CMD or ENTRYPOINT as the words it runs: the shell
// form as /bin/sh -c and its line.
func shellForm(c *dockerfile.Command) []string {
	if c.Shell {
		return []string{"/bin/sh", "-c", strings.Join(c.Args, " ")}
	}
	return c.Args
}

func cmdLocation(cmd instructions.Command) []parser.Range {
	if l, ok := cmd.(interface{ Location() []parser.Range }); ok {
		return l.Location()
	}
	return nil
}
