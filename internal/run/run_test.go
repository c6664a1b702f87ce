package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

type exitStatuser interface{ ExitStatus() int }

func needSh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatal("sh is not installed")
	}
}

// captureStderr points os.Stderr at a temporary file for the rest of the
// test and returns a function that reads what was written to it.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	t.Cleanup(func() {
		os.Stderr = old
		f.Close()
	})
	return func() string {
		data, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	const token = "ghp_0123456789abcdef"
	tests := []struct {
		name    string
		cmd     Cmd
		secrets []string
		want    string
	}{
		{name: "no arguments", cmd: Cmd{Name: "docker"}, want: "docker"},
		{name: "plain arguments", cmd: Cmd{Name: "go", Args: []string{"build", "-trimpath", "-o", "bin/api", "./cmd/api"}},
			want: "go build -trimpath -o bin/api ./cmd/api"},
		{name: "argument with a space", cmd: Cmd{Name: "go", Args: []string{"build", "-ldflags=-s -w", "."}},
			want: `go build "-ldflags=-s -w" .`},
		{name: "empty argument", cmd: Cmd{Name: "docker", Args: []string{"buildx", "", "x"}}, want: `docker buildx "" x`},
		{name: "dollar", cmd: Cmd{Name: "echo", Args: []string{"$HOME"}}, want: `echo "$HOME"`},
		{name: "double quote", cmd: Cmd{Name: "echo", Args: []string{`say "hi"`}}, want: `echo "say \"hi\""`},
		{name: "single quote", cmd: Cmd{Name: "echo", Args: []string{"it's"}}, want: `echo "it's"`},
		{name: "backslash", cmd: Cmd{Name: "echo", Args: []string{`a\b`}}, want: `echo "a\\b"`},
		{name: "tab and newline", cmd: Cmd{Name: "printf", Args: []string{"a\tb", "c\nd"}}, want: `printf "a\tb" "c\nd"`},
		{name: "program path with a space", cmd: Cmd{Name: "/opt/my tools/go", Args: []string{"version"}}, want: `"/opt/my tools/go" version`},
		{name: "labels and commas stay bare", cmd: Cmd{Name: "docker", Args: []string{"buildx", "build", "--platform", "linux/amd64,linux/arm64", "--label", "a.b=c"}},
			want: "docker buildx build --platform linux/amd64,linux/arm64 --label a.b=c"},
		{name: "secret build argument values hidden, the others shown", cmd: Cmd{Name: "docker", Args: []string{"buildx", "build", "--build-arg", "NPM_TOKEN=s3cret", "--build-arg", "GO_LDFLAGS=-X main.version=1.2.3", "--build-arg", "CGO_ENABLED=0", "."}},
			want: `docker buildx build --build-arg NPM_TOKEN=*** --build-arg "GO_LDFLAGS=-X main.version=1.2.3" --build-arg CGO_ENABLED=0 .`},
		{name: "names mark secrets in any case", cmd: Cmd{Name: "docker", Args: []string{"--build-arg", "db_password=a1", "--build-arg", "Stripe_Api_Key=a2", "--build-arg", "GH_SECRET=a3", "--build-arg", "DEPLOY_PRIVATE_KEY=a4", "--build-arg", "MONKEY=a5"}},
			want: "docker --build-arg db_password=*** --build-arg Stripe_Api_Key=*** --build-arg GH_SECRET=*** --build-arg DEPLOY_PRIVATE_KEY=*** --build-arg MONKEY=a5"},
		{name: "a secret build argument's value hidden elsewhere too", cmd: Cmd{Name: "docker", Args: []string{"--build-arg", "NPM_TOKEN=npm_abc", "--label", "x=npm_abc"}},
			want: "docker --build-arg NPM_TOKEN=*** --label x=***"},
		{name: "a --flag=value whose name marks a secret", cmd: Cmd{Name: "tool", Args: []string{"--password=pw1234", "--user=me"}},
			want: "tool --password=*** --user=me"},
		{name: "only a name marks a secret, not any text before =", cmd: Cmd{Name: "go", Args: []string{"build", "-ldflags=-X main.tokenIssuer=acme", "--label", "a.token=acme"}},
			want: `go build "-ldflags=-X main.tokenIssuer=acme" --label a.token=acme`},
		{name: "URL password hidden, user and host shown", cmd: Cmd{Name: "git", Args: []string{"clone", "https://x-access-token:ghs_url@github.com/a/b", "ssh://git@github.com/a/b"}, Env: []string{"GOPROXY=https://me:pw5678@proxy.example/"}},
			want: "GOPROXY=https://me:***@proxy.example/ git clone https://x-access-token:***@github.com/a/b ssh://git@github.com/a/b"},
		{name: "build argument in one word", cmd: Cmd{Name: "docker", Args: []string{"buildx", "build", "--build-arg=NPM_TOKEN=s3cret", "."}},
			want: "docker buildx build --build-arg=NPM_TOKEN=*** ."},
		{name: "build argument without a value (buildx reads the environment) stays", cmd: Cmd{Name: "docker", Args: []string{"buildx", "build", "--build-arg", "NPM_TOKEN", "."}},
			want: "docker buildx build --build-arg NPM_TOKEN ."},
		{name: "secret build argument with an empty value", cmd: Cmd{Name: "docker", Args: []string{"--build-arg", "NPM_TOKEN="}},
			want: "docker --build-arg NPM_TOKEN="},
		{name: "--build-arg as the last argument", cmd: Cmd{Name: "docker", Args: []string{"buildx", "--build-arg"}},
			want: "docker buildx --build-arg"},
		{name: "env shown first, secret values hidden", cmd: Cmd{Name: "go", Args: []string{"mod", "tidy"}, Env: []string{"GOWORK=off", "CGO_ENABLED=0", "TOKEN=s3cret", "NOVALUE"}},
			want: "GOWORK=off CGO_ENABLED=0 TOKEN=*** NOVALUE go mod tidy"},
		{name: "stdin and dir are not shown", cmd: Cmd{Name: "docker", Args: []string{"login", "--password-stdin"}, Stdin: strings.NewReader(token), Dir: "/srv"},
			secrets: []string{token}, want: "docker login --password-stdin"},
		{name: "secret as a whole argument", cmd: Cmd{Name: "docker", Args: []string{"login", "-p", token}},
			secrets: []string{token}, want: "docker login -p ***"},
		{name: "secret inside an argument, twice", cmd: Cmd{Name: "git", Args: []string{"fetch", "https://x-access-token:" + token + "@github.com/a/b?" + token}},
			secrets: []string{token}, want: "git fetch https://x-access-token:***@github.com/a/b?***"},
		{name: "secret containing another secret is hidden whole", cmd: Cmd{Name: "x", Args: []string{"abcdef"}},
			secrets: []string{"cd", "abcdef"}, want: "x ***"},
		{name: "empty secret ignored", cmd: Cmd{Name: "x", Args: []string{"a", "b"}},
			secrets: []string{""}, want: "x a b"},
		{name: "secret in a build argument key", cmd: Cmd{Name: "docker", Args: []string{"--build-arg", token + "=1"}},
			secrets: []string{token}, want: "docker --build-arg ***=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := slices.Clone(tt.cmd.Args)
			secrets := slices.Clone(tt.secrets)
			if got := tt.cmd.Redacted(tt.secrets); got != tt.want {
				t.Errorf("Redacted() = %s, want %s", got, tt.want)
			}
			if !slices.Equal(tt.cmd.Args, args) {
				t.Errorf("Redacted() changed Args to %q, was %q", tt.cmd.Args, args)
			}
			if !slices.Equal(tt.secrets, secrets) {
				t.Errorf("Redacted() changed secrets to %q, was %q", tt.secrets, secrets)
			}
			if tt.secrets == nil && tt.cmd.String() != tt.want {
				t.Errorf("String() = %s, want %s", tt.cmd.String(), tt.want)
			}
		})
	}
}

func TestChildEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		extra   []string
		want    []string
	}{
		{name: "nothing", want: []string{}},
		{name: "GitHub tokens dropped, the Actions runtime kept",
			environ: []string{"PATH=/bin", "GITHUB_TOKEN=ghs_a", "GH_TOKEN=gho_b", "ACTIONS_RUNTIME_TOKEN=c", "ACTIONS_CACHE_URL=https://cache/", "ACTIONS_RESULTS_URL=https://results/", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=d", "HOME=/root"},
			want:    []string{"PATH=/bin", "ACTIONS_RUNTIME_TOKEN=c", "ACTIONS_CACHE_URL=https://cache/", "ACTIONS_RESULTS_URL=https://results/", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=d", "HOME=/root"}},
		{name: "empty token dropped too", environ: []string{"GITHUB_TOKEN=", "A=1"}, want: []string{"A=1"}},
		{name: "names that only start alike are kept", environ: []string{"GITHUB_TOKENS=1", "MY_GH_TOKEN=2", "GITHUB_TOKEN_X=3"},
			want: []string{"GITHUB_TOKENS=1", "MY_GH_TOKEN=2", "GITHUB_TOKEN_X=3"}},
		{name: "extra appended after, so it wins", environ: []string{"A=1"}, extra: []string{"A=2", "GOWORK=off"},
			want: []string{"A=1", "A=2", "GOWORK=off"}},
		{name: "a token the caller passes on purpose is kept", environ: []string{"GITHUB_TOKEN=inherited"}, extra: []string{"GITHUB_TOKEN=given"},
			want: []string{"GITHUB_TOKEN=given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			environ := slices.Clone(tt.environ)
			got := childEnv(tt.environ, tt.extra)
			if !slices.Equal(got, tt.want) {
				t.Errorf("childEnv() = %q, want %q", got, tt.want)
			}
			if !slices.Equal(tt.environ, environ) {
				t.Errorf("childEnv() changed environ to %q, was %q", tt.environ, environ)
			}
		})
	}
}

// TestChildProcessEnv runs a real child: the GitHub tokens are not in its
// environment, what buildx's gha cache reads is.
func TestChildProcessEnv(t *testing.T) {
	if _, err := os.Stat("/usr/bin/env"); err != nil {
		t.Fatal("/usr/bin/env is missing")
	}
	t.Setenv("GITHUB_TOKEN", "ghs_child")
	t.Setenv("GH_TOKEN", "gho_child")
	t.Setenv("ACTIONS_RUNTIME_TOKEN", "runtime")
	t.Setenv("ACTIONS_CACHE_URL", "https://cache.example/")
	t.Setenv("ACTIONS_RESULTS_URL", "https://results.example/")
	for name, runner := range map[string]func(Cmd) (string, error){
		"Output": func(c Cmd) (string, error) { return Output(context.Background(), c) },
		"Run": func(c Cmd) (string, error) {
			var out bytes.Buffer
			c.Stdout = &out
			err := Run(context.Background(), c)
			return out.String(), err
		},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := runner(Cmd{Name: "/usr/bin/env", Env: []string{"GANTRY_RUN_ADDED=1"}})
			if err != nil {
				t.Fatal(err)
			}
			env := strings.Split(out, "\n")
			for _, gone := range []string{"GITHUB_TOKEN=", "GH_TOKEN="} {
				if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, gone) }) {
					t.Errorf("the child's environment has %s...", gone)
				}
			}
			// Run streams the output to the user, with the token hidden.
			runtimeToken := map[string]string{"Output": "ACTIONS_RUNTIME_TOKEN=runtime", "Run": "ACTIONS_RUNTIME_TOKEN=***"}[name]
			for _, kept := range []string{runtimeToken, "ACTIONS_CACHE_URL=https://cache.example/", "ACTIONS_RESULTS_URL=https://results.example/", "GANTRY_RUN_ADDED=1"} {
				if !slices.Contains(env, kept) {
					t.Errorf("the child's environment lacks %s", kept)
				}
			}
		})
	}
}

