package host

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/geo"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// What the host knows of a request beyond its bytes: the invocation
// answers the engine's RequestContext, computing each part on first use
// so that a handler that asks for none pays nothing.

var _ hostcall.RequestContext = (*invocation)(nil)

// Request headers a client may only send through a trusted proxy; from
// anyone else they are hidden from the guest, and the host sets its own
// forwarding headers. Names are matched without regard to case (RFC 9110,
// section 5.1), whatever their length:
//   - x-vercel-*: Vercel's edge sets them and never passes a client's
//     (x-vercel-id, x-vercel-ip-*, x-vercel-oidc-token,
//     x-vercel-ja4-digest, ...; Vercel's "Request headers" docs). The
//     dash is part of the prefix: x-vercelx is an ordinary header.
//   - x-forwarded-* and x-real-ip: the de facto forwarding headers, which
//     Vercel overwrites; forwarded: their standard form (RFC 7239), which
//     frameworks read as well. "x-forwarded" alone is no one's header and
//     passes.
//   - x-middleware-subrequest*: Next.js's marker of its own subrequests,
//     which skips middleware when a client forges it (CVE-2025-29927).
var (
	forwardedPrefixes = [...]string{"x-vercel-", "x-forwarded-", "x-middleware-subrequest"}
	forwardedNames    = [...]string{"x-real-ip", "forwarded"}
)

// isForwarded reports whether name is one of the headers above. It does
// not allocate.
func isForwarded(name string) bool {
	for _, p := range forwardedPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	for _, n := range forwardedNames {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// peer is the socket peer's address.
func (c *invocation) peer() netip.Addr { return peerOf(c.req) }

// peerOf is the address of r's socket peer.
func peerOf(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// contains reports whether a is in one of ps.
func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if a.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// trusted reports whether the peer is a trusted proxy.
func (c *invocation) trusted() bool {
	if c.trust == 0 {
		c.trust = 2
		if contains(c.h.cfg.TrustedProxies, c.peer()) {
			c.trust = 1
		}
	}
	return c.trust == 1
}

// Hidden implements hostcall.RequestContext.
func (c *invocation) Hidden(name string) bool {
	return !c.trusted() && isForwarded(name)
}

// IPAddress implements hostcall.RequestContext: the peer, or for a trusted
// proxy the client it names (x-real-ip, else the first address of
// x-vercel-forwarded-for, else of x-forwarded-for).
func (c *invocation) IPAddress() (string, bool) {
	ip := c.clientIP()
	if !ip.IsValid() {
		return "", false
	}
	return ip.String(), true
}

func (c *invocation) clientIP() netip.Addr { return clientIP(c.req, c.trusted()) }

// clientIP is r's client: the peer, or, when the peer is a trusted proxy,
// the client it names (x-real-ip, else the first address of
// x-vercel-forwarded-for, else of x-forwarded-for) if it names one.
func clientIP(r *http.Request, trusted bool) netip.Addr {
	if trusted {
		h := r.Header
		for _, v := range []string{h.Get("X-Real-Ip"), first(h.Get("X-Vercel-Forwarded-For")), first(h.Get("X-Forwarded-For"))} {
			if ip, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				return ip.Unmap()
			}
		}
	}
	return peerOf(r)
}

// accessClient is r's client as the access log shows it: the address
// the function gets (IPAddress), in the same form, or "" when there is
// none (a Unix socket). The common case, a peer that is no trusted
// proxy, costs no allocation and no parse: the host part of RemoteAddr,
// which net/http writes as netip does (net.TCPAddr's String: an
// IPv4-mapped address as IPv4, IPv6 in RFC 5952's form).
func (h *Host) accessClient(r *http.Request) string {
	if len(h.cfg.TrustedProxies) > 0 {
		if peer := peerOf(r); contains(h.cfg.TrustedProxies, peer) {
			return clientIP(r, true).String()
		}
	}
	i := strings.LastIndexByte(r.RemoteAddr, ':')
	if i <= 0 {
		return ""
	}
	host := r.RemoteAddr[:i]
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return host
}

func first(list string) string {
	v, _, _ := strings.Cut(list, ",")
	return v
}

// ExtraHeaders implements hostcall.RequestContext: the forwarding headers
// Vercel sets. From a trusted proxy, the proxy's own are kept and only
// the missing ones are added.
func (c *invocation) ExtraHeaders(dst []hostcall.Param) []hostcall.Param {
	proto := "http"
	if c.req.TLS != nil {
		proto = "https"
	}
	ip := ""
	if a := c.clientIP(); a.IsValid() {
		ip = a.String()
	}
	trusted := c.trusted()
	for _, kv := range [...][2]string{
		{"x-real-ip", ip},
		{"x-forwarded-for", ip},
		{"x-vercel-forwarded-for", ip},
		{"x-forwarded-host", c.req.Host},
		{"x-forwarded-proto", proto},
		{"x-vercel-id", c.inv.ID},
		{"x-vercel-deployment-url", c.req.Host},
		// net/http takes transfer-encoding out of the header: a body of
		// unknown length (chunked, or HTTP/2 without content-length)
		// is listed as chunked, so that the guest knows it has one.
		{"transfer-encoding", chunked(c.req)},
	} {
		if kv[1] == "" || (trusted && c.req.Header.Get(kv[0]) != "") {
			continue
		}
		dst = append(dst, hostcall.Param{Name: kv[0], Value: kv[1]})
	}
	return dst
}

// chunked is "chunked" for a request whose body has no length known in
// advance, else "".
func chunked(r *http.Request) string {
	if r.ContentLength < 0 {
		return "chunked"
	}
	return ""
}

// Geolocation implements hostcall.RequestContext.
func (c *invocation) Geolocation() []byte {
	region := c.h.cfg.Region
	if c.trusted() {
		if g, ok := geo.FromHeaders(c.req.Header, region); ok {
			return g.JSON()
		}
		region = geo.Region(c.req.Header.Get("X-Vercel-Id"), region)
	}
	if c.h.geoDB != nil {
		if ip := c.clientIP(); ip.IsValid() {
			return c.h.geoDB.Lookup(ip, region).JSON()
		}
	}
	return geo.Geo{Region: region}.JSON()
}

// Outbound implements hostcall.RequestContext: the session starts on first
// use and ends with the invocation.
func (c *invocation) Outbound() *outbound.Session {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.out == nil {
		c.out = outbound.NewSession(c.ctx, c.fn.client, func(msg string, args ...any) {
			c.h.log.Warn(msg, append([]any{"fn", c.fn.src.Path, "id", c.inv.ID}, args...)...)
		})
	}
	return c.out
}
