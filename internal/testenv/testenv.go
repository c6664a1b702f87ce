// Package testenv reads the environment that scripts/testenv starts (the
// buildx builder, the loopback registry, the Docker engine, the stand-in
// base images and cosign) for the end-to-end tests and the repository's
// demo.
package testenv

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
)

// Env is what scripts/testenv wrote to its env file.
type Env struct {
	Builder, Registry, DockerHost, GoImage, RuntimeImage, DevImage string
	// Cosign is the path of the cosign binary that verifies what Gantry
	// signs; scripts/testenv names the flags it needs offline.
	Cosign string
}

// File is where scripts/testenv writes its variables
// (GANTRY_TESTENV_STATE moves it, as it moves the script's state).
func File() string {
	if dir := os.Getenv("GANTRY_TESTENV_STATE"); dir != "" {
		return dir + "/env"
	}
	return "/var/tmp/gantry-testenv/env"
}

// Load reads the env file and checks that the registry and the Docker
// engine answer.
func Load() (Env, error) {
	f, err := os.Open(File())
	if err != nil {
		return Env{}, fmt.Errorf("the end-to-end environment is not set up (%v): run `scripts/testenv up` first (scripts/test does it for you)", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	e := Env{
		Builder: vars["GANTRY_TEST_BUILDER"], Registry: vars["GANTRY_TEST_REGISTRY"], DockerHost: vars["GANTRY_TEST_DOCKER_HOST"],
		GoImage: vars["GANTRY_TEST_GO_IMAGE"], RuntimeImage: vars["GANTRY_TEST_RUNTIME_IMAGE"], DevImage: vars["GANTRY_TEST_DEV_IMAGE"],
		Cosign: vars["GANTRY_TEST_COSIGN"],
	}
	for key, v := range map[string]string{"GANTRY_TEST_BUILDER": e.Builder, "GANTRY_TEST_REGISTRY": e.Registry, "GANTRY_TEST_DOCKER_HOST": e.DockerHost,
		"GANTRY_TEST_GO_IMAGE": e.GoImage, "GANTRY_TEST_RUNTIME_IMAGE": e.RuntimeImage, "GANTRY_TEST_DEV_IMAGE": e.DevImage,
		"GANTRY_TEST_COSIGN": e.Cosign} {
		if v == "" {
			return e, fmt.Errorf("%s lacks %s: run `scripts/testenv up` again", File(), key)
		}
	}
	if _, err := os.Stat(e.Cosign); err != nil {
		return e, fmt.Errorf("cosign is missing (%v): run `scripts/testenv up`", err)
	}
	resp, err := http.Get("http://" + e.Registry + "/v2/")
	if err != nil {
		return e, fmt.Errorf("registry %s does not answer (%v): run `scripts/testenv up`", e.Registry, err)
	}
	resp.Body.Close()
	if out, err := exec.Command("docker", "--host", e.DockerHost, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return e, fmt.Errorf("docker engine at %s does not answer (%v: %s): run `scripts/testenv up`", e.DockerHost, err, out)
	}
	return e, nil
}

// GantryEnv is the environment Gantry runs with against this environment:
// the test builder and engine, the stand-in base images, and image.
func (e Env) GantryEnv(image string) map[string]string {
	return map[string]string{
		"BUILDX_BUILDER":    e.Builder,
		"DOCKER_HOST":       e.DockerHost,
		"GANTRY_IMAGE":      image,
		"GANTRY_BUILD_ARGS": "GO_IMAGE=" + e.GoImage + ",RUNTIME_IMAGE=" + e.RuntimeImage + ",DEV_IMAGE=" + e.DevImage,
		// The tests simulate GitHub Actions, where signing is keyless by
		// default; offline there is no OIDC identity, so a test that signs
		// names a key (e2e/supplychain_test.go).
		"GANTRY_SIGNING": "off",
	}
}