// logged collects what is logged at debug level for the rest of the test.
func logged(t *testing.T) *logtest.Hook {
	t.Helper()
	hook := logtest.NewGlobal()
	level := logrus.GetLevel()
	logrus.SetLevel(logrus.DebugLevel)
	t.Cleanup(func() {
		logrus.SetLevel(level)
		logrus.StandardLogger().ReplaceHooks(make(logrus.LevelHooks))
	})
	return hook
}

func TestRunLogsRedactedCommandFirst(t *testing.T) {
	hook := logged(t)
	t.Setenv("GITHUB_TOKEN", "ghs_logged")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "oidc_logged")
	// A missing program: the line is logged before anything runs.
	const name = "gantry-test-no-such-program"
	err := Run(context.Background(), Cmd{Name: name, Args: []string{"--build-arg", "KEY=value", "--build-arg", "NPM_TOKEN=npm_logged", "ghs_logged", "x-oidc_logged"}, Env: []string{"PASSWORD=pw", "GOWORK=off"}, Stdin: strings.NewReader("stdin-secret")})
	if err == nil {
		t.Fatal("want an error")
	}
	entries := hook.AllEntries()
	if len(entries) != 1 {
		t.Fatalf("logged %d entries, want 1", len(entries))
	}
	want := "run: PASSWORD=*** GOWORK=off " + name + " --build-arg KEY=value --build-arg NPM_TOKEN=*** *** x-***"
	if e := entries[0]; e.Level != logrus.DebugLevel || e.Message != want {
		t.Errorf("logged %s %q, want debug %q", e.Level, e.Message, want)
	}
}

