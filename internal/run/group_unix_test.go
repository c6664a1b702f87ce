//go:build unix

package run

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid is a running process (a zombie is not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // no /proc: kill(0) said so
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

// startGroup runs, through Run, a shell that starts a grandchild ignoring
// SIGINT (as a shell's background job does) and waits for it; it returns
// the grandchild's pid once it runs, and Run's result.
func startGroup(t *testing.T, ctx context.Context) (grandchild int, result <-chan error) {
	t.Helper()
	needSh(t)
	ready := make(chan string, 1)
	out := &notifyWriter{ready: ready}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Cmd{Name: "sh", Args: []string{"-c", "sleep 300 >/dev/null 2>&1 & echo $!; wait"}, Stdout: out})
	}()
	select {
	case line := <-ready:
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("the shell wrote %q, not a pid", line)
		}
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		return pid, done
	case err := <-done:
		t.Fatalf("Run ended before the grandchild started: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the grandchild did not start")
	}
	return 0, nil
}

// notifyWriter hands its first write to ready.
type notifyWriter struct {
	ready chan string
	buf   bytes.Buffer
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	if w.buf.Len() == 0 {
		w.ready <- string(p)
	}
	return w.buf.Write(p)
}

// waitGone fails unless pid ends within a few seconds.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Errorf("process %d, started by the command, still runs", pid)
}

// TestRunStopsGroupOnSignal: SIGTERM or SIGHUP to Gantry while a command
// runs stops the command and what it started, and Run reports the signal
// with a shell's exit status, so that Mage exits with it after cleaning up.
func TestRunStopsGroupOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			// The test binary's own handler keeps the signal from ending it.
			caught := make(chan os.Signal, 1)
			signal.Notify(caught, sig)
			defer signal.Stop(caught)
			// Without the fix, Run only ends when this deadline kills the shell.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			grandchild, done := startGroup(t, ctx)
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("Run still runs 20 s after %v", sig)
			}
			var stopped *SignalError
			if !errors.As(err, &stopped) || stopped.Signal != sig || stopped.ExitStatus() != 128+int(sig) {
				t.Errorf("Run = %v, want a *SignalError for %v with exit status %d", err, sig, 128+int(sig))
			}
			waitGone(t, grandchild)
		})
	}
}

// TestRunCancelStopsGroup: cancelling (Mage's answer to Ctrl-C) stops what
// the command started too.
func TestRunCancelStopsGroup(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grandchild, done := startGroup(t, ctx)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run still runs 20 s after cancelling")
	}
	waitGone(t, grandchild)
}
