//go:build !linux

package redisserver

import "errors"

// Pause is only implemented on Linux.
func (s *Server) Pause() error { return errors.ErrUnsupported }

// Resume is only implemented on Linux.
func (s *Server) Resume() error { return errors.ErrUnsupported }
