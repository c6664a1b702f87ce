// Package run is Gantry's one way to run an external command: given as an
// argument list, logged (secrets redacted) before it runs, with the tokens
// it does not need kept out of its environment, and either streamed to the
// user (Run) or captured (Output).
package run

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
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
	// Env is added to the current environment (KEY=VALUE); a value is
	// logged unless its name marks it secret (see secretName).
	Env []string
	Dir string
	// Stdin, when set, is fed to the command (e.g. a token for login); it
	// is never logged.
	Stdin io.Reader
	// Stdout and Stderr receive what Run streams, with the command's
	// secrets replaced by ***; os.Stderr when nil, so that the stdout of a
	// target stays clean for machine-readable output. Output captures both
	// itself and ignores them.
	Stdout io.Writer
	Stderr io.Writer
	// Log receives the debug line of the command, with the caller's
	// fields; the context's (WithLog) when nil, else the standard logger.
	Log *logrus.Entry
}

// secretEnv names the environment variables holding tokens: their values
// are replaced by *** wherever they appear in a logged command or in a
// command's streamed output.
var secretEnv = []string{"GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}

// droppedEnv names the tokens no child process inherits: docker login gets
// the token on stdin and nothing else needs it. ACTIONS_RUNTIME_TOKEN and
// ACTIONS_CACHE_URL/ACTIONS_RESULTS_URL stay: buildx's gha cache reads them.
var droppedEnv = []string{"GITHUB_TOKEN", "GH_TOKEN"}

// secretWords mark a variable or build argument secret when its name
// contains one (any case): NPM_TOKEN, DB_PASSWORD, API_KEY.
var secretWords = []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "API_KEY", "APIKEY", "PRIVATE_KEY"}

// SecretName reports whether the name of a variable or build argument
// marks its value secret: logs and provenance show it as ***.
func SecretName(name string) bool {
	name = strings.ToUpper(name)
	return slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(name, w) })
}

