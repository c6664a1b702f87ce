package adopt

import "testing"

const (
	// serverBuild builds the binary /app/server.
	serverBuild = "FROM golang AS build\nRUN go build -o /app/server .\nFROM gcr.io/distroless/static\n"
	// gantrysStages are the prod and dev stages of a Dockerfile for Gantry.
	gantrysStages = "FROM golang AS build\nFROM scratch AS prod\nFROM scratch AS dev\n"
)

func TestDecideRuntime(t *testing.T) {
	tests := []decision{
		{name: "ENTRYPOINT runs the binary: its arguments, then CMD; ports, one with a variable noted; USER noted", files: map[string]string{
			"Dockerfile": serverBuild + "EXPOSE 8080 ${METRICS_PORT}\nUSER nobody\nENTRYPOINT [\"/app/server\", \"-v\"]\nCMD [\"serve\"]\n"},
			want: []string{
				"decided arguments (CMD) -v serve (from Dockerfile line 6 (ENTRYPOINT) and Dockerfile line 7 (CMD); set in the magefile's init())",
				"decided ports (EXPOSE) 8080 (from Dockerfile line 4; set in the magefile's init())",
				"decided Dockerfile Gantry's embedded one (from there is no docker/Dockerfile; the targets decide the same)"},
			wantNotes: []string{"EXPOSE ${METRICS_PORT} (from Dockerfile line 4) not applied: it holds a variable",
				"USER nobody (from Dockerfile line 5) not carried over: Gantry's images always run as 65532:65532"},
			wantSettings: map[string]any{"Args": []string{"-v", "serve"}, "Ports": []string{"8080"}}},
		{name: "CMD runs the binary by its path, no ENTRYPOINT: the rest of CMD", files: map[string]string{
			"Dockerfile": serverBuild + "CMD [\"/usr/local/bin/server\", \"--port=80\"]\n"},
			want:         []string{"decided arguments (CMD) --port=80 (from Dockerfile line 4 (CMD); set in the magefile's init())"},
			wantSettings: map[string]any{"Args": []string{"--port=80"}}},
		{name: "CMD runs the binary by the service's name", files: map[string]string{
			"Dockerfile": "FROM scratch\nCMD [\"svc\", \"run\"]\n"},
			wantSettings: map[string]any{"Args": []string{"run"}}},
		{name: "a shell-form CMD cannot be carried over", files: map[string]string{
			"Dockerfile": serverBuild + "CMD /app/server --port $PORT\n"},
			wantNotes: []string{"CMD /bin/sh -c /app/server --port $PORT (from Dockerfile line 4) not carried over: it is a shell command line, and Gantry's prod image has no shell; write it in exec form"}},
		{name: "sh -c in exec form neither", files: map[string]string{
			"Dockerfile": serverBuild + "ENTRYPOINT [\"sh\", \"-c\", \"exec /app/server\"]\n"},
			wantNotes: []string{"ENTRYPOINT sh -c exec /app/server (from Dockerfile line 4) not carried over: it is a shell command line"}},
		{name: "an ENTRYPOINT that runs another program", files: map[string]string{
			"Dockerfile": serverBuild + "ENTRYPOINT [\"/tini\", \"--\", \"/app/server\"]\nCMD [\"serve\"]\n"},
			wantNotes: []string{"ENTRYPOINT /tini -- /app/server (from Dockerfile line 4) not carried over: it does not run the service's binary (svc, server)"}},
		{name: "a port the configuration refuses", files: map[string]string{
			"Dockerfile": serverBuild + "EXPOSE 8000-8010 9090/udp\n"},
			wantNotes:    []string{`EXPOSE 8000-8010 (from Dockerfile line 4) not applied: port "8000-8010" is not PORT or PORT/PROTOCOL`},
			wantSettings: map[string]any{"Ports": []string{"9090/udp"}}},
		{name: "the service's own docker/Dockerfile for Gantry is kept: the root Dockerfile's runtime noted", files: map[string]string{
			"docker/Dockerfile": gantrysStages,
			"Dockerfile":        serverBuild + "USER nobody\nCMD [\"/app/server\"]\n"},
			want:      []string{"decided Dockerfile docker/Dockerfile (from docker/Dockerfile has the prod and dev stages; the targets decide the same)"},
			wantNotes: []string{"CMD /app/server, USER nobody of Dockerfile not carried over: the service builds with its own docker/Dockerfile"}},
		{name: "a docker/Dockerfile with one of the stages is meant for Gantry: kept, the other stage noted", files: map[string]string{
			"docker/Dockerfile": "FROM golang AS build\nFROM scratch AS prod\nEXPOSE 80\n"},
			want:      []string{"decided Dockerfile docker/Dockerfile (from docker/Dockerfile has a prod or dev stage, so it is meant for Gantry; the targets decide the same)"},
			wantNotes: []string{`docker/Dockerfile: there is no stage "dev" (its named stages: build, prod); add ` + "`FROM <image> AS dev`"}},
		{name: "a docker/Dockerfile without the stages: Gantry's embedded one, the root Dockerfile's runtime first", files: map[string]string{
			"docker/Dockerfile": "FROM golang AS build\nFROM scratch AS runtime\nEXPOSE 9000\n",
			"Dockerfile":        serverBuild + "EXPOSE 8080\n"},
			want: []string{"decided Dockerfile embedded (from docker/Dockerfile has no prod and dev stages; set in the magefile's init())",
				"decided ports (EXPOSE) 8080 (from Dockerfile line 4; set in the magefile's init())"},
			wantNotes:    []string{"EXPOSE 9000 of docker/Dockerfile not carried over: Dockerfile's are"},
			wantSettings: map[string]any{"Dockerfile": "embedded", "Ports": []string{"8080"}}},
		{name: "a docker/Dockerfile that cannot be read is still the one the targets use", files: map[string]string{
			"docker/Dockerfile": "FROM\n",
			"Dockerfile":        serverBuild + "EXPOSE 8080\n"},
			wantNotes: []string{"EXPOSE 8080 of Dockerfile not carried over: the service builds with its own docker/Dockerfile"}},
		{name: "init writes docker/Dockerfile: the runtime goes there, not into the magefile", files: map[string]string{
			"docker/Dockerfile": "FROM golang AS build\nFROM scratch AS runtime\nCMD [\"/app/server\", \"old\"]\n",
			"Dockerfile":        serverBuild + "EXPOSE 8080\nCMD [\"/app/server\", \"serve\"]\n"},
			flags: Flags{WritesDockerfile: true},
			want: []string{"decided Dockerfile docker/Dockerfile (from -dockerfile: Gantry's, written by init; the targets decide the same)",
				"decided arguments (CMD) serve (from Dockerfile line 5 (CMD); written to docker/Dockerfile)",
				"decided ports (EXPOSE) 8080 (from Dockerfile line 4; written to docker/Dockerfile)"},
			wantNotes: []string{"CMD /app/server old of docker/Dockerfile not carried over: Dockerfile's are"},
			wantArgs:  []string{"serve"}, wantPorts: []string{"8080"}},
		{name: "a Dockerfile already running as Gantry's user: no note", files: map[string]string{
			"Dockerfile": serverBuild + "USER 65532:65532\n"},
			absent: []string{"USER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
