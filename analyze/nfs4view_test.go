package analyze_test

// tshark's view of the NFSv4 (and NFSv2) messages of the public captures,
// one row per RPC message, recorded under testdata/nfs4view so that the
// oracle tests (nfs4_oracle_test.go) run where tshark is not installed.
// Regenerate with tshark 4.0 (the captures in ../shared/pcaps-public):
//
//	go test ./analyze -run TestNFS4Oracle -update-nfs4view
//
// tshark's -T fields joins the fields of every message of a frame into one
// row, which loses which operation belongs to which message when a frame
// holds several (nfstrace's NFSv4.1 capture has frames with three and four
// calls); its JSON keeps each message's rpc and nfs layers apart, so the
// view is made from that (--no-duplicate-keys: repeated fields become
// arrays, in order).

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

var updateNFS4View = flag.Bool("update-nfs4view", false, "regenerate testdata/nfs4view from the public captures (needs tshark 4.0)")

// nfs4ViewDir holds the recorded views; publicPcaps the captures.
const (
	nfs4ViewDir = "testdata/nfs4view"
	publicPcaps = "../../shared/pcaps-public"
)

// tsharkArgs decode as the issue asks: client ports below 1024 as RPC (the
// backchannel's replies come from them), two passes (so calls know their
// reply frame), and, unless the capture has a gap, out-of-order segments
// reassembled (outOfOrder).
var (
	tsharkArgs = []string{"-2", "-n", "-d", "tcp.port==1-1023,rpc", "-Y", "rpc",
		"-T", "json", "--no-duplicate-keys", "-J", "frame ip ipv6 tcp udp rpc nfs nfs.cb"}
	outOfOrder = []string{"-o", "tcp.reassemble_out_of_order:TRUE"}
)

// viewColumns are the columns of a recorded view.
var viewColumns = []string{
	"frame", "time", "src", "dst", "sport", "dport", // where
	"xid", "msgtyp", "prog", "vers", "proc", // the RPC header
	"partner", "rpctime", // a reply's call frame (tshark 4.0's rpc.repframe) and rpc.time
	"main",         // the first nfs.main_opcode
	"ops",          // every nfs.opcode, comma-joined
	"cbops",        // every nfs.cb.operation, comma-joined
	"status",       // a reply's nfs.nfsstat4 (the COMPOUND status) or nfs.status2
	"wlen", "rlen", // sums of nfs.write.data_length and nfs.read.data_length
	// SEQUENCE's: nfs.session_id4 (colons removed), and the largest
	// nfs.slotid, nfs.high_slotid and nfs.target_high_slotid
	"session", "slotid", "highslot", "target",
}

