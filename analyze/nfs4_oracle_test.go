package analyze_test

// NFSv4 statistics held to tshark (issue 12's "done when"), on every
// public NFSv4 capture: per main operation (Wireshark's nfs.main_opcode,
// the call's), the calls, replies and latency min/max (rpc.time) of the
// procedure rows; the count of every operation (nfs.opcode of the calls);
// errors (replies whose COMPOUND nfs.nfsstat4 is not 0, and NFSv2's
// nfs.status2); READ/WRITE bytes (nfs.read.data_length of the replies,
// nfs.write.data_length of the calls); callbacks paired, none undecodable.
// The oracle is tshark's recorded view (nfs4view_test.go), never
// nfsstall's own output. Adding a capture is one line in nfs4Captures.

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/decode"
)

// oracleCapture is a capture held to tshark's view: file in dir (the
// public captures' when empty: ../testdata/pcaps is pcapDir). gapped: the
// capture missed bytes the peers ACKed; tshark's out-of-order reassembly
// would wait for them and show no message after the gap, so its view is
// made in order (see tsharkArgs).
type oracleCapture struct {
	file, dir string
	gapped    bool
}

// path is where the capture is.
func (c oracleCapture) path() string {
	if c.dir == "" {
		return filepath.Join(publicPcaps, c.file)
	}
	return filepath.Join(c.dir, c.file)
}

// nfs4Captures are the captures checked: the public NFSv4 ones, with the
// NFSv2 one whose errors the issue names. Adding one is a line here (and
// go test ./analyze -run TestNFS4Oracle -update-nfs4view with tshark 4.0).
var nfs4Captures = []oracleCapture{
	{file: "beats--nfs4_close.pcap"},
	{file: "beats--nfsv42_clone.pcap"},
	{file: "beats--nfsv42_layoutstats.pcap"},
	{file: "nfstrace--eth-ipv4-tcp-nfsv4.pcap.gz"},
	{file: "nfstrace--eth-ipv4-tcp-nfsv41.pcap"},
	{file: "suricata-verify--nfs4-01_input.pcap"},
	{file: "tcpdump--nfs-v4.pcap", gapped: true},
	{file: "suricata-verify--nfsv2.pcap"},
	// The lab's real NFSv4.0 captures (ganesha and libnfs): in the
	// repository, so these run everywhere.
	{file: "nfs4-ops.pcap.gz", dir: pcapDir},
	{file: "nfs4-grace.pcap.gz", dir: pcapDir},
	{file: "nfs4-server-hung.pcap.gz", dir: pcapDir},
}

// cbProgram is the Linux client's callback program, the one the captures use.
const cbProgram = "1073741824"

// oracleRow is what tshark's view gives for one procedure row.
type oracleRow struct {
	calls, replies, errors, bytes int64
	min, max                      int64 // rpc.time, ns
}

// oracleView is tshark's view of a capture, summed as the report sums it.
type oracleView struct {
	rows     map[string]*oracleRow // by rowName
	ops      map[string]int64      // "OP" and "CB_OP" names
	cbCalls  int64
	cbPaired int64
}

// rowName names a report row as the test keys it: "NFS v4 WRITE".
func rowName(program string, vers uint32, name string) string {
	return fmt.Sprintf("%s v%d %s", program, vers, name)
}

func u32(t *testing.T, s string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return uint32(n)
}

