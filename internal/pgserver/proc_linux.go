package pgserver

import (
	"os/exec"
	"syscall"
)

const sigQuit = syscall.SIGQUIT

type credential struct{ uid, gid uint32 }

// setCredential runs cmd as the given user (nil: as this process), and
// kills it if the test process dies first.
func setCredential(cmd *exec.Cmd, c *credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if c != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.uid, Gid: c.gid}
	}
}
