// Package taglist encodes cache tags as the host imports take them: one
// string, the tags joined with commas ("a,b"), as in Vercel's
// Vercel-Cache-Tag header. A tag therefore cannot contain a comma.
package taglist

import (
	"strings"

	"github.com/wfn-dev/wfn/abi"
)

// Encode returns tags joined with commas, or abi.EINVAL for a tag that is
// empty or contains a comma: the host could not tell such a list apart
// from another. No tags give nil. The host checks the limits (count and
// length).
func Encode(tags []string) ([]byte, error) {
	n := 0
	for _, t := range tags {
		if t == "" || strings.IndexByte(t, ',') >= 0 {
			return nil, abi.EINVAL
		}
		n += len(t) + 1
	}
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, 0, n-1)
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, t...)
	}
	return b, nil
}
