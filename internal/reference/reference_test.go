package reference

import (
	"strings"
	"testing"
)

func TestCheckRepository(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		errHas string
	}{
		{in: "ghcr.io/acme/widget"},
		{in: "localhost:5000/acme/widget"},
		{in: "registry.example.com:443/team/api/v2"},
		{in: "[::1]:5000/acme/widget"},
		{in: "ghcr.io/acme/my_svc"},
		{in: "ghcr.io/acme/my__svc"},
		{in: "ghcr.io/acme/my---svc"},
		{in: "ghcr.io/acme/my.svc"},
		{in: "ghcr.io/acme//widget", errHas: `path component "" is not a valid image name component`},
		{in: "ghcr.io/acme/-widget-", errHas: `"-widget-" is not a valid image name component`},
		{in: "ghcr.io/acme/widget-", errHas: "not a valid image name component"},
		{in: "ghcr.io/acme/my___svc", errHas: "not a valid image name component"},
		{in: "ghcr.io/acme/my..svc", errHas: "not a valid image name component"},
		{in: "ghcr.io/Acme/widget", errHas: "not a valid image name component"},
		{in: "ghcr.io/../../x", errHas: `".." is not a valid image name component`},
		{in: "https://ghcr.io/acme/widget", errHas: "has a URL scheme"},
		{in: "ghcr.io/acme/widget:latest", errHas: "has a tag"},
		{in: "ghcr.io/acme/widget@sha256:abc", errHas: "has a digest"},
		{in: "ghcr.io", errHas: "has no registry and path"},
		{in: "-ghcr.io/acme/widget", errHas: "is not a host name"},
		{in: "ghcr.io/acme/" + strings.Repeat("a", 250), errHas: "at most 255"},
		{in: "ghcr.io/acme/bad name", errHas: "not a valid image name component"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			err := CheckRepository(tt.in)
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("CheckRepository(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("CheckRepository(%q) = %v, want an error containing %q", tt.in, err, tt.errHas)
			}
		})
	}
}

func TestCheckDomain(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"ghcr.io": true, "localhost:5000": true, "GHCR.io": true, "a.b-c.d": true, "[::1]": true,
		"https://ghcr.io": false, "ghcr.io/": false, "ghcr.io:port": false, "-ghcr.io": false, "ghcr-.io": false, "": false, "ghcr..io": false,
	} {
		if err := CheckDomain(in); (err == nil) != ok {
			t.Errorf("CheckDomain(%q) = %v, want ok=%v", in, err, ok)
		}
	}
	if err := CheckDomain("https://ghcr.io"); err == nil || !strings.Contains(err.Error(), "give the host name only") {
		t.Errorf("a URL must be refused with the fix: %v", err)
	}
}

func TestCheckTag(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"main": true, "0123456": true, "1.2.3-rc.1": true, "1.2.3_build.5": true, "_x": true, "A": true,
		strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
		"": false, ".x": false, "-x": false, "a+b": false, "a/b": false, "a b": false, "a:b": false,
	} {
		if err := CheckTag(in); (err == nil) != ok {
			t.Errorf("CheckTag(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestCheckTagged(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"ghcr.io/acme/widget:main": true, "localhost:5000/acme/widget:1.2.3": true,
		"localhost:5000/acme/widget": false, "ghcr.io/acme/widget:": false, "ghcr.io/acme//widget:main": false, "ghcr.io/acme/widget:-x": false,
	} {
		if err := CheckTagged(in); (err == nil) != ok {
			t.Errorf("CheckTagged(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestIsLatest(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"latest": true, "Latest": true, "LATEST": true, "latest-dev": true, "Latest-Dev": true,
		"latest1": false, "main": false, "latest-feature": false, "not-latest": false} {
		if got := IsLatest(in); got != want {
			t.Errorf("IsLatest(%q) = %v, want %v", in, got, want)
		}
	}
}
