package fluid

import (
	"context"
	"encoding/binary"
	"math"
	"time"

	"github.com/wfn-dev/wfn/abi"
	"github.com/wfn-dev/wfn/host/internal/hostcall"
)

// The WASI preview 1 functions a version 2 instance sees differently from
// a version 1 instance: those that touch its event source, descriptor
// abi.EventFD (SPEC-v2.md section 3). An engine answers them with these
// for that descriptor, and as usual for every other. Layouts and numbers
// are WASI snapshot 1's (github.com/WebAssembly/WASI, phases/snapshot,
// witx typenames: subscription, event, fdstat, errno).

// WASI errno values used here.
const (
	errnoSuccess = 0
	errnoAgain   = 6
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
	errnoNotsup  = 58
)

// WASI sizes and tags.
const (
	subscriptionSize = 48
	eventSize        = 32
	eventClock       = 0
	eventFdRead      = 1
	eventFdWrite     = 2
	fdflagNonblock   = 4
	filetypeCharDev  = 2
	rightFdRead      = 1 << 1
	rightPollFd      = 1 << 27
)

var le = binary.LittleEndian

// Fdstat writes the fdstat of the event source into dst (24 bytes): a
// character device, non-blocking, readable and pollable. Go's os.NewFile
// reads it to decide that the descriptor goes through its network poller.
func Fdstat(dst []byte) {
	clear(dst[:24])
	dst[0] = filetypeCharDev
	le.PutUint16(dst[2:], fdflagNonblock)
	le.PutUint64(dst[8:], rightFdRead|rightPollFd)
}

// readArray is mem.Read of n elements of size bytes at ptr, false when
// their byte size does not fit in 32 bits: computed in 32 bits it would
// wrap around to a short range, past which the caller would index.
func readArray(mem hostcall.Memory, ptr, n, size uint32) ([]byte, bool) {
	total := uint64(n) * uint64(size)
	if total > math.MaxUint32 {
		return nil, false
	}
	return mem.Read(ptr, uint32(total))
}

// ReadEvents is fd_read on the event source: whole event records into the
// iovecs (iovs, iovsLen) of mem, the bytes read at resultNread; EAGAIN
// when none is pending. Outside a serving call (l nil) there are none.
func ReadEvents(l *Loop, mem hostcall.Memory, iovs, iovsLen, resultNread uint32) uint32 {
	vecs, ok := readArray(mem, iovs, iovsLen, 8)
	if !ok {
		return errnoFault
	}
	if l != nil {
		l.enterHost()
	}
	total := uint32(0)
	for i := range iovsLen {
		ptr, n := le.Uint32(vecs[i*8:]), le.Uint32(vecs[i*8+4:])
		buf, ok := mem.Read(ptr, n)
		if !ok {
			return errnoFault
		}
		if l == nil {
			break
		}
		got := l.q.read(buf)
		total += uint32(got)
		if got < len(buf)-len(buf)%abi.EventSize || got == 0 {
			break
		}
	}
	if total == 0 {
		return errnoAgain
	}
	out, ok := mem.Read(resultNread, 4)
	if !ok {
		return errnoFault
	}
	le.PutUint32(out, total)
	return errnoSuccess
}

// PollOneoff is poll_oneoff for a version 2 instance: a read subscription
// on the event source waits until an event is pending; clock
// subscriptions (relative, as Go, Rust and wasi-libc use them) bound the
// wait; a read subscription on another descriptor is ready at once and a
// write subscription is ENOTSUP, as wazero answers them. It blocks the
// calling guest, which has nothing else to run, and returns early when
// ctx ends. The events are written to out, their number to resultNevents.
func PollOneoff(ctx context.Context, l *Loop, mem hostcall.Memory, in, out, nsubs, resultNevents uint32) uint32 {
	if nsubs == 0 {
		return errnoInval
	}
	subs, ok := readArray(mem, in, nsubs, subscriptionSize)
	if !ok {
		return errnoFault
	}
	evs, ok := readArray(mem, out, nsubs, eventSize)
	if !ok {
		return errnoFault
	}
	nout, ok := mem.Read(resultNevents, 4)
	if !ok {
		return errnoFault
	}
	if l != nil {
		// The guest is between two runs: its memory size is current.
		l.recordMemory(mem)
	}
	timeout := time.Duration(-1)
	// Indexes of the read subscriptions on the event source and of the
	// clocks, on the stack for the few that Go and Rust subscribe.
	var eventSubsBuf, clocksBuf [4]uint32
	eventSubs, clocks := eventSubsBuf[:0], clocksBuf[:0]
	n := uint32(0)
	emit := func(i uint32, typ byte, errno uint16) {
		e := evs[n*eventSize : (n+1)*eventSize]
		clear(e)
		copy(e, subs[i*subscriptionSize:i*subscriptionSize+8])
		le.PutUint16(e[8:], errno)
		e[10] = typ
		n++
	}
	for i := range nsubs {
		s := subs[i*subscriptionSize : (i+1)*subscriptionSize]
		switch s[8] {
		case eventClock:
			if flags := le.Uint16(s[40:]); flags != 0 {
				emit(i, eventClock, errnoNotsup) // absolute time: not used by the toolchains we serve
				continue
			}
			d := time.Duration(le.Uint64(s[24:]))
			if timeout < 0 || d < timeout {
				timeout = d
			}
			clocks = append(clocks, i)
		case eventFdRead:
			if le.Uint32(s[16:]) == abi.EventFD {
				eventSubs = append(eventSubs, i)
			} else {
				emit(i, eventFdRead, errnoSuccess)
			}
		case eventFdWrite:
			emit(i, eventFdWrite, errnoNotsup)
		default:
			return errnoInval
		}
	}
	if n == 0 {
		// Nothing ready yet: wait for an event or the first clock.
		ready := false
		if l != nil && len(eventSubs) > 0 {
			ready = l.waitEvents(ctx, timeout)
		} else if timeout >= 0 {
			// Only clocks: the guest waits for its next timer, with
			// nothing to run until then.
			if l != nil && timeout > 0 {
				l.park()
			}
			t := time.NewTimer(timeout)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			if l != nil && timeout > 0 {
				l.unpark()
			}
		} else if l != nil {
			// Only subscriptions that can never fire: wait for the end.
			l.park()
			<-ctx.Done()
			l.unpark()
		}
		if ready {
			for _, i := range eventSubs {
				emit(i, eventFdRead, errnoSuccess)
			}
		} else {
			for _, i := range clocks {
				emit(i, eventClock, errnoSuccess)
			}
		}
	} else if l != nil {
		l.enterHost()
	}
	le.PutUint32(nout, n)
	return errnoSuccess
}
