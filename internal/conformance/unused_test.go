package conformance

import (
	"strings"
	"testing"

	"github.com/gantry-build/gantry/magetools/config"
)

func TestCheckUnusedDockerfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, content, used string
		args, ports               []string
		severity                  Severity
		message, fix              string
	}{
		// The service: its own root Dockerfile, ignored silently.
		{name: "a root Dockerfile with CMD and EXPOSE", path: "Dockerfile",
			content:  "FROM golang:1.26 AS build\nRUN go build -o /aws .\nFROM gcr.io/distroless/static-debian12\nCOPY --from=build /aws /aws\nEXPOSE 8080\nENTRYPOINT [\"/aws\"]\nCMD [\"aws\",\"--port\",\"8080\"]\n",
			severity: Error, message: "Dockerfile is not built: Gantry builds Gantry's embedded docker/Dockerfile, so what this file gives its image is lost: ENTRYPOINT [\"/aws\"], CMD [\"aws\",\"--port\",\"8080\"], EXPOSE 8080"},
		{name: "settings inherited from the stage it is FROM", path: "Dockerfile", used: "docker/Dockerfile",
			content:  "FROM alpine:3.20 AS base\nEXPOSE 80 443/tcp\nCMD serve --all\nFROM base AS final\nEXPOSE 9090\n",
			severity: Error, message: "Gantry builds docker/Dockerfile, so what this file gives its image is lost: CMD serve --all, EXPOSE 443/tcp 80 9090"},
		{name: "an earlier stage's settings are not the image's", path: "Dockerfile",
			content:  "FROM alpine:3.20 AS tools\nCMD [\"sh\"]\nFROM scratch\nCOPY --from=tools /bin/true /true\n",
			severity: Error, message: "Dockerfile is not built: Gantry builds Gantry's embedded docker/Dockerfile"},
		{name: "its arguments and ports carried over: a warning", path: "Dockerfile",
			content: "FROM golang:1.26 AS build\nRUN go build -o /aws .\nFROM gcr.io/distroless/static-debian12\nCOPY --from=build /aws /aws\nEXPOSE 8080\nENTRYPOINT [\"/aws\"]\nCMD [\"aws\",\"--port\",\"8080\"]\n",
			args:    []string{"aws", "--port", "8080"}, ports: []string{"8080"},
			severity: Warning, message: "carried over as CMD [\"aws\",\"--port\",\"8080\"] (Config.Args) and EXPOSE 8080 (Config.Ports)", fix: "delete it when nothing else builds it"},
		{name: "an ENTRYPOINT alone: nothing to carry over, and the message says no more", path: "Dockerfile",
			content:  "FROM scratch\nENTRYPOINT [\"/app\"]\n",
			severity: Warning, message: "Dockerfile is not built: Gantry builds Gantry's embedded docker/Dockerfile, and this file's ENTRYPOINT [\"/app\"] gives its image no arguments or ports for Config.Args and Config.Ports to carry over"},
		{name: "ports alone carried over: no empty CMD named", path: "Dockerfile",
			content: "FROM scratch\nEXPOSE 8080\nENTRYPOINT [\"/app\"]\n", ports: []string{"8080"},
			severity: Warning, message: "with this file's ENTRYPOINT [\"/app\"], EXPOSE 8080 carried over as EXPOSE 8080 (Config.Ports)"},
		{name: "an ENTRYPOINT resets the CMD it inherits", path: "Dockerfile",
			content:  "FROM alpine:3.20 AS base\nCMD [\"sh\"]\nFROM base\nENTRYPOINT [\"/app\"]\n",
			severity: Warning, message: "this file's ENTRYPOINT [\"/app\"] gives its image no arguments"},
		{name: "a port not carried over is still lost", path: "Dockerfile",
			content: "FROM scratch\nEXPOSE 8080 9090\nCMD [\"serve\"]\n", args: []string{"serve"}, ports: []string{"8080"},
			severity: Error, message: "lost: CMD [\"serve\"], EXPOSE 8080 9090", fix: "Config.Args and Config.Ports"},
		{name: "arguments not carried over are still lost", path: "Dockerfile",
			content:  "FROM scratch\nENTRYPOINT [\"/app\", \"serve\"]\n",
			severity: Error, message: "lost: ENTRYPOINT [\"/app\",\"serve\"]", fix: "Config.Args and Config.Ports"},
		{name: "a variant is a warning", path: "Dockerfile.dev", content: "FROM golang:1.26\nCMD [\"go\",\"run\",\".\"]\n",
			severity: Warning, message: "Dockerfile.dev is not built"},
		{name: "one that does not parse is still unused", path: "Dockerfile", content: "FROM\n",
			severity: Error, message: "Dockerfile is not built: Gantry builds Gantry's embedded docker/Dockerfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := CheckUnusedDockerfile(tt.path, []byte(tt.content), config.Config{Dockerfile: tt.used, Args: tt.args, Ports: tt.ports})
			if f.Rule != RuleDockerfileUnused || f.Severity != tt.severity || f.Path != tt.path {
				t.Errorf("got %s %s on %s, want %s %s on %s", f.Severity, f.Rule, f.Path, tt.severity, RuleDockerfileUnused, tt.path)
			}
			if !strings.Contains(f.Message, tt.message) {
				t.Errorf("message %q lacks %q", f.Message, tt.message)
			}
			if strings.Contains(f.Message, "CMD []") || strings.HasSuffix(strings.TrimSpace(f.Message), "EXPOSE") || strings.Contains(f.Message, "EXPOSE  ") || strings.Contains(f.Message, "EXPOSE (") {
				t.Errorf("message %q names an instruction with nothing in it", f.Message)
			}
			if !strings.Contains(f.Fix, tt.fix) {
				t.Errorf("fix %q lacks %q", f.Fix, tt.fix)
			}
			if tt.message == "Dockerfile is not built: Gantry builds Gantry's embedded docker/Dockerfile" && strings.Contains(f.Message, "lost") {
				t.Errorf("message %q names something lost; the image's last stage has nothing", f.Message)
			}
			if want := "set GANTRY_DOCKERFILE or Config.Dockerfile to " + tt.path; !strings.Contains(f.Fix, want) || !strings.Contains(f.Fix, "delete it") {
				t.Errorf("fix %q lacks %q or deleting it", f.Fix, want)
			}
		})
	}
}

func TestIsDockerfileName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Dockerfile": true, "Dockerfile.dev": true, "Dockerfile.prod": true,
		"Dockerfile.dockerignore": false, "dockerfile": false, "Dockerfiles": false, "docker-compose.yml": false,
	} {
		if got := isDockerfileName(name); got != want {
			t.Errorf("isDockerfileName(%q) = %t, want %t", name, got, want)
		}
	}
}
