module github.com/gantry-build/gantry

go 1.26.8

tool github.com/magefile/mage

require (
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/google/go-containerregistry v0.22.1
	github.com/magefile/mage v1.17.2
	github.com/sirupsen/logrus v1.10.2
	golang.org/x/mod v0.41.0
)

require (
	github.com/opencontainers/go-digest v1.0.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
