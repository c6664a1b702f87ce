// Command svc is a Go service for the SBOM tests: a real binary whose
// build info lists real modules with go.sum hashes.
package main

import (
	"fmt"
	"os"

	"github.com/mattn/go-shellwords"
	"golang.org/x/mod/semver"
)

var version = "dev"

func main() {
	args, err := shellwords.Parse(os.Getenv("SVC_ARGS"))
	fmt.Println(version, semver.IsValid(version), args, err)
}
