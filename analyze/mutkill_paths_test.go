package analyze_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// File names learned (paths.go) at the edge of their bound: a name is
// kept whole up to maxPathName (48) bytes.

// TestMutPathNameOfMaxLength: an NFSv3 LOOKUP of a 48-byte name returns
// handle 0xdeadbeef 0xcafef00d; a READ of that handle never answered is
// shown with the whole name as its (relative) path.
func TestMutPathNameOfMaxLength(t *testing.T) {
	name := strings.Repeat("n", 47) + "x" // 48 bytes
	v := newConvo(t)
	lookup := append(words(2, 0, 2, 100003, 3, 3, 0, 0, 0, 0, 8, 0x11, 0x22), xdrString(name)...)
	v.send(true, record(lookup))
	v.send(false, record(words(2, 1, 0, 0, 0, 0, 0, 8, 0xdeadbeef, 0xcafef00d, 0, 0)))
	v.send(true, readCall(3, 0, 4096))
	v.s.seg(3*time.Second, false, v.sv, v.c, ackF, 501, nil)
	r := v.s.run(analyze.DefaultOptions())
	if len(r.Unanswered) != 1 || r.Unanswered[0].Path != name {
		t.Errorf("unanswered %+v, want path %q", r.Unanswered, name)
	}
}
