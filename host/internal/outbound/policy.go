// Package outbound is the host side of a guest's outbound HTTP: a
// destination policy that keeps guests off the host's own network, and
// the handles of one invocation's requests.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ErrDenied matches every refused destination.
var ErrDenied = errors.New("wfn: outbound destination not allowed")

// Policy decides which destinations a function may reach.
//
// With no allow list, any public address is allowed and the host's own
// network is not: loopback, private, link-local (with cloud metadata),
// shared, unspecified and multicast addresses are denied, also when a
// name resolves to them or a redirect leads there. With an allow list,
// only matching destinations are allowed, whatever they resolve to.
type Policy struct {
	allow []pattern // nil: the default policy
}

type pattern struct {
	host string // "example.com", "*.example.com", "127.0.0.1", "::1", or "*"
	port string // "443" or "*"
}

// NewPolicy parses an allow list of "host[:port]" patterns: host may be a
// name, "*.suffix", an IP address ([::1] for IPv6 with a port) or "*";
// port may be a number or "*" (no port: 80 and 443). An empty list means
// the default policy.
func NewPolicy(allow []string) (Policy, error) {
	var p Policy
	for _, s := range allow {
		pat, err := parsePattern(s)
		if err != nil {
			return Policy{}, fmt.Errorf("allowedOutboundHosts %q: %w", s, err)
		}
		p.allow = append(p.allow, pat)
	}
	return p, nil
}

func parsePattern(s string) (pattern, error) {
	if s == "" || strings.ContainsAny(s, "/ ") {
		return pattern{}, errors.New("want host[:port]")
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.Count(s, ":") > 1 {
		host = strings.Trim(s, "[]") // an IPv6 address without a port
	}
	if port != "" && port != "*" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return pattern{}, fmt.Errorf("bad port %q", port)
		}
	}
	if host == "" || strings.Contains(host[min(1, len(host)):], "*") {
		return pattern{}, errors.New(`"*" may only lead the host`)
	}
	return pattern{host: strings.ToLower(host), port: port}, nil
}

func (p pattern) matches(host, port string) bool {
	switch {
	case p.port == "" && port != "80" && port != "443":
		return false
	case p.port != "" && p.port != "*" && p.port != port:
		return false
	}
	host = strings.ToLower(host)
	switch {
	case p.host == "*" || p.host == host:
		return true
	case strings.HasPrefix(p.host, "*."):
		return strings.HasSuffix(host, p.host[1:])
	}
	return false
}

// allowedByList reports whether an allow list names host:port.
func (p Policy) allowedByList(host, port string) bool {
	for _, pat := range p.allow {
		if pat.matches(host, port) {
			return true
		}
	}
	return false
}

// CheckURLHost is the check before any connection: by name, and by
// address when host is one.
func (p Policy) CheckURLHost(host, port string) error {
	if p.allow != nil {
		if !p.allowedByList(host, port) {
			return fmt.Errorf("%w: %s is not on the function's allowedOutboundHosts", ErrDenied, net.JoinHostPort(host, port))
		}
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return checkAddr(ip)
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("%w: %s is the host itself", ErrDenied, host)
	}
	return nil
}

// checkAddr applies the default policy to one address.
func checkAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	var what string
	switch {
	case ip.IsLoopback():
		what = "loopback"
	case ip.IsPrivate():
		what = "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		what = "link-local (cloud metadata lives there)"
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		what = "not a unicast"
	case sharedSpace.Contains(ip), thisNetwork.Contains(ip), ip == broadcast, awsMetadataV6.Contains(ip):
		what = "reserved"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s is a %s address", ErrDenied, ip, what)
}

var (
	sharedSpace   = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT
	thisNetwork   = netip.MustParsePrefix("0.0.0.0/8")
	awsMetadataV6 = netip.MustParsePrefix("fd00:ec2::/32")
	broadcast     = netip.MustParseAddr("255.255.255.255")
)

// errNoAddress is a name that resolved to no address.
var errNoAddress = errors.New("no address")

// dialer connects only to addresses the policy allows, after resolving
// names itself, so that what is checked is what is dialed (no second
// lookup that could answer otherwise).
type dialer struct {
	policy   Policy
	net      net.Dialer
	resolver *net.Resolver
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	listed := d.policy.allow != nil && d.policy.allowedByList(host, port)
	if d.policy.allow != nil && !listed {
		return nil, fmt.Errorf("%w: %s is not on the function's allowedOutboundHosts", ErrDenied, addr)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = d.resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	var denied error
	for _, ip := range ips {
		if !listed {
			if err := checkAddr(ip); err != nil {
				denied = fmt.Errorf("%w (%s resolves there)", err, host)
				continue
			}
		}
		conn, err := d.net.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		denied = err
	}
	if denied == nil {
		denied = fmt.Errorf("%w for %s", errNoAddress, host)
	}
	return nil, denied
}
