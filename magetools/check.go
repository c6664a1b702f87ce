package magetools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/actions"
	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/magetools/config"
)

// Check reports where the service departs from the release process, with the fix for each.
func Check(ctx context.Context) error {
	if several() {
		ctx, sessions, err := loadAll(ctx, false)
		if errors.Is(err, config.ErrNoImage) {
			sessions[0].log.Warnf("%v; check goes on without one", err)
			err = nil
		}
		if err != nil {
			return done(err)
		}
		return done(checkServices(ctx, sessions))
	}
	ctx, s, err := load(ctx)
	if errors.Is(err, config.ErrNoImage) {
		// Checking the service's files needs no image name.
		s.log.Warnf("%v; check goes on without one", err)
		err = nil
	}
	if err != nil {
		return done(err)
	}
	return done(checkConformance(ctx, s))
}

// checkConformance reports every finding of the conformance check and
// fails on errors; warnings alone pass, so that CI can run it first.
func checkConformance(ctx context.Context, s session) error {
	return reportFindings(conformance.Check(ctx, s.cfg.Dir, s.cfg, s.packages), actions.Runner{Getenv: os.Getenv, Out: os.Stdout}, s.log)
}

// reportFindings logs each finding once, one line with its rule, file,
// line and severity as fields, and in GitHub Actions annotates it on its
// file and line. The error only counts the errors: the findings are
// already in the log and on the run's page.
func reportFindings(findings []conformance.Finding, runner actions.Runner, log *logrus.Entry) error {
	workspace := runner.Getenv("GITHUB_WORKSPACE")
	failed := 0
	for _, f := range findings {
		fields := logrus.Fields{"rule": f.Rule, "file": f.Path, "severity": f.Severity.String()}
		if f.Line > 0 {
			fields["line"] = f.Line
		}
		message := fmt.Sprintf("%s (fix: %s)", f.Message, f.Fix)
		entry := log.WithFields(fields)
		if f.Severity == conformance.Error {
			failed++
			entry.Error(message)
		} else {
			entry.Warn(message)
		}
		runner.Annotate(actions.Annotation{Level: f.Severity.String(), File: repositoryPath(f.Path, workspace), Line: f.Line,
			Title: "mage check: " + f.Rule, Message: message})
	}
	warnings := len(findings) - failed
	if failed > 0 {
		return fmt.Errorf("the service departs from the release process: %s and %s, logged above; fix each as its fix says, then run `go tool mage check` again",
			count(failed, "error"), count(warnings, "warning"))
	}
	log.Infof("the service follows the release process (%s)", count(warnings, "warning"))
	return nil
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// repositoryPath is a finding's path relative to the checkout at
// workspace, as annotations name files; "" for Gantry's embedded
// Dockerfile, a path outside the checkout, or no workspace.
func repositoryPath(path, workspace string) string {
	if workspace == "" || path == conformance.EmbeddedDockerfile {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(workspace, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}
