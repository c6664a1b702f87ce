package adopt

import (
	"os"
	"strings"
	"testing"

	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/repofile"
	"github.com/gantry-build/gantry/internal/testtree"
)

// TestMergedDockerignorePassesCheck: what init's merge leaves passes mage
// check's dockerignore rule, a nested .env file (deploy/.env.tpl) and a
// team's root-only patterns included.
func TestMergedDockerignorePassesCheck(t *testing.T) {
	t.Parallel()
	layout := Layout{ModulePath: "github.com/acme/widget", GoVersion: "1.26", GantryVersion: "v1.4.0", MainPackage: ".", Service: "widget", PublishBranch: "main"}
	files, err := layout.Files()
	if err != nil {
		t.Fatal(err)
	}
	var template []byte
	for _, f := range files {
		if f.Path == ".dockerignore" {
			template = f.Content
		}
	}
	for _, have := range []string{"", ".git\n.env*\nnode_modules\n"} {
		tree := map[string]string{"main.go": "package main\n", "deploy/.env.tpl": "TOKEN=", ".env": "TOKEN=x"}
		if have != "" {
			tree[".dockerignore"] = have
		}
		dir := testtree.New(t, tree)
		var r Report
		if err := r.mergeLines(repofile.At(dir), ".dockerignore", template); err != nil {
			t.Fatal(err)
		}
		merged := readFile(t, dir, ".dockerignore")
		if findings := conformance.CheckDockerignore(".dockerignore", []byte(merged), os.DirFS(dir)); len(findings) > 0 {
			t.Errorf("from %q, init leaves\n%s\nwhich check refuses: %+v", have, merged, findings)
		}
		if have != "" && !strings.HasPrefix(merged, have) {
			t.Errorf("the team's lines were not kept:\n%s", merged)
		}
	}
}
