package adopt

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/magetools/config"
)

// dockerfileChoice is which Dockerfile the targets will build with.
type dockerfileChoice struct {
	// own: the service's docker/Dockerfile, kept. It says how its image
	// runs itself: the configuration refuses Args and Ports with it.
	own bool
	// writes: init writes Gantry's Dockerfile to docker/Dockerfile, with
	// the service's CMD and EXPOSE in it.
	writes bool
}

// skip is the Dockerfile whose go build is not evidence of the service's
// build settings: the one Gantry builds with, passing it its own.
func (c dockerfileChoice) skip() string {
	if c.own {
		return config.DefaultDockerfile
	}
	return ""
}

// others are the service's Dockerfiles the targets will not build with:
// what they say about the image is carried over, or noted.
func (c dockerfileChoice) others(repo discover.Repo) []discover.Dockerfile {
	return slices.DeleteFunc(slices.Clone(repo.Dockerfiles), func(d discover.Dockerfile) bool { return d.File == c.skip() })
}

// decideDockerfile decides the Dockerfile the targets build with: Gantry's
// when init writes it to docker/Dockerfile or there is none; the service's
// docker/Dockerfile when it has the prod and dev stages (or one of them:
// it is meant for Gantry, and mage check says what it lacks); Gantry's
// embedded one, set in the magefile, when it has neither, as it was not
// written for Gantry.
func (l *Layout) decideDockerfile(repo discover.Repo, writes bool) dockerfileChoice {
	const path = config.DefaultDockerfile
	if writes {
		l.decide("Dockerfile", "Dockerfile", path, "-dockerfile: Gantry's, written by init", false)
		return dockerfileChoice{writes: true}
	}
	i := slices.IndexFunc(repo.Dockerfiles, func(d discover.Dockerfile) bool { return d.File == path })
	switch {
	case i < 0 && exists(filepath.Join(repo.Dir, path)):
		// It could not be read (see the notes); the targets will still use it.
		return dockerfileChoice{own: true}
	case i < 0:
		l.decide("Dockerfile", "Dockerfile", "Gantry's embedded one", "there is no "+path, false)
		return dockerfileChoice{}
	}
	missing := repo.Dockerfiles[i].Missing(config.DefaultProdStage, config.DefaultDevStage)
	switch len(missing) {
	case 0:
		l.decide("Dockerfile", "Dockerfile", path, path+" has the prod and dev stages", false)
	case 1:
		l.decide("Dockerfile", "Dockerfile", path, path+" has a prod or dev stage, so it is meant for Gantry", false)
		l.Notes = append(l.Notes, fmt.Sprintf("%s: %s; %s", path, missing[0].Problem(), missing[0].Fix()))
	default:
		l.decide("Dockerfile", "Dockerfile", config.EmbeddedDockerfile, path+" has no prod and dev stages", true)
		return dockerfileChoice{}
	}
	return dockerfileChoice{own: true}
}

// decideRuntime carries over how the first of the other Dockerfiles that
// says so runs its image: CMD and ENTRYPOINT as Args, EXPOSE as Ports,
// into docker/Dockerfile when init writes it, else into the magefile.
// What cannot be carried over is noted, with why.
func (l *Layout) decideRuntime(others []discover.Dockerfile, choice dockerfileChoice, binaries []string) {
	used := ""
	for _, d := range others {
		switch {
		case choice.own && len(d.Runtime()) > 0:
			l.Notes = append(l.Notes, fmt.Sprintf("%s of %s not carried over: the service builds with its own %s, whose prod and dev stages say how the image runs (Config.Args and Ports are for Gantry's Dockerfile only)",
				describe(d.Runtime()), d.File, config.DefaultDockerfile))
			continue
		case d.User.Source != "" && !slices.Equal(d.User.Values, []string{gantrysUser}):
			l.Notes = append(l.Notes, fmt.Sprintf("USER %s (from %s) not carried over: Gantry's images always run as %s (distroless's nonroot)", strings.Join(d.User.Values, " "), d.User.Source, gantrysUser))
		}
		if d.Cmd.Source == "" && d.Entrypoint.Source == "" && d.Expose.Source == "" {
			continue
		}
		if used != "" {
			l.Notes = append(l.Notes, fmt.Sprintf("%s of %s not carried over: %s's are", describe(d.Runtime()), d.File, used))
			continue
		}
		used = d.File
		l.carryOver(d, choice, binaries)
	}
}

