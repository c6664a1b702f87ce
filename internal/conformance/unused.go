package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/gantry-build/gantry/internal/dockerfile"
)

// unusedDockerfiles applies the dockerfile-unused rule to the Dockerfiles
// at the root of the service directory dir that Gantry does not build
// (used is Config.Dockerfile, "" for Gantry's embedded one).
func unusedDockerfiles(dir, used string) []Finding {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // the other rules say why the directory cannot be read
	}
	var findings []Finding
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !isDockerfileName(name) || (used != "" && filepath.Clean(used) == name) {
			continue
		}
		path := filepath.Join(dir, name)
		content, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		findings = append(findings, CheckUnusedDockerfile(path, content, used))
	}
	return findings
}

// isDockerfileName reports whether name is a Dockerfile by the usual
// names: Dockerfile or Dockerfile.<variant>, but not the per-Dockerfile
// ignore file Dockerfile.dockerignore.
func isDockerfileName(name string) bool {
	return name == "Dockerfile" || (strings.HasPrefix(name, "Dockerfile.") && !strings.HasSuffix(name, ".dockerignore"))
}

// CheckUnusedDockerfile reports the Dockerfile at path (content) that
// Gantry does not build, naming what its image has that Gantry's lacks:
// the final stage's CMD and ENTRYPOINT arguments and its EXPOSEd ports,
// read with BuildKit's parser. A root `Dockerfile` is an error: it is
// the one `docker build .` uses, so it is the service's image as its team
// knows it; `Dockerfile.<variant>` is a warning, often kept for another
// purpose (tests, local development).
func CheckUnusedDockerfile(path string, content []byte, used string) Finding {
	built := "Gantry's embedded docker/Dockerfile"
	if used != "" {
		built = used
	}
	f := Finding{Severity: Error, Rule: RuleDockerfileUnused, Path: path,
		Fix: fmt.Sprintf("to build it, add the prod and dev stages to it (Gantry's own has them: `gantry init -dockerfile` writes it to docker/Dockerfile) and set GANTRY_DOCKERFILE or Config.Dockerfile to %s; or delete it", filepath.Base(path))}
	if filepath.Base(path) != "Dockerfile" {
		f.Severity = Warning
		f.Fix += ", or move it out of the service's root if it serves another purpose"
	}
	lost := ""
	if file, err := dockerfile.Parse(content); err == nil {
		lost = finalImageSettings(file)
	}
	f.Message = fmt.Sprintf("%s is not built: Gantry builds %s", filepath.Base(path), built)
	if lost != "" {
		f.Message += fmt.Sprintf(", so what this file gives its image is lost: %s", lost)
	}
	return f
}

// finalImageSettings describes the CMD, ENTRYPOINT and EXPOSE that the
// image of the Dockerfile's last stage (what `docker build` builds)
// carries, including those it inherits from the stages it is FROM.
func finalImageSettings(file dockerfile.File) string {
	if len(file.Stages) == 0 {
		return ""
	}
	// The chain of stages the last one is built FROM, first the oldest.
	chain := []int{len(file.Stages) - 1}
	for {
		base := file.Stage(file.Stages[chain[0]].BaseName)
		if base < 0 || base >= chain[0] {
			break
		}
		chain = append([]int{base}, chain...)
	}
	var cmd, entrypoint string
	var ports []string
	for _, i := range chain {
		for _, c := range file.Stages[i].Commands {
			switch c := c.(type) {
			case *instructions.CmdCommand:
				cmd = "CMD " + commandLine(c.CmdLine, c.PrependShell)
			case *instructions.EntrypointCommand:
				entrypoint = "ENTRYPOINT " + commandLine(c.CmdLine, c.PrependShell)
			case *instructions.ExposeCommand:
				ports = append(ports, c.Ports...)
			}
		}
	}
	var settings []string
	for _, s := range []string{entrypoint, cmd} {
		if s != "" {
			settings = append(settings, s)
		}
	}
	if len(ports) > 0 {
		settings = append(settings, "EXPOSE "+strings.Join(slices.Compact(ports), " "))
	}
	if len(settings) == 0 {
		return ""
	}
	return strings.Join(settings, ", ")
}

// commandLine renders a CMD or ENTRYPOINT as written: exec form as JSON,
// shell form as the line.
func commandLine(args []string, shell bool) string {
	if shell {
		return strings.Join(args, " ")
	}
	b, _ := json.Marshal(args)
	return string(b)
}
