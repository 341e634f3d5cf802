package cdn

import (
	"net/http"
	"testing"
	"time"
)

// TestFreshnessRules checks the freshness lifetime decide gives a response
// under both rule sets: Vercel's reads only s-maxage and the CDN-targeted
// fields; RFC 9111's also max-age, then Expires minus Date (sections 4.2.1
// and 5.3), the targeted fields still first (RFC 9213 section 2.2).
func TestFreshnessRules(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	date := now.Add(-time.Minute).Format(http.TimeFormat) // a Date that differs from now
	at := func(d time.Duration) string { return now.Add(-time.Minute + d).Format(http.TimeFormat) }
	type want struct {
		fresh  time.Duration // 0: not stored
		reason string        // when not stored
	}
	tests := []struct {
		name            string
		header          http.Header
		vercel, rfc9111 want
	}{
		{name: "s-maxage",
			header: http.Header{"Cache-Control": {"s-maxage=10"}},
			vercel: want{fresh: 10 * time.Second}, rfc9111: want{fresh: 10 * time.Second}},
		{name: "s-maxage over max-age",
			header: http.Header{"Cache-Control": {"max-age=100, s-maxage=10"}},
			vercel: want{fresh: 10 * time.Second}, rfc9111: want{fresh: 10 * time.Second}},
		{name: "max-age only",
			header: http.Header{"Cache-Control": {"max-age=30"}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: 30 * time.Second}},
		{name: "max-age over Expires",
			header: http.Header{"Cache-Control": {"max-age=30"}, "Date": {date}, "Expires": {at(time.Hour)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: 30 * time.Second}},
		{name: "max-age=0 over Expires",
			header: http.Header{"Cache-Control": {"max-age=0"}, "Date": {date}, "Expires": {at(time.Hour)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{reason: "no positive freshness lifetime"}},
		{name: "Expires minus Date",
			header: http.Header{"Date": {date}, "Expires": {at(90 * time.Second)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: 90 * time.Second}},
		{name: "Expires with an unrelated Cache-Control",
			header: http.Header{"Cache-Control": {"public"}, "Date": {date}, "Expires": {at(90 * time.Second)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: 90 * time.Second}},
		{name: "Expires without Date counts from arrival",
			header: http.Header{"Expires": {now.Add(40 * time.Second).Format(http.TimeFormat)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: 40 * time.Second}},
		{name: "Expires with an invalid Date counts from arrival",
			header: http.Header{"Date": {"yesterday"}, "Expires": {now.Add(40 * time.Second).Format(http.TimeFormat)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: 40 * time.Second}},
		{name: "Expires in the obsolete RFC 850 format",
			header: http.Header{"Date": {date}, "Expires": {now.Add(-time.Minute + 20*time.Second).Format(time.RFC850)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: 20 * time.Second}},
		{name: "Expires before Date",
			header: http.Header{"Date": {date}, "Expires": {at(-time.Second)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{reason: "no positive freshness lifetime"}},
		{name: "Expires equal to Date",
			header: http.Header{"Date": {date}, "Expires": {date}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{reason: "no positive freshness lifetime"}},
		{name: "invalid Expires is already expired",
			header: http.Header{"Date": {date}, "Expires": {"0"}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{reason: "no positive freshness lifetime"}},
		{name: "Expires clamped to a year",
			header: http.Header{"Date": {date}, "Expires": {at(3 * maxSMaxAge)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{fresh: maxSMaxAge}},
		{name: "private with max-age",
			header: http.Header{"Cache-Control": {"private, max-age=30"}},
			vercel: want{reason: "Cache-Control: private"}, rfc9111: want{reason: "Cache-Control: private"}},
		{name: "no-store with Expires",
			header: http.Header{"Cache-Control": {"no-store"}, "Date": {date}, "Expires": {at(time.Hour)}},
			vercel: want{reason: "Cache-Control: no-store"}, rfc9111: want{reason: "Cache-Control: no-store"}},
		{name: "targeted field first",
			header: http.Header{"Cdn-Cache-Control": {"max-age=5"}, "Cache-Control": {"max-age=30"}},
			vercel: want{fresh: 5 * time.Second}, rfc9111: want{fresh: 5 * time.Second}},
		{name: "targeted field ignores Expires",
			header: http.Header{"Cdn-Cache-Control": {"stale-while-revalidate=5"}, "Date": {date}, "Expires": {at(time.Hour)}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{reason: "no positive freshness lifetime"}},
		{name: "targeted no-store over max-age",
			header: http.Header{"Cdn-Cache-Control": {"no-store"}, "Cache-Control": {"max-age=30"}},
			vercel: want{reason: "Cdn-Cache-Control: no-store"}, rfc9111: want{reason: "Cdn-Cache-Control: no-store"}},
		{name: "Age counts against max-age",
			header: http.Header{"Cache-Control": {"max-age=30"}, "Age": {"30"}},
			vercel: want{reason: "no positive s-maxage"}, rfc9111: want{reason: `stale on arrival (Age 30)`}},
	}
	for _, tt := range tests {
		for _, rc := range []struct {
			rules Rules
			want  want
		}{{RulesVercel, tt.vercel}, {RulesRFC9111, tt.rfc9111}} {
			t.Run(tt.name+"/"+string(rc.rules), func(t *testing.T) {
				p, reason := decide(rc.rules, http.StatusOK, tt.header, now)
				if reason != rc.want.reason {
					t.Fatalf("reason %q, want %q", reason, rc.want.reason)
				}
				if reason == "" && p.fresh != rc.want.fresh {
					t.Fatalf("fresh %v, want %v", p.fresh, rc.want.fresh)
				}
			})
		}
	}
}

// TestStatusRules: Vercel's rules store 200, 404, 301 and 308; RFC 9111's
// any final status with explicit freshness (section 3) but 206 and 304,
// and, with must-understand, only the status codes RFC 9110 defines
// (section 5.2.2.3).
func TestStatusRules(t *testing.T) {
	tests := []struct {
		status          int
		cc              string
		vercel, rfc9111 bool
	}{
		{200, "s-maxage=60", true, true},
		{404, "s-maxage=60", true, true},
		{308, "s-maxage=60", true, true},
		{203, "s-maxage=60", false, true},
		{204, "max-age=60", false, true},
		{410, "s-maxage=60", false, true},
		{500, "s-maxage=60", false, true},
		{599, "s-maxage=60", false, true},
		{206, "s-maxage=60", false, false},
		{304, "s-maxage=60", false, false},
		{599, "max-age=60, must-understand", false, false},
		{503, "max-age=60, must-understand", false, true},
		{200, "s-maxage=60, must-understand", true, true},
	}
	for _, tt := range tests {
		for _, rc := range []struct {
			rules Rules
			want  bool
		}{{RulesVercel, tt.vercel}, {RulesRFC9111, tt.rfc9111}} {
			_, reason := decide(rc.rules, tt.status, http.Header{"Cache-Control": {tt.cc}}, time.Now())
			if (reason == "") != rc.want {
				t.Errorf("%s: %d %q: reason %q, want stored=%v", rc.rules, tt.status, tt.cc, reason, rc.want)
			}
		}
	}
}

func TestParseRules(t *testing.T) {
	for in, want := range map[string]Rules{"": RulesVercel, "vercel": RulesVercel, "rfc9111": RulesRFC9111} {
		if got, err := ParseRules(in); err != nil || got != want {
			t.Errorf("ParseRules(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"RFC9111", "rfc", "vercel "} {
		if _, err := ParseRules(in); err == nil {
			t.Errorf("ParseRules(%q): no error", in)
		}
	}
}
