// Package reference checks image names and tags against the grammar that
// registries enforce (the distribution/reference grammar used by Docker and
// the OCI distribution spec), which is stricter than go-containerregistry's
// parser: `ghcr.io/acme//widget` or `ghcr.io/acme/-widget-` pass the one and
// are refused by the registry. Every name and tag Gantry makes or reads is
// checked here, so one grammar decides everywhere.
package reference

import (
	"fmt"
	"regexp"
	"strings"
)

const (
	// maxNameLength is the limit on a whole repository name, domain included.
	maxNameLength = 255
	// MaxTagLength is the limit on a tag.
	MaxTagLength = 128
)

var (
	// component is one path component: lower-case alphanumerics separated
	// by one '.', one or two '_', or any number of '-'.
	component = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	// domainName is a host name: labels of alphanumerics and inner '-',
	// joined by '.'; or an IPv6 address in brackets.
	domainName = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
	tag        = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
)

// CheckComponent returns an error unless s is one path component of a
// repository name (e.g. a local image name such as "widget").
func CheckComponent(s string) error {
	if !component.MatchString(s) {
		return fmt.Errorf("%q is not a valid image name component: use lower-case letters and digits, separated by '.', '_', '__' or '-', neither first nor last", s)
	}
	return nil
}

// CheckDomain returns an error unless s is a registry host, with an
// optional port: "ghcr.io", "localhost:5000"; no scheme, no path.
func CheckDomain(s string) error {
	if strings.Contains(s, "://") {
		return fmt.Errorf("registry %q has a URL scheme; give the host name only, e.g. ghcr.io or localhost:5000", s)
	}
	if !domainName.MatchString(s) {
		return fmt.Errorf("registry %q is not a host name with an optional port; give e.g. ghcr.io or localhost:5000", s)
	}
	return nil
}

// CheckRepository returns an error unless s is a full repository name
// with its registry and no tag or digest: registry/path[/path...], as in
// ghcr.io/acme/widget.
func CheckRepository(s string) error {
	if len(s) > maxNameLength {
		return fmt.Errorf("image %q is %d characters long; a repository name may have at most %d", s, len(s), maxNameLength)
	}
	if strings.Contains(s, "://") {
		return fmt.Errorf("image %q has a URL scheme; give the registry host and the repository path only, e.g. ghcr.io/acme/widget", s)
	}
	if strings.ContainsAny(s, "@") {
		return fmt.Errorf("image %q has a digest; give the repository without a tag or digest, e.g. ghcr.io/acme/widget", s)
	}
	domain, path, ok := strings.Cut(s, "/")
	if !ok || path == "" {
		return fmt.Errorf("image %q has no registry and path; give the registry host and the repository path, e.g. ghcr.io/acme/widget", s)
	}
	if err := CheckDomain(domain); err != nil {
		return fmt.Errorf("image %q: %w", s, err)
	}
	for _, c := range strings.Split(path, "/") {
		if strings.Contains(c, ":") {
			return fmt.Errorf("image %q has a tag; give the repository without a tag, e.g. ghcr.io/acme/widget", s)
		}
		if err := CheckComponent(c); err != nil {
			return fmt.Errorf("image %q: path component %w", s, err)
		}
	}
	return nil
}

// CheckTag returns an error unless s is a valid tag: a word character,
// then up to 127 word characters, '.' or '-'.
func CheckTag(s string) error {
	if !tag.MatchString(s) {
		return fmt.Errorf("%q is not a valid tag: a tag is 1 to %d letters, digits, '_', '.' or '-', not starting with '.' or '-'", s, MaxTagLength)
	}
	return nil
}

// CheckTagged returns an error unless s is repository:tag with both valid.
func CheckTagged(s string) error {
	i := strings.LastIndex(s, ":")
	if i < 0 || strings.Contains(s[i:], "/") {
		return fmt.Errorf("%q has no tag", s)
	}
	if err := CheckRepository(s[:i]); err != nil {
		return err
	}
	return CheckTag(s[i+1:])
}

// IsLatest reports whether tag says "latest", the tag Gantry never makes:
// "latest" in any case, alone or as the dev image's "latest-dev".
func IsLatest(tag string) bool {
	t := strings.ToLower(tag)
	return t == "latest" || t == "latest-dev"
}
