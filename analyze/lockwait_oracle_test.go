package analyze_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// TestLockWaitAgreesWithTshark: the lab's nfs4-lock-wait (ganesha, two
// libnfs clients, make-captures.sh): one locks bytes 0-99 of small.txt,
// the other tries LOCK once a second. ganesha answered every try
// NFS4ERR_DENIED, also after the holder's LOCKU succeeded (its CLOSE then
// failed NFS4ERR_LOCKS_HELD). The lock_wait finding's frames are tshark's:
// the first and last LOCK reply with status 10010, the holder's LOCK
// granted (the first LOCK reply with no error) and its LOCKU reply; the
// counts of denials, and of denials after the LOCKU, are tshark's.
func TestLockWaitAgreesWithTshark(t *testing.T) {
	const file = "nfs4-lock-wait.pcap"
	rows, err := tsharkview.Read(filepath.Join(pcapDir, file+".nfs4.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	has := func(list, v string) bool { return slices.Contains(strings.Split(list, ","), v) }
	var denied []int64
	var grant, unlock int64
	for _, r := range rows {
		if r["rpc.msgtyp"] != "1" {
			continue
		}
		f, _ := strconv.ParseInt(r["frame.number"], 10, 64)
		ok := !slices.ContainsFunc(strings.Split(r["nfs.nfsstat4"], ","), func(s string) bool { return s != "0" })
		switch {
		case has(r["nfs.opcode"], "12") && has(r["nfs.nfsstat4"], "10010"):
			denied = append(denied, f)
		case has(r["nfs.opcode"], "12") && ok && grant == 0:
			grant = f
		case has(r["nfs.opcode"], "14") && ok:
			unlock = f
		}
	}
	if len(denied) < 2 || grant == 0 || unlock == 0 {
		t.Fatalf("tshark: denied %v, grant %d, unlock %d: not the capture's shape", denied, grant, unlock)
	}
	after := 0
	for _, f := range denied {
		if f > unlock {
			after++
		}
	}
	r := runPublic(t, filepath.Join(pcapDir, file))
	fs := findingsOf(r, analyze.KindLockWait)
	if len(fs) != 1 {
		t.Fatalf("lock_wait findings %+v, want 1", fs)
	}
	f := fs[0]
	want := []int64{grant, denied[0], unlock, denied[len(denied)-1]}
	slices.Sort(want)
	if f.Severity != analyze.SeverityWarning || !slices.Equal(f.Frames, want) || f.Path != "/export/small.txt" {
		t.Errorf("%s frames %v path %q, want warning at %v (tshark): %s", f.Severity, f.Frames, f.Path, want, f.Summary)
	}
	for _, w := range []string{
		fmt.Sprintf("denied (NFS4ERR_DENIED) %d times", len(denied)),
		fmt.Sprintf("LOCK on the file granted at frame %d", grant),
		fmt.Sprintf("LOCKU succeeded at frame %d, yet the server denied %d later tries", unlock, after),
		"a write lock on bytes 0 to 99",
	} {
		if !strings.Contains(f.Summary, w) {
			t.Errorf("finding does not say %q: %s", w, f.Summary)
		}
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v: a lock wait is no stall", r.Diagnoses)
	}
}
