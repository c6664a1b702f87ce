package conformance

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// saysLatest reports whether an ARG or build argument value names the
// latest version: latest itself, an image :latest or a Go module @latest.
func saysLatest(value string) bool {
	return value == "latest" || strings.HasSuffix(value, ":latest") || strings.HasSuffix(value, "@latest")
}

// latestImage says why the image reference ref means latest (to follow
// the reference in a message), or returns "" when it names a version or a
// digest. It cannot tell for a reference that does not parse (one still
// holding a variable), and scratch has no tags.
func latestImage(ref string) string {
	if ref == "scratch" {
		return ""
	}
	parsed, err := name.ParseReference(ref, name.WithDefaultTag(""))
	if err != nil {
		return ""
	}
	tag, ok := parsed.(name.Tag)
	switch {
	case !ok:
		return "" // a digest
	case tag.TagStr() == "":
		return "has no tag, so it means the latest tag"
	case tag.TagStr() == "latest":
		return "uses the latest tag, which moves with every upstream release"
	}
	return ""
}
