//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package delivery

import (
	"crypto/tls"
	"net"
	"syscall"
)

// idleProbe looks at a connection's socket for anything that arrived: a
// byte, or the connection's end. It is made once per connection so that a
// look allocates nothing.
type idleProbe struct {
	rc    syscall.RawConn
	peek  func(fd uintptr) bool
	buf   [1]byte
	quiet bool
}

// newIdleProbe returns the probe of c, or nil when c has no socket to look
// at.
func newIdleProbe(c net.Conn) *idleProbe {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &idleProbe{rc: rc}
	p.peek = func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		p.quiet = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // done, whatever came: never wait
	}
	return p
}

// idleQuiet reports whether nothing has arrived on the connection: no byte
// and not its end. It looks without waiting and takes nothing (MSG_PEEK).
// On a TLS connection any record counts, which at worst costs a connection
// that could have served. A nil probe reports true.
func (p *idleProbe) idleQuiet() bool {
	if p == nil {
		return true
	}
	p.quiet = false
	if err := p.rc.Read(p.peek); err != nil {
		return false
	}
	return p.quiet
}
