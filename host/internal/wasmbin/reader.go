package wasmbin

// reader decodes the binary format from buf[pos:end]. Offsets are
// absolute offsets in the module, for errors.
type reader struct {
	buf []byte
	pos int
	end int
}

func (r *reader) eof() bool { return r.pos >= r.end }

func (r *reader) errEOF(what string) error {
	return malformed(r.pos, "unexpected end of input reading %s", what)
}

func (r *reader) byte(what string) (byte, error) {
	if r.pos >= r.end {
		return 0, r.errEOF(what)
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

func (r *reader) skip(n int, what string) error {
	if n < 0 || n > r.end-r.pos {
		return r.errEOF(what)
	}
	r.pos += n
	return nil
}

// u32 reads an unsigned LEB128 u32.
func (r *reader) u32(what string) (uint32, error) {
	start := r.pos
	var v uint32
	for i := 0; ; i++ {
		b, err := r.byte(what)
		if err != nil {
			return 0, err
		}
		if i == 4 {
			if b&0xF0 != 0 { // continuation bit or unused bits set
				return 0, malformed(start, "integer too large reading %s", what)
			}
			return v | uint32(b)<<28, nil
		}
		v |= uint32(b&0x7F) << (7 * i)
		if b&0x80 == 0 {
			return v, nil
		}
	}
}

// signed skips a signed LEB128 integer of the given bit width (32, 33 or
// 64) and returns its value.
func (r *reader) signed(bits int, what string) (int64, error) {
	start := r.pos
	maxBytes := (bits + 6) / 7
	var v int64
	for i := 0; ; i++ {
		b, err := r.byte(what)
		if err != nil {
			return 0, err
		}
		shift := 7 * i
		if i == maxBytes-1 {
			// The last byte: no continuation, and the unused bits must be
			// the sign extension of the last used bit.
			if b&0x80 != 0 {
				return 0, malformed(start, "integer too large reading %s", what)
			}
			used := bits - shift // bits of the value in this byte
			if used < 7 && !signExtended(b, used) {
				return 0, malformed(start, "integer too large reading %s", what)
			}
			v |= int64(b&0x7F) << shift
			if shift+7 < 64 && b&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v, nil
		}
		v |= int64(b&0x7F) << shift
		if b&0x80 == 0 {
			if shift+7 < 64 && b&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v, nil
		}
	}
}

// signExtended reports whether bits used-1..6 of the last LEB byte b are all
// equal (the unused bits extend the sign of the last used bit).
func signExtended(b byte, used int) bool {
	mask := byte(0x7F) &^ (byte(1)<<uint(used-1) - 1) // bits used-1..6
	top := b & mask
	return top == 0 || top == mask
}

// name skips a length-prefixed UTF-8 name and returns it.
func (r *reader) name(what string) (string, error) {
	n, err := r.u32(what)
	if err != nil {
		return "", err
	}
	start := r.pos
	if err := r.skip(int(n), what); err != nil {
		return "", err
	}
	return string(r.buf[start:r.pos]), nil
}

// body reads the size of the code section's function body i and returns a
// reader over the body, leaving r at its end.
func (r *reader) body(i uint32) (*reader, error) {
	size, err := r.u32("function body size")
	if err != nil {
		return nil, err
	}
	if uint64(size) > uint64(r.end-r.pos) {
		return nil, malformed(r.pos, "function body %d size %d past the end of the code section", i, size)
	}
	b := &reader{buf: r.buf, pos: r.pos, end: r.pos + int(size)}
	r.pos = b.end
	return b, nil
}
