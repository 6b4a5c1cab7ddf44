package decode

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestNFS4HandBuiltVsTshark holds the hand-built messages of the table
// tests to tshark: they are written into a capture, one TCP connection
// per message (a reply after a bare call with its XID, so that tshark
// knows what it answers), and tshark's op codes, main opcodes, statuses
// and callback op codes for each frame must be what the decoders give.
// This checks the hand-built bytes themselves, and the decoders on the
// operations no public capture holds (4.2, pNFS, locks, callbacks).
//
// The view testdata/nfs4/handbuilt.tsv was made by tshark 4.0.17 with
// `go test ./decode -run TestNFS4HandBuiltVsTshark -update`; without
// -update the test needs no tshark.
func TestNFS4HandBuiltVsTshark(t *testing.T) {
	cap, rows := handBuiltCapture(t)
	viewPath := filepath.Join("testdata", "nfs4", "handbuilt.tsv")
	if *update {
		path := filepath.Join(t.TempDir(), "handbuilt.pcap")
		if err := os.WriteFile(path, cap, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := tsharkViewFields(path, "frame.number", "rpc.xid", "rpc.msgtyp", "nfs.opcode", "nfs.main_opcode", "nfs.nfsstat4", "nfs.cb.operation")
		if err != nil {
			t.Fatal(err)
		}
		if err := writeView(viewPath, out); err != nil {
			t.Fatal(err)
		}
	}
	want := readView(t, viewPath)
	if len(want) != len(rows) {
		t.Errorf("tshark shows %d frames, the capture has %d", len(want), len(rows))
	}
	for i, r := range rows {
		frame := i + 1
		if why, ok := tsharkDiffers[r.name]; ok {
			if want[frame] == r.got {
				t.Errorf("frame %d (%s): tshark now agrees; drop the exception (%s)", frame, r.name, why)
			}
			continue
		}
		if want[frame] != r.got {
			t.Errorf("frame %d (%s):\n tshark  %q\n decoded %q", frame, r.name, want[frame], r.got)
		}
	}
}

// tsharkDiffers lists the hand-built messages tshark 4.0.17 reads
// differently from the RFCs, and why.
var tsharkDiffers = map[string]string{
	// Wireshark 4.0's CB_COMPOUND dissector has no arm for these three
	// callbacks and reads their arguments as void, so the first word of
	// the arguments becomes the next op code (each case has a
	// CB_RECALL_SLOT after the op to show it).
	"cb args CB_PUSH_DELEG":      "RFC 8881 section 20.5: a file handle and an open_delegation4 follow the op code",
	"cb args CB_WANTS_CANCELLED": "RFC 8881 section 20.10: two bools follow the op code",
	"cb args CB_NOTIFY_DEVICEID": "RFC 8881 section 20.12: a notify4<> follows the op code",
}

// handRow is one frame of the hand-built capture: what the case is and
// the fields the decoders give, as tshark would print them.
type handRow struct {
	name, got string
}

func handBuiltCapture(t *testing.T) ([]byte, []handRow) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	var rows []handRow
	port := uint16(40000)
	xid := uint32(0x4e460000)
	add := func(name string, fromServer bool, msg []byte, fields frameView) {
		port++
		xid++
		src, dst := port, uint16(2049)
		if fromServer {
			src, dst = dst, src
		}
		writeSegment(t, w, len(rows), src, dst, msg)
		rows = append(rows, handRow{name, fields.handRow()})
	}
	call := func(x, prog, vers, proc uint32, args []byte) []byte {
		return append(wire{}.u32(x, MsgCall, 2, prog, vers, proc, AuthNone, 0, AuthNone, 0), args...)
	}
	reply := func(x uint32, res []byte) []byte {
		return append(wire{}.u32(x, MsgReply, MsgAccepted, AuthNone, 0, Success), res...)
	}
	for _, tt := range argsCases4 {
		var a Compound4Args
		if err := ParseCompoundArgs(tt.in, &a); err != nil {
			t.Fatal(err)
		}
		var v frameView
		v.xid, v.msgtyp = []string{xidString(xid + 1)}, []string{"0"}
		v.ops = strs(a.OpCodes(nil))
		v.main = mainOps(a.OpCodes(nil))
		add("args "+tt.name, false, call(xid+1, ProgNFS, 4, NFS4ProcCompound, tt.in), v)
	}
	for _, tt := range resCases4 {
		var r Compound4Res
		if err := ParseCompoundResult(tt.in, &r); err != nil {
			t.Fatal(err)
		}
		// The bare call, then the reply on the same connection.
		c := call(xid+1, ProgNFS, 4, NFS4ProcCompound, compound4(1))
		writeSegment(t, w, len(rows), port+1, 2049, c)
		bare := frameView{xid: []string{xidString(xid + 1)}, msgtyp: []string{"0"}, ops: []string{}}
		rows = append(rows, handRow{"call for " + tt.name, bare.handRow()})
		var v frameView
		v.xid, v.msgtyp = []string{xidString(xid + 1)}, []string{"1"}
		v.ops = strs(r.OpCodes(nil))
		v.main = mainOps(r.OpCodes(nil))
		v.stat = append(v.stat, u(r.Status))
		for i := range r.N {
			op := &r.Ops[i]
			v.stat = append(v.stat, u(op.Status))
			if op.Op == OpTestStateid && op.Status == NFS4OK {
				// tshark shows each stateid's status as nfs.nfsstat4.
				x := NewXDR(tt.in[op.At+8:])
				for n := x.Uint32(); n > 0 && x.err == nil; n-- {
					v.stat = append(v.stat, u(x.Uint32()))
				}
			}
		}
		writeSegment(t, w, len(rows), 2049, port+1, reply(xid+1, tt.in))
		rows = append(rows, handRow{"result " + tt.name, v.handRow()})
		port++
		xid++
	}
	for _, tt := range cbArgsCases {
		var a CBCompound4Args
		if err := ParseCBCompoundArgs(tt.in, &a); err != nil {
			t.Fatal(err)
		}
		var v frameView
		v.xid, v.msgtyp = []string{xidString(xid + 1)}, []string{"0"}
		v.cb = strs(cbOpCodes(&a))
		for i := range a.N {
			if a.Ops[i].Op == CBOpOffload {
				v.stat = append(v.stat, u(a.Ops[i].Status)) // the copy's outcome
			}
		}
		add("cb args "+tt.name, true, call(xid+1, 0x40000000, 1, CBProcCompound, tt.in), v)
	}
	return buf.Bytes(), rows
}

