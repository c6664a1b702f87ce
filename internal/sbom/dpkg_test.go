package sbom

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status string
		want   []Package
	}{
		{"empty", "", nil},
		{"blank lines only", "\n\n  \n", nil},
		{
			name: "status file",
			status: `Package: libc6
Status: install ok installed
Priority: optional
Architecture: arm64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u10
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Conffiles:
 /etc/ld.so.conf 4317c6de8564b68d628c21efa96b37e4

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2025b-0+deb12u1
`,
			want: []Package{
				{Name: "libc6", Version: "2.36-9+deb12u10", Architecture: "arm64", Source: "glibc"},
				{Name: "tzdata", Version: "2025b-0+deb12u1", Architecture: "all"},
			},
		},
		{
			name: "removed and half-installed packages are left out",
			status: `Package: gone
Status: deinstall ok config-files
Version: 1.0

Package: half
Status: install reinstreq half-installed
Version: 2.0

Package: kept
Status: install ok installed
Version: 3.0
Architecture: amd64
`,
			want: []Package{{Name: "kept", Version: "3.0", Architecture: "amd64"}},
		},
		{
			name:   "distroless status.d file: control fields, no Status",
			status: "Package: base-files\nVersion: 12.4+deb12u11\nArchitecture: amd64\nSource: base-files (12.4)\n",
			want:   []Package{{Name: "base-files", Version: "12.4+deb12u11", Architecture: "amd64", Source: "base-files (12.4)"}},
		},
		{
			name:   "field names ignore case; a line of spaces separates paragraphs",
			status: "package: a\nVERSION: 1\n   \nPackage: b\nVersion: 2\n",
			want:   []Package{{Name: "a", Version: "1"}, {Name: "b", Version: "2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatus([]byte(tt.status))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseStatus = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatusErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, status, want string
	}{
		{"not a field", "Package: a\nVersion: 1\nnonsense\n", `line 3 ("nonsense") is not a "Field: value" line`},
		{"md5sums file", "d41d8cd98f00b204e9800998ecf8427e  usr/bin/x\n", "is not a \"Field: value\" line"},
		{"no version", "Package: a\nStatus: install ok installed\n\nPackage: b\nVersion: 1\n", "the paragraph at line 1 has no Package or no Version field"},
		{"no package", "Version: 1\n\n\nArchitecture: all\nVersion: 2\n", "the paragraph at line 1 has no Package"},
		{"second paragraph", "Package: a\nVersion: 1\n\nArchitecture: all\nVersion: 2\n", "the paragraph at line 4 has no Package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := parseStatus([]byte(tt.status)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseStatus: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSortPackages(t *testing.T) {
	t.Parallel()
	got := sortPackages([]Package{
		{Name: "zlib1g", Version: "1", Architecture: "amd64"},
		{Name: "libc6", Version: "2", Architecture: "arm64"},
		{Name: "zlib1g", Version: "1", Architecture: "amd64"},
		{Name: "libc6", Version: "2", Architecture: "amd64"},
	})
	want := []Package{
		{Name: "libc6", Version: "2", Architecture: "amd64"},
		{Name: "libc6", Version: "2", Architecture: "arm64"},
		{Name: "zlib1g", Version: "1", Architecture: "amd64"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sortPackages = %+v, want %+v", got, want)
	}
}

// FuzzParseStatus: any input parses or fails cleanly, and every package
// returned has a name and a version (the purl needs both).
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1\nDescription: x\n y\n\nPackage: b\nVersion: 2\n"))
	f.Add([]byte("Package: a\n\n"))
	f.Add([]byte(" continuation first\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := parseStatus(b)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Errorf("parseStatus(%q) returned %+v, without a name or version", b, p)
			}
		}
	})
}
