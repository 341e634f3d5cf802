package wfn_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/hostcall"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfntest"
)

func TestIPAddress(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		opts   []wfntest.Option
		want   string
		wantOK bool
	}{
		{name: "from RemoteAddr", remote: "192.0.2.7:5555", want: "192.0.2.7", wantOK: true},
		{name: "IPv6 RemoteAddr", remote: "[2001:db8::1]:80", want: "2001:db8::1", wantOK: true},
		{name: "set IPv4", opts: []wfntest.Option{wfntest.ClientIP("203.0.113.7")}, want: "203.0.113.7", wantOK: true},
		{name: "set IPv6", opts: []wfntest.Option{wfntest.ClientIP("2001:db8::2")}, want: "2001:db8::2", wantOK: true},
		{name: "unknown", opts: []wfntest.Option{wfntest.ClientIP("")}, wantOK: false},
		{name: "no RemoteAddr", remote: "-", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/ip", nil)
			switch tt.remote {
			case "":
			case "-":
				req.RemoteAddr = ""
			default:
				req.RemoteAddr = tt.remote
			}
			var got string
			var ok bool
			wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				got, ok = r.IPAddress()
				if again, _ := r.IPAddress(); again != got {
					t.Errorf("second IPAddress() = %q, first %q", again, got)
				}
			}), req, nil, tt.opts...)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("IPAddress() = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestGeolocation(t *testing.T) {
	tests := []struct {
		name string
		opts []wfntest.Option
		want wfn.Geo
	}{
		{name: "unknown", want: wfn.Geo{Region: "dev1"}},
		{
			name: "all fields",
			opts: []wfntest.Option{wfntest.Geolocation(wfn.Geo{
				City: "San Francisco", Country: "US", CountryRegion: "CA", Region: "sfo1",
				Latitude: "37.7749", Longitude: "-122.4194", PostalCode: "94107",
			})},
			want: wfn.Geo{
				City: "San Francisco", Country: "US", Flag: "🇺🇸", CountryRegion: "CA", Region: "sfo1",
				Latitude: "37.7749", Longitude: "-122.4194", PostalCode: "94107",
			},
		},
		{
			name: "no flag for a lower-case country",
			opts: []wfntest.Option{wfntest.Geolocation(wfn.Geo{Country: "us"})},
			want: wfn.Geo{Country: "us", Region: "dev1"},
		},
		{
			name: "city with non-ASCII",
			opts: []wfntest.Option{wfntest.Geolocation(wfn.Geo{City: "Zürich \"ZH\"", Country: "CH"})},
			want: wfn.Geo{City: "Zürich \"ZH\"", Country: "CH", Flag: "🇨🇭", Region: "dev1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got wfn.Geo
			wfntest.Do(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) {
				got = r.Geolocation()
			}), httptest.NewRequest("GET", "/api/geo", nil), nil, tt.opts...)
			if got != tt.want {
				t.Errorf("Geolocation() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// geoHost answers geolocation with fixed bytes.
type geoHost struct {
	nopHost
	json string
}

func (h geoHost) Geolocation(buf []byte) int32 {
	if len(h.json) <= len(buf) {
		copy(buf, h.json)
	}
	return int32(len(h.json))
}

func geoFrom(t testing.TB, raw string) wfn.Geo {
	if hostcall.Concurrent {
		t.Skip("under ABI version 2 (wfn_fluid) each invocation has a host of its own, given to hostcall.Invoke; hostcall.Install is version 1's")
	}
	hostcall.Install(geoHost{json: raw})
	defer hostcall.Install(nil)
	var got wfn.Geo
	wfn.Serve(wfn.HandlerFunc(func(w *wfn.ResponseWriter, r *wfn.Request) { got = r.Geolocation() }))
	return got
}

// The decoder reads any JSON the host may send.
func TestGeolocationDecoding(t *testing.T) {
	tests := []struct {
		name string
		json string
		want wfn.Geo
	}{
		{name: "empty object", json: `{}`, want: wfn.Geo{Region: "dev1"}},
		{name: "region only", json: `{"region":"iad1"}`, want: wfn.Geo{Region: "iad1"}},
		{
			name: "spaces and every field",
			json: " {\n\t\"city\" : \"Tokyo\", \"country\":\"JP\",\"flag\":\"🇯🇵\",\"countryRegion\":\"13\",\"region\":\"hnd1\"," +
				"\"latitude\":\"35.6\",\"longitude\":\"139.7\",\"postalCode\":\"100-0001\" } ",
			want: wfn.Geo{City: "Tokyo", Country: "JP", Flag: "🇯🇵", CountryRegion: "13", Region: "hnd1", Latitude: "35.6", Longitude: "139.7", PostalCode: "100-0001"},
		},
		{
			name: "escapes",
			json: `{"city":"a\"b\\c\/d\n\u00e9\ud83c\uddfa","region":"x"}`,
			want: wfn.Geo{City: "a\"b\\c/d\né\U0001F1FA", Region: "x"},
		},
		{
			name: "lone surrogate",
			json: `{"city":"\ud83c!","region":"x"}`,
			want: wfn.Geo{City: "\uFFFD!", Region: "x"},
		},
		{
			name: "unknown members of any type",
			json: `{"continent":"EU","n":-1.5e3,"ok":true,"z":null,"o":{"a":[1,{"b":"}"}]},"country":"FR","region":"cdg1"}`,
			want: wfn.Geo{Country: "FR", Region: "cdg1"},
		},
		{name: "a known member that is not a string", json: `{"city":1,"region":"x"}`, want: wfn.Geo{Region: "x"}},
		{name: "malformed", json: `{"city":"Paris"`, want: wfn.Geo{City: "Paris", Region: "dev1"}},
		{name: "not JSON", json: `nope`, want: wfn.Geo{Region: "dev1"}},
		{name: "empty", json: ``, want: wfn.Geo{Region: "dev1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := geoFrom(t, tt.json); got != tt.want {
				t.Errorf("Geolocation() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The hand-written decoder agrees with encoding/json on objects of
// strings.
func FuzzGeolocationDecoding(f *testing.F) {
	f.Add(`{"city":"S\u00e3o Paulo","region":"gru1"}`)
	f.Add(`{"country":"US","flag":"🇺🇸","region":"iad1","x":[1,2,{"y":null}]}`)
	f.Add(`{"city":"a\\b\"c","postalCode":"0"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var m map[string]any
		if !utf8.ValidString(raw) || json.Unmarshal([]byte(raw), &m) != nil || m == nil {
			return
		}
		// The oracle: known members, by exact name, must be strings.
		var want wfn.Geo
		for key, dst := range map[string]*string{
			"city": &want.City, "country": &want.Country, "flag": &want.Flag,
			"countryRegion": &want.CountryRegion, "region": &want.Region, "latitude": &want.Latitude,
			"longitude": &want.Longitude, "postalCode": &want.PostalCode,
		} {
			v, ok := m[key]
			if !ok {
				continue
			}
			s, ok := v.(string)
			if !ok {
				return
			}
			*dst = s
		}
		if want.Region == "" {
			want.Region = "dev1"
		}
		if got := geoFrom(t, raw); got != want {
			t.Errorf("Geolocation() of %q = %+v, want %+v", raw, got, want)
		}
	})
}

func TestGetEnv(t *testing.T) {
	for _, key := range []string{"VERCEL", "CI", "VERCEL_ENV", "VERCEL_URL", "VERCEL_BRANCH_URL",
		"VERCEL_PROJECT_PRODUCTION_URL", "VERCEL_REGION", "VERCEL_DEPLOYMENT_ID",
		"VERCEL_SKEW_PROTECTION_ENABLED", "VERCEL_AUTOMATION_BYPASS_SECRET", "VERCEL_GIT_PROVIDER",
		"VERCEL_GIT_REPO_SLUG", "VERCEL_GIT_REPO_OWNER", "VERCEL_GIT_REPO_ID", "VERCEL_GIT_COMMIT_REF",
		"VERCEL_GIT_COMMIT_SHA", "VERCEL_GIT_COMMIT_MESSAGE", "VERCEL_GIT_COMMIT_AUTHOR_LOGIN",
		"VERCEL_GIT_COMMIT_AUTHOR_NAME", "VERCEL_GIT_PREVIOUS_SHA", "VERCEL_GIT_PULL_REQUEST_ID"} {
		t.Setenv(key, "")
	}
	t.Setenv("VERCEL", "1")
	t.Setenv("VERCEL_REGION", "iad1")
	t.Setenv("VERCEL_GIT_COMMIT_MESSAGE", "fix: all of it")
	t.Setenv("VERCEL_URL", "") // empty is absent
	t.Setenv("CI", "")
	got := wfn.GetEnv()
	want := wfn.Env{VERCEL: "1", VERCEL_REGION: "iad1", VERCEL_GIT_COMMIT_MESSAGE: "fix: all of it"}
	if got != want {
		t.Errorf("GetEnv() = %+v, want %+v", got, want)
	}
	b, _ := json.Marshal(got)
	if s := string(b); s != `{"VERCEL":"1","VERCEL_REGION":"iad1","VERCEL_GIT_COMMIT_MESSAGE":"fix: all of it"}` {
		t.Errorf("JSON = %s", s)
	}
}
