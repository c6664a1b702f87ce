//go:build !unix

package run

import (
	"os"
	"os/exec"
)

// Without Unix process groups, the command alone is stopped.

func ownProcessGroup(*exec.Cmd) {}

func interruptGroup(p *os.Process) error { return p.Signal(os.Interrupt) }

func killGroup(*os.Process) {}
