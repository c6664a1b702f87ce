package discover

import (
	"fmt"
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
	// Of the last stage: the command and entrypoint (exec form, or
	// /bin/sh -c and the line for the shell form), the ports and the user.
	Cmd, Entrypoint, Expose, User Words
}

// Words are values the repository says, and where; Source is "" when it
// says none.
type Words struct {
	Values []string
	Source string
}

// ParseDockerfile reads a Dockerfile with BuildKit's parser; file names
// it in the sources.
func ParseDockerfile(file string, content []byte) (Dockerfile, error) {
	f, err := dockerfile.Parse(content)
	if err != nil {
		return Dockerfile{}, err
	}
	d := Dockerfile{File: file}
	for si, stage := range f.Stages {
		last := si == len(f.Stages)-1
		for _, cmd := range stage.Commands {
			source := fmt.Sprintf("%s line %d", file, line(cmd))
			switch c := cmd.(type) {
			case *instructions.RunCommand:
				builds, err := shellGoBuilds(c.CmdLine, c.PrependShell, source)
				if err != nil {
					return Dockerfile{}, err
				}
				d.Builds = append(d.Builds, builds...)
			case *instructions.CmdCommand:
				if last {
					d.Cmd = Words{shellForm(c.ShellDependantCmdLine), source}
				}
			case *instructions.EntrypointCommand:
				if last {
					d.Entrypoint = Words{shellForm(c.ShellDependantCmdLine), source}
				}
			case *instructions.ExposeCommand:
				if last {
					d.Expose = Words{append(d.Expose.Values, c.Ports...), source}
				}
			case *instructions.UserCommand:
				if last {
					d.User = Words{[]string{c.User}, source}
				}
			}
		}
	}
	return d, nil
}

// shellGoBuilds finds the go build commands of a RUN: in its shell line,
// or its exec form.
func shellGoBuilds(cmdLine []string, shell bool, source string) ([]GoBuild, error) {
	commands := [][]string{cmdLine}
	if shell {
		var err error
		if commands, err = shellCommands(strings.Join(cmdLine, " ")); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	}
	return goBuilds(commands, source)
}

func shellForm(c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return []string{"/bin/sh", "-c", strings.Join(c.CmdLine, " ")}
	}
	return c.CmdLine
}

func line(cmd instructions.Command) int {
	if l, ok := cmd.(interface{ Location() []parser.Range }); ok && len(l.Location()) > 0 {
		return l.Location()[0].Start.Line
	}
	return 0
}
