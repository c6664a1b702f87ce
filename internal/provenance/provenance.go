// Package provenance writes and reads the SLSA v1 provenance of a published
// image: an in-toto v1 statement whose subjects are the image index and its
// platform manifests, and whose predicate says which source, Dockerfile,
// base images and Go toolchain built them, and where. docs/provenance.md
// describes every field. Statement and Read are pure: signing and pushing
// the statement is the caller's.
package provenance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// PredicateType is SLSA provenance v1's.
const PredicateType = "https://slsa.dev/provenance/v1"

// BuildType names Gantry's build: docs/provenance.md says what the
// parameters of a build of this type mean.
const BuildType = "https://github.com/gantry-build/gantry/blob/main/docs/provenance.md"

// EmbeddedDockerfile is Dockerfile.Path when the image was built from the
// Dockerfile embedded in Gantry, not from one of the service's.
const EmbeddedDockerfile = "embedded"

// Subject is one artifact the provenance is about.
type Subject struct {
	// Name is the image repository (ghcr.io/o/svc) for the index, and the
	// repository, # and the platform (ghcr.io/o/svc#linux/arm64) for a
	// platform manifest: IndexSubject and PlatformSubject write them. # can
	// appear in no image reference, so a name is never read as a tag or a
	// digest.
	Name string
	// Digest is sha256:<hex>.
	Digest string
}

// IndexSubject is the subject of the image index at digest in repo.
func IndexSubject(repo, digest string) Subject { return Subject{Name: repo, Digest: digest} }

// PlatformSubject is the subject of the manifest for platform (linux/arm64)
// at digest in repo.
func PlatformSubject(repo, platform, digest string) Subject {
	return Subject{Name: repo + "#" + platform, Digest: digest}
}

// Dockerfile is the Dockerfile the images were built from.
type Dockerfile struct {
	// Path is relative to the repository root, or EmbeddedDockerfile.
	Path string
	// Digest is sha256:<hex> of its bytes.
	Digest string
}

// Dependency is a base image the build pulled.
type Dependency struct {
	// URI names the image as the Dockerfile does, as a package URL:
	// pkg:docker/golang@1.26.8-bookworm.
	URI string
	// Digest is sha256:<hex> of the manifest (or index) pulled.
	Digest string
}

// Build is what the provenance of one published image says.
type Build struct {
	// Subjects are the index and each platform manifest.
	Subjects []Subject
	// Repository is the source repository's URL, https://github.com/o/r.
	Repository string
	// Commit is the full SHA-1 of the commit built.
	Commit string
	// Ref is the git ref built: refs/heads/main, refs/tags/v1.2.3.
	Ref string
	// Target is the Dockerfile target: prod or dev.
	Target string
	// Platforms are those built, as os/arch[/variant].
	Platforms  []string
	Dockerfile Dockerfile
	BaseImages []Dependency
	// GoVersion is the Go toolchain that compiled the service: go1.26.8.
	GoVersion string
	// BuildArgs are the build arguments Gantry passed (never secrets).
	BuildArgs map[string]string
	// Builder is runDetails.builder.id: in GitHub Actions the workflow
	// (https://github.com/o/r/.github/workflows/publish-ghcr.yml@refs/heads/main),
	// elsewhere Gantry at its version (https://github.com/gantry-build/gantry@v1.2.3),
	// stable across machines so that a verifier can name it.
	Builder string
	// Invocation is runDetails.metadata.invocationId: the Actions run's
	// URL with its attempt; empty elsewhere.
	Invocation string
	// Started and Finished bound the build; zero leaves them out.
	Started, Finished time.Time
	// GantryVersion is the version of Gantry that built.
	GantryVersion string
}

// Statement returns the in-toto v1 statement of b, as compact JSON. Equal
// builds give equal bytes: maps are written in key order and the
// whitespace protojson varies between binaries is removed.
func Statement(b Build) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	subjects := make([]*intoto.ResourceDescriptor, 0, len(b.Subjects))
	for _, s := range b.Subjects {
		subjects = append(subjects, &intoto.ResourceDescriptor{Name: s.Name, Digest: sha256Set(s.Digest)})
	}
	predicate, err := b.predicate()
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, Subject: subjects, PredicateType: PredicateType, Predicate: predicate}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("the provenance statement is not a valid in-toto statement: %w", err)
	}
	return marshal(st)
}

