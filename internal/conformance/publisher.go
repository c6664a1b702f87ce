package conformance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// ImageTarget names the image a service publishes, to tell which steps of
// a workflow build or push it: Image (may be "" when unknown) on Registry,
// for the service named Service.
type ImageTarget struct {
	Image, Registry, Service string
}

// ImageStep is a step of a workflow that builds or pushes a container
// image the service's release process publishes, or may.
type ImageStep struct {
	Line int
	// Pushes is set for a step that pushes (or may push, by an
	// expression); else it only builds.
	Pushes bool
	// What says what the step does, for a message: "docker push
	// ghcr.io/acme/api:1.2".
	What string
	// Same is set when the step names the service's image (its Image, or
	// <Registry>/<owner>/<Service>), or an image it cannot tell (an
	// expression, a variable, no tag at all); otherwise the step names
	// another image on the registry the service publishes to.
	Same bool
}

// ImageSteps returns the steps of the workflow content that build or
// push t's image, generously: an image on t's registry counts, and so
// does one named by an expression or a variable, or not named at all.
// Steps naming only images on other registries do not count. A workflow
// that does not parse has none.
func ImageSteps(content []byte, t ImageTarget) []ImageStep {
	wf, _ := actionlint.Parse(content)
	if wf == nil {
		return nil
	}
	var steps []ImageStep
	for _, job := range jobs(wf) {
		images := metadataImages(job)
		for _, step := range job.Steps {
			for _, s := range imageWork(step, images) {
				if match := t.match(s.refs); match != noMatch {
					steps = append(steps, ImageStep{Line: s.line, Pushes: s.pushes, What: s.what, Same: match == sameImage})
				}
			}
		}
	}
	return steps
}

// publisherFix is the fix of the workflow-publisher rule.
const publisherFix = "delete the workflow, or the step, or stop it pushing: `go tool mage ci` in the Container workflow publishes the image, and two publishers of one tag break its immutability"

// CheckPublishers reports the steps of a workflow other than the
// Container workflow that push the service's image (ImageSteps): an error
// when it is the image or cannot be told, a warning when it is another
// image on the registry the service publishes to.
func CheckPublishers(path string, content []byte, t ImageTarget) []Finding {
	var findings []Finding
	for _, s := range ImageSteps(content, t) {
		if !s.Pushes {
			continue
		}
		f := Finding{Severity: Error, Rule: RuleWorkflowPublisher, Path: path, Line: s.Line, Fix: publisherFix,
			Message: fmt.Sprintf("this workflow pushes the service's image too (%s), beside the Container workflow that publishes it", s.What)}
		if !s.Same {
			f.Severity = Warning
			f.Message = fmt.Sprintf("this workflow pushes an image to %s, where the service publishes its image (%s): if it is the service's image, it has two publishers", t.registry(), s.What)
			f.Fix = publisherFix + "; if it is another image, nothing"
		}
		findings = append(findings, f)
	}
	return findings
}

type imageMatch int

const (
	noMatch imageMatch = iota
	sameRegistry
	sameImage
)

// match tells how the references a step names relate to t: the best of
// them; a step naming none builds or pushes an image it cannot tell.
func (t ImageTarget) match(refs []string) imageMatch {
	if len(refs) == 0 {
		return sameImage
	}
	best := noMatch
	for _, ref := range refs {
		best = max(best, t.matchRef(ref))
	}
	return best
}

func (t ImageTarget) matchRef(ref string) imageMatch {
	repo, ok := repository(ref)
	if !ok {
		return sameImage // an expression or a variable: it may be
	}
	image := strings.ToLower(t.Image)
	registry, path, _ := splitRegistry(repo)
	owner := ""
	if _, imagePath, ok := splitRegistry(image); ok && image != "" {
		owner, _, _ = strings.Cut(imagePath, "/")
	}
	switch {
	case repo == image,
		registry == t.registry() && t.Service != "" && (path == owner+"/"+t.Service || !strings.Contains(path, "/") && path == t.Service):
		return sameImage
	case registry == "docker.io" && t.Service != "" && (path == t.Service || path == "library/"+t.Service):
		// docker build -t api .: a local image of the service's name.
		return sameImage
	case registry == t.registry():
		return sameRegistry
	}
	return noMatch
}

// registry is the registry of t's image, else Registry, else ghcr.io.
func (t ImageTarget) registry() string {
	if r, _, ok := splitRegistry(strings.ToLower(t.Image)); ok && t.Image != "" {
		return r
	}
	if t.Registry != "" {
		return strings.ToLower(t.Registry)
	}
	return "ghcr.io"
}

