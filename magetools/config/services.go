package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gantry-build/gantry/internal/module"
	"github.com/gantry-build/gantry/internal/reference"
)

// Service is one service of a repository that builds several
// (Config.Services): a main package of the module in Config.Dir, with its
// own image and settings. A zero field takes the shared Config field of
// the same name; GANTRY_* variables apply over both, to every service,
// as they apply to Config.
type Service struct {
	// Name is the service's name: its binary under bin/, its image title
	// label, its build cache scopes and what GANTRY_SERVICES selects it
	// by. Required; unique.
	Name string

	// MainPackage is the Go package to build, relative to Config.Dir.
	// Default: ./cmd/<Name>.
	MainPackage string

	// Image is the service's image repository, without a tag. Default:
	// <Config.Image>/<Name> (ghcr.io/acme/mono/api). Unique.
	Image string

	// Dockerfile is as Config.Dockerfile ("embedded" for Gantry's own).
	// Default: Config.Dockerfile.
	Dockerfile string

	// Description is as Config.Description. Default: Config.Description.
	Description string

	// Stamp is as Config.Stamp, field by field. Default: Config.Stamp.
	Stamp Stamp

	// Tags, LDFlags, Args, Ports and Prepare are as the Config fields:
	// when set (non-nil), they replace the shared ones.
	Tags, LDFlags, Args, Ports, Prepare []string

	// CGO builds this service with cgo (Config.CGO builds them all so).
	CGO bool

	// BuildArgs are added to Config.BuildArgs, replacing equal keys.
	BuildArgs map[string]string
}

// ServiceSelection is the variable that selects some of Config.Services
// by name (comma-separated), for a run of those only.
const ServiceSelection = "GANTRY_SERVICES"

// ResolveServices resolves the configuration of every service the run
// builds, each a Config as Resolve returns it, with Services unset:
// without Services, the one Config.Resolve returns; with them, one per
// Service (those GANTRY_SERVICES names, when set), in their order. When
// only the image cannot be told, the error wraps ErrNoImage and the
// Configs are returned resolved apart from Image, as Resolve does.
func (c Config) ResolveServices(env Lookup, facts Facts) ([]Config, error) {
	if len(c.Services) == 0 {
		if v, ok := env(ServiceSelection); ok && v != "" {
			return nil, fmt.Errorf("%s=%s selects services, but Config.Services lists none: unset it, or list the services in the magefile's init()", ServiceSelection, v)
		}
		r, err := c.Resolve(env, facts)
		if err != nil && !errors.Is(err, ErrNoImage) {
			return nil, err
		}
		return []Config{r}, err
	}
	if err := c.checkServices(env); err != nil {
		return nil, err
	}
	selected, err := c.selectServices(env)
	if err != nil {
		return nil, err
	}
	// GANTRY_SERVICE and GANTRY_MAIN were refused; GANTRY_IMAGE is the
	// base of the default images, applied here, not over each service's.
	base := c.Image
	if v, ok := env("GANTRY_IMAGE"); ok && v != "" {
		base = v
	}
	serviceEnv := func(key string) (string, bool) {
		if key == "GANTRY_IMAGE" {
			return "", false
		}
		return env(key)
	}
	var out []Config
	var noImage error
	for _, s := range selected {
		r, err := c.forService(s, base).Resolve(serviceEnv, facts)
		switch {
		case errors.Is(err, ErrNoImage):
			noImage = err
		case err != nil:
			return nil, fmt.Errorf("service %s: %w", s.Name, err)
		case s.Image == "":
			r.Image += "/" + s.Name
			if err := reference.CheckRepository(r.Image); err != nil {
				return nil, fmt.Errorf("service %s: %w; set its Image in Config.Services", s.Name, err)
			}
		}
		out = append(out, r)
	}
	if noImage != nil {
		return out, noImage
	}
	return out, checkUniqueImages(out)
}

