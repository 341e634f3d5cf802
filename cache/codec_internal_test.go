package cache

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

func FuzzRecord(f *testing.F) {
	f.Add(uint64(1), int64(1700000000000000000), int64(0), "a,b", []byte("value"))
	f.Add(uint64(0), int64(0), int64(5), "", bytes.Repeat([]byte("x"), 5000))
	f.Fuzz(func(t *testing.T, seq uint64, created, expires int64, tags string, value []byte) {
		// Arbitrary bytes never panic.
		if r, err := unmarshalRecord(value); err == nil {
			decodeValue(r.value)
		}
		decodeValue(value)

		var ts []string
		if tags != "" {
			ts = bytes2strings(tags)
		}
		if len(ts) > MaxTags {
			return
		}
		in := record{seq: seq, created: fromUnixNano(created), expires: fromUnixNano(expires), tags: ts, value: encodeValue(value)}
		out, err := unmarshalRecord(in.marshal())
		if err != nil {
			t.Fatal(err)
		}
		if out.seq != in.seq || !out.created.Equal(in.created) || !out.expires.Equal(in.expires) || !slices.Equal(out.tags, in.tags) {
			t.Fatalf("round trip: %+v, want %+v", out, in)
		}
		v, err := decodeValue(out.value)
		if err != nil || !bytes.Equal(v, value) {
			t.Fatalf("value round trip: %d bytes, %v; want %d bytes", len(v), err, len(value))
		}
	})
}

func bytes2strings(s string) []string {
	var out []string
	for _, f := range bytes.Split([]byte(s), []byte(",")) {
		out = append(out, string(f))
	}
	return out
}

func TestEncodeValueCompresses(t *testing.T) {
	text := bytes.Repeat([]byte("compressible "), 200)
	if enc := encodeValue(text); enc[0] != valueS2 || len(enc) >= len(text)/4 {
		t.Errorf("%d bytes of text encoded as %d bytes, kind %d: want S2, a quarter or less", len(text), len(enc), enc[0])
	}
	small := bytes.Repeat([]byte("a"), compressMin)
	if enc := encodeValue(small); enc[0] != valueRaw {
		t.Errorf("a value of %d bytes was compressed", len(small))
	}
}

func TestTagStateDelete(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name     string
		start    tagState
		seq      uint64
		now      time.Time
		deadline time.Duration
		want     tagState
	}{
		{"no deadline is an expiry", tagState{}, 5, t0, 0, tagState{expired: 5}},
		{"first deletion", tagState{}, 5, t0, time.Second, tagState{deleted: 5, deleteUntil: t0.Add(time.Second)}},
		{"earlier deadline kept", tagState{deleted: 3, deleteUntil: t0.Add(time.Second)}, 5, t0, time.Hour,
			tagState{deleted: 5, deleteUntil: t0.Add(time.Second)}},
		{"later deadline replaced", tagState{deleted: 3, deleteUntil: t0.Add(time.Hour)}, 5, t0, time.Second,
			tagState{deleted: 5, deleteUntil: t0.Add(time.Second)}},
		{"passed deadline becomes an expiry", tagState{expired: 1, deleted: 3, deleteUntil: t0}, 5, t0, time.Second,
			tagState{expired: 3, deleted: 5, deleteUntil: t0.Add(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.start
			st.delete(tt.seq, tt.now, tt.deadline)
			if st != tt.want {
				t.Fatalf("got %+v, want %+v", st, tt.want)
			}
			got, err := unmarshalTagState(st.marshal())
			if err != nil || got != st {
				t.Fatalf("round trip: %+v, %v", got, err)
			}
		})
	}
}