// handRow formats the columns of the hand-built view.
func (v *frameView) handRow() string {
	j := func(s []string) string { return strings.Join(s, ",") }
	return strings.Join([]string{j(v.xid), j(v.msgtyp), j(v.ops), j(v.main), j(v.stat), j(v.cb)}, "\t")
}

func xidString(x uint32) string {
	const digits = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 9; i >= 2; i-- {
		b[i] = digits[x&0xf]
		x >>= 4
	}
	return string(b)
}

func strs(ops []uint32) []string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = u(op)
	}
	return s
}

// writeSegment writes one RPC message, record-marked, as one TCP segment
// between 10.0.0.1 (client, port) and 10.0.0.2 (server, 2049).
func writeSegment(t *testing.T, w *pcapgo.Writer, frame int, src, dst uint16, msg []byte) {
	payload := append(wire{}.u32(0x80000000|uint32(len(msg))), msg...)
	cip, sip := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	srcIP, dstIP := cip, sip
	if src == 2049 {
		srcIP, dstIP = sip, cip
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, srcIP[3]}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, dstIP[3]}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: srcIP, DstIP: dstIP}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src), DstPort: layers.TCPPort(dst), Seq: 1000, Ack: 1000, PSH: true, ACK: true, Window: 65535}
	tcp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, int64(frame)*1000)
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}, sb.Bytes()); err != nil {
		t.Fatal(err)
	}
}
