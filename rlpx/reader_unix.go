//go:build unix

package rlpx

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
)

// rawConnOf returns the socket of fd when reads can be done on it directly.
func rawConnOf(fd net.Conn) syscall.RawConn {
	sc, ok := fd.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// fillIdle waits until the socket is readable without holding a buffer (the
// runtime's poller does the waiting), then reads into a pooled buffer. An
// idle connection therefore costs no read buffer, and a caught-up reader
// still reads whole bursts with one system call.
func (r *reader) fillIdle() error {
	r.arm()
	var (
		buf  []byte
		n    int
		rerr error
	)
	err := r.raw.Read(func(fd uintptr) bool {
		buf = getBuf(readBufSize)
		for {
			n, rerr = syscall.Read(int(fd), buf)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			putBuf(buf)
			buf = nil
			return false // wait for the poller
		}
		return true
	})
	switch {
	case err != nil:
		rerr = err
	case rerr == nil && n == 0:
		rerr = io.EOF
	}
	if errno, ok := rerr.(syscall.Errno); ok {
		rerr = os.NewSyscallError("read", errno)
	}
	if rerr != nil {
		if buf != nil {
			putBuf(buf)
		}
		return rerr
	}
	atomic.AddUint64(&r.counted, uint64(n))
	r.buf, r.pooled = buf, true
	r.r, r.w = 0, n
	return nil
}
