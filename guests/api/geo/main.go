// Function geo answers with the client's location as JSON, the object of
// Vercel's geolocation(request): city, country, flag, countryRegion,
// region, latitude, longitude and postalCode, the unknown ones left out.
package main

import (
	"encoding/json"

	"github.com/wfn-dev/wfn/guests/sdk/go/wfn"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/catchall"
)

func init() { catchall.HandleFunc(geo) }

func geo(w *wfn.ResponseWriter, r *wfn.Request) {
	b, _ := json.Marshal(r.Geolocation()) // wfn.Geo has Vercel's field names as JSON tags
	w.SetHeader("Content-Type", "application/json")
	w.Write(b)
}

func main() {}
