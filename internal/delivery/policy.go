package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// ErrHTTPSRequired is returned by URLPolicy.Check for a plain http URL when
// only https is allowed and the URL's host is not exempt.
var ErrHTTPSRequired = errors.New("https required")

// URLPolicy decides which endpoint URLs may be delivered to, from the URL
// alone: it never resolves names. The sender applies it to every attempt,
// and the API can apply it when an endpoint is created or updated.
type URLPolicy struct {
	// HTTPSOnly refuses plain http URLs unless their host is exempt.
	HTTPSOnly bool
	// Exempt lists the hosts that may still be reached over plain http
	// when HTTPSOnly is set. Each entry is a host name, matched exactly and
	// case-insensitively ("localhost" exempts neither "api.localhost" nor
	// names that resolve to 127.0.0.1), an IP address, or a CIDR prefix
	// ("127.0.0.0/8"); addresses and prefixes match IP literal hosts only.
	Exempt []string
}

// Validate reports the first Exempt entry that is neither a host name, an
// IP address nor a CIDR prefix.
func (p URLPolicy) Validate() error {
	for _, e := range p.Exempt {
		if _, _, err := parseExempt(e); err != nil {
			return err
		}
	}
	return nil
}

// Check returns nil when u may be delivered to under p. Otherwise it returns
// an error saying why: the scheme is not http or https, the host is
// missing, or (wrapping ErrHTTPSRequired) the URL is plain http and p
// requires https for its host.
func (p URLPolicy) Check(u *url.URL) error {
	if u == nil {
		return errors.New("no URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if p.HTTPSOnly && !p.exempt(u.Hostname()) {
			return ErrHTTPSRequired
		}
	default:
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("no host")
	}
	return nil
}

// exempt reports whether host may be reached over plain http.
func (p URLPolicy) exempt(host string) bool {
	host = normalizeHost(host)
	if host == "" {
		return false
	}
	addr, addrErr := netip.ParseAddr(host)
	addr = addr.WithZone("")
	for _, e := range p.Exempt {
		name, prefix, err := parseExempt(e)
		switch {
		case err != nil:
		case name != "":
			if name == host {
				return true
			}
		case addrErr == nil:
			if prefix.Contains(addr) || prefix.Contains(addr.Unmap()) {
				return true
			}
		}
	}
	return false
}

// parseExempt reads one URLPolicy.Exempt entry: either a host name (name
// set) or an address or prefix (prefix set; an address is a full-length
// prefix).
func parseExempt(e string) (name string, prefix netip.Prefix, err error) {
	e = strings.TrimSpace(e)
	if strings.Contains(e, "/") {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return "", netip.Prefix{}, fmt.Errorf("https-only exemption %q: %w", e, err)
		}
		return "", p.Masked(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		a = a.WithZone("")
		return "", netip.PrefixFrom(a, a.BitLen()), nil
	}
	name = normalizeHost(e)
	if name == "" || strings.ContainsAny(name, ":/@ ") {
		return "", netip.Prefix{}, fmt.Errorf("https-only exemption %q: not a host name, IP address or CIDR", e)
	}
	return name, netip.Prefix{}, nil
}

// normalizeHost lower-cases a host name and drops a trailing dot.
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}
