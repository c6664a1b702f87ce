//go:build mage

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/magefile/mage/sh"

	"github.com/gantry-build/gantry/internal/sign"
	"github.com/gantry-build/gantry/internal/testenv"
	"github.com/gantry-build/gantry/magetools"
)

// Demo publishes the example service as `mage ci` does on a push of HEAD to main, to a local registry.
//
// It starts the local environment (scripts/testenv up: BuildKit, a registry
// on 127.0.0.1:5000, stand-in base images), simulates the GitHub Actions
// push event for HEAD, and runs the CI target: both targets for amd64 and
// arm64, signed with a throw-away key and attested, pushed as <sha>, main,
// <sha>-dev and main-dev; then verifies <sha> as a deployer would.
func Demo(ctx context.Context) error {
	if err := sh.RunV("scripts/testenv", "up"); err != nil {
		return err
	}
	env, err := testenv.Load()
	if err != nil {
		return err
	}
	head, err := sh.Output("git", "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	event, err := json.Marshal(map[string]any{"head_commit": map[string]string{"id": head}})
	if err != nil {
		return err
	}
	eventPath := filepath.Join(os.TempDir(), "gantry-demo-event.json")
	if err := os.WriteFile(eventPath, event, 0o644); err != nil {
		return err
	}
	// A throw-away key pair: the demo signs and attests as CI outside
	// GitHub Actions does, then verifies what it published.
	keyDir, err := os.MkdirTemp("", "gantry-demo-key-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(keyDir)
	private, public, err := sign.GenerateKey([]byte("demo"))
	if err != nil {
		return err
	}
	key := filepath.Join(keyDir, "cosign.key")
	for path, data := range map[string][]byte{key: private, filepath.Join(keyDir, "cosign.pub"): public} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	image := env.Registry + "/gantry-build/hello"
	vars := env.GantryEnv(image)
	for k, v := range map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
		"GITHUB_SHA": head, "GITHUB_REPOSITORY": "gantry-build/gantry", "GITHUB_EVENT_PATH": eventPath,
		"GANTRY_SIGNING": "key", "GANTRY_SIGNING_KEY": key, "COSIGN_PASSWORD": "demo",
	} {
		vars[k] = v
	}
	// Gantry reads its configuration at call time, so setting the
	// environment here is all it takes.
	for k, v := range vars {
		os.Setenv(k, v)
	}
	fmt.Printf("publishing the example service to %s, signed with a throw-away key\n", image)
	if err := magetools.CI(ctx); err != nil {
		return err
	}
	ref := image + ":" + head[:7]
	fmt.Printf("verifying %s as a deployer would\n", ref)
	return magetools.Verify(ctx, &ref)
}

// Bench measures image sizes and build times against their references, in one run, and writes BENCHMARKS.md.
//
// It starts the local environment (scripts/testenv up) and runs the
// benchmark in internal/bench, which takes about 35 minutes on
// 2 cores and switches arm64 emulation off for a while (as root).
func Bench() error {
	if err := sh.RunV("scripts/testenv", "up"); err != nil {
		return err
	}
	return sh.RunV("go", "test", "-tags", "bench", "-run", "TestBenchmarks", "-count=1", "-v", "-timeout", "120m", "./internal/bench/")
}
