package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/compress/s2"
)

// compressMin is the size above which values are compressed.
const compressMin = 1024

// Value encodings: the first byte of a stored value.
const (
	valueRaw byte = 0
	valueS2  byte = 1
)

var errCorrupt = errors.New("wfn: cache: corrupt record")

// encodeValue returns v as stored: a byte naming the encoding, then the
// bytes. Values over compressMin are S2-compressed when that saves space.
func encodeValue(v []byte) []byte {
	if len(v) > compressMin {
		buf := make([]byte, 1+s2.MaxEncodedLen(len(v)))
		c := s2.Encode(buf[1:], v)
		if len(c) < len(v) {
			buf[0] = valueS2
			return buf[:1+len(c)]
		}
	}
	buf := make([]byte, 1+len(v))
	buf[0] = valueRaw
	copy(buf[1:], v)
	return buf
}

// decodeValue reverses encodeValue. The result does not alias b.
func decodeValue(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("empty value: %w", errCorrupt)
	}
	switch b[0] {
	case valueRaw:
		return append([]byte{}, b[1:]...), nil
	case valueS2:
		n, err := s2.DecodedLen(b[1:])
		if err != nil || n > MaxValueSize {
			return nil, fmt.Errorf("compressed value: %w", errCorrupt)
		}
		v, err := s2.Decode(make([]byte, n), b[1:])
		if err != nil {
			return nil, fmt.Errorf("compressed value: %w: %w", errCorrupt, err)
		}
		return v, nil
	default:
		return nil, fmt.Errorf("value encoding %d: %w", b[0], errCorrupt)
	}
}

// record is an entry as stored: seq is the entry's position in the store's
// sequence of writes, which tag states are compared with.
type record struct {
	seq     uint64
	created time.Time
	expires time.Time // zero: never
	tags    []string
	value   []byte // encoded by encodeValue
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// marshal encodes r for the disk store: seq, created and expires as 8 bytes
// each, the tags as a count and length-prefixed strings, then the value.
func (r *record) marshal() []byte {
	n := 24 + binary.MaxVarintLen64 + len(r.value)
	for _, t := range r.tags {
		n += binary.MaxVarintLen64 + len(t)
	}
	b := make([]byte, 24, n)
	binary.BigEndian.PutUint64(b[0:], r.seq)
	binary.BigEndian.PutUint64(b[8:], uint64(unixNano(r.created)))
	binary.BigEndian.PutUint64(b[16:], uint64(unixNano(r.expires)))
	b = binary.AppendUvarint(b, uint64(len(r.tags)))
	for _, t := range r.tags {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return append(b, r.value...)
}

// unmarshalRecord decodes what marshal wrote. The record's value aliases b.
func unmarshalRecord(b []byte) (record, error) {
	var r record
	if len(b) < 24 {
		return r, errCorrupt
	}
	r.seq = binary.BigEndian.Uint64(b[0:])
	r.created = fromUnixNano(int64(binary.BigEndian.Uint64(b[8:])))
	r.expires = fromUnixNano(int64(binary.BigEndian.Uint64(b[16:])))
	b = b[24:]
	nt, k := binary.Uvarint(b)
	if k <= 0 || nt > MaxTags {
		return r, errCorrupt
	}
	b = b[k:]
	if nt > 0 {
		r.tags = make([]string, nt)
	}
	for i := range r.tags {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return r, errCorrupt
		}
		r.tags[i] = string(b[k : k+int(l)])
		b = b[k+int(l):]
	}
	r.value = b
	return r, nil
}

// tagState is what a store remembers about one tag. The sequence numbers
// name the tag operations: an entry whose seq is at or before one of them
// was set before that operation.
type tagState struct {
	expired     uint64    // entries at or before: misses
	invalidated uint64    // entries at or before: stale
	deleted     uint64    // entries at or before: stale until deleteUntil, then misses
	deleteUntil time.Time // meaningful when deleted != 0
}

// delete records a DeleteTags at seq and time now.
func (s *tagState) delete(seq uint64, now time.Time, deadline time.Duration) {
	if deadline <= 0 {
		s.expired = seq
		return
	}
	until := now.Add(deadline)
	if s.deleted != 0 {
		if !now.Before(s.deleteUntil) {
			// The earlier deletion's deadline passed: it is now an expiry.
			s.expired = max(s.expired, s.deleted)
		} else if s.deleteUntil.Before(until) {
			until = s.deleteUntil
		}
	}
	s.deleted, s.deleteUntil = seq, until
}

func (s *tagState) marshal() []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b[0:], s.expired)
	binary.BigEndian.PutUint64(b[8:], s.invalidated)
	binary.BigEndian.PutUint64(b[16:], s.deleted)
	binary.BigEndian.PutUint64(b[24:], uint64(unixNano(s.deleteUntil)))
	return b
}

func unmarshalTagState(b []byte) (tagState, error) {
	if len(b) != 32 {
		return tagState{}, errCorrupt
	}
	return tagState{
		expired:     binary.BigEndian.Uint64(b[0:]),
		invalidated: binary.BigEndian.Uint64(b[8:]),
		deleted:     binary.BigEndian.Uint64(b[16:]),
		deleteUntil: fromUnixNano(int64(binary.BigEndian.Uint64(b[24:]))),
	}, nil
}

// judge decides what Get answers for an entry set at seq that expires at
// expires (zero: never), given the states of its tags, at time now. It
// returns whether the entry is a miss, whether it is stale, and the earliest
// time after now at which the answer changes without any write (zero:
// never), which bounds how long the front may keep the answer.
func judge(seq uint64, expires time.Time, states []tagState, now time.Time) (miss, stale bool, until time.Time) {
	if !expires.IsZero() {
		if !now.Before(expires) {
			return true, false, time.Time{}
		}
		until = expires
	}
	for _, s := range states {
		if seq <= s.expired {
			return true, false, time.Time{}
		}
		if s.deleted != 0 && seq <= s.deleted {
			if !now.Before(s.deleteUntil) {
				return true, false, time.Time{}
			}
			stale = true
			if until.IsZero() || s.deleteUntil.Before(until) {
				until = s.deleteUntil
			}
		}
		if seq <= s.invalidated {
			stale = true
		}
	}
	return false, stale, until
}
