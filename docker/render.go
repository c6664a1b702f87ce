package docker

import (
	"bytes"
	"encoding/json"
	"strings"
)

// entrypoint is the line that ends the prod and the dev stage of the
// default Dockerfile; Render adds the service's CMD and EXPOSE after it.
var entrypoint = []byte("ENTRYPOINT [\"/usr/local/bin/service\"]\n")

// Render returns the default Dockerfile with the service's default
// arguments (CMD) and exposed ports (EXPOSE) in both images, so that
// `docker run <image>` starts the service as its old Dockerfile did. With
// neither, it is Dockerfile as it is.
func Render(args, ports []string) []byte {
	var extra strings.Builder
	if len(args) > 0 {
		// JSON is the exec form's syntax; its escaping is Go's, which
		// BuildKit's parser reads back (a test proves it).
		cmd, _ := json.Marshal(args)
		extra.WriteString("CMD " + string(cmd) + "\n")
	}
	if len(ports) > 0 {
		extra.WriteString("EXPOSE " + strings.Join(ports, " ") + "\n")
	}
	if extra.Len() == 0 {
		return bytes.Clone(Dockerfile)
	}
	return bytes.ReplaceAll(Dockerfile, entrypoint, append(bytes.Clone(entrypoint), extra.String()...))
}
