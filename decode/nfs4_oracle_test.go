package decode

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The NFSv4 oracle: every COMPOUND and CB_COMPOUND of the public NFSv4
// captures, decoded here, against tshark's view of the same frames.
//
// The views under testdata/nfs4 were made with tshark 4.0.17 by
// `go test ./decode -run TestNFS4Oracle -update` (which runs the command in
// tsharkView); the captures are read where they are, in
// ../../shared/pcaps-public, and the test skips when they are absent.
//
// The messages are taken from the captures by a deliberately simple path
// (rpcMessages): TCP payloads per direction put in sequence order
// (retransmitted bytes taken once), record marking removed, each message
// placed at the frame holding its last byte, as tshark shows it. A gap in
// a stream (tcpdump--nfs-v4.pcap has one each way) loses the message it
// cuts: framing starts again after it, at the first offset where record
// markers line up with RPC headers. It does not handle UDP, IP fragments,
// overlapping retransmissions with different bytes, or RPCSEC_GSS
// integrity/privacy (the arguments would still be wrapped); none of the
// public NFSv4 captures needs them.
//
// Fields tshark shows in ways of its own, which the test reproduces:
// nfs.nfsstat4 holds the compound's status, each op's, and also each
// READDIR entry's rdattr_error attribute (and TEST_STATEID's status codes,
// CB_OFFLOAD's copy status: see the hand-built test); nfs.main_opcode
// lists every op of the lowest tier (OpTier), MainOp the first of them.
// With -update the test also rewrites the fuzz seeds (seed).

var update = flag.Bool("update", false, "regenerate the tshark views of testdata/nfs4 (needs tshark)")

var nfs4Public = []string{
	"beats--nfs4_close.pcap",
	"beats--nfsv42_clone.pcap",
	"beats--nfsv42_layoutstats.pcap",
	"nfstrace--eth-ipv4-tcp-nfsv4.pcap.gz",
	"nfstrace--eth-ipv4-tcp-nfsv41.pcap",
	"suricata-verify--nfs4-01_input.pcap",
	"tcpdump--nfs-v4.pcap",
}

const publicDir = "../../shared/pcaps-public"

// tsharkFields are the columns of a view, in order.
var tsharkFields = []string{"frame.number", "rpc.xid", "rpc.msgtyp", "rpc.program", "rpc.procedure", "nfs.opcode", "nfs.main_opcode", "nfs.nfsstat4",
	"nfs.count4", "nfs.write.data_length", "nfs.read.data_length"}

func tsharkView(capture string) ([]byte, error) { return tsharkViewFields(capture, tsharkFields...) }

