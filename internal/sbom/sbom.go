// Package sbom writes the CycloneDX SBOM of one platform image of a Go
// service: the service's Go modules (from the binary's build info, so the
// SBOM lists what was compiled, not what go.mod asks for), the Go standard
// library, the base image's Debian packages and a few well-known files. It
// also reads the module list back, so publishing can check that an SBOM
// matches the binary it describes.
package sbom

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/name"
)

// PredicateType is the in-toto predicate type cosign uses for a CycloneDX
// SBOM (cosign attest --type cyclonedx).
const PredicateType = "https://cyclonedx.org/bom"

// specVersion is the CycloneDX version written: 1.6 rather than the
// library's default 1.7, which scanners (Trivy, Grype) do not all read yet.
const specVersion = cdx.SpecVersion1_6

// Property names this package writes.
const (
	propPlatform = "gantry:platform"   // on the image: its os/arch[/variant]
	propBinary   = "gantry:binary"     // on the image: the path of the service binary
	propPackage  = "golang:package"    // on the main module: the main package's path
	propBuild    = "golang:build:"     // on the main module, + a build setting's key
	propReplaces = "golang:replaces"   // on a module: path@version it replaces
	propSource   = "debian:source"     // on a Debian package: its source package
	propStdlib   = "golang:go-version" // on the standard library: the toolchain's full version
)

// Input is what the SBOM of one platform image describes.
type Input struct {
	Image    string           // the platform manifest described: repo@sha256:...
	Platform string           // linux/arm64
	Binary   string           // the service binary's path in the image
	Info     *debug.BuildInfo // the binary's Go build info
	Packages []Package        // the image's installed Debian packages
	Files    []File           // the well-known base files the image holds
}

// File is a file of the image and the hex SHA-256 of its content.
type File struct{ Path, SHA256 string }

// Module is a Go module; Sum is its go.sum hash ("h1:..."), empty for a
// module replaced by a local directory.
type Module struct{ Path, Version, Sum string }

// JSON returns the SBOM of in as CycloneDX JSON. It is deterministic: no
// timestamp, and a serial number derived from the image digest, so equal
// inputs give equal bytes (and equal attestations).
func JSON(in Input) ([]byte, error) {
	ref, err := name.NewDigest(in.Image)
	if err != nil {
		return nil, fmt.Errorf("the SBOM's image %q is not repo@sha256:<digest>: %w; pass the platform manifest's digest reference", in.Image, err)
	}
	if in.Info == nil {
		return nil, fmt.Errorf("no Go build info for %s: read it from the binary with debug/buildinfo", in.Binary)
	}
	serial, err := serialNumber(ref.DigestStr())
	if err != nil {
		return nil, err
	}
	modules, err := moduleComponents(in.Info)
	if err != nil {
		return nil, err
	}
	main := mainComponent(in.Info)
	components := append([]cdx.Component{main, stdlibComponent(in.Info.GoVersion)}, modules...)
	for _, p := range in.Packages {
		components = append(components, packageComponent(p))
	}
	for _, f := range in.Files {
		components = append(components, cdx.Component{
			BOMRef: "file:" + f.Path, Type: cdx.ComponentTypeFile, Name: f.Path,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}},
		})
	}
	refs := make([]string, len(modules))
	for i, m := range modules {
		refs[i] = m.BOMRef
	}

	bom := cdx.NewBOM()
	bom.SerialNumber = serial
	bom.Metadata = &cdx.Metadata{Component: &cdx.Component{
		BOMRef: in.Image, Type: cdx.ComponentTypeContainer, Name: ref.Context().Name(), Version: ref.DigestStr(),
		PackageURL: ociPURL(ref),
		Properties: &[]cdx.Property{{Name: propPlatform, Value: in.Platform}, {Name: propBinary, Value: in.Binary}},
	}}
	bom.Components = &components
	bom.Dependencies = &[]cdx.Dependency{{Ref: main.BOMRef, Dependencies: &refs}}

	var buf bytes.Buffer
	if err := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetEscapeHTML(false).EncodeVersion(bom, specVersion); err != nil {
		return nil, fmt.Errorf("encode the SBOM of %s: %w", in.Image, err)
	}
	return buf.Bytes(), nil
}

