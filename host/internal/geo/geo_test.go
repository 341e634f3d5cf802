package geo_test

import (
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/wfn-dev/wfn/host/internal/geo"
	"github.com/wfn-dev/wfn/host/internal/geo/geotest"
)

func TestFromHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		want   geo.Geo
		ok     bool
	}{
		{"none", map[string]string{}, geo.Geo{Region: "dev1"}, false},
		{"all", map[string]string{
			"X-Vercel-Ip-City": "S%C3%A3o%20Paulo", "X-Vercel-Ip-Country": "BR", "X-Vercel-Ip-Country-Region": "SP",
			"X-Vercel-Ip-Latitude": "-23.5", "X-Vercel-Ip-Longitude": "-46.6", "X-Vercel-Ip-Postal-Code": "01000",
			"X-Vercel-Id": "gru1::iad1::abc",
		}, geo.Geo{City: "São Paulo", Country: "BR", Flag: "🇧🇷", CountryRegion: "SP", Region: "gru1", Latitude: "-23.5", Longitude: "-46.6", PostalCode: "01000"}, true},
		{"malformed city", map[string]string{"X-Vercel-Ip-City": "bad%zz", "X-Vercel-Ip-Country": "US"},
			geo.Geo{Country: "US", Flag: "🇺🇸", Region: "dev1"}, true},
		{"city not utf-8", map[string]string{"X-Vercel-Ip-City": "%ff%fe"}, geo.Geo{Region: "dev1"}, true},
		{"lower-case country has no flag", map[string]string{"X-Vercel-Ip-Country": "us"}, geo.Geo{Country: "us", Region: "dev1"}, true},
		{"empty x-vercel-id", map[string]string{"X-Vercel-Ip-Country": "US", "X-Vercel-Id": ""}, geo.Geo{Country: "US", Flag: "🇺🇸", Region: "dev1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got, ok := geo.FromHeaders(h, "dev1")
			if got != tt.want || ok != tt.ok {
				t.Errorf("FromHeaders = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if got := string((geo.Geo{Region: "dev1", City: "X"}).JSON()); got != `{"city":"X","region":"dev1"}` {
		t.Errorf("JSON = %s", got)
	}
}

func TestDB(t *testing.T) {
	db, err := geo.Open(geotest.WriteDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		ip   string
		want geo.Geo
	}{
		{"127.0.0.1", geo.Geo{City: "Berlin", Country: "DE", Flag: "🇩🇪", CountryRegion: "BE", Region: "fra1", Latitude: "52.52", Longitude: "13.405", PostalCode: "10115"}},
		{"::ffff:127.0.0.1", geo.Geo{City: "Berlin", Country: "DE", Flag: "🇩🇪", CountryRegion: "BE", Region: "fra1", Latitude: "52.52", Longitude: "13.405", PostalCode: "10115"}},
		{"203.0.113.9", geo.Geo{Country: "NZ", Flag: "🇳🇿", Region: "fra1"}},
		{"198.51.100.1", geo.Geo{Region: "fra1"}},
	}
	for _, tt := range tests {
		if got := db.Lookup(netip.MustParseAddr(tt.ip), "fra1"); got != tt.want {
			t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
		}
	}
}

func TestOpenInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.mmdb")
	os.WriteFile(path, []byte("not a database"), 0o644)
	if _, err := geo.Open(path); err == nil {
		t.Error("Open(garbage) succeeded")
	}
	if _, err := geo.Open(path + ".missing"); err == nil {
		t.Error("Open(missing) succeeded")
	}
}
