// Package actions speaks to GitHub Actions: log groups, error annotations
// and masks as workflow commands on stdout, the job summary and the step
// outputs as files the runner names in the environment. Outside Actions
// (GITHUB_ACTIONS is not "true") every function does nothing, so callers
// need no checks of their own.
package actions

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Runner is the step Gantry runs in.
type Runner struct {
	// Getenv reads the environment (os.Getenv); a field so tests can fake it.
	Getenv func(string) string
	// Out receives the workflow commands: the step's stdout.
	Out io.Writer
}

// Enabled reports whether this runs in GitHub Actions.
func (r Runner) Enabled() bool { return r.Getenv("GITHUB_ACTIONS") == "true" }

// StartGroup folds the log lines that follow under name, until EndGroup.
func (r Runner) StartGroup(name string) { r.command("group", nil, name) }

// EndGroup ends the group StartGroup began.
func (r Runner) EndGroup() { r.command("endgroup", nil, "") }

// Error annotates the run with err, titled title: it shows on the run's
// summary page, not only in the log.
func (r Runner) Error(title string, err error) {
	r.Annotate(Annotation{Level: "error", Title: title, Message: err.Error()})
}

// Annotation is one message on the run's summary page and, when it names
// a file of the repository, beside that line in the pull request's diff.
type Annotation struct {
	// Level is "error", "warning" or "notice".
	Level string
	// File is relative to the repository root; empty for none.
	File string
	// Line is 1-based; 0 for the file as a whole.
	Line           int
	Title, Message string
}

// Annotate writes one annotation.
func (r Runner) Annotate(a Annotation) {
	props := map[string]string{"title": a.Title}
	if a.File != "" {
		props["file"] = a.File
		if a.Line > 0 {
			props["line"] = strconv.Itoa(a.Line)
		}
	}
	r.command(a.Level, props, a.Message)
}

// AddMask makes the runner print *** wherever value would appear in the log.
func (r Runner) AddMask(value string) { r.command("add-mask", nil, value) }

// command writes one workflow command. A failed write to stdout is not
// worth failing a release for: the log is the only thing that suffers.
func (r Runner) command(name string, props map[string]string, message string) {
	if r.Enabled() {
		_, _ = io.WriteString(r.Out, Command(name, props, message))
	}
}

// Command formats a workflow command: ::name k=v,k=v::message, escaped as
// the runner expects, properties in name order.
func Command(name string, props map[string]string, message string) string {
	var b strings.Builder
	b.WriteString("::" + name)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		sep := ","
		if i == 0 {
			sep = " "
		}
		b.WriteString(sep + k + "=" + escapeProperty(props[k]))
	}
	b.WriteString("::" + escapeData(message) + "\n")
	return b.String()
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeData escapes a command's message; a raw newline would end the
// command and let the rest of the message be read as another one.
func escapeData(s string) string { return dataEscaper.Replace(s) }

// escapeProperty escapes a property value, where : and , are separators.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }

// Image is one image a run built, for the summary and the step outputs.
type Image struct {
	Target    string
	Platforms []string
	// Tags are full references (ghcr.io/acme/svc:1.2.3); none when nothing
	// was pushed.
	Tags []string
	// Digest is the pushed index digest; empty when nothing was pushed.
	Digest string
	// Verified are the supply-chain checks the image passed; none when
	// signing is off.
	Verified []Check
}

// Check is a verification an image passed, and the command that repeats
// it.
type Check struct {
	What, Detail, Command string
}

// AppendSummary adds a Markdown report of images to the job summary:
// title with event and version, a table, and how to pull each image.
func (r Runner) AppendSummary(event, version string, images []Image) error {
	return r.appendFile("GITHUB_STEP_SUMMARY", Summary(event, version, images))
}

