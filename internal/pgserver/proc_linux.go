package pgserver

import (
	"os/exec"
	"syscall"
)

const sigQuit = syscall.SIGQUIT

type credential struct{ uid, gid uint32 }

// setCredential runs cmd as the given user (nil: as this process).
func setCredential(cmd *exec.Cmd, c *credential) {
	if c != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: c.uid, Gid: c.gid}}
	}
}
