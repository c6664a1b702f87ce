package discover

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// GoreleaserFiles are the names goreleaser reads, in its order.
var GoreleaserFiles = []string{".goreleaser.yaml", ".goreleaser.yml"}

// Goreleaser is what a .goreleaser.yaml says about the service's builds.
type Goreleaser struct {
	File string
	// ProjectName is project_name; "" when unset or a template.
	ProjectName string
	Builds      []GoBuild
}

// goreleaserYAML is the part of goreleaser's configuration Gantry reads.
type goreleaserYAML struct {
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		Dir     string    `yaml:"dir"`
		Main    string    `yaml:"main"`
		Binary  string    `yaml:"binary"`
		Ldflags stringish `yaml:"ldflags"`
		Flags   stringish `yaml:"flags"`
		Tags    stringish `yaml:"tags"`
		Env     []string  `yaml:"env"`
	} `yaml:"builds"`
}

// stringish is a goreleaser field written as one string or a list.
type stringish []string

func (s *stringish) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*s = list
	return nil
}

// template matches goreleaser's {{ ... }} templates, whose insides
// (pipes, quotes) are not shell words.
var template = regexp.MustCompile(`\{\{.*?\}\}`)

// setAside is a template set aside by parseTemplatedLDFlags.
var setAside = regexp.MustCompile(`\{\{([0-9]+)\}\}`)

// ParseGoreleaser reads a goreleaser configuration; file names it in the
// sources.
func ParseGoreleaser(file string, content []byte) (Goreleaser, error) {
	var y goreleaserYAML
	if err := yaml.Unmarshal(content, &y); err != nil {
		return Goreleaser{}, err
	}
	g := Goreleaser{File: file}
	if !isTemplate(y.ProjectName) {
		g.ProjectName = y.ProjectName
	}
	for i, yb := range y.Builds {
		b := GoBuild{Source: fmt.Sprintf("%s builds[%d]", file, i), fields: true, Env: yb.Env}
		if yb.Main != "" && !isTemplate(yb.Main) {
			main := yb.Main
			if strings.HasSuffix(main, ".go") {
				main = path.Dir(main)
			}
			if yb.Dir != "" {
				main = path.Join(yb.Dir, main)
			}
			b.Package = relative(main)
		}
		if yb.Binary != "" && !isTemplate(yb.Binary) {
			b.Binary = path.Base(yb.Binary)
		}
		ldflags := strings.Join(yb.Ldflags, " ")
		for _, f := range yb.Flags {
			if tags, ok := strings.CutPrefix(f, "-tags="); ok {
				b.Tags = append(b.Tags, templatedTags(tags)...)
			}
			if v, ok := strings.CutPrefix(f, "-ldflags="); ok {
				ldflags += " " + v
			}
		}
		for _, t := range yb.Tags {
			b.Tags = append(b.Tags, templatedTags(t)...)
		}
		stamps, others, err := parseTemplatedLDFlags(ldflags)
		if err != nil {
			return Goreleaser{}, fmt.Errorf("%s.ldflags: %w", b.Source, err)
		}
		b.Stamps, b.LDFlags = stamps, others
		g.Builds = append(g.Builds, b)
	}
	return g, nil
}

// parseTemplatedLDFlags is parseLDFlags for goreleaser's ldflags, whose
// templates ({{ .Date | trimprefix "x" }}) hold spaces and quotes that are
// not shell words: each is set aside as {{<n>}} while the words are split,
// then put back into the flags it was part of.
func parseTemplatedLDFlags(ldflags string) (stamps, others []string, err error) {
	var templates []string
	ldflags = template.ReplaceAllStringFunc(ldflags, func(t string) string {
		templates = append(templates, t)
		return fmt.Sprintf("{{%d}}", len(templates)-1)
	})
	stamps, others, err = parseLDFlags(ldflags)
	// Stamps too: an -X target may hold one ({{.ModulePath}}/pkg/build.version).
	for _, words := range [][]string{stamps, others} {
		for i, flag := range words {
			words[i] = setAside.ReplaceAllStringFunc(flag, func(p string) string {
				n, _ := strconv.Atoi(setAside.FindStringSubmatch(p)[1])
				return templates[n]
			})
		}
	}
	return stamps, others, err
}

// templatedTags splits goreleaser's tags as go build does, but keeps a
// template whole: what it gives is known only to goreleaser.
func templatedTags(value string) []string {
	if isTemplate(value) {
		return []string{value}
	}
	return splitTags(value)
}

func isTemplate(s string) bool { return strings.Contains(s, "{{") }

// relative writes a goreleaser path (relative to the project) as go build
// takes it: "cmd/api" and "./cmd/api/" become "./cmd/api".
func relative(p string) string {
	p = path.Clean(p)
	if p == "." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return p
	}
	return "./" + p
}
