package host

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/wfn-dev/wfn/host/internal/engine"
	"github.com/wfn-dev/wfn/host/internal/geo"
	"github.com/wfn-dev/wfn/host/internal/outbound"
)

// What the host knows of a request beyond its bytes: the invocation
// answers the engine's RequestContext, computing each part on first use
// so that a handler that asks for none pays nothing.

var _ engine.RequestContext = (*invocation)(nil)

// forwarded are the request headers a client may only send through a
// trusted proxy; from anyone else they are hidden from the guest, and the
// host sets its own. x-vercel-ip-* are matched by prefix.
var forwarded = []string{"x-real-ip", "x-forwarded-for", "x-vercel-forwarded-for", "x-vercel-id", "x-forwarded-host", "x-forwarded-proto", "x-vercel-deployment-url"}

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

// trusted reports whether the peer is a trusted proxy.
func (c *invocation) trusted() bool {
	if c.trust == 0 {
		c.trust = 2
		peer := c.peer()
		for _, p := range c.h.cfg.TrustedProxies {
			if peer.IsValid() && p.Contains(peer) {
				c.trust = 1
				break
			}
		}
	}
	return c.trust == 1
}

// Hidden implements engine.RequestContext.
func (c *invocation) Hidden(lower string) bool {
	if c.trusted() {
		return false
	}
	if strings.HasPrefix(lower, "x-vercel-ip-") {
		return true
	}
	for _, f := range forwarded {
		if lower == f {
			return true
		}
	}
	return false
}

// IPAddress implements engine.RequestContext: the peer, or for a trusted
// proxy the client it names (x-real-ip, else the first address of
// x-vercel-forwarded-for, else of x-forwarded-for).
func (c *invocation) IPAddress() (string, bool) {
	ip := c.clientIP()
	if !ip.IsValid() {
		return "", false
	}
	return ip.String(), true
}

func (c *invocation) clientIP() netip.Addr {
	if c.trusted() {
		h := c.req.Header
		for _, v := range []string{h.Get("X-Real-Ip"), first(h.Get("X-Vercel-Forwarded-For")), first(h.Get("X-Forwarded-For"))} {
			if ip, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				return ip.Unmap()
			}
		}
	}
	return c.peer()
}

func first(list string) string {
	v, _, _ := strings.Cut(list, ",")
	return v
}

// ExtraHeaders implements engine.RequestContext: the forwarding headers
// Vercel sets. From a trusted proxy, the proxy's own are kept and only
// the missing ones are added.
func (c *invocation) ExtraHeaders(dst []engine.Param) []engine.Param {
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
		dst = append(dst, engine.Param{Name: kv[0], Value: kv[1]})
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

// Geolocation implements engine.RequestContext.
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

// Outbound implements engine.RequestContext: the session starts on first
// use and ends with the invocation.
func (c *invocation) Outbound() *outbound.Session {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.out == nil {
		c.out = outbound.NewSession(c.ctx, c.fn.client, func(msg string, args ...any) {
			c.h.log.Warn(msg, append([]any{"fn", c.fn.src.Path, "id", c.inv.ID}, args...)...)
		})
		if c.inv.Aborted() {
			c.out.Cancel()
		}
	}
	return c.out
}
