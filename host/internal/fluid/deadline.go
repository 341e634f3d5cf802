package fluid

import (
	"errors"
	"net/http"
	"time"

	"github.com/wfn-dev/wfn/abi"
)

// ErrPastDeadlineAfterResponse is the cause Pool.Answer gets (with
// TimedOut and no writer) for an invocation whose response was sent and
// whose work (WaitUntil tasks, goroutines it started) still ran at its
// deadline: maxDuration covers the whole invocation (abi/SPEC-v2.md
// section 4, Deadline).
var ErrPastDeadlineAfterResponse = errors.New("wfn: the invocation's work after its response ran past its maximum duration")

// expireAfterResponse arms the invocation's deadline once its serving
// goroutine has left (Serve returned) and it has not ended: at
// req.Deadline it is aborted (EventAbort, value 2, which also closes its
// outbound connections), the failure is answered as TimedOut with
// ErrPastDeadlineAfterResponse, and the watchdog applies (Pool.watch),
// as when the deadline passes before the response is complete. The timer
// stops when the invocation ends (finish).
func (p *Pool) expireAfterResponse(inv *Invocation, r *http.Request, req Request) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	select {
	case <-inv.over:
		return
	default:
	}
	inv.deadlineTimer = time.AfterFunc(time.Until(req.Deadline), func() {
		select {
		case <-inv.over:
			return
		default:
		}
		inv.abort(abi.AbortDeadline)
		p.Answer(nil, r, req, TimedOut, ErrPastDeadlineAfterResponse)
		p.watch(inv.l, inv)
	})
}