// serialNumber derives the BOM's urn:uuid from the image digest: a UUIDv8
// (RFC 9562's custom version) of the digest's first 16 bytes.
func serialNumber(digest string) (string, error) {
	hexDigest, ok := strings.CutPrefix(digest, "sha256:")
	b, err := hex.DecodeString(hexDigest)
	if !ok || err != nil || len(b) != 32 {
		return "", fmt.Errorf("image digest %q is not sha256:<64 hex digits>: pass the platform manifest's digest", digest)
	}
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// golangPURL is the package URL of a Go module version, or "" for a module
// with no version (the main module built from a checkout, a local replacement).
func golangPURL(path, version string) string {
	if version == "" || version == "(devel)" || strings.HasPrefix(path, ".") || strings.HasPrefix(path, "/") {
		return ""
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "pkg:golang/" + strings.Join(segs, "/") + "@" + url.PathEscape(version)
}

// moduleRef is a Go module's bom-ref: unique even without a purl.
func moduleRef(path, version string) string {
	return "golang:" + path + "@" + version
}

func mainComponent(info *debug.BuildInfo) cdx.Component {
	props := []cdx.Property{{Name: propPackage, Value: info.Path}}
	for _, s := range info.Settings {
		props = append(props, cdx.Property{Name: propBuild + s.Key, Value: s.Value})
	}
	return cdx.Component{
		BOMRef: moduleRef(info.Main.Path, info.Main.Version), Type: cdx.ComponentTypeApplication,
		Name: info.Main.Path, Version: info.Main.Version, PackageURL: golangPURL(info.Main.Path, info.Main.Version),
		Properties: &props,
	}
}

// stdlibComponent is the Go standard library compiled into the binary,
// named as Syft names it (pkg:golang/stdlib@1.26.8), which scanners match
// Go's own vulnerabilities against.
func stdlibComponent(goVersion string) cdx.Component {
	v, _, _ := strings.Cut(goVersion, " ") // "go1.26.8 X:boringcrypto"
	return cdx.Component{
		BOMRef: "golang:stdlib@" + v, Type: cdx.ComponentTypeLibrary, Name: "stdlib", Version: v,
		PackageURL: golangPURL("stdlib", strings.TrimPrefix(v, "go")),
		Properties: &[]cdx.Property{{Name: propStdlib, Value: goVersion}},
	}
}

// moduleComponents lists the modules compiled into the binary: for a
// replaced module the replacement, which says what it replaces.
func moduleComponents(info *debug.BuildInfo) ([]cdx.Component, error) {
	var out []cdx.Component
	for _, d := range info.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		c := cdx.Component{
			BOMRef: moduleRef(m.Path, m.Version), Type: cdx.ComponentTypeLibrary,
			Name: m.Path, Version: m.Version, PackageURL: golangPURL(m.Path, m.Version),
		}
		if m.Sum != "" {
			h, err := sumHash(m.Sum)
			if err != nil {
				return nil, fmt.Errorf("module %s %s: %w", m.Path, m.Version, err)
			}
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h}}
		}
		if d.Replace != nil {
			c.Properties = &[]cdx.Property{{Name: propReplaces, Value: d.Path + "@" + d.Version}}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b cdx.Component) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	return out, nil
}

// sumHash turns a go.sum "h1:<base64 SHA-256>" into the hex SHA-256 a
// CycloneDX hash holds, as Syft does (it is the SHA-256 of the module's
// file list, golang.org/x/mod/sumdb/dirhash); sumOf turns it back.
func sumHash(sum string) (string, error) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	b, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(b) != 32 {
		return "", fmt.Errorf("sum %q is not an h1: SHA-256 hash: rebuild the binary with a Go toolchain that writes h1: sums", sum)
	}
	return hex.EncodeToString(b), nil
}

func sumOf(hexHash string) (string, error) {
	b, err := hex.DecodeString(hexHash)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("SHA-256 %q is not 64 hex digits", hexHash)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(b), nil
}

func packageComponent(p Package) cdx.Component {
	purl := "pkg:deb/debian/" + url.PathEscape(p.Name) + "@" + url.PathEscape(p.Version)
	if p.Architecture != "" {
		purl += "?arch=" + url.QueryEscape(p.Architecture)
	}
	c := cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: purl}
	if p.Source != "" {
		c.Properties = &[]cdx.Property{{Name: propSource, Value: p.Source}}
	}
	return c
}

// ociPURL is the package URL of an image by digest (purl spec, type oci).
func ociPURL(ref name.Digest) string {
	repo := ref.Context()
	last := repo.RepositoryStr()
	if i := strings.LastIndex(last, "/"); i >= 0 {
		last = last[i+1:]
	}
	// Repository names need no escaping: their grammar allows no reserved character but "/" and ":".
	return "pkg:oci/" + last + "@" + strings.Replace(ref.DigestStr(), ":", "%3A", 1) + "?repository_url=" + repo.Name()
}
