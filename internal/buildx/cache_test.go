package buildx

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Cache
		err  string
	}{
		{in: "", want: Cache{}},
		{in: "gha", want: Cache{Kind: "gha"}},
		{in: "none", want: Cache{Kind: "none"}},
		{in: "registry:ghcr.io/acme/api-cache", want: Cache{Kind: "registry", Location: "ghcr.io/acme/api-cache"}},
		{in: "registry:localhost:5000/cache", want: Cache{Kind: "registry", Location: "localhost:5000/cache"}},
		{in: "local:/var/cache/gantry", want: Cache{Kind: "local", Location: "/var/cache/gantry"}},
		{in: "registry:ghcr.io/acme/cache:v1", err: "without a tag"},
		{in: "registry:", err: "registry:<repository>"},
		{in: "local:/a,b", err: "local:<directory>"},
		{in: "s3:bucket", err: "GANTRY_CACHE"},
	}
	for _, tt := range tests {
		got, err := ParseCache(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseCache(%q) error %v, want one mentioning %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCache(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestCacheFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cache    Cache
		write    bool
		mode     Mode
		from, to []string
	}{
		{name: "gha written", cache: Cache{Kind: "gha"}, write: true,
			from: []string{"type=gha,scope=api-prod"}, to: []string{"type=gha,mode=max,scope=api-prod"}},
		{name: "gha read only", cache: Cache{Kind: "gha"},
			from: []string{"type=gha,scope=api-prod"}},
		{name: "registry written, a tag per scope", cache: Cache{Kind: "registry", Location: "localhost:5000/cache"}, write: true,
			from: []string{"type=registry,ref=localhost:5000/cache:api-prod"},
			to:   []string{"type=registry,mode=max,image-manifest=true,oci-mediatypes=true,ref=localhost:5000/cache:api-prod"}},
		{name: "registry read only", cache: Cache{Kind: "registry", Location: "r/c"},
			from: []string{"type=registry,ref=r/c:api-prod"}},
		{name: "local written, a directory per scope", cache: Cache{Kind: "local", Location: "/c"}, write: true,
			from: []string{"type=local,src=/c/api-prod"}, to: []string{"type=local,mode=max,dest=/c/api-prod"}},
		{name: "gha written, min", cache: Cache{Kind: "gha"}, write: true, mode: Min,
			from: []string{"type=gha,scope=api-prod"}, to: []string{"type=gha,mode=min,scope=api-prod"}},
		{name: "registry written, min", cache: Cache{Kind: "registry", Location: "r/c"}, write: true, mode: Min,
			from: []string{"type=registry,ref=r/c:api-prod"},
			to:   []string{"type=registry,mode=min,image-manifest=true,oci-mediatypes=true,ref=r/c:api-prod"}},
		{name: "local written, min", cache: Cache{Kind: "local", Location: "/c"}, write: true, mode: Min,
			from: []string{"type=local,src=/c/api-prod"}, to: []string{"type=local,mode=min,dest=/c/api-prod"}},
		{name: "read only, min: nothing written", cache: Cache{Kind: "gha"}, mode: Min,
			from: []string{"type=gha,scope=api-prod"}},
		{name: "none", cache: Cache{Kind: "none"}, write: true},
		{name: "default (resolved by the caller) is none here", cache: Cache{}, write: true},
	}
	for _, tt := range tests {
		if tt.mode == "" {
			tt.mode = Max
		}
		from, to := tt.cache.Flags("api-prod", tt.write, tt.mode)
		if !slices.Equal(from, tt.from) || !slices.Equal(to, tt.to) {
			t.Errorf("%s: Flags = %q, %q; want %q, %q", tt.name, from, to, tt.from, tt.to)
		}
	}
}
