package imagefs

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// defaultPath is the PATH a container runtime sets when the config has none
// (moby's oci.DefaultPathEnv for Linux).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// shells are the programs a shell-form ENTRYPOINT or CMD runs through.
var shells = []string{"sh", "bash", "ash", "dash"}

// Entrypoint returns the absolute path of the program img runs:
// Entrypoint[0], else Cmd[0], from its config. A bare name is looked up in
// the config's PATH against the image's files, a relative path against its
// WorkingDir. A shell-form command is an error: its program is the shell.
func Entrypoint(img v1.Image) (string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("read the image config: %w", err)
	}
	argv := cf.Config.Entrypoint
	if len(argv) == 0 {
		argv = cf.Config.Cmd
	}
	prog, err := program(argv)
	if err != nil {
		return "", err
	}
	switch {
	case path.IsAbs(prog):
		return path.Clean(prog), nil
	case strings.Contains(prog, "/"):
		return path.Join("/", cf.Config.WorkingDir, prog), nil
	}
	candidates := lookPath(prog, cf.Config.Env, cf.Config.WorkingDir)
	found, err := read(img, func(p string) bool { return slices.Contains(candidates, p) },
		func(found map[string][]byte) bool {
			// The first PATH entry wins whatever lower layers hold.
			_, ok := found[candidates[0]]
			return ok
		}, math.MaxInt64, true) // a presence walk reads no content: no limit needed
	if err != nil {
		return "", fmt.Errorf("look %s up in the image's PATH: %w", prog, err)
	}
	for _, c := range candidates {
		if _, ok := found[c]; ok {
			return c, nil
		}
	}
	return "", fmt.Errorf("the image runs %s, which no directory of its PATH holds (%s): name the binary by its absolute path in ENTRYPOINT", prog, strings.Join(candidates, ", "))
}

// program returns the program argv runs, refusing the shell form.
func program(argv []string) (string, error) {
	if len(argv) == 0 || argv[0] == "" {
		return "", fmt.Errorf("the image has no ENTRYPOINT or CMD: set an exec-form ENTRYPOINT naming the service binary, e.g. ENTRYPOINT [\"/usr/local/bin/service\"]")
	}
	if len(argv) >= 2 && argv[1] == "-c" && slices.Contains(shells, path.Base(argv[0])) {
		return "", fmt.Errorf("the image runs a shell (%s): use an exec-form ENTRYPOINT naming the service binary, e.g. ENTRYPOINT [\"/usr/local/bin/service\"], so the SBOM describes the service, not the shell", strings.Join(argv, " "))
	}
	return argv[0], nil
}

// lookPath lists where PATH (from env, else the runtime's default) would
// find name, in the order it searches; relative entries start at workDir,
// the directory the program starts in.
func lookPath(name string, env []string, workDir string) []string {
	dirs := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	var out []string
	for _, d := range strings.Split(dirs, ":") {
		if !path.IsAbs(d) {
			d = path.Join("/", workDir, d)
		}
		out = append(out, path.Join(d, name))
	}
	return out
}