// makeNFS4View runs tshark on capture and returns its view.
func makeNFS4View(capture string, gapped bool) ([]byte, error) {
	args := append([]string{"-r", capture}, tsharkArgs...)
	if !gapped {
		args = append(args, outOfOrder...)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("tshark %s: %w", capture, err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string]any `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(viewColumns, "\t") + "\n")
	for _, p := range pkts {
		l := p.Source.Layers
		where := []string{field(l["frame"], "frame.number"), field(l["frame"], "frame.time_epoch"),
			field(l["ip"], "ip.src") + field(l["ipv6"], "ipv6.src"), field(l["ip"], "ip.dst") + field(l["ipv6"], "ipv6.dst"),
			field(l["tcp"], "tcp.srcport") + field(l["udp"], "udp.srcport"), field(l["tcp"], "tcp.dstport") + field(l["udp"], "udp.dstport")}
		rpcs, nfs, cbs := list(l["rpc"]), list(l["nfs"]), list(l["nfs.cb"])
		for _, rpc := range rpcs {
			var body any // the message's nfs or nfs.cb layer, in order
			switch field(rpc, "rpc.program") {
			case "100003":
				if len(nfs) > 0 {
					body, nfs = nfs[0], nfs[1:]
				}
			case "1073741824":
				if len(cbs) > 0 {
					body, cbs = cbs[0], cbs[1:]
				}
			}
			status := field(body, "nfs.nfsstat4") + field(body, "nfs.status2")
			row := append(where[:6:6], field(rpc, "rpc.xid"), field(rpc, "rpc.msgtyp"), field(rpc, "rpc.program"),
				field(rpc, "rpc.programversion"), field(rpc, "rpc.procedure"), field(rpc, "rpc.repframe"), field(rpc, "rpc.time"),
				first(body, "nfs.main_opcode"), strings.Join(all(body, "nfs.opcode"), ","), strings.Join(all(body, "nfs.cb.operation"), ","),
				status, sum(all(body, "nfs.write.data_length")), sum(all(body, "nfs.read.data_length")),
				strings.ReplaceAll(firstOf(all(body, "nfs.session_id4")), ":", ""),
				largest(all(body, "nfs.slotid")), largest(all(body, "nfs.high_slotid")), largest(all(body, "nfs.target_high_slotid")))
			b.WriteString(strings.Join(row, "\t") + "\n")
		}
		if len(nfs)+len(cbs) > 0 {
			return nil, fmt.Errorf("frame %s: %d nfs layers not matched to an RPC message", where[0], len(nfs)+len(cbs))
		}
	}
	return b.Bytes(), nil
}

// list returns a layer that may be one object or an array of them.
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// field returns the top-level string value of key in object v ("" if
// none); the first when repeated.
func field(v any, key string) string {
	m, _ := v.(map[string]any)
	switch x := m[key].(type) {
	case string:
		return x
	case []any:
		if len(x) > 0 {
			s, _ := x[0].(string)
			return s
		}
	}
	return ""
}

// first is field: nfs.main_opcode is top-level in the nfs layer.
func first(v any, key string) string { return field(v, key) }

// all returns every value of key anywhere in v.
func all(v any, key string) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys) // deterministic output
			for _, k := range keys {
				if k == key {
					for _, s := range list(x[k]) {
						if s, ok := s.(string); ok {
							out = append(out, s)
						}
					}
					continue
				}
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func firstOf(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

func largest(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	var n int64
	for _, v := range vals {
		x, _ := strconv.ParseInt(v, 0, 64) // nfs.seqid-like fields may be hex
		n = max(n, x)
	}
	return strconv.FormatInt(n, 10)
}

func sum(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	var n int64
	for _, v := range vals {
		x, _ := strconv.ParseInt(v, 10, 64)
		n += x
	}
	return strconv.FormatInt(n, 10)
}

// nfs4View returns the recorded view of a public capture, regenerating it
// first with -update-nfs4view; ok is false (the test skips) when the
// capture is absent.
func nfs4View(t *testing.T, pc oracleCapture) (rows []map[string]string, capture string, ok bool) {
	t.Helper()
	name, gapped := pc.file, pc.gapped
	capture = pc.path()
	if _, err := os.Stat(capture); err != nil {
		return nil, "", false
	}
	path := filepath.Join(nfs4ViewDir, name+".tsv")
	if *updateNFS4View {
		b, err := makeNFS4View(capture, gapped)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeMaybeGzipped(path, b); err != nil {
			t.Fatal(err)
		}
	}
	view, err := tsharkview.Read(path)
	if err != nil {
		t.Fatalf("%v (regenerate with go test ./analyze -run TestNFS4Oracle -update-nfs4view)", err)
	}
	for _, r := range view {
		rows = append(rows, map[string]string(r))
	}
	return rows, capture, true
}

// writeMaybeGzipped writes b to path, or to path+".gz" compressed when it
// is large, removing the other.
func writeMaybeGzipped(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	os.Remove(path)
	os.Remove(path + ".gz")
	if len(b) < 32<<10 {
		return os.WriteFile(path, b, 0o644)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path+".gz", z.Bytes(), 0o644)
}