// repository is ref without its tag or digest, lower-cased; not ok for a
// reference holding an expression or a shell variable.
func repository(ref string) (string, bool) {
	ref = strings.Trim(strings.TrimSpace(ref), `"'`)
	if ref == "" || strings.ContainsAny(ref, "${}") {
		return "", false
	}
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return strings.ToLower(ref), true
}

// splitRegistry splits a repository into its registry (docker.io when it
// names none) and path; not ok for "".
func splitRegistry(repo string) (registry, path string, ok bool) {
	if repo == "" {
		return "", "", false
	}
	first, rest, found := strings.Cut(repo, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest, true
	}
	return "docker.io", repo, true
}

// imageStep is what a step does with images, before matching.
type imageStep struct {
	line   int
	pushes bool
	what   string
	// refs are the references named; none when it names none.
	refs []string
}

// Actions that build or push images, and the one that names them.
const (
	buildPushAction = "docker/build-push-action"
	bakeAction      = "docker/bake-action"
	metadataAction  = "docker/metadata-action"
)

// metadataImages are the images docker/metadata-action steps of job name
// (its images input: one per line or comma, optionally name=<image>,...),
// which the build steps of the job tag with its outputs.
func metadataImages(job *actionlint.Job) []string {
	var images []string
	for _, step := range job.Steps {
		exec, ok := step.Exec.(*actionlint.ExecAction)
		if !ok || exec.Uses == nil || actionName(exec.Uses.Value) != metadataAction {
			continue
		}
		if in := exec.Inputs["images"]; in != nil && in.Value != nil {
			for _, item := range listItems(in.Value.Value) {
				first, _, _ := strings.Cut(item, ",")
				images = append(images, strings.TrimPrefix(strings.TrimSpace(first), "name="))
			}
		}
	}
	return images
}

// actionName is uses: without its version, lower-cased.
func actionName(uses string) string {
	name, _, _ := strings.Cut(uses, "@")
	return strings.ToLower(name)
}

