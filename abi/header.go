package abi

// ValidHeaderName reports whether name may be a header name: a non-empty
// HTTP token (RFC 9110, section 5.6.2). Header imports refuse others with
// EINVAL.
func ValidHeaderName[T string | []byte](name T) bool {
	if len(name) == 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
			c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~':
		default:
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether value may be a header value: no CR, LF,
// NUL or other control byte but HTAB. Header imports refuse others with
// EINVAL.
func ValidHeaderValue[T string | []byte](value T) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
