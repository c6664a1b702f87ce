package conformance

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// steps is a workflow with one job of the steps given (YAML, indented
// as the job's steps), named Container, running on push.
func steps(s string) string {
	return "name: Container\non: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n" + s
}

func TestImageSteps(t *testing.T) {
	t.Parallel()
	target := ImageTarget{Image: "ghcr.io/acme/widget", Registry: "ghcr.io", Service: "api"}
	// Each wants the steps found, as "line push|build same|other".
	tests := []struct {
		name, steps string
		want        []string
	}{
		{name: "build-push-action pushing the image", steps: "      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: ghcr.io/acme/widget:main\n",
			want: []string{"7 push same"}},
		{name: "build-push-action pushing outside pull requests", steps: "      - uses: Docker/Build-Push-Action@v6\n        with:\n          push: ${{ github.event_name != 'pull_request' }}\n          tags: ghcr.io/acme/widget:main\n",
			want: []string{"7 push same"}},
		{name: "build-push-action building only", steps: "      - uses: docker/build-push-action@v6\n        with:\n          tags: ghcr.io/acme/widget:test\n",
			want: []string{"7 build same"}},
		{name: "build-push-action pushing by its outputs", steps: "      - uses: docker/build-push-action@v6\n        with:\n          outputs: type=image,name=ghcr.io/acme/widget,push=true\n",
			want: []string{"7 push same"}},
		{name: "the tags of metadata-action", steps: "      - id: meta\n        uses: docker/metadata-action@v5\n        with:\n          images: |\n            ghcr.io/acme/widget\n      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: ${{ steps.meta.outputs.tags }}\n",
			want: []string{"12 push same"}},
		{name: "metadata-action naming another registry's image", steps: "      - id: meta\n        uses: docker/metadata-action@v5\n        with:\n          images: name=docker.io/acme/other,enable=true\n      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: ${{ steps.meta.outputs.tags }}\n"},
		{name: "tags by an expression alone", steps: "      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: ${{ env.IMAGE }}:main\n",
			want: []string{"7 push same"}},
		{name: "another image on the registry", steps: "      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: ghcr.io/acme/tools:1\n",
			want: []string{"7 push other"}},
		{name: "the service's name under the image's owner", steps: "      - run: docker push ghcr.io/acme/api:1\n",
			want: []string{"7 push same"}},
		{name: "an image on Docker Hub", steps: "      - run: docker push acme/widget:1\n"},
		{name: "docker build and push in a script", steps: "      - run: |\n          set -e\n          docker build -t \"$IMAGE:$TAG\" .\n          docker push \"$IMAGE:$TAG\"\n",
			want: []string{"9 build same", "10 push same"}},
		{name: "buildx --push over lines", steps: "      - run: |\n          docker buildx build \\\n            --platform linux/amd64,linux/arm64 \\\n            --tag ghcr.io/acme/widget:main --push .\n",
			want: []string{"8 push same"}},
		{name: "buildx with a registry output", steps: "      - run: docker buildx build --output=type=registry -t ghcr.io/acme/widget:main .\n",
			want: []string{"7 push same"}},
		{name: "buildx loading locally", steps: "      - run: docker buildx build --load -t api:test .\n",
			want: []string{"7 build same"}},
		{name: "docker with global flags, after another command", steps: "      - run: echo hi && docker --config /tmp/d image push ghcr.io/acme/widget:1\n",
			want: []string{"7 push same"}},
		{name: "podman", steps: "      - run: podman push ghcr.io/acme/widget:1\n",
			want: []string{"7 push same"}},
		{name: "a test workflow", steps: "      - uses: actions/checkout@v4\n      - run: go test ./...\n      - run: docker compose up -d\n"},
		{name: "an echo naming docker push in a comment", steps: "      - run: go test ./... # then docker push\n"},
		{name: "docker login", steps: "      - run: echo \"$T\" | docker login ghcr.io -u x --password-stdin\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, s := range ImageSteps([]byte(steps(tt.steps)), target) {
				kind, same := "build", "other"
				if s.Pushes {
					kind = "push"
				}
				if s.Same {
					same = "same"
				}
				got = append(got, fmt.Sprintf("%d %s %s", s.Line, kind, same))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("found %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckPublishers(t *testing.T) {
	t.Parallel()
	target := ImageTarget{Image: "ghcr.io/acme/widget", Registry: "ghcr.io", Service: "api"}
	tests := []struct {
		name, steps string
		want        []want
	}{
		{name: "pushes the image", steps: "      - run: docker push ghcr.io/acme/widget:1\n",
			want: []want{{RuleWorkflowPublisher, Error, 7, "two publishers of one tag break its immutability"}}},
		{name: "pushes another image there", steps: "      - run: docker push ghcr.io/acme/tools:1\n",
			want: []want{{RuleWorkflowPublisher, Warning, 7, "if it is another image, nothing"}}},
		{name: "builds only", steps: "      - run: docker build -t ghcr.io/acme/widget:test .\n"},
		{name: "not a workflow", steps: "      - run: [\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertFindings(t, CheckPublishers("docker.yml", []byte(steps(tt.steps)), target), tt.want)
		})
	}
}

// TestImageTargetWithoutImage: with no image configured, an image on
// the registry (ghcr.io by default) and the service's name count.
func TestImageTargetWithoutImage(t *testing.T) {
	t.Parallel()
	target := ImageTarget{Service: "api"}
	for ref, want := range map[string]imageMatch{
		"ghcr.io/acme/widget:1": sameRegistry,
		"ghcr.io/api":           sameImage,
		"api:test":              sameImage,
		"docker.io/acme/api:1":  noMatch,
		"${{ env.IMAGE }}":      sameImage,
		"quay.io/acme/api@sha256:" + strings.Repeat("0", 64): noMatch,
	} {
		if got := target.matchRef(ref); got != want {
			t.Errorf("matchRef(%q) = %d, want %d", ref, got, want)
		}
	}
}

// TestOthersWorkflow: a workflow running mage ci only in another
// directory is another service's; one running it here, or where an
// expression says, may be this one's.
func TestOthersWorkflow(t *testing.T) {
	t.Parallel()
	svc := serviceInRepo{Dir: "services/api", MageDir: "services/api", Service: "api"}
	ci := func(extra string) []byte {
		return []byte(steps("      - run: go tool mage ci\n" + extra))
	}
	for _, tt := range []struct {
		name     string
		workflow []byte
		others   bool
	}{
		{"at the root", ci(""), true},
		{"in another service's directory", []byte(strings.Replace(string(ci("")), "    steps:", "    defaults:\n      run:\n        working-directory: services/web\n    steps:", 1)), true},
		{"in this one's, by the step", ci("        working-directory: ./services/api\n"), false},
		{"in this one's, by the workflow", []byte("defaults:\n  run:\n    working-directory: services/api\n" + string(ci(""))), false},
		{"by an expression", ci("        working-directory: ${{ matrix.dir }}\n"), false},
		{"no mage ci", []byte(steps("      - run: go test ./...\n")), false},
	} {
		if got := svc.othersWorkflow(tt.workflow); got != tt.others {
			t.Errorf("%s: othersWorkflow = %t, want %t", tt.name, got, tt.others)
		}
	}
}
