package imagefs

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestEntrypoint(t *testing.T) {
	t.Parallel()
	files := image(t,
		layer(t, file{name: "usr/bin/service", body: "lower"}, file{name: "app/bin/tool", body: "t"}),
		layer(t, file{name: "usr/local/bin/service", body: "ELF"}),
	)
	tests := []struct {
		name string
		cfg  v1.Config
		want string
	}{
		{"absolute entrypoint", v1.Config{Entrypoint: []string{"/usr/local/bin/../bin/service", "-v"}, Cmd: []string{"/other"}}, "/usr/local/bin/service"},
		{"cmd when no entrypoint", v1.Config{Cmd: []string{"/usr/bin/service"}}, "/usr/bin/service"},
		{"bare name, default PATH order", v1.Config{Entrypoint: []string{"service"}}, "/usr/local/bin/service"},
		{"bare name, the config's PATH", v1.Config{Entrypoint: []string{"service"}, Env: []string{"HOME=/", "PATH=/usr/bin:/usr/local/bin"}}, "/usr/bin/service"},
		{"bare name, relative PATH entry", v1.Config{Entrypoint: []string{"tool"}, Env: []string{"PATH=bin"}, WorkingDir: "/app"}, "/app/bin/tool"},
		{"relative path from the working dir", v1.Config{Entrypoint: []string{"./bin/tool"}, WorkingDir: "/app"}, "/app/bin/tool"},
		{"exec form running sh with a script, not -c", v1.Config{Entrypoint: []string{"/bin/sh", "/entry.sh"}}, "/bin/sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img, err := mutate.Config(files, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Entrypoint(img)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Entrypoint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEntrypointErrors(t *testing.T) {
	t.Parallel()
	files := image(t, layer(t, file{name: "usr/local/bin/service", body: "ELF"}))
	tests := []struct {
		name string
		cfg  v1.Config
		want string
	}{
		{"shell form", v1.Config{Entrypoint: []string{"/bin/sh", "-c", "exec service"}}, "use an exec-form ENTRYPOINT naming the service binary"},
		{"shell form cmd", v1.Config{Cmd: []string{"/bin/bash", "-c", "service"}}, "the image runs a shell (/bin/bash -c service)"},
		{"nothing to run", v1.Config{}, "the image has no ENTRYPOINT or CMD"},
		{"not on PATH", v1.Config{Entrypoint: []string{"missing"}}, "the image runs missing, which no directory of its PATH holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img, err := mutate.Config(files, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Entrypoint(img); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Entrypoint: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestEntrypointStopsAtFirstPathEntry: finding the name in PATH's first
// directory ends the lookup, so the base layers are not fetched.
func TestEntrypointStopsAtFirstPathEntry(t *testing.T) {
	t.Parallel()
	img := image(t,
		unreadable{layer(t, file{name: "usr/bin/service", body: "lower"})},
		layer(t, file{name: "usr/local/sbin/service", body: "ELF"}),
	)
	img, err := mutate.Config(img, v1.Config{Entrypoint: []string{"service"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Entrypoint(img)
	if err != nil || got != "/usr/local/sbin/service" {
		t.Errorf("Entrypoint = %q, %v; want /usr/local/sbin/service", got, err)
	}
}