// predicate is the SLSA provenance of b, as the statement's Struct.
func (b Build) predicate() (*structpb.Struct, error) {
	external := map[string]any{
		"repository": b.Repository,
		"ref":        b.Ref,
		"target":     b.Target,
		"platforms":  toAny(b.Platforms),
		"dockerfile": b.Dockerfile.Path,
	}
	if len(b.BuildArgs) > 0 {
		args := map[string]any{}
		for k, v := range b.BuildArgs {
			args[k] = v
		}
		external["buildArgs"] = args
	}
	externalParams, err := structpb.NewStruct(external)
	if err != nil {
		return nil, fmt.Errorf("provenance external parameters: %w", err)
	}
	internalParams, err := structpb.NewStruct(map[string]any{"gantryVersion": b.GantryVersion})
	if err != nil {
		return nil, fmt.Errorf("provenance internal parameters: %w", err)
	}
	deps := []*intoto.ResourceDescriptor{
		{Uri: sourceURI(b.Repository, b.Ref), Digest: map[string]string{"gitCommit": b.Commit}},
		{Name: "Dockerfile", Uri: b.dockerfileURI(), Digest: sha256Set(b.Dockerfile.Digest)},
	}
	for _, img := range b.BaseImages {
		deps = append(deps, &intoto.ResourceDescriptor{Uri: img.URI, Digest: sha256Set(img.Digest)})
	}
	// OSV and SBOM scanners know the toolchain as the Go module "stdlib".
	deps = append(deps, &intoto.ResourceDescriptor{Name: b.GoVersion, Uri: "pkg:golang/stdlib@" + strings.TrimPrefix(b.GoVersion, "go")})

	run := &slsa.RunDetails{Builder: &slsa.Builder{Id: b.Builder}}
	if b.Invocation != "" || !b.Started.IsZero() || !b.Finished.IsZero() {
		run.Metadata = &slsa.BuildMetadata{InvocationId: b.Invocation, StartedOn: timestamp(b.Started), FinishedOn: timestamp(b.Finished)}
	}
	prov := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   externalParams,
			InternalParameters:   internalParams,
			ResolvedDependencies: deps,
		},
		RunDetails: run,
	}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("the provenance is not valid SLSA v1: %w", err)
	}
	// The statement holds the predicate as a Struct: go through JSON.
	js, err := protojson.Marshal(prov)
	if err != nil {
		return nil, fmt.Errorf("encode the provenance: %w", err)
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(js, &s); err != nil {
		return nil, fmt.Errorf("encode the provenance: %w", err)
	}
	return &s, nil
}

// marshal writes m as compact JSON: protojson adds spaces at random
// (seeded by the binary) so that nobody depends on its output's bytes,
// and a signed statement must be the same bytes for the same build.
func marshal(m proto.Message) ([]byte, error) {
	js, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode the provenance statement: %w", err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, js); err != nil {
		return nil, fmt.Errorf("encode the provenance statement: %w", err)
	}
	return out.Bytes(), nil
}

// sourceURI is the source dependency's URI, the SLSA convention
// git+<repository URL>@<ref>.
func sourceURI(repository, ref string) string { return "git+" + repository + "@" + ref }

// dockerfileURI names the Dockerfile at the commit (SPDX's
// git+<url>@<commit>#<path>), or, embedded, in Gantry's Go module at its
// version (a package URL with the file as subpath).
func (b Build) dockerfileURI() string {
	if b.Dockerfile.Path == EmbeddedDockerfile {
		return "pkg:golang/github.com/gantry-build/gantry@" + url.PathEscape(b.GantryVersion) + "#docker/Dockerfile"
	}
	return "git+" + b.Repository + "@" + b.Commit + "#" + b.Dockerfile.Path
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toAny(values []string) []any {
	out := make([]any, 0, len(values))
	for _, v := range values {
		out = append(out, v)
	}
	return out
}

// sha256Set is the in-toto digest set of a sha256:<hex> digest (checked
// before).
func sha256Set(digest string) map[string]string {
	return map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}
}

var (
	commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)
	goVersion = regexp.MustCompile(`^go[0-9][0-9A-Za-z.]*$`)
)

