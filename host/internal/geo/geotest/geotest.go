// Package geotest writes small MaxMind city databases for tests.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteDB writes a city database in a test's temp dir and returns its
// path: 127.0.0.0/8 is Berlin (DE, BE, 52.52, 13.405, 10115) and
// 203.0.113.0/24 has only the country NZ.
func WriteDB(t testing.TB) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	_, berlin, _ := net.ParseCIDR("127.0.0.0/8")
	if err := w.Insert(berlin, mmdbtype.Map{
		"city":         mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Berlin")}},
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String("DE")},
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("BE")}},
		"location":     mmdbtype.Map{"latitude": mmdbtype.Float64(52.52), "longitude": mmdbtype.Float64(13.405)},
		"postal":       mmdbtype.Map{"code": mmdbtype.String("10115")},
	}); err != nil {
		t.Fatal(err)
	}
	_, doc, _ := net.ParseCIDR("203.0.113.0/24")
	if err := w.Insert(doc, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("NZ")}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}
