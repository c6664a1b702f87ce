// Package run runs external commands given as argument lists, streaming
// their output as it happens and keeping their exit code for Mage.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	// Env is added to the current environment (KEY=VALUE).
	Env []string
	Dir string
	// Stdin, when set, is fed to the command (e.g. a token for login).
	Stdin io.Reader
	// Stdout receives the command's output; os.Stderr when nil, so that the
	// stdout of a target stays clean for machine-readable output.
	Stdout io.Writer
}

// String renders the command for logs, quoting arguments that need it.
func (c Cmd) String() string {
	parts := append([]string{c.Name}, c.Args...)
	for i, p := range parts {
		if p == "" || strings.ContainsAny(p, " \t\n\"'$\\") {
			parts[i] = strconv.Quote(p)
		}
	}
	return strings.Join(parts, " ")
}

// ExitError is a command that ran and failed; ExitStatus lets Mage exit
// with the command's own code.
type ExitError struct {
	Cmd  string
	Code int
}

func (e *ExitError) Error() string   { return fmt.Sprintf("%s: exit status %d", e.Cmd, e.Code) }
func (e *ExitError) ExitStatus() int { return e.Code }

// Run runs c, streaming stdout and stderr. A command that cannot start is a
// plain error naming the missing program.
func Run(ctx context.Context, c Cmd) error {
	logrus.Debugf("run: %s", c)
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	// On cancellation (Ctrl-C), ask the command to stop as a terminal
	// would, so buildx can end its build cleanly; kill it if it lingers.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stderr
	}
	cmd.Stderr = os.Stderr
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
