package config

import (
	"fmt"

	"github.com/gantry-build/gantry/magetools/internal/module"
)

// ReadFacts reads the Facts of the service module at dir, except
// OwnerRepo, which comes from the run's event or the git remote. It is the
// same look-up the targets do, for tools outside them (gantry init).
func ReadFacts(dir string) (Facts, error) {
	path, err := module.Path(dir)
	if err != nil {
		return Facts{}, err
	}
	mains, err := module.MainPackages(dir)
	if err != nil {
		return Facts{}, err
	}
	return Facts{Dir: dir, ModulePath: path, MainCandidates: mains}, nil
}

// DefaultService is the Service that Resolve gives a configuration
// without one.
func DefaultService(mainPackage, modulePath string) string {
	return serviceName(mainPackage, modulePath)
}

// CheckService returns an error unless name can name the service: it is
// the local image name of `mage image`, so a Docker repository component.
func CheckService(name string) error {
	if !serviceNamePattern.MatchString(name) {
		return fmt.Errorf("service name %q is not a valid image name component; use lower-case letters, digits and . _ - (GANTRY_SERVICE, Config.Service)", name)
	}
	return nil
}
