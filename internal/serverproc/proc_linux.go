package serverproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the program killed if the test process dies first.
func setDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
