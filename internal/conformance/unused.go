package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/dockerfile"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/magetools/config"
)

// unusedDockerfiles applies the dockerfile-unused rule to the Dockerfiles
// at the root of the service directory dir that Gantry does not build
// (cfg.Dockerfile, "" for Gantry's embedded one).
func unusedDockerfiles(root repofile.Dir, cfg config.Config) []Finding {
	entries, err := os.ReadDir(root.Path)
	if err != nil {
		return nil // the other rules say why the directory cannot be read
	}
	var findings []Finding
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !isDockerfileName(name) || (cfg.Dockerfile != "" && filepath.Clean(cfg.Dockerfile) == name) {
			continue
		}
		content, err := root.Read(name, repofile.MaxBuildFile)
		if err != nil {
			continue
		}
		findings = append(findings, CheckUnusedDockerfile(filepath.Join(root.Path, name), content, cfg))
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
// purpose (tests, local development). When Gantry's embedded Dockerfile
// carries the file's settings over (Config.Args and Config.Ports, which
// gantry init sets from it), the root Dockerfile is only a warning too.
func CheckUnusedDockerfile(path string, content []byte, cfg config.Config) Finding {
	built := "Gantry's embedded docker/Dockerfile"
	if cfg.Dockerfile != "" {
		built = cfg.Dockerfile
	}
	f := Finding{Severity: Error, Rule: RuleDockerfileUnused, Path: path,
		Fix: fmt.Sprintf("to build it, add the prod and dev stages to it (Gantry's own has them: `gantry init -dockerfile` writes it to docker/Dockerfile) and set GANTRY_DOCKERFILE or Config.Dockerfile to %s; or delete it", filepath.Base(path))}
	if filepath.Base(path) != "Dockerfile" {
		f.Severity = Warning
		f.Fix += ", or move it out of the service's root if it serves another purpose"
	}
	var settings imageSettings
	if file, err := dockerfile.Parse(content); err == nil {
		settings = finalImageSettings(file)
	}
	f.Message = fmt.Sprintf("%s is not built: Gantry builds %s", filepath.Base(path), built)
	lost := settings.String()
	switch {
	case lost != "" && cfg.Dockerfile == "" && settings.carriedBy(cfg):
		f.Severity = Warning
		if carried := carriedOver(cfg); carried != "" {
			f.Message += fmt.Sprintf(", with this file's %s carried over as %s", lost, carried)
		} else {
			f.Message += fmt.Sprintf(", and this file's %s gives its image no arguments or ports for Config.Args and Config.Ports to carry over", lost)
		}
		f.Fix = "delete it when nothing else builds it, so that one Dockerfile defines the image; " + f.Fix
	case lost != "":
		f.Message += fmt.Sprintf(", so what this file gives its image is lost: %s", lost)
		if cfg.Dockerfile == "" {
			f.Fix = "carry its arguments and ports over with Config.Args and Config.Ports (gantry init does), or " + f.Fix
		}
	}
	return f
}

// imageSettings are the CMD, ENTRYPOINT and EXPOSE of a Dockerfile's image.
type imageSettings struct {
	cmd, entrypoint string
	// args says whether the image passes its program arguments (a CMD, or
	// an ENTRYPOINT with more than the program).
	args  bool
	ports []string
}

// carriedBy reports whether cfg gives Gantry's images what s gives the
// file's: every port exposed, and arguments when the file passes some.
func (s imageSettings) carriedBy(cfg config.Config) bool {
	for _, p := range s.ports {
		if !slices.Contains(cfg.Ports, p) && !slices.Contains(cfg.Ports, strings.TrimSuffix(p, "/tcp")) {
			return false
		}
	}
	return !s.args || len(cfg.Args) > 0
}

func (s imageSettings) String() string {
	var settings []string
	for _, v := range []string{s.entrypoint, s.cmd} {
		if v != "" {
			settings = append(settings, v)
		}
	}
	if len(s.ports) > 0 {
		settings = append(settings, "EXPOSE "+strings.Join(s.ports, " "))
	}
	return strings.Join(settings, ", ")
}

// carriedOver says what Config.Args and Config.Ports give Gantry's
// images, naming only those set: CMD ["serve"] (Config.Args).
func carriedOver(cfg config.Config) string {
	var parts []string
	if len(cfg.Args) > 0 {
		parts = append(parts, fmt.Sprintf("CMD %s (Config.Args)", commandLine(cfg.Args, false)))
	}
	if len(cfg.Ports) > 0 {
		parts = append(parts, fmt.Sprintf("EXPOSE %s (Config.Ports)", strings.Join(cfg.Ports, " ")))
	}
	return strings.Join(parts, " and ")
}

// finalImageSettings are the CMD, ENTRYPOINT and EXPOSE that the image of
// the Dockerfile's last stage (what `docker build` builds) carries,
// including those it inherits from the stages it is FROM.
func finalImageSettings(file dockerfile.File) imageSettings {
	var s imageSettings
	img := file.Image(len(file.Stages)-1, nil)
	if c := img.Cmd; c != nil {
		s.cmd = "CMD " + commandLine(c.Args, c.Shell)
	}
	if e := img.Entrypoint; e != nil {
		s.entrypoint = "ENTRYPOINT " + commandLine(e.Args, e.Shell)
	}
	for _, p := range img.Expose {
		s.ports = append(s.ports, p.Value)
	}
	s.args = img.Cmd != nil || (img.Entrypoint != nil && len(img.Entrypoint.Args) > 1)
	return s
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