// check refuses a build whose provenance would be wrong or unreadable,
// naming the field: these are the caller's mistakes, not the user's.
func (b Build) check() error {
	if len(b.Subjects) == 0 {
		return fmt.Errorf("provenance without subjects: pass the index and each platform manifest in Build.Subjects")
	}
	for _, s := range b.Subjects {
		if s.Name == "" {
			return fmt.Errorf("provenance subject %s has no name: use IndexSubject or PlatformSubject", s.Digest)
		}
		if err := checkDigest(s.Digest); err != nil {
			return fmt.Errorf("provenance subject %s: %w", s.Name, err)
		}
	}
	u, err := url.Parse(b.Repository)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Path, "@") {
		return fmt.Errorf("provenance repository %q is not an https URL of a repository; pass e.g. https://github.com/o/r", b.Repository)
	}
	if !commitSHA.MatchString(b.Commit) {
		return fmt.Errorf("provenance commit %q is not a full SHA-1 in lower-case hex; pass the 40 digits git rev-parse HEAD prints", b.Commit)
	}
	if !strings.HasPrefix(b.Ref, "refs/") {
		return fmt.Errorf("provenance ref %q is not a full git ref; pass e.g. refs/heads/main or refs/tags/v1.2.3", b.Ref)
	}
	if b.Target == "" {
		return fmt.Errorf("provenance without a target: pass the Dockerfile target built, prod or dev")
	}
	if len(b.Platforms) == 0 {
		return fmt.Errorf("provenance without platforms: pass those built, e.g. linux/amd64")
	}
	// The path becomes a URI's fragment: no .., no #.
	if !fs.ValidPath(b.Dockerfile.Path) || b.Dockerfile.Path == "." || strings.Contains(b.Dockerfile.Path, "#") {
		return fmt.Errorf("provenance Dockerfile path %q is not a clean path inside the repository; pass it relative to the repository root, e.g. docker/Dockerfile, or %q", b.Dockerfile.Path, EmbeddedDockerfile)
	}
	if err := checkDigest(b.Dockerfile.Digest); err != nil {
		return fmt.Errorf("provenance Dockerfile %s: %w", b.Dockerfile.Path, err)
	}
	for _, img := range b.BaseImages {
		if img.URI == "" {
			return fmt.Errorf("provenance base image %s has no URI: pass it as the Dockerfile names it, e.g. pkg:docker/golang@1.26.8-bookworm", img.Digest)
		}
		if err := checkDigest(img.Digest); err != nil {
			return fmt.Errorf("provenance base image %s: %w", img.URI, err)
		}
	}
	if !goVersion.MatchString(b.GoVersion) {
		return fmt.Errorf("provenance Go version %q is not a toolchain name; pass it as go env GOVERSION prints it, e.g. go1.26.8", b.GoVersion)
	}
	if b.Builder == "" {
		return fmt.Errorf("provenance without a builder: pass the workflow's URL@ref in GitHub Actions, else https://github.com/gantry-build/gantry@<version>")
	}
	if b.GantryVersion == "" {
		return fmt.Errorf("provenance without Gantry's version: pass the module version of github.com/gantry-build/gantry")
	}
	return nil
}

func checkDigest(digest string) error {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != 32 || strings.ToLower(h) != h {
		return fmt.Errorf("digest %q is not sha256:<64 lower-case hex digits>", digest)
	}
	return nil
}

// Summary is what verification needs from a provenance statement.
type Summary struct {
	// Subjects are the statement's, with sha256:<hex> digests.
	Subjects []Subject
	// Repository, Ref and Target are the external parameters; Commit is
	// the source dependency's gitCommit.
	Repository, Commit, Ref, Target string
}

// Read parses a provenance statement (the payload of a verified bundle).
// Its predicate type must be PredicateType, and it must name the source
// repository, ref, commit and target; errors say what is missing.
func Read(statement []byte) (Summary, error) {
	var st intoto.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(statement, &st); err != nil {
		return Summary{}, fmt.Errorf("the provenance is not an in-toto statement: %w", err)
	}
	if st.GetPredicateType() != PredicateType {
		return Summary{}, fmt.Errorf("the statement's predicate type is %q, not SLSA provenance v1's %s: this is another attestation; read the one whose predicate type is %s", st.GetPredicateType(), PredicateType, PredicateType)
	}
	if err := st.Validate(); err != nil {
		return Summary{}, fmt.Errorf("the provenance is not a valid in-toto statement: %w", err)
	}
	var sum Summary
	for _, s := range st.GetSubject() {
		h, ok := s.GetDigest()["sha256"]
		if !ok {
			return Summary{}, fmt.Errorf("provenance subject %q has no sha256 digest", s.GetName())
		}
		sum.Subjects = append(sum.Subjects, Subject{Name: s.GetName(), Digest: "sha256:" + h})
	}
	js, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return Summary{}, fmt.Errorf("read the provenance predicate: %w", err)
	}
	var prov slsa.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, &prov); err != nil {
		return Summary{}, fmt.Errorf("the predicate is not SLSA provenance v1: %w", err)
	}
	def := prov.GetBuildDefinition()
	if def.GetBuildType() != BuildType {
		return Summary{}, fmt.Errorf("the provenance's build type is %q, not Gantry's %s: Gantry did not build this image", def.GetBuildType(), BuildType)
	}
	params := def.GetExternalParameters().GetFields()
	for _, p := range []struct {
		name  string
		field *string
	}{{"repository", &sum.Repository}, {"ref", &sum.Ref}, {"target", &sum.Target}} {
		*p.field = params[p.name].GetStringValue()
		if *p.field == "" {
			return Summary{}, fmt.Errorf("the provenance has no externalParameters.%s", p.name)
		}
	}
	source := sourceURI(sum.Repository, sum.Ref)
	for _, dep := range def.GetResolvedDependencies() {
		if dep.GetUri() == source {
			sum.Commit = dep.GetDigest()["gitCommit"]
		}
	}
	if sum.Commit == "" {
		return Summary{}, fmt.Errorf("the provenance names no commit: no resolvedDependencies entry %s with a gitCommit digest", source)
	}
	return sum, nil
}
