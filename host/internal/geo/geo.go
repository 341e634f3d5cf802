// Package geo computes a request's geolocation as @vercel/functions does:
// from the x-vercel-ip-* headers of a trusted proxy, else from a MaxMind
// database by client address, else only the region.
package geo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Geo is the geolocation of a request. Empty fields are absent.
type Geo struct {
	City          string `json:"city,omitempty"`
	Country       string `json:"country,omitempty"`
	Flag          string `json:"flag,omitempty"`
	CountryRegion string `json:"countryRegion,omitempty"`
	Region        string `json:"region"`
	Latitude      string `json:"latitude,omitempty"`
	Longitude     string `json:"longitude,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
}

// JSON is the object the geolocation import returns.
func (g Geo) JSON() []byte {
	b, _ := json.Marshal(g)
	return b
}

// Headers are the request headers a trusted proxy sets for geolocation.
var Headers = []string{
	"X-Vercel-Ip-City", "X-Vercel-Ip-Country", "X-Vercel-Ip-Country-Region",
	"X-Vercel-Ip-Latitude", "X-Vercel-Ip-Longitude", "X-Vercel-Ip-Postal-Code",
}

// FromHeaders reads the x-vercel-ip-* headers; ok is false when there are
// none. region is the first segment of x-vercel-id, else fallback.
func FromHeaders(h http.Header, fallback string) (g Geo, ok bool) {
	for _, name := range Headers {
		if h.Get(name) != "" {
			ok = true
		}
	}
	g.Region = Region(h.Get("X-Vercel-Id"), fallback)
	if !ok {
		return g, false
	}
	if city := h.Get("X-Vercel-Ip-City"); city != "" {
		// decodeURIComponent: a malformed encoding gives no city.
		if c, err := url.PathUnescape(city); err == nil && utf8.ValidString(c) {
			g.City = c
		}
	}
	g.Country = h.Get("X-Vercel-Ip-Country")
	g.Flag = Flag(g.Country)
	g.CountryRegion = h.Get("X-Vercel-Ip-Country-Region")
	g.Latitude = h.Get("X-Vercel-Ip-Latitude")
	g.Longitude = h.Get("X-Vercel-Ip-Longitude")
	g.PostalCode = h.Get("X-Vercel-Ip-Postal-Code")
	return g, true
}

// Region is the first segment of an x-vercel-id, or fallback when it is
// missing or empty.
func Region(vercelID, fallback string) string {
	if r, _, _ := strings.Cut(vercelID, ":"); r != "" {
		return r
	}
	return fallback
}

// Flag is the emoji flag of a two-letter upper-case country code, or "".
func Flag(country string) string {
	if len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' {
		return ""
	}
	return string([]rune{rune(127397 + int(country[0])), rune(127397 + int(country[1]))})
}

// DB is a MaxMind city database.
type DB struct {
	r *maxminddb.Reader
}

// Open opens a MaxMind database (GeoLite2-City or GeoIP2-City format).
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wfn: cannot open geoip database %s: %w", path, err)
	}
	return &DB{r: r}, nil
}

// Close releases the database.
func (db *DB) Close() error { return db.r.Close() }

// Lookup returns the geolocation of ip; fields the database lacks are
// empty, and an address it does not know gives only the region.
func (db *DB) Lookup(ip netip.Addr, region string) Geo {
	g := Geo{Region: region}
	var rec struct {
		City struct {
			Names map[string]string `maxminddb:"names"`
		} `maxminddb:"city"`
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
		Subdivisions []struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"subdivisions"`
		Location struct {
			Latitude  *float64 `maxminddb:"latitude"`
			Longitude *float64 `maxminddb:"longitude"`
		} `maxminddb:"location"`
		Postal struct {
			Code string `maxminddb:"code"`
		} `maxminddb:"postal"`
	}
	res := db.r.Lookup(ip.Unmap())
	if !res.Found() || res.Decode(&rec) != nil {
		return g
	}
	g.City = rec.City.Names["en"]
	g.Country = rec.Country.ISOCode
	g.Flag = Flag(g.Country)
	if len(rec.Subdivisions) > 0 {
		g.CountryRegion = rec.Subdivisions[0].ISOCode
	}
	if rec.Location.Latitude != nil && rec.Location.Longitude != nil {
		g.Latitude = strconv.FormatFloat(*rec.Location.Latitude, 'f', -1, 64)
		g.Longitude = strconv.FormatFloat(*rec.Location.Longitude, 'f', -1, 64)
	}
	g.PostalCode = rec.Postal.Code
	return g
}
