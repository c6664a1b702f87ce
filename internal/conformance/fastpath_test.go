package conformance

import (
	"strings"
	"testing"

	"github.com/gantry-build/gantry/docker"
)

func TestCheckFastPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dockerfile string
		want       []string // the stages warned about
	}{
		{name: "Gantry's Dockerfile has both stages", dockerfile: string(docker.Dockerfile)},
		{name: "stage names are case-insensitive", dockerfile: strings.NewReplacer("AS binaries", "AS Binaries", "AS debug-binaries", "AS DEBUG-BINARIES").Replace(string(docker.Dockerfile))},
		{name: "a service's own Dockerfile without them", dockerfile: "FROM --platform=$BUILDPLATFORM golang:1.26 AS build\nFROM gcr.io/distroless/static-debian12:nonroot AS prod\nFROM debian:12 AS dev\n",
			want: []string{`"binaries"`, `"debug-binaries"`}},
		{name: "only the prod one", dockerfile: strings.Replace(string(docker.Dockerfile), "AS debug-binaries", "AS build-dev", 1),
			want: []string{`"debug-binaries"`}},
		{name: "unparsable: left to the dockerfile rule", dockerfile: "FROM a AS b AS c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := CheckFastPath("docker/Dockerfile", []byte(tt.dockerfile))
			if len(got) != len(tt.want) {
				t.Fatalf("findings %v, want %d", got, len(tt.want))
			}
			for i, f := range got {
				if f.Severity != Warning || f.Rule != RuleFastPath || !strings.Contains(f.Message, tt.want[i]) ||
					!strings.Contains(f.Fix, "/${TARGETOS}_${TARGETARCH}/usr/local/bin/service") || !strings.Contains(f.Fix, "README") {
					t.Errorf("finding %d = %+v; want a fast-path warning about %s with the layout and the README in its fix", i, f, tt.want[i])
				}
			}
		})
	}
}
