package wazeroengine

import (
	"io"
	"io/fs"
	"sync/atomic"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// errFull is what a write past the limit of /tmp fails with. ENOSPC would
// say it better, but wazero (v1.12.0) cannot pass it on: its file-system
// API's errors (experimental/sys.Errno) have no ENOSPC, and its WASI layer
// maps any other value to EIO. EIO is what a full disk gives where it has
// no better error.
const errFull = experimentalsys.EIO

// quotaFS is a directory on the host, as the guest's writable /tmp, whose
// files may hold limit bytes together: a write, pwrite or truncate that
// would go past it fails with errFull.
type quotaFS struct {
	experimentalsys.FS
	used  *atomic.Int64
	limit int64
}

func newQuotaFS(dir string, limit int64) *quotaFS {
	return &quotaFS{FS: sysfs.DirFS(dir), used: new(atomic.Int64), limit: limit}
}

// grow accounts for n more bytes (n may be negative), or refuses them.
func (q *quotaFS) grow(n int64) bool {
	if n <= 0 {
		q.used.Add(n)
		return true
	}
	for {
		u := q.used.Load()
		if u+n > q.limit {
			return false
		}
		if q.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// release forgets the bytes of the file at path if removing it frees them.
func (q *quotaFS) release(path string) {
	if st, errno := q.FS.Lstat(path); errno == 0 && st.Mode.IsRegular() && st.Nlink <= 1 {
		q.used.Add(-st.Size)
	}
}

func (q *quotaFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	var before int64
	if flag&experimentalsys.O_TRUNC != 0 {
		if st, errno := q.FS.Stat(path); errno == 0 && st.Mode.IsRegular() {
			before = st.Size
		}
	}
	f, errno := q.FS.OpenFile(path, flag, perm)
	if errno != 0 {
		return nil, errno
	}
	q.used.Add(-before)
	return &quotaFile{File: f, q: q}, 0
}

func (q *quotaFS) Unlink(path string) experimentalsys.Errno {
	st, stErr := q.FS.Lstat(path)
	errno := q.FS.Unlink(path)
	if errno == 0 && stErr == 0 && st.Mode.IsRegular() && st.Nlink <= 1 {
		q.used.Add(-st.Size)
	}
	return errno
}

func (q *quotaFS) Rename(from, to string) experimentalsys.Errno {
	st, stErr := q.FS.Lstat(to)
	errno := q.FS.Rename(from, to)
	if errno == 0 && stErr == 0 && st.Mode.IsRegular() && st.Nlink <= 1 {
		q.used.Add(-st.Size) // the file renamed over
	}
	return errno
}

// quotaFile counts what its writes add to the file's size.
type quotaFile struct {
	experimentalsys.File
	q *quotaFS
}

// growth is how many bytes writing n at off adds to the file.
func (f *quotaFile) growth(off int64, n int) (int64, experimentalsys.Errno) {
	st, errno := f.File.Stat()
	if errno != 0 {
		return 0, errno
	}
	return max(0, off+int64(n)-st.Size), 0
}

func (f *quotaFile) Write(buf []byte) (int, experimentalsys.Errno) {
	var off int64
	if f.File.IsAppend() {
		st, errno := f.File.Stat()
		if errno != 0 {
			return 0, errno
		}
		off = st.Size
	} else {
		var errno experimentalsys.Errno
		if off, errno = f.File.Seek(0, io.SeekCurrent); errno != 0 {
			return 0, errno
		}
	}
	return f.write(off, buf, f.File.Write)
}

func (f *quotaFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	return f.write(off, buf, func(b []byte) (int, experimentalsys.Errno) { return f.File.Pwrite(b, off) })
}

func (f *quotaFile) write(off int64, buf []byte, write func([]byte) (int, experimentalsys.Errno)) (int, experimentalsys.Errno) {
	g, errno := f.growth(off, len(buf))
	if errno != 0 {
		return 0, errno
	}
	if !f.q.grow(g) {
		return 0, errFull
	}
	n, errno := write(buf)
	if n < len(buf) {
		f.q.grow(-min(g, int64(len(buf)-n))) // what was not written
	}
	return n, errno
}

func (f *quotaFile) Truncate(size int64) experimentalsys.Errno {
	st, errno := f.File.Stat()
	if errno != 0 {
		return errno
	}
	if !f.q.grow(size - st.Size) {
		return errFull
	}
	if errno := f.File.Truncate(size); errno != 0 {
		f.q.grow(st.Size - size)
		return errno
	}
	return 0
}
