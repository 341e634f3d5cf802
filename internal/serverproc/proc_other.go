//go:build !linux

package serverproc

import "os/exec"

func setDeathSignal(*exec.Cmd) {}