// Summary formats the job summary of AppendSummary.
func Summary(event, version string, images []Image) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Container images: %s, version %s\n\n", event, version)
	b.WriteString("| target | platforms | tags | digest |\n|---|---|---|---|\n")
	var pulls []string
	for _, img := range images {
		tags := make([]string, len(img.Tags))
		for i, t := range img.Tags {
			tags[i] = "`" + t + "`"
		}
		digest := "not pushed"
		if img.Digest != "" {
			digest = "`" + img.Digest + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", img.Target, strings.Join(img.Platforms, ", "), strings.Join(tags, "<br>"), digest)
		if pull := pullCommand(img); pull != "" {
			pulls = append(pulls, pull)
		}
	}
	if len(pulls) > 0 {
		b.WriteString("\n```sh\n" + strings.Join(pulls, "\n") + "\n```\n")
	}
	for _, img := range images {
		if len(img.Verified) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n#### Verified: %s `%s`\n\n", img.Target, img.Digest)
		var commands []string
		for _, c := range img.Verified {
			fmt.Fprintf(&b, "- %s: %s\n", c.What, c.Detail)
			commands = append(commands, c.Command)
		}
		b.WriteString("\nTo repeat these checks:\n\n```sh\n" + strings.Join(commands, "\n") + "\n```\n")
	}
	return b.String()
}

// pullCommand pulls the image by digest, which names exactly what was
// pushed even after a moving tag has moved on; "" when nothing was pushed.
func pullCommand(img Image) string {
	if img.Digest == "" || len(img.Tags) == 0 {
		return ""
	}
	tag, err := name.NewTag(img.Tags[0])
	if err != nil {
		return ""
	}
	return "docker pull " + tag.Context().Name() + "@" + img.Digest
}

// WriteOutputs sets the step outputs <target>-digest and <target>-tags
// (comma-separated) of every image, for later steps and jobs.
func (r Runner) WriteOutputs(images []Image) error {
	if !r.Enabled() || r.Getenv("GITHUB_OUTPUT") == "" {
		return nil
	}
	var b strings.Builder
	for _, img := range images {
		for _, o := range [][2]string{
			{img.Target + "-digest", img.Digest},
			{img.Target + "-tags", strings.Join(img.Tags, ",")},
		} {
			s, err := Output(o[0], o[1], newDelimiter())
			if err != nil {
				return err
			}
			b.WriteString(s)
		}
	}
	return r.appendFile("GITHUB_OUTPUT", b.String())
}

// Output formats one entry of the GITHUB_OUTPUT file: name=value, or the
// heredoc form name<<delimiter for a value that spans lines.
func Output(name, value, delimiter string) (string, error) {
	if !strings.ContainsAny(value, "\r\n") {
		return name + "=" + value + "\n", nil
	}
	if strings.Contains(value, delimiter) {
		return "", fmt.Errorf("step output %s contains its delimiter %q; write it again, with a new random delimiter", name, delimiter)
	}
	return name + "<<" + delimiter + "\n" + value + "\n" + delimiter + "\n", nil
}

// newDelimiter is random, as the runner's own toolkit makes it, so that no
// value can end its heredoc early.
func newDelimiter() string { return "ghadelimiter_" + rand.Text() }

// appendFile appends text to the file the environment variable key names;
// nothing outside Actions or when the runner names no file.
func (r Runner) appendFile(key, text string) error {
	path := r.Getenv(key)
	if !r.Enabled() || path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s (%s): %w; check that the step runs on a GitHub-hosted or current self-hosted runner", key, path, err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return fmt.Errorf("write %s (%s): %w; check the runner's free disk space", key, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s (%s): %w; check the runner's free disk space", key, path, err)
	}
	return nil
}

// SetOutput sets one step output, for later steps and jobs.
func (r Runner) SetOutput(name, value string) error {
	if !r.Enabled() || r.Getenv("GITHUB_OUTPUT") == "" {
		return nil
	}
	s, err := Output(name, value, newDelimiter())
	if err != nil {
		return err
	}
	return r.appendFile("GITHUB_OUTPUT", s)
}
