package taglist_test

import (
	"errors"
	"testing"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/internal/taglist"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		tags []string
		want string
		err  error
	}{
		{name: "none"},
		{name: "one", tags: []string{"a"}, want: "a"},
		{name: "several", tags: []string{"product-1", "products", "x y"}, want: "product-1,products,x y"},
		{name: "empty tag", tags: []string{"a", ""}, err: abi.EINVAL},
		{name: "comma", tags: []string{"a,b"}, err: abi.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := taglist.Encode(tt.tags)
			if string(b) != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Errorf("Encode = %q %v, want %q %v", b, err, tt.want, tt.err)
			}
		})
	}
}
