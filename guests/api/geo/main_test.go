package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestGeo(t *testing.T) {
	tests := []struct {
		name string
		opts []wfntest.Option
		want string
	}{
		{name: "unknown", want: `{"region":"dev1"}`},
		{
			name: "known",
			opts: []wfntest.Option{wfntest.Geolocation(wfn.Geo{
				City: "Tokyo", Country: "JP", CountryRegion: "13", Region: "hnd1",
				Latitude: "35.6895", Longitude: "139.6917", PostalCode: "100-0001",
			})},
			want: `{"city":"Tokyo","country":"JP","flag":"🇯🇵","countryRegion":"13","region":"hnd1","latitude":"35.6895","longitude":"139.6917","postalCode":"100-0001"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := wfntest.Call(catchall.Serve, httptest.NewRequest("GET", "/api/geo", nil), nil, tt.opts...)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != tt.want || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q %s, want 200 application/json %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.want)
			}
		})
	}
}
