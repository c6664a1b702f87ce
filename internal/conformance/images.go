package conformance

import "strings"

// saysLatest reports whether an ARG or build argument value names the
// latest version: latest itself, an image :latest or a Go module @latest.
func saysLatest(value string) bool {
	return value == "latest" || strings.HasSuffix(value, ":latest") || strings.HasSuffix(value, "@latest")
}

// latestImage says why the image reference ref means latest (to follow
// the reference in a message), or returns "" when it names a version or a
// digest. It cannot tell for a
// reference still holding a variable, or for scratch, which has no tags.
func latestImage(ref string) string {
	if ref == "" || ref == "scratch" || strings.Contains(ref, "$") || strings.Contains(ref, "@") {
		return ""
	}
	colon := strings.LastIndex(ref, ":")
	if colon < strings.LastIndex(ref, "/") || colon < 0 {
		// A colon before the last slash is a registry port, not a tag.
		return "has no tag, so it means the latest tag"
	}
	if ref[colon+1:] == "latest" {
		return "uses the latest tag, which moves with every upstream release"
	}
	return ""
}
