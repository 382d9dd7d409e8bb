//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package delivery

import (
	"crypto/tls"
	"net"
	"syscall"
)

// quietConn reports whether nothing has arrived on c: no byte and not its
// end. It looks without waiting and without taking anything (MSG_PEEK). On
// a TLS connection any record counts, which at worst costs a connection
// that could have served.
func quietConn(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	quiet := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		quiet = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && quiet
}
