package sbom

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Package is an installed Debian package; Source is the Source field as
// written, "glibc" or "base-files (12.4)" when versions differ.
type Package struct{ Name, Version, Architecture, Source string }

// installed is the Status of a package dpkg has fully installed.
const installed = "install ok installed"

// parseStatus returns the installed packages of a dpkg status database:
// /var/lib/dpkg/status, or one of distroless's /var/lib/dpkg/status.d/<pkg>
// files. Those hold a package's control fields without a Status (their
// presence is the install record), so a paragraph without Status counts as
// installed; one with a Status counts only when it is "install ok installed".
func parseStatus(b []byte) ([]Package, error) {
	var pkgs []Package
	fields := map[string]string{}
	start := 0 // line of the paragraph being read, for errors
	flush := func() error {
		defer clear(fields)
		if len(fields) == 0 {
			return nil
		}
		if s, ok := fields["status"]; ok && s != installed {
			return nil
		}
		p := Package{Name: fields["package"], Version: fields["version"], Architecture: fields["architecture"], Source: fields["source"]}
		if p.Name == "" || p.Version == "" {
			return fmt.Errorf("the paragraph at line %d has no Package or no Version field: a dpkg status paragraph names both", start)
		}
		pkgs = append(pkgs, p)
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1) // a field may be as long as the file
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case line[0] == ' ' || line[0] == '\t':
			// The continuation of a multi-line field (Description, Conffiles): not needed.
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("line %d (%q) is not a \"Field: value\" line: is this a dpkg status file?", n, line)
			}
			if len(fields) == 0 {
				start = n
			}
			fields[strings.ToLower(k)] = strings.TrimSpace(v) // deb822 field names ignore case
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the dpkg status: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return pkgs, nil
}

// sortPackages orders packages and drops repeats, as when status and
// status.d both list a package.
func sortPackages(pkgs []Package) []Package {
	slices.SortFunc(pkgs, func(a, b Package) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Architecture, b.Architecture),
			cmp.Compare(a.Version, b.Version), cmp.Compare(a.Source, b.Source))
	})
	return slices.Compact(pkgs)
}
