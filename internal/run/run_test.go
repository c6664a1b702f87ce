package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
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

func TestCmdString(t *testing.T) {
	tests := []struct {
		name string
		cmd  Cmd
		want string
	}{
		{"no arguments", Cmd{Name: "docker"}, "docker"},
		{"plain arguments", Cmd{Name: "go", Args: []string{"build", "-trimpath", "-o", "bin/api", "./cmd/api"}},
			"go build -trimpath -o bin/api ./cmd/api"},
		{"argument with a space", Cmd{Name: "go", Args: []string{"build", "-ldflags=-s -w", "."}},
			`go build "-ldflags=-s -w" .`},
		{"empty argument", Cmd{Name: "docker", Args: []string{"buildx", "", "x"}}, `docker buildx "" x`},
		{"dollar", Cmd{Name: "echo", Args: []string{"$HOME"}}, `echo "$HOME"`},
		{"double quote", Cmd{Name: "echo", Args: []string{`say "hi"`}}, `echo "say \"hi\""`},
		{"single quote", Cmd{Name: "echo", Args: []string{"it's"}}, `echo "it's"`},
		{"backslash", Cmd{Name: "echo", Args: []string{`a\b`}}, `echo "a\\b"`},
		{"tab and newline", Cmd{Name: "printf", Args: []string{"a\tb", "c\nd"}}, `printf "a\tb" "c\nd"`},
		{"program path with a space", Cmd{Name: "/opt/my tools/go", Args: []string{"version"}}, `"/opt/my tools/go" version`},
		{"key=value and commas stay bare", Cmd{Name: "docker", Args: []string{"buildx", "build", "--platform", "linux/amd64,linux/arm64", "--build-arg", "A=1"}},
			"docker buildx build --platform linux/amd64,linux/arm64 --build-arg A=1"},
		{"environment, stdin and dir are not shown", Cmd{Name: "docker", Args: []string{"login"}, Env: []string{"TOKEN=secret"}, Stdin: strings.NewReader("secret"), Dir: "/srv"},
			"docker login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string(nil), tt.cmd.Args...)
			if got := tt.cmd.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			if !reflect.DeepEqual(tt.cmd.Args, args) && !(len(args) == 0 && len(tt.cmd.Args) == 0) {
				t.Errorf("String() changed Args to %q, was %q", tt.cmd.Args, args)
			}
		})
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
	e := &ExitError{Cmd: "docker", Code: 17}
	if got, want := e.Error(), "docker: exit status 17"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.ExitStatus() != 17 {
		t.Errorf("ExitStatus() = %d, want 17", e.ExitStatus())
	}
}

func TestRunMissingProgram(t *testing.T) {
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
