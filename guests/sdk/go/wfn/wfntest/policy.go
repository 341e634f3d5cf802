package wfntest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// errDenied is the cause of a refused destination; http_* imports turn it
// into abi.EDENIED.
var errDenied = errors.New("wfntest: outbound destination not allowed")

// errTooManyRedirects ends a chain of redirects past MaxRedirects.
var errTooManyRedirects = fmt.Errorf("wfntest: stopped after %d redirects", MaxRedirects)

// MaxRedirects is the most redirects the host follows for one outbound
// request.
const MaxRedirects = abi.MaxRedirects

// AllowedOutboundHosts sets the function's allowedOutboundHosts: the
// destinations its outbound requests may reach, instead of the default
// rule (public addresses allowed; loopback, private, link-local, shared,
// metadata and other non-unicast addresses denied, and the names localhost
// and *.localhost). With a list, a destination is allowed exactly when its
// host and port match an entry, whatever it resolves to. No entries means
// the default rule, as in the host's config.
//
// An entry is host:port or a bare host (ports 80 and 443). The host is a
// name, matched without regard to case, an IP address (IPv6 in brackets
// when a port follows), "*" for any host, or "*.example.com" for the
// subdomains of example.com; the port is a number or "*". Examples:
// "127.0.0.1:*", "localhost:*", "api.example.com:443", "*.example.com".
//
// It panics on a malformed entry; the host refuses such a config.
func AllowedOutboundHosts(entries ...string) Option {
	var list []hostPattern
	for _, e := range entries {
		p, err := parseHostPattern(e)
		if err != nil {
			panic(err)
		}
		list = append(list, p)
	}
	return func(c *config) { c.policy = policy{set: len(list) > 0, list: list} }
}

// policy decides which destinations outbound requests may reach.
type policy struct {
	set  bool // an allow list replaces the default rule
	list []hostPattern
}

type hostPattern struct {
	host string // lower case; "*", "*.suffix", a name or an address
	port string // "" for 80 and 443, "*" for any, or a number
}

func parseHostPattern(s string) (hostPattern, error) {
	bad := func(why string) (hostPattern, error) {
		return hostPattern{}, fmt.Errorf("wfntest: cannot parse allowedOutboundHosts entry %q: %s", s, why)
	}
	if s == "" || strings.ContainsAny(s, "/ ") {
		return bad("want host[:port]")
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.Count(s, ":") > 1 {
		host = strings.Trim(s, "[]") // an IPv6 address without a port
	}
	if port != "" && port != "*" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("bad port " + strconv.Quote(port))
		}
	}
	if host == "" || strings.Contains(host[1:], "*") || (strings.HasPrefix(host, "*") && host != "*" && !strings.HasPrefix(host, "*.")) {
		return bad(`"*" may only lead the host, as "*" or "*.domain"`)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.WithZone("").Unmap().String()
	}
	return hostPattern{host: strings.ToLower(host), port: port}, nil
}

func (p hostPattern) match(host, port string) bool {
	switch {
	case p.port == "" && port != "80" && port != "443":
		return false
	case p.port != "" && p.port != "*" && p.port != port:
		return false
	}
	switch {
	case p.host == "*":
		return true
	case strings.HasPrefix(p.host, "*."):
		return strings.HasSuffix(host, p.host[1:])
	}
	return p.host == host
}

// normHost is the host of a URL as the policy compares it: lower case,
// an address in its canonical form, no brackets.
func normHost(u *url.URL) (host, port string) {
	host = strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.WithZone("").Unmap().String()
	}
	port = u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return host, port
}

// listed reports whether an allow list admits host:port.
func (p policy) listed(host, port string) bool {
	for _, e := range p.list {
		if e.match(host, port) {
			return true
		}
	}
	return false
}

// atSend checks what is known before a request is sent: with a list, its
// host and port; without one, an address in the URL.
func (p policy) atSend(u *url.URL) bool {
	host, port := normHost(u)
	if p.set {
		return p.listed(host, port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return !deniedAddr(a)
	}
	h := strings.TrimSuffix(host, ".")
	return h != "localhost" && !strings.HasSuffix(h, ".localhost")
}

var (
	sharedSpace   = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT; Alibaba's metadata
	thisNetwork   = netip.MustParsePrefix("0.0.0.0/8")
	awsMetadataV6 = netip.MustParsePrefix("fd00:ec2::/32")
	broadcast     = netip.MustParseAddr("255.255.255.255")
)

// deniedAddr is the default rule: loopback, private, link-local (where
// cloud metadata lives), shared, unspecified, multicast and broadcast
// addresses are denied.
func deniedAddr(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		a.IsInterfaceLocalMulticast(), a.IsMulticast(), a.IsUnspecified():
		return true
	}
	return sharedSpace.Contains(a) || thisNetwork.Contains(a) || awsMetadataV6.Contains(a) || a == broadcast
}

// dialContext dials for the network transport. With a list it admits the
// listed host:port, whatever it resolves to; without one, it refuses a
// connection to a denied address, after the name is resolved.
func (p policy) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	if p.set {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if a, err := netip.ParseAddr(host); err == nil {
			host = a.WithZone("").Unmap().String()
		}
		if !p.listed(strings.ToLower(host), port) {
			return nil, errDenied
		}
		return d.DialContext(ctx, network, addr)
	}
	d.Control = func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || deniedAddr(ap.Addr()) {
			return errDenied
		}
		return nil
	}
	return d.DialContext(ctx, network, addr)
}