// viewRow returns the row of a call message of the view, "" for calls the
// test does not check (NFSv3, MOUNT, PORTMAP).
func viewRow(t *testing.T, m map[string]string) string {
	proc := u32(t, m["proc"])
	switch {
	case m["prog"] == "100003" && m["vers"] == "4":
		if proc != decode.NFS4ProcCompound {
			return rowName("NFS", 4, decode.ProcName(decode.ProgNFS, 4, proc))
		}
		if m["main"] == "" {
			return rowName("NFS", 4, "COMPOUND")
		}
		return rowName("NFS", 4, decode.OpName(u32(t, m["main"])))
	case m["prog"] == "100003" && m["vers"] == "2":
		return rowName("NFS", 2, decode.ProcName(decode.ProgNFS, 2, proc))
	case m["prog"] == cbProgram:
		if proc != decode.CBProcCompound {
			return rowName("NFS_CB", 1, decode.CBProcName(proc))
		}
		// nfsstall's rule (tshark has no main callback opcode): the first
		// operation that is not CB_SEQUENCE.
		main := "CB_COMPOUND"
		for _, op := range strings.Split(m["cbops"], ",") {
			if op == "" {
				continue
			}
			main = decode.CBOpName(u32(t, op))
			if u32(t, op) != decode.CBOpSequence {
				break
			}
		}
		return rowName("NFS_CB", 1, main)
	}
	return ""
}

// buildOracle sums tshark's view as the report sums it: replies in the
// row of their call (tshark's partner frame), by the call's main opcode.
func buildOracle(t *testing.T, msgs []map[string]string) *oracleView {
	o := &oracleView{rows: map[string]*oracleRow{}, ops: map[string]int64{}}
	row := func(name string) *oracleRow {
		r := o.rows[name]
		if r == nil {
			r = &oracleRow{}
			o.rows[name] = r
		}
		return r
	}
	type callAt struct{ frame, xid string }
	calls := map[callAt]string{} // call message -> its row
	for _, m := range msgs {
		switch m["msgtyp"] {
		case "0":
			name := viewRow(t, m)
			if name == "" {
				continue
			}
			calls[callAt{m["frame"], m["xid"]}] = name
			r := row(name)
			r.calls++
			if m["wlen"] != "" {
				r.bytes += int64(u32(t, m["wlen"]))
			}
			for _, op := range strings.Split(m["ops"], ",") {
				if op != "" {
					o.ops[decode.OpName(u32(t, op))]++
				}
			}
			if m["prog"] == cbProgram {
				o.cbCalls++
				for _, op := range strings.Split(m["cbops"], ",") {
					if op != "" {
						o.ops[decode.CBOpName(u32(t, op))]++
					}
				}
			}
		case "1":
			name, ok := calls[callAt{m["partner"], m["xid"]}]
			if !ok || m["rpctime"] == "" {
				continue // not paired by tshark, or a call the test does not check
			}
			r := row(name)
			r.replies++
			if m["status"] != "" && m["status"] != "0" {
				r.errors++
			}
			if m["rlen"] != "" {
				r.bytes += int64(u32(t, m["rlen"]))
			}
			ns := epochNS(t, m["rpctime"])
			if r.replies == 1 || ns < r.min {
				r.min = ns
			}
			r.max = max(r.max, ns)
			if m["prog"] == cbProgram {
				o.cbPaired++
			}
		}
	}
	return o
}