// tsharkViewFields runs tshark on a capture for the given fields of every
// RPC frame, all occurrences comma-joined, with a header row.
func tsharkViewFields(capture string, fields ...string) ([]byte, error) {
	args := []string{"-n", "-r", capture, "-Y", "rpc", "-T", "fields", "-E", "occurrence=a", "-E", "header=y"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	return exec.Command("tshark", args...).Output()
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// writeView writes a view, compressed (path+".gz") when it is large.
func writeView(path string, b []byte) error {
	os.Remove(path)
	os.Remove(path + ".gz")
	if len(b) < 16<<10 {
		return os.WriteFile(path, b, 0o644)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return os.WriteFile(path+".gz", z.Bytes(), 0o644)
}

// frameView is one frame's row: the fields of every RPC message that ends
// in it, comma-joined in message order as tshark joins them.
type frameView struct {
	xid, msgtyp, prog, proc, ops, main, stat []string
	count, wlen, rlen                        []string // READ, COMMIT count4, WRITE's reply count; WRITE and READ data lengths
	cb                                       []string // callback op codes (hand-built view only)
}

func (v *frameView) row() string {
	j := func(s []string) string { return strings.Join(s, ",") }
	return strings.Join([]string{j(v.xid), j(v.msgtyp), j(v.prog), j(v.proc), j(v.ops), j(v.main), j(v.stat),
		j(v.count), j(v.wlen), j(v.rlen)}, "\t")
}

// readView reads a view, from path or else path+".gz".
func readView(t *testing.T, path string) map[int]string {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		b, err = os.ReadFile(path + ".gz")
		if err == nil {
			b, err = gunzip(b)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int]string{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue // header
		}
		f := strings.SplitN(line, "\t", 2)
		n, err := strconv.Atoi(f[0])
		if err != nil || len(f) != 2 {
			t.Fatalf("%s line %d: %q", path, i+1, line)
		}
		rows[n] = f[1]
	}
	return rows
}

func TestNFS4Oracle(t *testing.T) {
	if _, err := os.Stat(publicDir); err != nil {
		t.Skip("public captures absent:", err)
	}
	var compounds, cbs, frames int
	for _, name := range nfs4Public {
		t.Run(name, func(t *testing.T) {
			capture := filepath.Join(publicDir, name)
			viewPath := filepath.Join("testdata", "nfs4", strings.TrimSuffix(name, ".gz")+".tsv")
			if *update {
				out, err := tsharkView(capture)
				if err != nil {
					t.Fatal(err)
				}
				if err := writeView(viewPath, out); err != nil {
					t.Fatal(err)
				}
			}
			want := readView(t, viewPath)
			msgs, lost := rpcMessages(t, capture)
			if lost != "" {
				t.Log(lost)
			}
			got := map[int]*frameView{}
			o := newOracle()
			if *update {
				o.seeds = map[string][]byte{}
				defer func() {
					if err := writeSeeds(name, o.seeds); err != nil {
						t.Error(err)
					}
				}()
			}
			for _, m := range msgs {
				v := got[m.frame]
				if v == nil {
					v = &frameView{}
					got[m.frame] = v
				}
				kind := o.message(t, m, v)
				switch kind {
				case "compound":
					compounds++
				case "cb":
					cbs++
				}
			}
			h := o.head
			t.Logf("record heads (first %d bytes): %d of %d COMPOUND messages cut; main op kept in %d, every op in %d, READ/WRITE byte counts in %d; ops lost: %v; resumed from the tail: %d, then whole: %d; every op from head and tail: %d",
				HeadMax, h.cut, h.messages, h.sameMain, h.sameOps, h.sameBytes, h.opsLost, h.resumed, h.sameOpsResumed, h.wholeWithTail)
			// What the analysis can count on from a record's head, and
			// its tail for the ops after READ and WRITE data.
			if h.sameMain != h.messages || h.sameBytes != h.messages || h.wholeWithTail != h.messages {
				t.Errorf("record heads lose a main op, a byte count or an op that the tail does not give back")
			}
			var bad int
			for _, n := range sortedKeys(want, got) {
				w, g := want[n], ""
				if v := got[n]; v != nil {
					g = v.row()
				}
				frames++
				if w != g {
					bad++
					if bad <= 20 {
						t.Errorf("frame %d:\n tshark  %q\n decoded %q", n, w, g)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d frames differ", bad)
			}
		})
	}
	t.Logf("%d frames, %d COMPOUND and %d CB_COMPOUND messages compared with tshark", frames, compounds, cbs)
}

// The lab's NFSv4.0 captures (testdata/pcaps/nfs4-*, made by
// make-captures.sh with ganesha and libnfs) are in the repository, so this
// test never skips. Their view, NAME.nfs4.tsv, was written by the script
// with the oracle options (-2, -d tcp.port==1-1023,rpc,
// tcp.reassemble_out_of_order) for every frame tshark shows as program
// 100003: frame.number rpc.xid rpc.msgtyp nfs.main_opcode nfs.opcode
// nfs.nfsstat4 nfs.count4 rpc.time nfs.minorversion nfs.tag. The test
// decodes the same frames and prints the same columns: rpc.time from the
// capture's timestamps (reply frame minus call frame, paired by direction
// and XID), minorversion and tag from the decoded COMPOUND4args, tag also
// from COMPOUND4res.

const labPcapDir = "../testdata/pcaps"

// labColumns are the columns of NAME.nfs4.tsv after frame.number.
var labColumns = []string{"rpc.xid", "rpc.msgtyp", "nfs.main_opcode", "nfs.opcode", "nfs.nfsstat4",
	"nfs.count4", "rpc.time", "nfs.minorversion", "nfs.tag"}

// labRow is what the lab view holds for a frame.
func labRow(v *frameView, times, minors, tags []string) string {
	j := func(s []string) string { return strings.Join(s, ",") }
	return strings.Join([]string{j(v.xid), j(v.msgtyp), j(v.main), j(v.ops), j(v.stat), j(v.count),
		j(times), j(minors), j(tags)}, "\t")
}

// rpcTime prints a duration as tshark prints rpc.time.
func rpcTime(d time.Duration) string {
	return fmt.Sprintf("%d.%09d", d/time.Second, d%time.Second)
}

func labCaptures(t *testing.T) []string {
	var out []string
	for _, pat := range []string{"nfs4-*.pcap", "nfs4-*.pcap.gz", "nfs4-*.pcapng", "nfs4-*.pcapng.gz"} {
		m, err := filepath.Glob(filepath.Join(labPcapDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no nfs4-* captures in %s", labPcapDir)
	}
	return out
}

func TestNFS4OracleLab(t *testing.T) {
	var compounds, frames int
	for _, capture := range labCaptures(t) {
		name := strings.TrimSuffix(filepath.Base(capture), ".gz")
		t.Run(name, func(t *testing.T) {
			viewPath := filepath.Join(labPcapDir, name+".nfs4.tsv")
			checkLabHeader(t, viewPath)
			want := readView(t, viewPath)
			if len(want) == 0 {
				t.Fatalf("%s has no rows", viewPath)
			}
			msgs, lost := rpcMessages(t, capture)
			if lost != "" {
				t.Errorf("lab capture with a gap: %s", lost)
			}
			o := newOracle()
			type labFrame struct {
				v                   frameView
				times, minors, tags []string
			}
			got := map[int]*labFrame{}
			sent := map[string]time.Time{} // "dir xid" of NFS calls -> when
			for _, m := range msgs {
				f := got[m.frame]
				if f == nil {
					f = &labFrame{}
					got[m.frame] = f
				}
				xid, typ, err := Header(m.b)
				if err != nil {
					t.Errorf("frame %d: %v", m.frame, err)
					continue
				}
				kind := o.message(t, m, &f.v)
				switch {
				case typ == MsgCall:
					if n := len(f.v.prog); n > 0 && f.v.prog[n-1] == u(ProgNFS) {
						sent[m.dir+" "+u(xid)] = m.ts
					}
					if kind == "compound" {
						compounds++
						f.minors = append(f.minors, u(o.args.MinorVersion))
						f.tags = append(f.tags, string(o.args.Tag))
					}
				default:
					if at, ok := sent[m.peer+" "+u(xid)]; ok {
						delete(sent, m.peer+" "+u(xid))
						f.times = append(f.times, rpcTime(m.ts.Sub(at)))
					}
					if kind == "compound" {
						compounds++
						f.tags = append(f.tags, string(o.res.Tag))
					}
				}
			}
			h := o.head
			t.Logf("%d COMPOUND messages; record heads (first %d bytes): %d cut; main op kept in %d, READ/WRITE byte counts in %d, every op from head and tail in %d",
				h.messages, HeadMax, h.cut, h.sameMain, h.sameBytes, h.wholeWithTail)
			if h.sameMain != h.messages || h.sameBytes != h.messages || h.wholeWithTail != h.messages {
				t.Errorf("record heads lose a main op, a byte count or an op that the tail does not give back")
			}
			// Only NFS frames: the view has tshark's program 100003 rows
			// (the lab's portmap ticker is left out of it).
			rows := map[int]string{}
			for n, f := range got {
				if slices.Contains(f.v.prog, u(ProgNFS)) {
					rows[n] = labRow(&f.v, f.times, f.minors, f.tags)
				}
			}
			var bad int
			keys := make([]int, 0, len(want)+len(rows))
			for n := range want {
				keys = append(keys, n)
			}
			for n := range rows {
				if _, ok := want[n]; !ok {
					keys = append(keys, n)
				}
			}
			sort.Ints(keys)
			for _, n := range keys {
				frames++
				if w, g := want[n], rows[n]; w != g {
					bad++
					if bad <= 20 {
						t.Errorf("frame %d:\n tshark  %q\n decoded %q", n, w, g)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d frames differ (columns %s)", bad, len(keys), strings.Join(labColumns, " "))
			}
		})
	}
	t.Logf("%d frames, %d COMPOUND messages compared with tshark", frames, compounds)
}

// checkLabHeader fails unless the view has the columns the test prints.
func checkLabHeader(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		if b, err = os.ReadFile(path + ".gz"); err == nil {
			b, err = gunzip(b)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(b), "\n")
	if want := "frame.number\t" + strings.Join(labColumns, "\t"); head != want {
		t.Fatalf("%s header %q, want %q", path, head, want)
	}
}

func sortedKeys(a map[int]string, b map[int]*frameView) []int {
	var keys []int
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Ints(keys)
	return keys
}

// oracle decodes the messages of a capture in order, pairing replies with
// calls by direction and XID.
type oracle struct {
	calls    map[string][2]uint32 // "dir xid" -> program, procedure
	cbProgs  map[uint32]bool      // callback programs from CREATE_SESSION, SETCLIENTID
	args     Compound4Args
	res      Compound4Res
	cbArgs   CBCompound4Args
	cbRes    CBCompound4Res
	call     Call
	reply    Reply
	codesBuf []uint32
	// What a decode of the Framer's record head (the first HeadMax bytes
	// of each message) keeps of the compounds.
	head headStats
	// seeds, when set, collects one message per kind of compound (call or
	// reply, and its op codes) for the fuzz targets.
	seeds map[string][]byte
}

// headStats counts what the first HeadMax bytes of each COMPOUND message
// give, against the whole message.
type headStats struct {
	messages, cut, sameMain, sameOps, sameBytes int
	opsLost                                     map[uint32]int
	// resumed counts messages whose ops after cut data were decoded from
	// the record's tail (its last HeadMax bytes); sameOpsResumed those
	// that then had every op.
	resumed, sameOpsResumed int
	// wholeWithTail counts messages whose every op is known from the head,
	// or from the head and the tail.
	wholeWithTail int
}

// headCheck decodes the record head of m (as decode.Framer keeps it) and
// compares it with the whole decode, whose op codes are codes.
func (o *oracle) headCheck(t *testing.T, m rpcMessage, call bool, codes []uint32) {
	h := &o.head
	if h.opsLost == nil {
		h.opsLost = map[uint32]int{}
	}
	h.messages++
	head := m.b[:min(len(m.b), HeadMax)]
	if len(head) < len(m.b) {
		h.cut++
	}
	var got, resumed []uint32
	var main uint32
	var bytesOK bool
	if call {
		var c Call
		var a Compound4Args
		if ParseCall(head, &c) != nil {
			return
		}
		ParseCompoundArgs(c.Args, &a)
		got, main = a.OpCodes(nil), a.MainOp()
		argsStart := len(head) - len(c.Args)
		if at := argsStart + a.ResumeAt; a.ResumeAt > 0 && at >= len(m.b)-HeadMax && at <= len(m.b) {
			h.resumed++
			if ResumeCompoundArgs(m.b[at:], &a) == nil && slices.Equal(a.OpCodes(nil), codes) {
				h.sameOpsResumed++
			}
			resumed = a.OpCodes(nil)
		}
		bytesOK = true
		for i := range min(a.N, MaxOps) {
			if op := &o.args.Ops[i]; (op.Op == OpWrite || op.Op == OpRead) && (a.Ops[i].Has&HasCount == 0 || a.Ops[i].Count != op.Count) {
				bytesOK = false
			}
		}
		if a.N < o.args.N {
			for _, op := range codes[a.N:] {
				if op == OpWrite || op == OpRead {
					bytesOK = false
				}
			}
		}
	} else {
		var r Reply
		var res Compound4Res
		if ParseReply(head, &r) != nil {
			return
		}
		ParseCompoundResult(r.Results, &res)
		got, main = res.OpCodes(nil), res.MainOp()
		resStart := len(head) - len(r.Results)
		if at := resStart + res.ResumeAt; res.ResumeAt > 0 && at >= len(m.b)-HeadMax && at <= len(m.b) {
			h.resumed++
			if ResumeCompoundResult(m.b[at:], &res) == nil && slices.Equal(res.OpCodes(nil), codes) {
				h.sameOpsResumed++
			}
			resumed = res.OpCodes(nil)
		}
		bytesOK = true
		for i := range min(res.N, MaxOps) {
			if op := &o.res.Ops[i]; (op.Op == OpWrite || op.Op == OpRead) && (res.Ops[i].Has&HasCount == 0 || res.Ops[i].Count != op.Count) {
				bytesOK = false
			}
		}
		if res.N < o.res.N {
			for _, op := range codes[res.N:] {
				if op == OpWrite || op == OpRead {
					bytesOK = false
				}
			}
		}
	}
	if len(codes) > 0 && main == firstMain(codes) {
		h.sameMain++
	}
	if len(got) == len(codes) {
		h.sameOps++
	} else {
		for _, op := range codes[len(got):] {
			h.opsLost[op]++
		}
	}
	if bytesOK {
		h.sameBytes++
	}
	if slices.Equal(got, codes) || resumed != nil && slices.Equal(resumed, codes) {
		h.wholeWithTail++
	}
}

// seed keeps b as the example of its kind, cut to maxSeed bytes (a WRITE
// or READ cut in its data is a case worth fuzzing too).
func (o *oracle) seed(kind string, codes []uint32, b []byte) {
	if o.seeds == nil {
		return
	}
	key := fmt.Sprint(kind, codes)
	if _, ok := o.seeds[key]; !ok {
		o.seeds[key] = b[:min(len(b), maxSeed)]
	}
}

const maxSeed = 1536

// seedPrefix shortens a capture's name for its seed files.
func seedPrefix(capture string) string {
	s := strings.TrimSuffix(strings.TrimSuffix(capture, ".gz"), ".pcap")
	s = strings.ReplaceAll(s, "--", "-")
	return "real-" + s
}

// writeSeeds replaces a capture's seed files with seeds: keys beginning
// "args" go to FuzzParseCompoundArgs, "res" to FuzzParseCompoundResult.
func writeSeeds(capture string, seeds map[string][]byte) error {
	prefix := seedPrefix(capture)
	keys := make([]string, 0, len(seeds))
	for k := range seeds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := map[string]int{}
	for _, target := range []string{"FuzzParseCompoundArgs", "FuzzParseCompoundResult"} {
		dir := filepath.Join("testdata", "fuzz", target)
		old, _ := filepath.Glob(filepath.Join(dir, prefix+"-*"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	for _, k := range keys {
		target := "FuzzParseCompoundResult"
		if strings.HasPrefix(k, "args") {
			target = "FuzzParseCompoundArgs"
		}
		n[target]++
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seeds[k])
		path := filepath.Join("testdata", "fuzz", target, fmt.Sprintf("%s-%02d", prefix, n[target]))
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func newOracle() *oracle {
	// Linux's program; tshark knows it without seeing CREATE_SESSION.
	return &oracle{calls: map[string][2]uint32{}, cbProgs: map[uint32]bool{0x40000000: true}}
}

func u(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// mainOps lists every op of the lowest tier, as nfs.main_opcode does.
func mainOps(ops []uint32) []string {
	best := 0
	for _, op := range ops {
		if t := OpTier(op); best == 0 || t < best {
			best = t
		}
	}
	var s []string
	for _, op := range ops {
		if OpTier(op) == best {
			s = append(s, u(op))
		}
	}
	return s
}

func (o *oracle) message(t *testing.T, m rpcMessage, v *frameView) string {
	xid, typ, err := Header(m.b)
	if err != nil {
		t.Errorf("frame %d: %v", m.frame, err)
		return ""
	}
	v.xid = append(v.xid, fmt.Sprintf("0x%08x", xid))
	v.msgtyp = append(v.msgtyp, u(typ))
	key := m.dir + " " + u(xid)
	if typ == MsgCall {
		if err := ParseCall(m.b, &o.call); err != nil {
			t.Errorf("frame %d: %v", m.frame, err)
			return ""
		}
		c := &o.call
		v.prog = append(v.prog, u(c.Prog))
		v.proc = append(v.proc, u(c.Proc))
		o.calls[key] = [2]uint32{c.Prog, c.Proc}
		switch {
		case c.Prog == ProgNFS && c.Vers == 4 && c.Proc == NFS4ProcCompound:
			err := ParseCompoundArgs(c.Args, &o.args)
			if err != nil {
				t.Errorf("frame %d: COMPOUND args: %v", m.frame, err)
			}
			codes := o.args.OpCodes(o.codesBuf[:0])
			o.headCheck(t, m, true, codes)
			o.seed("args", codes, c.Args)
			o.opsMain(v, codes)
			for i := range min(o.args.N, MaxOps) {
				switch op := &o.args.Ops[i]; op.Op {
				case OpRead, OpCommit:
					v.count = append(v.count, u(op.Count))
				case OpWrite:
					v.wlen = append(v.wlen, u(op.Count))
				}
			}
			if len(codes) > 0 && o.args.MainOp() != firstMain(codes) {
				t.Errorf("frame %d: MainOp %d", m.frame, o.args.MainOp())
			}
			if p, ok := o.args.CBProgram(); ok {
				o.cbProgs[p] = true
			}
			return "compound"
		case o.cbProgs[c.Prog] && c.Vers == 1 && c.Proc == CBProcCompound:
			if err := ParseCBCompoundArgs(c.Args, &o.cbArgs); err != nil {
				t.Errorf("frame %d: CB_COMPOUND args: %v", m.frame, err)
			}
			return "cb"
		}
		return ""
	}
	if err := ParseReply(m.b, &o.reply); err != nil {
		t.Errorf("frame %d: %v", m.frame, err)
		return ""
	}
	ck, ok := o.calls[m.peer+" "+u(xid)]
	if !ok {
		return ""
	}
	delete(o.calls, m.peer+" "+u(xid))
	prog, proc := ck[0], ck[1]
	v.prog = append(v.prog, u(prog))
	v.proc = append(v.proc, u(proc))
	if o.reply.AcceptStat != Success {
		return ""
	}
	switch {
	case prog == ProgNFS && proc == NFS4ProcCompound:
		err := ParseCompoundResult(o.reply.Results, &o.res)
		if err != nil {
			t.Errorf("frame %d: COMPOUND result: %v", m.frame, err)
		}
		codes := o.res.OpCodes(o.codesBuf[:0])
		o.headCheck(t, m, false, codes)
		o.seed("res", codes, o.reply.Results)
		o.opsMain(v, codes)
		if len(codes) > 0 && o.res.MainOp() != firstMain(codes) {
			t.Errorf("frame %d: MainOp %d", m.frame, o.res.MainOp())
		}
		v.stat = append(v.stat, u(o.res.Status))
		for i := range min(o.res.N, MaxOps) {
			op := &o.res.Ops[i]
			v.stat = append(v.stat, u(op.Status))
			switch {
			case op.Op == OpWrite && op.Has&HasCount != 0:
				v.count = append(v.count, u(uint32(op.Count)))
			case op.Op == OpRead && op.Has&HasCount != 0:
				v.rlen = append(v.rlen, u(uint32(op.Count)))
			}
			if op.Op == OpReaddir && op.Status == NFS4OK {
				// tshark shows each entry's rdattr_error attribute as an
				// nfs.nfsstat4 too.
				for _, s := range rdattrErrors(t, o.reply.Results[op.At+8:]) {
					v.stat = append(v.stat, u(s))
				}
			}
		}
		if n := min(o.res.N, MaxOps); n > 0 && o.res.Ops[n-1].Status != o.res.Status {
			t.Errorf("frame %d: compound status %d, last op's %d", m.frame, o.res.Status, o.res.Ops[n-1].Status)
		}
		return "compound"
	case o.cbProgs[prog] && proc == CBProcCompound:
		if err := ParseCBCompoundResult(o.reply.Results, &o.cbRes); err != nil {
			t.Errorf("frame %d: CB_COMPOUND result: %v", m.frame, err)
		}
		return "cb"
	}
	return ""
}

func firstMain(codes []uint32) uint32 {
	s := mainOps(codes)
	n, _ := strconv.Atoi(s[0])
	return uint32(n)
}

func (o *oracle) opsMain(v *frameView, codes []uint32) {
	for _, c := range codes {
		v.ops = append(v.ops, u(c))
	}
	v.main = append(v.main, mainOps(codes)...)
}

// rpcMessage is one RPC message of a capture, without its record marking.
type rpcMessage struct {
	frame     int       // the frame holding its last byte
	ts        time.Time // that frame's timestamp
	dir, peer string    // "src>dst" of its direction, and of the other
	b         []byte
}

// run says that the stream bytes before end, back to the previous run's
// end, came in frame.
type run struct{ end, frame int }

type segment struct {
	seq   uint32
	data  []byte
	frame int
}

// rpcMessages reads a capture's TCP streams and returns their RPC
// messages in the order of the frames that complete them; lost says which
// directions stopped at a gap.
func rpcMessages(t *testing.T, path string) (msgs []rpcMessage, lost string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		if raw, err = gunzip(raw); err != nil {
			t.Fatal(err)
		}
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		LinkType() layers.LinkType
	}
	var src source
	if len(raw) >= 4 && binary.BigEndian.Uint32(raw) == 0x0a0d0d0a {
		src, err = pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	}
	if err != nil {
		t.Fatal(err)
	}
	streams := map[string][]segment{}
	stamps := map[int]time.Time{} // of the frames with TCP payload
	var order []string
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, src.LinkType(), gopacket.NoCopy)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || p.NetworkLayer() == nil || len(tcp.Payload) == 0 {
			continue
		}
		nf := p.NetworkLayer().NetworkFlow()
		dir := nf.Src().String() + ":" + u(uint32(tcp.SrcPort)) + ">" + nf.Dst().String() + ":" + u(uint32(tcp.DstPort))
		if _, ok := streams[dir]; !ok {
			order = append(order, dir)
		}
		streams[dir] = append(streams[dir], segment{tcp.Seq, append([]byte(nil), tcp.Payload...), frame})
		stamps[frame] = ci.Timestamp
	}
	for _, dir := range order {
		segs := streams[dir]
		base := segs[0].seq
		for _, s := range segs { // the lowest sequence number, allowing for wrap
			if int32(s.seq-base) < 0 {
				base = s.seq
			}
		}
		sort.SliceStable(segs, func(i, j int) bool { return segs[i].seq-base < segs[j].seq-base })
		a, b, _ := strings.Cut(dir, ">")
		peer := b + ">" + a
		// Each run of contiguous bytes is framed on its own: a message
		// that spans a gap is lost, and framing starts again after it.
		var stream []byte
		var runs []run // the frame each run of stream bytes came in
		pos := 0       // stream offset of stream[0]
		flush := func() {
			for _, m := range splitRecords(stream) {
				i := sort.Search(len(runs), func(i int) bool { return runs[i].end >= m.end })
				msgs = append(msgs, rpcMessage{frame: runs[i].frame, ts: stamps[runs[i].frame], dir: dir, peer: peer, b: m.b})
			}
		}
		for _, s := range segs {
			off := int(s.seq-base) - pos
			end := off + len(s.data)
			if off > len(stream) {
				lost += fmt.Sprintf("%s: gap of %d bytes before frame %d. ", dir, off-len(stream), s.frame)
				flush()
				pos += off
				stream, runs, off, end = nil, nil, 0, len(s.data)
			}
			if end <= len(stream) {
				continue // a retransmission
			}
			stream = append(stream, s.data[len(stream)-off:]...)
			runs = append(runs, run{len(stream), s.frame})
		}
		flush()
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].frame < msgs[j].frame })
	return msgs, lost
}

type marked struct {
	b   []byte
	end int // stream offset just past the message's last byte
}

// splitRecords removes the record marking from a stream. A stream joined
// mid-record starts at the first offset where a chain of markers lines up
// with RPC headers.
func splitRecords(s []byte) []marked {
	for start := 0; start+4 <= len(s); start++ {
		if ms, ok := walkRecords(s, start); ok {
			return ms
		}
	}
	return nil
}

func walkRecords(s []byte, off int) ([]marked, bool) {
	var ms []marked
	var msg []byte
	for off+4 <= len(s) {
		v := binary.BigEndian.Uint32(s[off:])
		n := int(v & 0x7fffffff)
		if n > DefaultMaxFragment || off+4+n > len(s) {
			break // a message cut at the end of the capture
		}
		msg = append(msg, s[off+4:off+4+n]...)
		off += 4 + n
		if v&0x80000000 == 0 {
			continue
		}
		if len(ms) == 0 && !LooksLikeCallHeader(msg) && !LooksLikeReplyHeader(msg) {
			return nil, false
		}
		ms = append(ms, marked{msg, off})
		msg = nil
	}
	return ms, len(ms) > 0
}

// rdattrErrors walks a READDIR4resok (b starts at its cookieverf) and
// returns the rdattr_error attribute (bit 11) of each entry that has one.
// It knows the sizes of attributes 0-10 only, which is what Linux asks
// for before rdattr_error.
func rdattrErrors(t *testing.T, b []byte) []uint32 {
	sizes := [11]int{-1, 4, 4, 8, 8, 4, 4, 4, 16, 4, 4} // 0 is a bitmap4
	var errs []uint32
	x := NewXDR(b)
	x.Skip(verifier4Size)
	for x.Bool() {
		x.Skip(8)
		x.Opaque(-1)
		n := x.Uint32()
		var mask [8]uint32
		for i := 0; i < int(n) && x.err == nil; i++ {
			w := x.Uint32()
			if i < len(mask) {
				mask[i] = w
			}
		}
		vals := NewXDR(x.Opaque(-1))
		if mask[0]&(1<<11) == 0 {
			continue
		}
		for bit := range 11 {
			if mask[0]&(1<<bit) == 0 {
				continue
			}
			if sizes[bit] < 0 {
				vals.Skip(4 * int(vals.Uint32()))
			} else {
				vals.Skip(sizes[bit])
			}
		}
		errs = append(errs, vals.Uint32())
		if vals.err != nil {
			t.Errorf("rdattr_error: %v", vals.err)
		}
	}
	if x.err != nil {
		t.Errorf("READDIR entries: %v", x.err)
	}
	return errs
}
