package conformance

import (
	"fmt"

	"github.com/gantry-build/gantry/internal/dockerfile"
	"github.com/gantry-build/gantry/internal/gobuild"
)

// RuleFastPath warns when the Dockerfile lacks a stage that Gantry's
// fast path replaces with binaries compiled on the host (README, Fast
// path): the build still works, but compiles in the image build, without
// the Go caches CI restores.
const RuleFastPath = "fast-path"

// fastPathStages are the stages the fast path replaces, with the binary
// each holds.
var fastPathStages = []struct{ stage, binary string }{
	{gobuild.BinariesStage, "the prod binary"},
	{gobuild.DebugBinariesStage, "the debug binary"},
}

// CheckFastPath warns for each fast-path stage the Dockerfile lacks. A
// file that does not parse gets no finding here (checkDockerfile reports
// it).
func CheckFastPath(path string, content []byte) []Finding {
	f, err := dockerfile.Parse(content)
	if err != nil {
		return nil
	}
	var findings []Finding
	for _, s := range fastPathStages {
		if f.Stage(s.stage) >= 0 {
			continue
		}
		findings = append(findings, Finding{Severity: Warning, Rule: RuleFastPath, Path: path,
			Message: fmt.Sprintf("there is no stage %q, so Gantry compiles %s in the image build, without the Go module and build caches CI restores (slow on a fresh runner)", s.stage, s.binary),
			Fix: fmt.Sprintf("name that stage %q, write the binary to /${TARGETOS}_${TARGETARCH}/usr/local/bin/service, and COPY --from=%s /${TARGETOS}_${TARGETARCH}/ /, as Gantry's docker/Dockerfile does (README, Fast path); a cgo service keeps its own names",
				s.stage, s.stage)})
	}
	return findings
}
