// Package docker embeds Gantry's default Dockerfile and .dockerignore
// template, used when a service has no Dockerfile of its own.
package docker

import _ "embed"

// Dockerfile is the default multi-stage Dockerfile (targets prod and dev).
//
//go:embed Dockerfile
var Dockerfile []byte

// Dockerignore is the .dockerignore template.
//
//go:embed dockerignore
var Dockerignore []byte
