package cdn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/wfn-dev/wfn/cache"
)

// minCompress is the smallest body worth compressing.
const minCompress = 1024

// entry is a stored response as the cache serves it. It is never modified
// once built: followers of a flight and concurrent hits share it.
type entry struct {
	status     int
	header     []field // client header: no Content-Length, Content-Encoding only for a body the origin encoded
	pol        policy
	body       [numEnc][]byte // by encoding; nil: not kept
	negotiated bool           // the cache compressed the body: the encoding is chosen per request
	names      []string       // request headers the response varies on (varyNames); nil: none
	variant    string         // variantID of the request the response answered; "" without names
	validators bool           // an ETag or a Last-Modified: conditional requests are evaluated
}

// setValidators sets e.validators from its header.
func (e *entry) setValidators() {
	for _, f := range e.header {
		if f.name == "Etag" || f.name == "Last-Modified" {
			e.validators = true
			return
		}
	}
}

// field is one header of an entry. An entry keeps a slice of them rather
// than an http.Header: a hit decodes it with two allocations, not a map.
type field struct {
	name   string
	values []string // capacity clipped: shared by every response, appends must copy
}

func fields(h http.Header) []field {
	fs := make([]field, 0, len(h))
	for k, vs := range h {
		fs = append(fs, field{k, vs[:len(vs):len(vs)]})
	}
	return fs
}

// magic starts every encoded entry; a change of layout changes it.
var magic = []byte("wfn-cdn2")

// errCorrupt is wrapped by decode for a value that is not an entry.
var errCorrupt = errors.New("wfn: cdn: corrupt entry")

// encode returns the entry in the store's value layout, keeping only the
// bodies in keep.
func (e *entry) encode(keep [numEnc]bool) []byte {
	n := len(magic) + 32
	values := 0
	for _, name := range e.names {
		n += len(name) + 4
	}
	n += len(e.variant) + 4
	for _, f := range e.header {
		n += len(f.name) + 8
		for _, v := range f.values {
			n += len(v) + 4
		}
		values += len(f.values)
	}
	for i, b := range e.body {
		if keep[i] {
			n += len(b) + 8
		}
	}
	out := make([]byte, 0, n)
	out = append(out, magic...)
	out = binary.AppendUvarint(out, uint64(e.status))
	out = binary.AppendUvarint(out, uint64(e.pol.fresh/time.Second))
	out = binary.AppendUvarint(out, uint64(e.pol.swr/time.Second))
	out = binary.AppendUvarint(out, uint64(e.pol.sie/time.Second))
	out = binary.AppendUvarint(out, uint64(e.pol.age/time.Second))
	out = binary.AppendUvarint(out, uint64(len(e.names)))
	for _, n := range e.names {
		out = appendString(out, n)
	}
	out = appendString(out, e.variant)
	out = binary.AppendUvarint(out, uint64(len(e.header)))
	out = binary.AppendUvarint(out, uint64(values))
	for _, f := range e.header {
		out = appendString(out, f.name)
		out = binary.AppendUvarint(out, uint64(len(f.values)))
		for _, v := range f.values {
			out = appendString(out, v)
		}
	}
	var flags byte
	if e.negotiated {
		flags = 1
	}
	out = append(out, flags)
	for i, b := range e.body {
		if !keep[i] || b == nil {
			out = append(out, 0)
			continue
		}
		out = append(out, 1)
		out = appendString(out, string(b))
	}
	return out
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decode reads an entry written by encode. The bodies alias v.
func decode(v []byte) (*entry, error) {
	d := decoder{b: v}
	if !bytes.HasPrefix(v, magic) {
		return nil, fmt.Errorf("no magic: %w", errCorrupt)
	}
	d.b = d.b[len(magic):]
	e := &entry{status: int(d.uvarint())}
	e.pol.fresh = time.Duration(d.uvarint()) * time.Second
	e.pol.swr = time.Duration(d.uvarint()) * time.Second
	e.pol.sie = time.Duration(d.uvarint()) * time.Second
	e.pol.age = time.Duration(d.uvarint()) * time.Second
	if n := d.uvarint(); n > 0 {
		if n > uint64(len(d.b)) {
			return nil, fmt.Errorf("%d vary names: %w", n, errCorrupt)
		}
		e.names = make([]string, n)
		for i := range e.names {
			e.names[i] = string(d.bytes())
		}
	}
	e.variant = string(d.bytes())
	nf, nv := d.uvarint(), d.uvarint()
	if nf > uint64(len(d.b)) || nv > uint64(len(d.b)) {
		return nil, fmt.Errorf("%d headers, %d values: %w", nf, nv, errCorrupt)
	}
	e.header = make([]field, nf)
	values := make([]string, nv)
	for i := range e.header {
		e.header[i].name = string(d.bytes())
		n := d.uvarint()
		if n > uint64(len(values)) {
			return nil, fmt.Errorf("%d values left, %d wanted: %w", len(values), n, errCorrupt)
		}
		for j := range n {
			values[j] = string(d.bytes())
		}
		e.header[i].values, values = values[:n:n], values[n:]
	}
	e.setValidators()
	e.negotiated = d.byte() == 1
	for i := range e.body {
		if d.byte() == 1 {
			e.body[i] = d.bytes()
		}
	}
	if d.bad || len(d.b) != 0 || e.status < 200 || e.status > 999 {
		return nil, fmt.Errorf("bad layout: %w", errCorrupt)
	}
	if e.body[encIdentity] == nil && e.body[encZstd] == nil && e.body[encGzip] == nil {
		return nil, fmt.Errorf("no body: %w", errCorrupt)
	}
	return e, nil
}

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return []byte{}
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

// encodings tries to fit the entry in one store value: every body, then
// without the identity body (served by decompressing), then the zstd body
// alone. It returns nil when none fits.
func (e *entry) fit() []byte {
	tries := [][numEnc]bool{{true, true, true}}
	if e.body[encZstd] != nil {
		tries = append(tries, [numEnc]bool{false, true, true}, [numEnc]bool{false, false, true})
	}
	for _, keep := range tries {
		if v := e.encode(keep); len(v) <= cache.MaxValueSize {
			return v
		}
	}
	return nil
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return w
}}

