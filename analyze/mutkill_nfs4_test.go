package analyze_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// NFSv4 operations counted and what a COMPOUND's main operation keeps
// (nfs4.go, nfs4report.go), against hand counts of hand-built COMPOUNDs
// (RFC 8881 section 18 for the operation codes and arguments).

// TestMutOperationsListed: one COMPOUND of SEQUENCE, PUTFH, LOOKUP
// answered NFS4ERR_NOENT at the LOOKUP, and one CB_COMPOUND of
// CB_SEQUENCE, CB_RECALL answered NFS4_OK: the operations table lists
// exactly those five operations, in code order, forward before callback,
// the LOOKUP with its one error and no callback operation with any.
func TestMutOperationsListed(t *testing.T) {
	v := newConvo(t)
	v.send(true, lookupCompound(1))
	v.send(false, lookupNoent(1))
	v.send(false, cbRecall(2))
	v.send(true, cbRecallOK(2))
	r := v.s.run(analyze.DefaultOptions())
	var got []string
	for _, o := range r.Operations {
		got = append(got, fmt.Sprintf("%s/%d/%d/%v", o.Name, o.Count, o.Errors, o.Callback))
	}
	want := []string{"LOOKUP/1/1/false", "PUTFH/1/0/false", "SEQUENCE/1/0/false", "CB_RECALL/1/0/true", "CB_SEQUENCE/1/0/true"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("operations\n got %v\nwant %v", got, want)
	}
}

// TestMutNFS4ReadOffset: an NFSv4.0 COMPOUND PUTFH, READ (offset 8192,
// count 4096) never answered: the finding names the READ's offset and
// count as it does an NFSv3 READ's.
func TestMutNFS4ReadOffset(t *testing.T) {
	v := newConvo(t)
	read := words(25, 0, 0, 0, 0, 0, 8192, 4096) // READ: stateid (seqid, other), offset, count
	v.send(true, compound40(9, 2, words(22, 4, 0xabcd0001), read))
	v.s.seg(3*time.Second, false, v.sv, v.c, ackF, 501, nil)
	r := v.s.run(analyze.DefaultOptions())
	k := findKinds(r)
	if len(k[analyze.KindUnanswered]) != 1 {
		t.Fatalf("findings %+v", r.Findings)
	}
	if s := k[analyze.KindUnanswered][0].Summary; !strings.Contains(s, "offset 8192, 4096 bytes") {
		t.Errorf("summary %q lacks the READ's offset 8192, 4096 bytes", s)
	}
}
