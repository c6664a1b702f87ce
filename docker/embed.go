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

// The patterns every build context's .dockerignore needs, at any depth:
// actions/checkout keeps the job's token in .git/config (and a submodule
// has a .git of its own), and .env files hold secrets, nested ones such
// as deploy/.env.tpl too. mage check's dockerignore rule requires what
// they keep out, naming them in its fix; the template holds them, so
// gantry init's merge adds them.
const (
	IgnoreGit = "**/.git"
	IgnoreEnv = "**/.env*"
)

// RequiredIgnores are IgnoreGit and IgnoreEnv.
var RequiredIgnores = []string{IgnoreGit, IgnoreEnv}