func TestOutput(t *testing.T) {
	needSh(t)
	stderr := captureStderr(t)
	tests := []struct {
		name       string
		cmd        Cmd
		want       string
		wantErr    string
		wantStatus int
	}{
		{name: "trimmed stdout", cmd: Cmd{Name: "sh", Args: []string{"-c", `printf '  hello\nworld\n\n'; echo noise >&2`}}, want: "hello\nworld"},
		{name: "stdin and env", cmd: Cmd{Name: "sh", Args: []string{"-c", `read l; printf '%s %s' "$l" "$V"`}, Stdin: strings.NewReader("in\n"), Env: []string{"V=env"}}, want: "in env"},
		{name: "failure names the command and gives stderr", cmd: Cmd{Name: "sh", Args: []string{"-c", "echo partial; echo '  bad thing  ' >&2; exit 3"}},
			want: "partial", wantErr: `sh -c "echo partial; echo '  bad thing  ' >&2; exit 3": exit status 3: bad thing`, wantStatus: 3},
		{name: "failure without stderr", cmd: Cmd{Name: "sh", Args: []string{"-c", "exit 1"}, Env: []string{"API_TOKEN=secret", "K=shown"}},
			wantErr: `API_TOKEN=*** K=shown sh -c "exit 1": exit status 1`, wantStatus: 1},
		{name: "missing program", cmd: Cmd{Name: "gantry-test-no-such-program"}, wantErr: "gantry-test-no-such-program is not installed or not on PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ignored bytes.Buffer
			tt.cmd.Stdout, tt.cmd.Stderr = &ignored, &ignored
			got, err := Output(context.Background(), tt.cmd)
			if got != tt.want {
				t.Errorf("Output() = %q, want %q", got, tt.want)
			}
			if ignored.Len() != 0 {
				t.Errorf("Output wrote %q to the Cmd's writers", ignored.String())
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Output: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Output error = %v, want %q", err, tt.wantErr)
			}
			var es exitStatuser
			if tt.wantStatus > 0 && (!errors.As(err, &es) || es.ExitStatus() != tt.wantStatus) {
				t.Errorf("error %v: want exit status %d", err, tt.wantStatus)
			}
		})
	}
	if got := stderr(); got != "" {
		t.Errorf("Output wrote %q to os.Stderr, want nothing", got)
	}
}

