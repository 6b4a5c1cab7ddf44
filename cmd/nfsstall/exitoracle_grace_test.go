package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// tsharkGraceStalls adds to tsharkStalls the grace periods the nfs4 view
// (NAME.nfs4.tsv, nfs4-* captures only) shows: a client address whose
// calls were answered NFS4ERR_GRACE (10013, the COMPOUND's status: the
// first nfs.nfsstat4) from the first such call's time to the last such
// reply's for at least stallAfter (times, clients and calls from the rpc
// view; on a reply tshark 4.0 names its call's frame rpc.repframe).
func tsharkGraceStalls(t *testing.T, name string, v *view) []string {
	t.Helper()
	rows, err := tsharkview.Read(filepath.Join(pcapDir, name+".nfs4.tsv"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	byFrame := map[string]tsharkview.Row{}
	for _, r := range v.rpc {
		byFrame[r["frame.number"]] = r
	}
	type span struct{ since, until tsharkview.Row }
	spans := map[string]*span{}
	var order []string
	for _, r := range rows {
		if st, _, _ := strings.Cut(r["nfs.nfsstat4"], ","); r["rpc.msgtyp"] != "1" || st != "10013" {
			continue
		}
		reply := byFrame[r["frame.number"]]
		client := reply["ip.dst"] + reply["ipv6.dst"]
		s := spans[client]
		if s == nil {
			s = &span{since: byFrame[reply["rpc.repframe"]]}
			spans[client] = s
			order = append(order, client)
		}
		s.until = reply
	}
	var out []string
	for _, c := range order {
		s := spans[c]
		if d := v.time(s.until).Sub(v.time(s.since)); d >= stallAfter {
			out = append(out, fmt.Sprintf("calls from %s answered NFS4ERR_GRACE from frame %s to frame %s, %v", c, s.since["frame.number"], s.until["frame.number"], d))
		}
	}
	return out
}
