package magetools

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/magetools/config"
)

// Check reports where the service departs from the release process, with the fix for each.
func Check() error {
	s, err := load()
	if errors.Is(err, config.ErrNoImage) {
		// Checking the service's files needs no image name.
		logrus.Warnf("%v; check goes on without one", err)
		err = nil
	}
	if err != nil {
		return done(err)
	}
	return done(checkConformance(s))
}

// checkConformance logs every finding of the conformance check and fails
// on errors; warnings alone pass, so that CI can run it first.
func checkConformance(s session) error {
	findings := conformance.Check(s.cfg.Dir, s.cfg)
	var failed []string
	for _, f := range findings {
		entry := logrus.WithField("rule", f.Rule)
		if f.Severity == conformance.Error {
			failed = append(failed, f.String())
			entry.Error(f.String())
		} else {
			entry.Warn(f.String())
		}
	}
	if len(failed) > 0 {
		// The findings go into the error too: in Actions it becomes the
		// annotation, which should say what to fix without the log.
		return fmt.Errorf("the service departs from the release process: %s; run `go tool mage check` after fixing", strings.Join(failed, "; "))
	}
	logrus.Infof("the service follows the release process (%d warnings)", len(findings))
	return nil
}
