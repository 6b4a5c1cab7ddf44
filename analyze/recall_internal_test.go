package analyze

import (
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// TestRecallExplains: the rule server_delaying (delay.go) asks of the
// recalls: a DELAY on a file another client was slow to return (or never
// returned) after its recall is the recall's doing; on the holder's own
// calls, on another file, or after a prompt return, it is not.
func TestRecallExplains(t *testing.T) {
	a := New(DefaultOptions())
	a.v4()
	holder, waiter := [16]byte{15: 1}, [16]byte{15: 3}
	const dir, file = 0xd1, 0xf1
	a.paths.max = 16
	a.paths.learn(file, dir, false, []byte("x"))
	r := &recall{key: recallKey{holder: holder, fh: file}, first: tcpflow.FrameRef{Frame: 1, Time: 1e9}}
	a.nfs4.recalls.recalls = map[recallKey]*recall{r.key: r}
	for _, c := range []struct {
		who  [16]byte
		fh   uint32
		name string
		want bool
	}{
		{waiter, file, "", true},  // SETATTR of the file
		{waiter, dir, "x", true},  // OPEN or REMOVE of its name
		{waiter, dir, "y", false}, // another name
		{holder, file, "", false}, // the holder's own call
		{waiter, 0xf2, "", false}, // another file
		{waiter, dir, "", false},  // the directory itself
		{[16]byte{15: 9}, file, "", true},
	} {
		if got := a.recallExplains(c.who, c.fh, c.name); got != c.want {
			t.Errorf("recallExplains(%v, %#x, %q) = %v, want %v", c.who[15], c.fh, c.name, got, c.want)
		}
	}
	r.returned = tcpflow.FrameRef{Frame: 2, Time: 1e9 + 1e6} // returned 1 ms later
	if a.recallExplains(waiter, file, "") {
		t.Error("a recall returned within 1 ms explains the delays")
	}
	r.returned.Time = 1e9 + 2e9 // 2 s, past --slow
	if !a.recallExplains(waiter, file, "") {
		t.Error("a recall returned 2 s later does not explain the delays")
	}
}