func TestOutputRedactsStderr(t *testing.T) {
	needSh(t)
	t.Setenv("GH_TOKEN", "gho_in_stderr")
	_, err := Output(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo bad gho_in_stderr >&2; exit 2"}})
	if err == nil || !strings.HasSuffix(err.Error(), ": exit status 2: bad ***") {
		t.Errorf("Output error = %v, want the token in stderr hidden", err)
	}
}

func TestRunExitStatus(t *testing.T) {
	needSh(t)
	captureStderr(t)
	tests := []struct {
		name   string
		script string
		want   int // 0: success
	}{
		{"success", "exit 0", 0},
		{"exit 1", "exit 1", 1},
		{"exit 3", "exit 3", 3},
		{"exit 125", "exit 125", 125},
		{"killed by a signal: 128+9, as a shell reports it", "kill -9 $$", 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", tt.script}})
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Run: want an error")
			}
			var es exitStatuser
			if !errors.As(err, &es) {
				t.Fatalf("error %v (%T) has no ExitStatus", err, err)
			}
			if got := es.ExitStatus(); got != tt.want {
				t.Errorf("ExitStatus() = %d, want %d", got, tt.want)
			}
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Cmd != "sh" {
				t.Errorf("error %#v is not an *ExitError for sh", err)
			}
			if tt.want > 0 && !strings.Contains(err.Error(), fmt.Sprintf("exit status %d", tt.want)) {
				t.Errorf("error %q does not give the exit status", err)
			}
		})
	}
}

func TestExitError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *ExitError
		want string
	}{
		{&ExitError{Cmd: "docker", Code: 17}, "docker: exit status 17"},
		{&ExitError{Cmd: "git rev-parse HEAD", Code: 128, Stderr: "fatal: not a git repository"}, "git rev-parse HEAD: exit status 128: fatal: not a git repository"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if tt.err.ExitStatus() != tt.err.Code {
			t.Errorf("ExitStatus() = %d, want %d", tt.err.ExitStatus(), tt.err.Code)
		}
	}
}

func TestRunMissingProgram(t *testing.T) {
	t.Parallel()
	const name = "gantry-test-no-such-program"
	err := Run(context.Background(), Cmd{Name: name, Args: []string{"x"}})
	if err == nil {
		t.Fatal("Run of a missing program: want an error")
	}
	for _, s := range []string{name, "not installed or not on PATH"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("error %v does not wrap exec.ErrNotFound", err)
	}
	var es exitStatuser
	if errors.As(err, &es) {
		t.Errorf("a program that did not start has an exit status %d", es.ExitStatus())
	}
}

func TestRunOutput(t *testing.T) {
	needSh(t)
	t.Setenv("GANTRY_RUN_INHERITED", "kept")
	t.Setenv("GANTRY_RUN_OVERRIDDEN", "old")
	dir := t.TempDir()
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cmd        Cmd
		wantStdout string
		wantStderr string
	}{
		{name: "stdout captured", cmd: Cmd{Name: "sh", Args: []string{"-c", `printf 'hello\nworld\n'`}},
			wantStdout: "hello\nworld\n"},
		{name: "stderr is not in Stdout", cmd: Cmd{Name: "sh", Args: []string{"-c", "echo out; echo err >&2"}},
			wantStdout: "out\n", wantStderr: "err\n"},
		{name: "stdin fed", cmd: Cmd{Name: "cat", Stdin: strings.NewReader("token-123\nsecond line\n")},
			wantStdout: "token-123\nsecond line\n"},
		{name: "no stdin: end of input at once", cmd: Cmd{Name: "cat"}, wantStdout: ""},
		{name: "env added", cmd: Cmd{Name: "sh", Args: []string{"-c", `printf '%s' "$GANTRY_RUN_ADDED"`}, Env: []string{"GANTRY_RUN_ADDED=added"}},
			wantStdout: "added"},
		{name: "current environment kept", cmd: Cmd{Name: "sh", Args: []string{"-c", `printf '%s' "$GANTRY_RUN_INHERITED"`}, Env: []string{"OTHER=1"}},
			wantStdout: "kept"},
		{name: "env overrides the current environment", cmd: Cmd{Name: "sh", Args: []string{"-c", `printf '%s' "$GANTRY_RUN_OVERRIDDEN"`}, Env: []string{"GANTRY_RUN_OVERRIDDEN=new"}},
			wantStdout: "new"},
		{name: "arguments passed verbatim", cmd: Cmd{Name: "sh", Args: []string{"-c", `printf '[%s]' "$@"`, "sh", "a b", "$HOME", ""}},
			wantStdout: "[a b][$HOME][]"},
		{name: "dir", cmd: Cmd{Name: "sh", Args: []string{"-c", "pwd -P"}, Dir: dir}, wantStdout: realDir + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr := captureStderr(t)
			var out bytes.Buffer
			tt.cmd.Stdout = &out
			if err := Run(context.Background(), tt.cmd); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", out.String(), tt.wantStdout)
			}
			if got := stderr(); got != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tt.wantStderr)
			}
		})
	}
}

