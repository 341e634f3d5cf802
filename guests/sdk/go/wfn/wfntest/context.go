package wfntest

import (
	"encoding/json"
	"net/netip"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
)

// ClientIP sets the client's address that ip_address returns, as the
// host's trusted client address. The empty string means the host does not
// know it (wfn.Request.IPAddress reports false). Without this option it is
// the host part of the request's RemoteAddr: "192.0.2.1" for a request
// made with httptest.NewRequest, the client's real address behind an
// httptest.Server.
func ClientIP(ip string) Option {
	return func(c *config) { c.clientIP = &ip }
}

// Geolocation sets the client's location that geolocation returns. As
// the host does, it fills in Region ("dev1", wfn.DefaultRegion) when
// empty and Flag from a Country of two capital letters ("US" gives "🇺🇸")
// when empty. Without this option the location is unknown: only the
// region, "dev1", as under vercel dev.
func Geolocation(g wfn.Geo) Option {
	return func(c *config) { c.geo = &g }
}

func (h *host) IPAddress(buf []byte) int32 {
	var ip string
	if h.cfg.clientIP != nil {
		ip = *h.cfg.clientIP
	} else if ap, err := netip.ParseAddrPort(h.req.RemoteAddr); err == nil {
		ip = ap.Addr().WithZone("").String()
	} else if a, err := netip.ParseAddr(h.req.RemoteAddr); err == nil {
		ip = a.WithZone("").String()
	}
	if ip == "" {
		return int32(abi.ENOTFOUND)
	}
	return put(buf, ip)
}

func (h *host) Geolocation(buf []byte) int32 {
	var g wfn.Geo
	if h.cfg.geo != nil {
		g = *h.cfg.geo
	}
	if g.Region == "" {
		g.Region = wfn.DefaultRegion
	}
	if g.Flag == "" {
		g.Flag = flag(g.Country)
	}
	b, err := json.Marshal(g)
	if err != nil {
		return int32(abi.EIO)
	}
	return put(buf, string(b))
}

// flag is the flag emoji of an ISO 3166-1 alpha-2 code, as Vercel's
// geolocation computes it: only for exactly two capital letters.
func flag(country string) string {
	if len(country) != 2 {
		return ""
	}
	var r [2]rune
	for i := range 2 {
		c := country[i]
		if c < 'A' || c > 'Z' {
			return ""
		}
		r[i] = 127397 + rune(c)
	}
	return string(r[:])
}
