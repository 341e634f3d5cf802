package wfn

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
)

// IPAddress returns the client's IP address as the host trusts it, such
// as "203.0.113.7" or "2001:db8::1" (Vercel's ipAddress, which reads
// x-real-ip). The boolean is false when the host does not know it.
//
// A module that calls it imports ip_address; one that does not, does not.
func (r *Request) IPAddress() (string, bool) {
	if r.ipState == notAsked {
		r.ipState = absent
		if b, err := fetch(hostcall.IPAddress); err == nil && len(b) > 0 {
			r.ip, r.ipState = string(b), found
		}
	}
	return r.ip, r.ipState == found
}

// Geo is the client's location, as Vercel's geolocation(request) gives
// it. A field the host does not know is empty; Region is never empty: it
// is the region that served the request, "dev1" when the host has none.
// The JSON tags are Vercel's field names.
type Geo struct {
	// City is the city name, decoded (x-vercel-ip-city is URL-encoded).
	City string `json:"city,omitempty"`
	// Country is the ISO 3166-1 alpha-2 country code, such as "US".
	Country string `json:"country,omitempty"`
	// Flag is the country's flag emoji, such as "🇺🇸".
	Flag string `json:"flag,omitempty"`
	// CountryRegion is the region part of the ISO 3166-2 code, up to three
	// characters, such as "CA".
	CountryRegion string `json:"countryRegion,omitempty"`
	// Region is the region that served the request, such as "iad1".
	Region string `json:"region"`
	// Latitude and Longitude are decimal degrees, as text.
	Latitude  string `json:"latitude,omitempty"`
	Longitude string `json:"longitude,omitempty"`
	// PostalCode is the postal code, as text.
	PostalCode string `json:"postalCode,omitempty"`
}

// DefaultRegion is Geo.Region when the host names no region, as under
// vercel dev.
const DefaultRegion = "dev1"

// Geolocation returns the client's location as the host knows it (see
// [Geo]). Fields the host does not know are empty, except Region. Each
// call asks the host.
//
// A module that calls it imports geolocation; one that does not, does
// not.
func (r *Request) Geolocation() Geo {
	var g Geo
	if b, err := fetch(hostcall.Geolocation); err == nil {
		g, _ = parseGeo(b)
	}
	if g.Region == "" {
		g.Region = DefaultRegion
	}
	return g
}

// parseGeo decodes the host's geolocation JSON: an object whose members
// are strings. Members it does not know, of any type, are skipped. On
// malformed input it returns what it decoded so far and false.
func parseGeo(b []byte) (Geo, bool) {
	var g Geo
	d := jsonDecoder{b: b}
	if !d.consume('{') {
		return g, false
	}
	if d.consume('}') {
		return g, d.end()
	}
	for {
		key, ok := d.str()
		if !ok || !d.consume(':') {
			return g, false
		}
		var dst *string
		switch key {
		case "city":
			dst = &g.City
		case "country":
			dst = &g.Country
		case "flag":
			dst = &g.Flag
		case "countryRegion":
			dst = &g.CountryRegion
		case "region":
			dst = &g.Region
		case "latitude":
			dst = &g.Latitude
		case "longitude":
			dst = &g.Longitude
		case "postalCode":
			dst = &g.PostalCode
		}
		if dst != nil && d.peek() == '"' {
			if *dst, ok = d.str(); !ok {
				return g, false
			}
		} else if !d.skip(0) {
			return g, false
		}
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return g, d.end()
		}
		return g, false
	}
}

// jsonDecoder is just enough JSON for parseGeo.
type jsonDecoder struct {
	b []byte
	i int
}

func (d *jsonDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *jsonDecoder) consume(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

func (d *jsonDecoder) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// str decodes a string, with its escapes.
func (d *jsonDecoder) str() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) { // fast path: no escapes
		c := d.b[d.i]
		if c == '"' {
			d.i++
			return string(d.b[start : d.i-1]), true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.i++
	}
	out := append([]byte(nil), d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		d.i++
		switch {
		case c == '"':
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			continue
		}
		if d.i >= len(d.b) {
			return "", false
		}
		e := d.b[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					if lo, ok := d.hex4(); ok {
						r2 = utf16.DecodeRune(r, lo)
					}
					if r2 == utf8.RuneError {
						d.i = save
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// skip passes over one value of any type; depth bounds nesting.
func (d *jsonDecoder) skip(depth int) bool {
	if depth > 32 {
		return false
	}
	switch c := d.peek(); c {
	case '"':
		_, ok := d.str()
		return ok
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.i++
		if d.consume(closer) {
			return true
		}
		for {
			if c == '{' {
				if _, ok := d.str(); !ok || !d.consume(':') {
					return false
				}
			}
			if !d.skip(depth + 1) {
				return false
			}
			if d.consume(',') {
				continue
			}
			return d.consume(closer)
		}
	default: // a number, true, false or null
		start := d.i
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return d.i > start
			}
			d.i++
		}
		return d.i > start
	}
}