// urlPassword finds the password (group 1) of a URL's user information:
// https://user:password@host.
var urlPassword = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:([^/?#@\s]+)@`)

// redacted replaces a secret in a logged command.
const redacted = "***"

// String renders the command for logs with its secrets hidden; see
// Redacted.
func (c Cmd) String() string { return c.Redacted(nil) }

// Redacted renders the command for a log line, as it would be typed in a
// shell: Env entries first as KEY=VALUE, then the program and its
// arguments, quoted where they need it, with each of its secrets (see
// secrets) replaced by ***. Stdin and Dir are not shown.
func (c Cmd) Redacted(known []string) string {
	secrets := c.secrets(known)
	parts := slices.Concat(c.Env, []string{c.Name}, c.Args)
	for i, p := range parts {
		p = redactString(p, secrets)
		if p == "" || strings.ContainsAny(p, " \t\n\"'$\\") {
			p = strconv.Quote(p)
		}
		parts[i] = p
	}
	return strings.Join(parts, " ")
}

// secrets returns the values c must never show, longest first (so that a
// secret containing another is hidden whole): the non-empty strings of
// known (the token variables' values), the values of its Env entries,
// build arguments and --flag=value arguments whose names mark them secret
// (NPM_TOKEN=..., --password=...), and the passwords of the URLs in its
// arguments and Env. Other values are shown: CGO_ENABLED=0 and GOWORK=off
// are what a user needs to debug a build.
func (c Cmd) secrets(known []string) []string {
	values := slices.Clone(known)
	for _, s := range slices.Concat(c.Env, c.Args) {
		values = append(values, secretValue(strings.TrimPrefix(s, "--build-arg=")))
		for _, m := range urlPassword.FindAllStringSubmatch(s, -1) {
			values = append(values, m[1])
		}
	}
	values = slices.DeleteFunc(values, func(s string) bool { return s == "" })
	slices.SortFunc(values, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(values)
}

// secretValue is V of K=V when K is the name of a variable or a flag
// (NPM_TOKEN, --password) that names a secret, else "". Other keys are not
// names: in -X main.tokenIssuer=acme, acme is no secret.
func secretValue(kv string) string {
	if key, value, ok := strings.Cut(kv, "="); ok && settingName.MatchString(key) && SecretName(key) {
		return value
	}
	return ""
}

// settingName matches the name of a variable or a flag.
var settingName = regexp.MustCompile(`^(--?[A-Za-z][A-Za-z0-9-]*|[A-Za-z_][A-Za-z0-9_]*)$`)

// redactString replaces every one of secrets (longest first) in s.
func redactString(s string, secrets []string) string {
	for _, secret := range secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

// childEnv is the environment of a child process: environ without the
// droppedEnv tokens, then extra (the command's own Env, which a caller sets
// deliberately and which is kept as given).
func childEnv(environ, extra []string) []string {
	env := slices.DeleteFunc(slices.Clone(environ), func(e string) bool {
		key, _, _ := strings.Cut(e, "=")
		return slices.Contains(droppedEnv, key)
	})
	return append(env, extra...)
}

// secretValues reads the values of secretEnv.
func secretValues(getenv func(string) string) []string {
	var values []string
	for _, k := range secretEnv {
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

// SignalError is a command stopped because Gantry was asked to end
// (SIGTERM, SIGHUP) while it ran; ExitStatus is 128+n, as a shell reports
// a process that signal ended.
type SignalError struct {
	Cmd    string
	Signal syscall.Signal
}

func (e *SignalError) Error() string {
	return fmt.Sprintf("%s: stopped, as Gantry received %v", e.Cmd, e.Signal)
}

func (e *SignalError) ExitStatus() int { return 128 + int(e.Signal) }

type logKey struct{}

// WithLog returns ctx carrying log: the commands run with it and without a
// Log of their own log their line there, with its fields and level.
func WithLog(ctx context.Context, log *logrus.Entry) context.Context {
	return context.WithValue(ctx, logKey{}, log)
}

// logFor is the entry c's line goes to: its own, the context's, else the
// standard logger's.
func logFor(ctx context.Context, c Cmd) *logrus.Entry {
	if c.Log != nil {
		return c.Log
	}
	if log, ok := ctx.Value(logKey{}).(*logrus.Entry); ok && log != nil {
		return log
	}
	return logrus.NewEntry(logrus.StandardLogger())
}

// Run runs c, streaming its stdout and stderr as they come (to os.Stderr
// unless c says otherwise), with its secrets replaced by ***. A command
// that cannot start is a plain error naming the missing program.
func Run(ctx context.Context, c Cmd) error {
	if c.Stdout == nil {
		c.Stdout = os.Stderr
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	secrets := c.secrets(secretValues(os.Getenv))
	if len(secrets) == 0 {
		return execute(ctx, c, secrets)
	}
	stdout := newRedactWriter(c.Stdout, secrets)
	stderr := stdout
	if c.Stderr != c.Stdout {
		stderr = newRedactWriter(c.Stderr, secrets)
	}
	c.Stdout, c.Stderr = stdout, stderr
	err := execute(ctx, c, secrets)
	// What was held back as a possible start of a secret is not one.
	if flushErr := errors.Join(stdout.Flush(), stderr.Flush()); err == nil {
		err = flushErr
	}
	return err
}

// Output runs c and returns its stdout with surrounding space trimmed
// (also on error). When the command fails, the *ExitError names the whole
// command line and holds its stderr, secrets replaced by ***.
func Output(ctx context.Context, c Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	secrets := c.secrets(secretValues(os.Getenv))
	err := execute(ctx, c, secrets)
	if exit := (*ExitError)(nil); errors.As(err, &exit) {
		exit.Cmd = c.Redacted(secrets)
		exit.Stderr = redactString(strings.TrimSpace(stderr.String()), secrets)
	}
	return strings.TrimSpace(stdout.String()), err
}

// stopSignals are the requests to end that stop the running commands
// first. SIGINT (Ctrl-C) reaches them through Mage, which cancels the
// context.
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGHUP}

// execute is the one place a process is started. The command runs in a
// process group of its own, so that stopping it stops what it started too
// (go build's compilers); when ctx is cancelled, or this process is asked
// to end (stopSignals) while it runs, the group is asked to stop as a
// terminal's Ctrl-C would, so buildx can end its build cleanly, and killed
// if it lingers. Nothing it started outlives it then.
func execute(ctx context.Context, c Cmd, secrets []string) error {
	logFor(ctx, c).Debugf("run: %s", c.Redacted(secrets))
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(stop, c.Name, c.Args...)
	ownProcessGroup(cmd)
	cmd.Cancel = func() error { return interruptGroup(cmd.Process) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = c.Dir
	cmd.Env = childEnv(os.Environ(), c.Env)
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	// Caught from before the start, so that no signal can end this
	// process between the start and the watch, leaving the command behind.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, stopSignals...)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s is not installed or not on PATH: %w", c.Name, err)
		}
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	var received os.Signal
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case received = <-signals:
			cancel()
		case <-stop.Done():
		}
	}()
	err := cmd.Wait()
	cancel()
	<-watched
	if received != nil || ctx.Err() != nil {
		killGroup(cmd.Process)
	}
	var exit *exec.ExitError
	switch {
	case received != nil:
		return &SignalError{Cmd: c.Name, Signal: received.(syscall.Signal)}
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", c.Name, ctx.Err())
	case errors.As(err, &exit):
		code := exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // as a shell reports it
		}
		return &ExitError{Cmd: c.Name, Code: code}
	default:
		return fmt.Errorf("%s: %w", c.Name, err)
	}
}