// runPublic analyses a capture on the NFS port, PORTMAP's, and MOUNT's
// (1048 in the NFSv2 capture, as cmd/nfsstall's public test has it;
// 20048 in the lab's).
func runPublic(t *testing.T, path string) *analyze.Report {
	t.Helper()
	in, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	opts := analyze.DefaultOptions()
	opts.Ports = []uint16{2049, 111, 1048, 20048}
	r, err := analyze.Run(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNFS4Oracle(t *testing.T) {
	// What was checked, by origin: the lab's captures are always here, the
	// public ones only with ../shared beside the repository (each origin
	// must reach its own minimum, so a missing ../shared skips rather than
	// fails, and a check that stops working still fails everywhere).
	checkedBy := map[bool]map[string]int{false: {}, true: {}}
	public := 0
	for _, pc := range nfs4Captures {
		t.Run(pc.file, func(t *testing.T) {
			msgs, path, ok := nfs4View(t, pc)
			if !ok {
				t.Skipf("%s not found", pc.path())
			}
			checked := checkedBy[pc.dir == ""]
			if pc.dir == "" {
				public++
			}
			want := buildOracle(t, msgs)
			r := runPublic(t, path)
			got := map[string]analyze.Procedure{}
			for _, p := range r.Procedures {
				if (p.ProgramName == "NFS" && (p.Version == 4 || p.Version == 2)) || p.ProgramName == "NFS_CB" {
					got[rowName(p.ProgramName, p.Version, p.Name)] = p
				}
			}
			for name := range got {
				if want.rows[name] == nil {
					t.Errorf("%s: a row tshark's view does not have (%+v)", name, got[name])
				}
			}
			for name, w := range want.rows {
				p, ok := got[name]
				if !ok {
					t.Errorf("%s: no row; tshark: %d calls", name, w.calls)
					continue
				}
				checkRow(t, name, p, w)
				checked["rows"]++
				if w.errors > 0 {
					checked["rows with errors"]++
				}
				if w.bytes > 0 {
					checked["rows with bytes"]++
				}
			}
			gotOps := map[string]int64{}
			for _, op := range r.Operations {
				gotOps[op.Name] += op.Count
			}
			for op, n := range want.ops {
				if gotOps[op] != n {
					t.Errorf("operation %s: counted %d, tshark's nfs.opcode %d", op, gotOps[op], n)
				}
				checked["operations"]++
			}
			for op, n := range gotOps {
				if _, ok := want.ops[op]; !ok && n > 0 {
					t.Errorf("operation %s: counted %d, tshark has none", op, n)
				}
			}
			if want.cbCalls > 0 {
				checked["captures with callbacks"]++
				if want.cbPaired != want.cbCalls {
					t.Errorf("tshark paired %d of %d callbacks: the view is not what the test expects", want.cbPaired, want.cbCalls)
				}
				if r.Summary.Undecodable != 0 {
					t.Errorf("%d records undecodable, want 0 (callbacks are valid RPC)", r.Summary.Undecodable)
				}
			}
		})
	}
	// The checks must reach what they are for: the lab's captures always,
	// the public ones when all of them are here.
	lab := checkedBy[false]
	if lab["rows"] < 20 || lab["rows with errors"] < 3 || lab["rows with bytes"] < 3 || lab["operations"] < 30 {
		t.Errorf("checked too little on the lab's captures: %v", lab)
	}
	pub := checkedBy[true]
	if public == nPublic(nfs4Captures) && (pub["rows"] < 40 || pub["rows with errors"] < 3 || pub["rows with bytes"] < 3 ||
		pub["operations"] < 40 || pub["captures with callbacks"] < 2) {
		t.Errorf("checked too little on the public captures: %v", pub)
	}
	t.Logf("checked: lab %v; %d public captures %v", lab, public, pub)
}

// nPublic counts the public captures among cs.
func nPublic(cs []oracleCapture) int {
	n := 0
	for _, c := range cs {
		if c.dir == "" {
			n++
		}
	}
	return n
}

// checkRow compares one procedure row with tshark's.
func checkRow(t *testing.T, name string, p analyze.Procedure, w *oracleRow) {
	t.Helper()
	for _, c := range []struct {
		what      string
		got, want int64
	}{{"calls", p.Calls, w.calls}, {"replies", p.Replies, w.replies}, {"errors", p.Errors, w.errors}, {"bytes", p.Bytes, w.bytes}} {
		if c.got != c.want {
			t.Errorf("%s: %s %d, tshark %d", name, c.what, c.got, c.want)
		}
	}
	if w.replies == 0 || p.Untimed > 0 {
		return
	}
	if p.Retransmits > 0 {
		t.Logf("%s: latency not compared: %d calls were re-sent (rpc.time is from the last)", name, p.Retransmits)
		return
	}
	if d := math.Abs(p.Latency.Min - float64(w.min)/1e6); d > 1e-6 {
		t.Errorf("%s: latency min %.6f ms, tshark's rpc.time %.6f ms", name, p.Latency.Min, float64(w.min)/1e6)
	}
	if d := math.Abs(p.Latency.Max - float64(w.max)/1e6); d > 1e-6 {
		t.Errorf("%s: latency max %.6f ms, tshark's rpc.time %.6f ms", name, p.Latency.Max, float64(w.max)/1e6)
	}
}