// listItems splits an action's list input: one item per line or comma.
func listItems(s string) []string {
	var items []string
	for _, line := range strings.Split(s, "\n") {
		for _, item := range strings.Split(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
	}
	return items
}

// imageWork is what step does with images: the build-push and bake
// actions, and docker, podman or buildah commands in a run script.
// metadataImages are the images the job's metadata-action names.
func imageWork(step *actionlint.Step, metadataImages []string) []imageStep {
	switch exec := step.Exec.(type) {
	case *actionlint.ExecAction:
		if exec.Uses == nil {
			return nil
		}
		name := actionName(exec.Uses.Value)
		if name != buildPushAction && name != bakeAction {
			return nil
		}
		input := func(key string) string {
			if in := exec.Inputs[key]; in != nil && in.Value != nil {
				return in.Value.Value
			}
			return ""
		}
		push := input("push")
		s := imageStep{line: exec.Uses.Pos.Line, what: "uses: " + exec.Uses.Value,
			// An expression (push: ${{ github.event_name != 'pull_request' }}) may push.
			pushes: (push != "" && push != "false") || strings.Contains(input("outputs"), "type=registry") || strings.Contains(input("outputs"), "push=true")}
		if s.pushes {
			s.what += " with push: " + push
		}
		for _, tag := range listItems(input("tags")) {
			if strings.Contains(tag, "${{") && len(metadataImages) > 0 {
				s.refs = append(s.refs, metadataImages...)
				continue
			}
			s.refs = append(s.refs, tag)
		}
		if len(s.refs) == 0 {
			s.refs = metadataImages
		}
		return []imageStep{s}
	case *actionlint.ExecRun:
		if exec.Run == nil {
			return nil
		}
		return scriptImageWork(exec.Run)
	}
	return nil
}

// scriptImageWork finds the image builds and pushes of a run script, each
// on the line of the script that holds it.
func scriptImageWork(run *actionlint.String) []imageStep {
	lines := strings.Split(run.Value, "\n")
	first := run.Pos.Line
	if len(lines) > 1 {
		first++ // a block scalar starts on the line after run:
	}
	var found []imageStep
	for i := 0; i < len(lines); i++ {
		line, at := lines[i], first+i
		// A command continued over lines with \ is one command.
		for strings.HasSuffix(strings.TrimSpace(line), `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(strings.TrimSpace(line), `\`) + " " + lines[i]
		}
		for _, command := range shellCommands(line) {
			if s, ok := commandImageWork(command); ok {
				s.line = at
				found = append(found, s)
			}
		}
	}
	return found
}

// shellCommands splits a line into its commands' words, at ;, &&, || and
// |, dropping a comment.
func shellCommands(line string) [][]string {
	var commands [][]string
	var current []string
	for _, word := range strings.Fields(line) {
		if strings.HasPrefix(word, "#") {
			break
		}
		end := strings.TrimRight(word, ";")
		if word == "&&" || word == "||" || word == "|" || word == ";" {
			commands, current = append(commands, current), nil
			continue
		}
		if end != word {
			current = append(current, end)
			commands, current = append(commands, current), nil
			continue
		}
		current = append(current, word)
	}
	return append(commands, current)
}

// engines are the programs whose commands build and push images.
var engines = []string{"docker", "podman", "buildah"}

// globalValueFlags are the engine's own flags that take a value.
var globalValueFlags = []string{"-H", "--host", "--context", "-c", "--config", "-l", "--log-level", "--tls", "--tlscacert", "--tlscert", "--tlskey"}

// commandImageWork tells whether the words of one command build or push
// an image: docker push, docker image push, docker manifest push, docker
// buildx imagetools create, docker build, docker buildx build or bake
// (pushing with --push, or an --output of type registry or push=true),
// and the same with podman or buildah.
func commandImageWork(words []string) (imageStep, bool) {
	i := slices.IndexFunc(words, func(w string) bool {
		base := w[strings.LastIndex(w, "/")+1:]
		return slices.Contains(engines, base)
	})
	if i < 0 {
		return imageStep{}, false
	}
	program := words[i][strings.LastIndex(words[i], "/")+1:]
	// The subcommand words, after the engine's own flags.
	var sub []string
	for j := i + 1; j < len(words); j++ {
		if w := words[j]; strings.HasPrefix(w, "-") && len(sub) == 0 {
			if slices.Contains(globalValueFlags, w) {
				j++
			}
			continue
		}
		sub = words[j:]
		break
	}
	if len(sub) == 0 {
		return imageStep{}, false
	}
	verb := sub[0]
	args := sub[1:]
	if (verb == "image" || verb == "manifest" || verb == "buildx" || verb == "builder") && len(args) > 0 {
		verb, args = verb+" "+args[0], args[1:]
	}
	if verb == "buildx imagetools" && len(args) > 0 {
		verb, args = verb+" "+args[0], args[1:]
	}
	s := imageStep{what: strings.Join(words[i:], " ")}
	switch verb {
	case "push", "image push", "manifest push":
		s.pushes = true
		if ref := firstOperand(args); ref != "" {
			s.refs = []string{ref}
		}
	case "buildx imagetools create":
		s.pushes = !slices.Contains(args, "--dry-run")
		s.refs = tagFlags(args)
	case "build", "image build", "buildx build", "buildx b", "builder build", "bud", "buildx bake":
		s.pushes = slices.Contains(args, "--push") || pushingOutput(args)
		if program == "buildah" && verb == "build" || verb == "bud" {
			s.pushes = false
		}
		s.refs = tagFlags(args)
	default:
		return imageStep{}, false
	}
	return s, true
}

// firstOperand is the first argument that is not a flag.
func firstOperand(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// tagFlags are the values of -t and --tag, joined or separate.
func tagFlags(args []string) []string {
	var tags []string
	for j := 0; j < len(args); j++ {
		a := args[j]
		switch {
		case (a == "-t" || a == "--tag") && j+1 < len(args):
			tags = append(tags, args[j+1])
			j++
		case strings.HasPrefix(a, "--tag="):
			tags = append(tags, strings.TrimPrefix(a, "--tag="))
		case strings.HasPrefix(a, "-t") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			tags = append(tags, strings.TrimPrefix(strings.TrimPrefix(a, "-t"), "="))
		}
	}
	return tags
}

// pushingOutput reports an --output (-o) that pushes: type=registry, or
// push=true.
func pushingOutput(args []string) bool {
	for j, a := range args {
		value := ""
		switch {
		case (a == "-o" || a == "--output") && j+1 < len(args):
			value = args[j+1]
		case strings.HasPrefix(a, "--output="), strings.HasPrefix(a, "-o="):
			_, value, _ = strings.Cut(a, "=")
		case strings.HasPrefix(a, "--set"):
			value = a + " " + strings.Join(args[j+1:min(j+2, len(args))], "")
		}
		if strings.Contains(value, "type=registry") || strings.Contains(value, "push=true") {
			return true
		}
	}
	return false
}

// RunsMageCI reports whether a step of the workflow content runs mage ci:
// whether it is a Gantry workflow. One that does not parse does not.
func RunsMageCI(content []byte) bool {
	wf, _ := actionlint.Parse(content)
	return wf != nil && mageCILine(wf) > 0
}