func TestRunStdoutDefaultsToStderr(t *testing.T) {
	needSh(t)
	stderr := captureStderr(t)
	if err := Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo to-stdout"}}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := stderr(); got != "to-stdout\n" {
		t.Errorf("with Stdout nil, os.Stderr got %q, want %q", got, "to-stdout\n")
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	needSh(t)
	tests := []struct {
		name string
		ctx  func() context.Context
		want error
	}{
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
		{"deadline passed", func() context.Context {
			ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := Run(tt.ctx(), Cmd{Name: "sh", Args: []string{"-c", "echo ran"}, Stdout: &out})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, want an error wrapping %v", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("the command ran: %q", out.String())
			}
			var es exitStatuser
			if errors.As(err, &es) {
				t.Errorf("a cancelled run reports exit status %d", es.ExitStatus())
			}
		})
	}
}

// cancelOnWrite cancels a context at the first write, i.e. once the command
// has started and printed.
type cancelOnWrite struct {
	once   sync.Once
	cancel context.CancelFunc
	buf    bytes.Buffer
	mu     sync.Mutex
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	w.once.Do(w.cancel)
	return len(p), nil
}

func TestRunCancelledWhileRunning(t *testing.T) {
	t.Parallel()
	needSh(t)
	// The command blocks reading a pipe nobody writes to, so it only ends
	// when the cancelled context kills it.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel}
	err = Run(ctx, Cmd{Name: "sh", Args: []string{"-c", "echo ready; read line; echo not-reached"}, Stdin: r, Stdout: out})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want an error wrapping context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "sh") {
		t.Errorf("error %q does not name the command", err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if got := out.buf.String(); got != "ready\n" {
		t.Errorf("stdout = %q, want %q", got, "ready\n")
	}
	var es exitStatuser
	if errors.As(err, &es) {
		t.Errorf("a cancelled run reports exit status %d instead of the cancellation", es.ExitStatus())
	}
}

func TestRunStderrWriter(t *testing.T) {
	needSh(t)
	stderr := captureStderr(t)
	var out bytes.Buffer
	if err := Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo one; echo two >&2"}, Stdout: &out, Stderr: &out}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.String() != "one\ntwo\n" {
		t.Errorf("Stdout and Stderr got %q, want %q", out.String(), "one\ntwo\n")
	}
	if got := stderr(); got != "" {
		t.Errorf("os.Stderr got %q, want nothing", got)
	}
}

// TestRunLogsWithCallerFields: the command line is logged on the caller's
// entry, so it carries the run's fields (commit, target, ...).
func TestRunLogsWithCallerFields(t *testing.T) {
	t.Parallel()
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	c := Cmd{Name: "true", Args: []string{"--build-arg", "TOKEN=hunter2"}, Log: logrus.NewEntry(logger).WithField("target", "prod")}
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	e := hook.LastEntry()
	if e == nil || e.Data["target"] != "prod" || !strings.Contains(e.Message, "TOKEN=***") || strings.Contains(e.Message, "hunter2") {
		t.Errorf("log entry %+v, want the redacted command with the caller's target field", e)
	}
}

// TestRunLogsToContextLog: a command without a Log of its own logs on the
// entry the context carries (the target's logger), not the standard one.
func TestRunLogsToContextLog(t *testing.T) {
	t.Parallel()
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	ctx := WithLog(context.Background(), logrus.NewEntry(logger).WithField("commit", "abc1234"))
	if err := Run(ctx, Cmd{Name: "true", Args: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	e := hook.LastEntry()
	if e == nil || e.Message != "run: true x" || e.Data["commit"] != "abc1234" {
		t.Errorf("log entry %+v, want the command on the context's entry", e)
	}
}