// checkServices refuses a service list Resolve cannot tell apart, and the
// settings that name one service.
func (c Config) checkServices(env Lookup) error {
	for _, key := range []string{"GANTRY_SERVICE", "GANTRY_MAIN"} {
		if v, ok := env(key); ok && v != "" {
			return fmt.Errorf("%s=%s names one service, but Config.Services lists %d: set each service's Name and MainPackage in Config.Services, and select some with %s=name,...", key, v, len(c.Services), ServiceSelection)
		}
	}
	if c.Service != "" || c.MainPackage != "" {
		return fmt.Errorf("Config.Service and Config.MainPackage name one service, but Config.Services lists %d: move them into a Service of Config.Services", len(c.Services))
	}
	// A platform job of several services would publish each one whole,
	// tags included: sharding is for one service's platforms.
	shard := c.Shard
	if v, ok := env("GANTRY_SHARD"); ok {
		shard = v
	}
	if shard != "" {
		return fmt.Errorf("GANTRY_SHARD=%s (Config.Shard) splits one service's platforms across jobs, but Config.Services lists %d: sharding several services is not supported; unset it and publish them from one job (mage ci builds them together), or give each service a repository of its own", shard, len(c.Services))
	}
	seen := map[string]bool{}
	for i, s := range c.Services {
		if s.Name == "" {
			return fmt.Errorf("Config.Services[%d] has no Name; give each service a name, e.g. api", i)
		}
		if err := module.CheckServiceName(s.Name); err != nil {
			return fmt.Errorf("%w (Config.Services[%d].Name)", err, i)
		}
		if seen[s.Name] {
			return fmt.Errorf("service %q is listed twice in Config.Services; give each service its own name", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

// selectServices returns the services GANTRY_SERVICES names, all of
// them when it is unset, in the order of Config.Services.
func (c Config) selectServices(env Lookup) ([]Service, error) {
	v, ok := env(ServiceSelection)
	if !ok || v == "" {
		return c.Services, nil
	}
	names := splitList(v)
	var out []Service
	for _, s := range c.Services {
		if slices.Contains(names, s.Name) {
			out = append(out, s)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(c.Services, func(s Service) bool { return s.Name == n }) {
			return nil, fmt.Errorf("%s names %q, which is not one of the services %s; name services of Config.Services", ServiceSelection, n, strings.Join(c.ServiceNames(), ", "))
		}
	}
	return out, nil
}

// ServiceNames lists the names of Config.Services, in order.
func (c Config) ServiceNames() []string {
	names := make([]string, len(c.Services))
	for i, s := range c.Services {
		names[i] = s.Name
	}
	return names
}

// forService is c with s's settings over the shared ones, and the image
// s's own or base (the name is added once the default is resolved).
func (c Config) forService(s Service, base string) Config {
	r := c
	r.Services = nil
	r.Service = s.Name
	r.MainPackage = s.MainPackage
	if r.MainPackage == "" {
		r.MainPackage = "./cmd/" + s.Name
	}
	r.Image = base
	if s.Image != "" {
		r.Image = s.Image
	}
	for field, own := range map[*string]string{&r.Dockerfile: s.Dockerfile, &r.Description: s.Description,
		&r.Stamp.Version: s.Stamp.Version, &r.Stamp.Commit: s.Stamp.Commit, &r.Stamp.Date: s.Stamp.Date} {
		if own != "" {
			*field = own
		}
	}
	for field, own := range map[*[]string][]string{&r.Tags: s.Tags, &r.LDFlags: s.LDFlags, &r.Args: s.Args, &r.Ports: s.Ports, &r.Prepare: s.Prepare} {
		if own != nil {
			*field = own
		}
	}
	r.CGO = c.CGO || s.CGO
	r.BuildArgs = maps.Clone(c.BuildArgs)
	if len(s.BuildArgs) > 0 {
		if r.BuildArgs == nil {
			r.BuildArgs = map[string]string{}
		}
		maps.Copy(r.BuildArgs, s.BuildArgs)
	}
	return r
}

// checkUniqueImages refuses two services with one image repository: their
// tags (<sha>, main) would name each other's images.
func checkUniqueImages(cfgs []Config) error {
	owner := map[string]string{}
	for _, r := range cfgs {
		if other, ok := owner[r.Image]; ok {
			return fmt.Errorf("services %s and %s both publish to %s, so their tags would name each other's images; give each its own Image in Config.Services", other, r.Service, r.Image)
		}
		owner[r.Image] = r.Service
	}
	return nil
}