var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(err) // only for bad options
		}
		return enc
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
		if err != nil {
			panic(err) // only for bad options
		}
		return dec
	})
)

// compress fills the gzip and zstd bodies from the identity body of a
// response with header h, keeping
// each only if it is smaller. It reports whether any was kept.
func (e *entry) compress(h http.Header) bool {
	src := e.body[encIdentity]
	if len(src) < minCompress || !compressible(h) {
		return false
	}
	var buf bytes.Buffer
	buf.Grow(len(src) / 2)
	gw := gzipWriters.Get().(*gzip.Writer)
	gw.Reset(&buf)
	_, werr := gw.Write(src)
	cerr := gw.Close()
	gzipWriters.Put(gw)
	if werr == nil && cerr == nil && buf.Len() < len(src) {
		e.body[encGzip] = buf.Bytes()
	}
	if z := zstdEncoder().EncodeAll(src, make([]byte, 0, len(src)/2)); len(z) < len(src) {
		e.body[encZstd] = z
	}
	e.negotiated = e.body[encGzip] != nil || e.body[encZstd] != nil
	return e.negotiated
}

// identity returns the uncompressed body, decompressing a stored
// compressed one when the identity body was not kept.
func (e *entry) identity() ([]byte, error) {
	if b := e.body[encIdentity]; b != nil {
		return b, nil
	}
	if z := e.body[encZstd]; z != nil {
		b, err := zstdDecoder().DecodeAll(z, nil)
		if err != nil {
			return nil, fmt.Errorf("cannot decompress entry: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no identity body: %w", errCorrupt)
}

// indexMagic starts the value stored under a URL's entry key when its
// response varies: an index of the variants, which are stored under their
// own keys (variantKey).
var indexMagic = []byte("wfn-cdnx")

// index lists the variants stored for a URL.
type index struct {
	names    []string // the request headers the variants vary on (varyNames)
	variants []string // variantIDs, most recently stored first
}

func isIndex(v []byte) bool { return bytes.HasPrefix(v, indexMagic) }

func (x index) encode() []byte {
	out := append([]byte{}, indexMagic...)
	for _, list := range [][]string{x.names, x.variants} {
		out = binary.AppendUvarint(out, uint64(len(list)))
		for _, s := range list {
			out = appendString(out, s)
		}
	}
	return out
}

// decodeIndex reads an index written by encode.
func decodeIndex(v []byte) (index, error) {
	var x index
	if !isIndex(v) {
		return x, fmt.Errorf("no index magic: %w", errCorrupt)
	}
	d := decoder{b: v[len(indexMagic):]}
	for _, list := range []*[]string{&x.names, &x.variants} {
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return x, fmt.Errorf("index of %d strings: %w", n, errCorrupt)
		}
		*list = make([]string, n)
		for i := range *list {
			(*list)[i] = string(d.bytes())
		}
	}
	if d.bad || len(d.b) != 0 || len(x.names) == 0 {
		return x, fmt.Errorf("bad index layout: %w", errCorrupt)
	}
	return x, nil
}
