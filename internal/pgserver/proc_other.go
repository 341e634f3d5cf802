//go:build !linux

package pgserver

import (
	"os"
	"os/exec"
)

var sigQuit = os.Interrupt

type credential struct{ uid, gid uint32 }

// setCredential cannot change the user outside Linux here.
func setCredential(*exec.Cmd, *credential) {}
