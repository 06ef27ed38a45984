//go:build !unix

package rlpx

import (
	"net"
	"syscall"
)

func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (r *reader) fillIdle() error { panic("rlpx: no raw reads on this platform") }
