package fluid

import "testing"

// The serving goroutine sends the body take gives it while the guest
// writes into inv.out: the two must never share a buffer, whatever the
// order of writes and empty takes (a take between two flushes with
// nothing written is the case that once did).
func TestTakeNeverSharesABuffer(t *testing.T) {
	inv := newInvocation()
	inv.headReady, inv.streaming = true, true
	var spare []byte
	headSent := false
	for i, wrote := range []bool{true, true, false, true, false, false, true, true} {
		if wrote {
			if n := inv.write([]byte("chunk")); n != 5 {
				t.Fatalf("round %d: write = %d, want 5", i, n)
			}
		}
		s, _ := inv.take(headSent, spare)
		headSent = true
		if len(s.body) > 0 {
			if cap(inv.out) > 0 && &s.body[:1][0] == &inv.out[:1][0] {
				t.Fatalf("round %d: take gave the body it sends and the guest's buffer one array", i)
			}
			spare = s.body
		}
		if wrote && string(s.body) != "chunk" {
			t.Fatalf("round %d: body %q, want %q", i, s.body, "chunk")
		}
	}
}
