package redisserver

import "syscall"

// Pause stops the process (SIGSTOP): connections stay open and nothing
// answers, like a hung server or a lost network.
func (s *Server) Pause() error { return s.proc.Signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (s *Server) Resume() error { return s.proc.Signal(syscall.SIGCONT) }