// carryOver decides Args and Ports from the Dockerfile d.
func (l *Layout) carryOver(d discover.Dockerfile, choice dockerfileChoice, binaries []string) {
	args, source, problem := imageArgs(d, binaries)
	if problem != "" {
		l.Notes = append(l.Notes, problem)
	}
	for _, a := range args {
		if err := config.CheckArg(a); err != nil {
			l.Notes = append(l.Notes, fmt.Sprintf("the arguments %s (from %s) not carried over: %v", strings.Join(args, " "), source, err))
			args = nil
			break
		}
	}
	ports := l.applicable("EXPOSE", d.Expose.Values, d.Expose.Source, config.CheckPort)
	applied := inMagefile
	if choice.writes {
		applied = inDockerfile
		l.Args, l.Ports = args, ports
	}
	if len(args) > 0 {
		l.apply("arguments (CMD)", "Args", args, source, applied)
	}
	if len(ports) > 0 {
		l.apply("ports (EXPOSE)", "Ports", ports, d.Expose.Source, applied)
	}
}

// describe writes runtime instructions as one phrase: CMD serve, EXPOSE 8080.
func describe(runtime []discover.Setting) string {
	var parts []string
	for _, s := range runtime {
		parts = append(parts, s.Name+" "+strings.Join(s.Values, " "))
	}
	return strings.Join(parts, ", ")
}

// imageArgs works out the service's arguments from how the Dockerfile runs
// its image, for Gantry's, whose ENTRYPOINT is the binary: ENTRYPOINT's
// arguments after the program, then CMD, when ENTRYPOINT runs the
// service's binary; CMD's after the program when there is no ENTRYPOINT
// and CMD runs it. binaries are the names the binary goes by. problem
// says why they cannot be carried over, with the fix.
func imageArgs(d discover.Dockerfile, binaries []string) (args []string, source, problem string) {
	entry, cmd := d.Entrypoint, d.Cmd
	if entry.Source == "" && cmd.Source == "" {
		return nil, "", ""
	}
	if p := notCarried("ENTRYPOINT", entry, binaries, true); p != "" {
		return nil, "", p
	}
	if p := notCarried("CMD", cmd, binaries, entry.Source == ""); p != "" {
		return nil, "", p
	}
	if entry.Source == "" {
		return cmd.Values[1:], cmd.Source + " (CMD)", ""
	}
	source = entry.Source + " (ENTRYPOINT)"
	if cmd.Source != "" {
		source += " and " + cmd.Source + " (CMD)"
	}
	return slices.Concat(entry.Values[1:], cmd.Values), source, ""
}

// notCarried says why the instruction name (w) cannot be carried over,
// or "": a shell command line cannot be, nor a program other than the
// service's binary when it runs one (runs).
func notCarried(name string, w discover.Words, binaries []string, runs bool) string {
	line := fmt.Sprintf("%s %s (from %s)", name, strings.Join(w.Values, " "), w.Source)
	switch {
	case w.Source == "":
		return ""
	case isShell(w.Values):
		return fmt.Sprintf("%s not carried over: it is a shell command line, and Gantry's prod image has no shell; write it in exec form, %s [\"/app/server\", \"serve\"], and run gantry init again, or set magetools.Config.Args", line, name)
	case runs && (len(w.Values) == 0 || !slices.Contains(binaries, path.Base(w.Values[0]))):
		return fmt.Sprintf("%s not carried over: it does not run the service's binary (%s), and Gantry's images run the binary itself; set magetools.Config.Args to the arguments the service needs", line, strings.Join(binaries, ", "))
	}
	return ""
}

// isShell reports whether a CMD or ENTRYPOINT runs a shell command line:
// the shell form, or sh -c in exec form.
func isShell(words []string) bool {
	return len(words) >= 2 && words[1] == "-c" && slices.Contains([]string{"sh", "bash", "ash", "dash", "zsh"}, path.Base(words[0]))
}

// gantrysUser is the user Gantry's images run as.
const gantrysUser = "65532:65532"

// binaryNames are the names the service's binary goes by: what its builds
// write (go build -o, goreleaser's binary) and the service's name.
func binaryNames(repo discover.Repo, service string) []string {
	names := []string{service}
	for _, b := range repo.Builds() {
		if b.Binary != "" && !slices.Contains(names, b.Binary) {
			names = append(names, b.Binary)
		}
	}
	return names
}
