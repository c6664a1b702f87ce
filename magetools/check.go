package magetools

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/magetools/internal/conformance"
)

// Check reports where the service departs from the release process, with the fix for each.
func Check() error {
	s, err := load()
	if err != nil {
		return done(err)
	}
	return done(checkConformance(s))
}

// checkConformance logs every finding of the conformance check and fails
// on errors; warnings alone pass, so that CI can run it first.
func checkConformance(s session) error {
	findings := conformance.Check(s.cfg.Dir, s.cfg)
	failed := 0
	for _, f := range findings {
		entry := logrus.WithField("rule", f.Rule)
		if f.Severity == conformance.Error {
			failed++
			entry.Error(f.String())
		} else {
			entry.Warn(f.String())
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d findings break the release process; fix each as its line above says, then run `go tool mage check` again", failed, len(findings))
	}
	logrus.Infof("the service follows the release process (%d warnings)", len(findings))
	return nil
}
