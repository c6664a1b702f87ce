package sbom

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantry-build/gantry/internal/imagefs"
)

// Where dpkg records installed packages: one database file on Debian,
// one control file a package under status.d on distroless.
const (
	dpkgStatus    = "/var/lib/dpkg/status"
	dpkgStatusDir = "/var/lib/dpkg/status.d"
)

// wellKnownFiles are the base files whose content matters to a service:
// trust roots, users and groups, the default time zone.
var wellKnownFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/passwd",
	"/etc/group",
	"/usr/share/zoneinfo/UTC",
}

// maxFile caps each file read from the image: far above a service binary,
// low enough that a wrong entrypoint cannot exhaust memory.
const maxFile = 1 << 30

// FromImage reads what the SBOM of img needs: the entrypoint binary's Go
// build info, the installed Debian packages (/var/lib/dpkg/status, and
// distroless's /var/lib/dpkg/status.d/*) and, for an image without a dpkg
// status, the well-known files. image (repo@sha256:...) and platform only
// label it. A Debian image's packages own its well-known files (the
// ca-certificates, base-passwd and tzdata packages), so it stops reading
// layers once the binary and the dpkg status are found: a publish never
// decompresses the base layers of the dev image, which hold most of its
// bytes. A distroless image's status.d may go on in any layer, and an
// image without a package database has only its files to show, so those
// are read whole (they are small).
func FromImage(img v1.Image, image, platform string) (Input, error) {
	bin, err := imagefs.Entrypoint(img)
	if err != nil {
		return Input{}, fmt.Errorf("find the service binary of %s: %w", image, err)
	}
	want := func(p string) bool {
		return p == bin || p == dpkgStatus || inStatusDir(p) || slices.Contains(wellKnownFiles, p)
	}
	done := func(found map[string][]byte) bool {
		_, binary := found[bin]
		_, status := found[dpkgStatus]
		return binary && status
	}
	files, err := imagefs.Read(img, want, done, maxFile)
	if err != nil {
		return Input{}, fmt.Errorf("read %s: %w", image, err)
	}
	in := Input{Image: image, Platform: platform, Binary: bin}

	b, ok := files[bin]
	if !ok {
		return Input{}, fmt.Errorf("%s runs %s, which the image does not hold: fix the ENTRYPOINT to name the service binary", image, bin)
	}
	if in.Info, err = buildinfo.Read(bytes.NewReader(b)); err != nil {
		return Input{}, fmt.Errorf("%s of %s has no Go build info (%v): the SBOM describes a Go service, so the ENTRYPOINT must name a Go binary built with modules", bin, image, err)
	}

	for _, p := range slices.Sorted(maps.Keys(files)) {
		if p != dpkgStatus && !inStatusDir(p) {
			continue
		}
		pkgs, err := parseStatus(files[p])
		if err != nil {
			return Input{}, fmt.Errorf("%s of %s: %w", p, image, err)
		}
		in.Packages = append(in.Packages, pkgs...)
	}
	in.Packages = sortPackages(in.Packages)

	for _, p := range wellKnownFiles {
		if b, ok := files[p]; ok && files[dpkgStatus] == nil {
			sum := sha256.Sum256(b)
			in.Files = append(in.Files, File{Path: p, SHA256: hex.EncodeToString(sum[:])})
		}
	}
	slices.SortFunc(in.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return in, nil
}

// inStatusDir reports whether p is a package's control file in status.d;
// distroless puts each package's md5sums beside it, which is no status.
func inStatusDir(p string) bool {
	return path.Dir(p) == dpkgStatusDir && !strings.HasSuffix(p, ".md5sums")
}
