package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// two is a repository of two services, api and worker.
func two() Config {
	return Config{
		LDFlags:   []string{"-extldflags=-static"},
		BuildArgs: map[string]string{"GO_IMAGE": "golang:1.26"},
		Services: []Service{
			{Name: "api", Ports: []string{"8080"}},
			{Name: "worker", MainPackage: "./cmd/work", Image: "ghcr.io/acme/jobs", LDFlags: []string{}, CGO: true,
				Stamp: Stamp{Version: "example.com/x/build.Version"}, BuildArgs: map[string]string{"GO_IMAGE": "golang:1.25", "EXTRA": "1"}},
		},
	}
}

func TestResolveServices(t *testing.T) {
	t.Parallel()
	type want struct{ service, main, image, stamp string }
	for _, tc := range []struct {
		name string
		cfg  Config
		env  map[string]string
		want []want
	}{
		{"one service, as before", Config{}, nil, []want{{"api", "./cmd/api", "ghcr.io/acme/svc", "main.version"}}},
		{"several: defaults under the repository's image", two(), nil, []want{
			{"api", "./cmd/api", "ghcr.io/acme/svc/api", "main.version"},
			{"worker", "./cmd/work", "ghcr.io/acme/jobs", "example.com/x/build.Version"}}},
		{"GANTRY_IMAGE is the base of the defaults only", two(), map[string]string{"GANTRY_IMAGE": "registry.example/mono"}, []want{
			{"api", "./cmd/api", "registry.example/mono/api", "main.version"},
			{"worker", "./cmd/work", "ghcr.io/acme/jobs", "example.com/x/build.Version"}}},
		{"GANTRY_SERVICES selects", two(), map[string]string{"GANTRY_SERVICES": "worker"}, []want{
			{"worker", "./cmd/work", "ghcr.io/acme/jobs", "example.com/x/build.Version"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfgs, err := tc.cfg.ResolveServices(envOf(tc.env), facts(t))
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, c := range cfgs {
				if c.Services != nil {
					t.Errorf("%s: resolved config keeps Services", c.Service)
				}
				got = append(got, want{c.Service, c.MainPackage, c.Image, c.Stamp.Version})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestResolveServicesOverrides(t *testing.T) {
	t.Parallel()
	cfgs, err := two().ResolveServices(envOf(nil), facts(t))
	if err != nil {
		t.Fatal(err)
	}
	api, worker := cfgs[0], cfgs[1]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"api's LDFlags (shared)", api.LDFlags, []string{"-extldflags=-static"}},
		{"worker's LDFlags (its own, none)", worker.LDFlags, []string{}},
		{"api's Ports", api.Ports, []string{"8080"}},
		{"worker's Ports (shared: none)", worker.Ports, []string(nil)},
		{"api's CGO", api.CGO, false},
		{"worker's CGO", worker.CGO, true},
		{"api's BuildArgs", api.BuildArgs, map[string]string{"GO_IMAGE": "golang:1.26"}},
		{"worker's BuildArgs (merged over the shared)", worker.BuildArgs, map[string]string{"GO_IMAGE": "golang:1.25", "EXTRA": "1"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
	// The shared map is not written through.
	if cfg := two(); len(cfg.BuildArgs) != 1 {
		t.Errorf("shared BuildArgs changed: %v", cfg.BuildArgs)
	}
}

func TestResolveServicesErrors(t *testing.T) {
	t.Parallel()
	withServices := func(s ...Service) Config { return Config{Services: s} }
	for _, tc := range []struct {
		name string
		cfg  Config
		env  map[string]string
		want string
	}{
		{"no name", withServices(Service{MainPackage: "./cmd/api"}), nil, "has no Name"},
		{"bad name", withServices(Service{Name: "API!"}), nil, "Config.Services[0].Name"},
		{"twice", withServices(Service{Name: "api"}, Service{Name: "api", Image: "ghcr.io/a/b"}), nil, `"api" is listed twice`},
		{"one image", withServices(Service{Name: "api", Image: "ghcr.io/a/b"}, Service{Name: "worker", Image: "ghcr.io/a/b"}), nil, "both publish to ghcr.io/a/b"},
		{"GANTRY_MAIN", withServices(Service{Name: "api"}), map[string]string{"GANTRY_MAIN": "./cmd/x"}, "GANTRY_MAIN=./cmd/x names one service"},
		{"GANTRY_SERVICE", withServices(Service{Name: "api"}), map[string]string{"GANTRY_SERVICE": "x"}, "GANTRY_SERVICES=name"},
		{"Config.MainPackage", Config{MainPackage: "./cmd/api", Services: []Service{{Name: "api"}}}, nil, "move them into a Service"},
		{"unknown selection", withServices(Service{Name: "api"}), map[string]string{"GANTRY_SERVICES": "api,web"}, `names "web", which is not one of the services api`},
		{"selection without services", Config{}, map[string]string{"GANTRY_SERVICES": "api"}, "Config.Services lists none"},
		{"a platform job", withServices(Service{Name: "api"}, Service{Name: "worker"}), map[string]string{"GANTRY_SHARD": "linux/arm64"}, "sharding several services is not supported"},
		{"a finalize job", Config{Shard: ShardFinalize, Services: []Service{{Name: "api"}}}, nil, "GANTRY_SHARD=finalize"},
		{"a service's own setting is validated", withServices(Service{Name: "api", LDFlags: []string{"-X=main.x=1"}}), nil, "service api: linker flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.cfg.ResolveServices(envOf(tc.env), facts(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestResolveServicesWithoutImage(t *testing.T) {
	t.Parallel()
	f := facts(t)
	f.OwnerRepo = ""
	cfgs, err := Config{Services: []Service{{Name: "api"}, {Name: "worker"}}}.ResolveServices(envOf(nil), f)
	if !errors.Is(err, ErrNoImage) {
		t.Fatalf("error %v, want ErrNoImage", err)
	}
	if len(cfgs) != 2 || cfgs[1].Service != "worker" {
		t.Errorf("got %+v, want both services resolved apart from the image", cfgs)
	}
}
