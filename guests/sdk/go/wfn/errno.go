package wfn

import "github.com/wfn-dev/wfn/abi"

// errnoErrors holds each known Errno already boxed as an error, so error
// paths do not allocate.
var errnoErrors = [...]error{
	nil,
	abi.ENOTFOUND, abi.EINVAL, abi.ETOOLARGE, abi.ECLOSED,
	abi.ECANCELED, abi.EDENIED, abi.EBADHANDLE, abi.EIO,
	abi.ECONNREFUSED, abi.ETIMEDOUT,
}

// result turns an import's result into an error: nil when it is not
// negative, else the abi.Errno.
func result(n int32) error {
	if n >= 0 {
		return nil
	}
	if -int(n) < len(errnoErrors) {
		return errnoErrors[-n]
	}
	return abi.Errno(n)
}
