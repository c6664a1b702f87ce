// Package run is Gantry's one way to run an external command: given as an
// argument list, logged (secrets redacted) before it runs, with the tokens
// it does not need kept out of its environment, and either streamed to the
// user (Run) or captured (Output).
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// Cmd is a command as data: built by pure code, tested as a list, run here.
type Cmd struct {
	Name string
	Args []string
	// Env is added to the current environment (KEY=VALUE); its values are
	// never logged.
	Env []string
	Dir string
	// Stdin, when set, is fed to the command (e.g. a token for login); it
	// is never logged.
	Stdin io.Reader
	// Stdout and Stderr receive what Run streams; os.Stderr when nil, so
	// that the stdout of a target stays clean for machine-readable output.
	// Output captures both itself and ignores them.
	Stdout io.Writer
	Stderr io.Writer
	// Log receives the debug line of the command, with the caller's
	// fields; the standard logger when nil.
	Log *logrus.Entry
}

// SecretEnv names the environment variables holding tokens: their values
// are replaced by *** wherever they appear in a logged command.
var SecretEnv = []string{"GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}

// DroppedEnv names the tokens no child process inherits: docker login gets
// the token on stdin and nothing else needs it. ACTIONS_RUNTIME_TOKEN and
// ACTIONS_CACHE_URL/ACTIONS_RESULTS_URL stay: buildx's gha cache reads them.
var DroppedEnv = []string{"GITHUB_TOKEN", "GH_TOKEN"}

// redacted replaces a secret in a logged command.
const redacted = "***"

// String renders the command for logs with build-argument and Env values
// hidden; see Redacted.
func (c Cmd) String() string { return c.Redacted(nil) }

// Redacted renders the command for a log line, as it would be typed in a
// shell: Env entries first as KEY=*** (values may be secrets), then the
// program and its arguments, quoted where they need it. The value of a
// --build-arg K=V becomes K=*** (build arguments may carry secrets), and
// every non-empty string of secrets is replaced by *** wherever it appears.
// Stdin and Dir are not shown.
func (c Cmd) Redacted(secrets []string) string {
	// Longest first, so that a secret containing another is hidden whole.
	secrets = slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" })
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	var parts []string
	for _, e := range c.Env {
		key, _, _ := strings.Cut(e, "=")
		parts = append(parts, key+"="+redacted)
	}
	parts = append(parts, c.Name)
	for i, a := range c.Args {
		switch {
		case i > 0 && c.Args[i-1] == "--build-arg":
			a = redactValue(a)
		case strings.HasPrefix(a, "--build-arg="):
			a = "--build-arg=" + redactValue(strings.TrimPrefix(a, "--build-arg="))
		}
		parts = append(parts, a)
	}
	for i, p := range parts {
		for _, s := range secrets {
			p = strings.ReplaceAll(p, s, redacted)
		}
		if p == "" || strings.ContainsAny(p, " \t\n\"'$\\") {
			p = strconv.Quote(p)
		}
		parts[i] = p
	}
	return strings.Join(parts, " ")
}

// redactValue turns K=V into K=***; a bare K (buildx then reads the value
// from its environment) shows no value and stays.
func redactValue(kv string) string {
	if key, _, ok := strings.Cut(kv, "="); ok {
		return key + "=" + redacted
	}
	return kv
}

// childEnv is the environment of a child process: environ without the
// DroppedEnv tokens, then extra (the command's own Env, which a caller sets
// deliberately and which is kept as given).
func childEnv(environ, extra []string) []string {
	env := slices.DeleteFunc(slices.Clone(environ), func(e string) bool {
		key, _, _ := strings.Cut(e, "=")
		return slices.Contains(DroppedEnv, key)
	})
	return append(env, extra...)
}

// secretValues reads the values of SecretEnv.
func secretValues(getenv func(string) string) []string {
	var values []string
	for _, k := range SecretEnv {
		if v := getenv(k); v != "" {
			values = append(values, v)
		}
	}
	return values
}

// ExitError is a command that ran and failed; ExitStatus lets Mage exit
// with the command's own code.
type ExitError struct {
	// Cmd names the command: the program for Run, whose output the user
	// has seen; the whole (redacted) command line for Output.
	Cmd  string
	Code int
	// Stderr is what the command wrote to stderr, for Output.
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", e.Cmd, e.Code)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *ExitError) ExitStatus() int { return e.Code }

// Run runs c, streaming its stdout and stderr as they come (to os.Stderr
// unless c says otherwise). A command that cannot start is a plain error
// naming the missing program.
func Run(ctx context.Context, c Cmd) error {
	if c.Stdout == nil {
		c.Stdout = os.Stderr
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	return execute(ctx, c, secretValues(os.Getenv))
}

// Output runs c and returns its stdout with surrounding space trimmed
// (also on error). When the command fails, the *ExitError names the whole
// command line and holds its stderr.
func Output(ctx context.Context, c Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	secrets := secretValues(os.Getenv)
	err := execute(ctx, c, secrets)
	if exit := (*ExitError)(nil); errors.As(err, &exit) {
		exit.Cmd = c.Redacted(secrets)
		exit.Stderr = strings.TrimSpace(stderr.String())
		for _, s := range secrets {
			exit.Stderr = strings.ReplaceAll(exit.Stderr, s, redacted)
		}
	}
	return strings.TrimSpace(stdout.String()), err
}

// execute is the one place a process is started.
func execute(ctx context.Context, c Cmd, secrets []string) error {
	log := c.Log
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	log.Debugf("run: %s", c.Redacted(secrets))
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	// On cancellation (Ctrl-C), ask the command to stop as a terminal
	// would, so buildx can end its build cleanly; kill it if it lingers.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = c.Dir
	cmd.Env = childEnv(os.Environ(), c.Env)
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", c.Name, ctx.Err())
		}
		code := exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // as a shell reports it
		}
		return &ExitError{Cmd: c.Name, Code: code}
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("%s is not installed or not on PATH: %w", c.Name, err)
	default:
		return fmt.Errorf("%s: %w", c.Name, err)
	}
}
