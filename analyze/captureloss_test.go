package analyze_test

// What the capture did not see is not evidence: the captures of
// testdata/pcaps with frames removed (as tcpdump's kernel drops remove
// them) or with one direction removed (a one-way capture, an asymmetric
// route) must never yield a stall where the whole capture has none, and a
// stall capture must keep its verdict when frames that are not its
// evidence go.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// loaded is a capture held in memory, with each frame's direction.
type loaded struct {
	pkts []capture.Packet
	caps []*capture.CaptureInfo
	// toClient: the frame is a TCP segment from the server port with
	// payload; toServer: any TCP segment to it
	toClient, toServer []bool
}

func loadCapture(t *testing.T, path string) *loaded {
	t.Helper()
	in, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	l := &loaded{}
	dec := tcpflow.NewDecoder()
	var s tcpflow.Segment
	for {
		var p capture.Packet
		err := in.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = slices.Clone(p.Data)
		l.pkts = append(l.pkts, p)
		cp := p
		ok := dec.Decode(&cp, &s) == tcpflow.SkipNone && s.Proto == tcpflow.ProtoTCP
		l.toClient = append(l.toClient, ok && s.Src.Port == 2049 && s.WireLen > 0)
		l.toServer = append(l.toServer, ok && s.Dst.Port == 2049)
	}
	l.caps = in.Captures()
	return l
}

// analyse runs the analysis on the frames keep says to keep.
func (l *loaded) analyse(opts analyze.Options, keep func(i int) bool) *analyze.Report {
	a := analyze.New(opts)
	// The file as editcap would write it: it ends at its last kept frame.
	ci := *l.caps[0]
	ci.Packets, ci.Last, ci.End = 0, 0, 0
	for i := range l.pkts {
		if keep(i) {
			p := l.pkts[i]
			a.Packet(&p)
			ci.Packets++
			ci.Last = max(ci.Last, p.Time)
		}
	}
	return a.Finish([]*capture.CaptureInfo{&ci})
}

func stalls(r *analyze.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity == analyze.SeverityStall {
			out = append(out, fmt.Sprintf("connection %d [%s] %s", f.Connection, f.Kind, f.Summary))
		}
	}
	return out
}

// sample returns the indexes of frames with want set: all of them when
// there are at most max, else a seeded sample of max.
func sample(want []bool, max int, seed uint64) []int {
	var idx []int
	for i, w := range want {
		if w {
			idx = append(idx, i)
		}
	}
	if len(idx) <= max {
		return idx
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	idx = idx[:max]
	slices.Sort(idx)
	return idx
}

// healthyCaptures are the captures of testdata/pcaps with no stall.
func realTCPCaptures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if ext := filepath.Ext(p); ext == ".gz" || ext == ".pcap" || ext == ".pcapng" {
			if m, _ := filepath.Match("*.tsv.gz", filepath.Base(p)); !m {
				out = append(out, p)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d captures in %s", len(out), pcapDir)
	}
	return out
}

// perCapture bounds the frames removed one at a time from a capture: every
// frame of the small captures, a seeded sample of the rest, fewer the
// longer the capture (about a million packets analysed per capture).
const perCapture = 250

// With -short (bench/mutation.sh -s: each mutant reruns the package's
// tests), a tenth of that.
func budget(l *loaded, n int) int {
	if testing.Short() {
		return max(3, min(n, 1_000_000/max(1, len(l.pkts)))/10)
	}
	return max(10, min(n, 1_000_000/max(1, len(l.pkts))))
}

// publicCaptures are the public captures under ../shared that are TCP or
// UDP pcap/pcapng files (none when the directory is absent).
func publicCaptures() []string {
	var out []string
	if testing.Short() {
		// -short (mutation runs) judges by the repository's captures
		// alone: the public ones add minutes, and a test must not need
		// them to catch a bug.
		return nil
	}
	for _, pat := range []string{"*.pcap", "*.pcap.gz", "*.pcapng", "*.cap"} {
		m, _ := filepath.Glob(filepath.Join("..", "..", "shared", "pcaps-public", pat))
		out = append(out, m...)
	}
	slices.Sort(out)
	return out
}

func TestCaptureLossIsNeverAStall(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.Sequential = true
	for _, path := range append(realTCPCaptures(t), publicCaptures()...) {
		l := loadCapture(t, path)
		base := l.analyse(analyze.DefaultOptions(), func(int) bool { return true })
		if len(base.Diagnoses) > 0 {
			continue // a stall capture: see TestCaptureLossKeepsVerdicts
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			// Any unanswered call would count, so only the capture-loss
			// rule keeps a missing reply from being a stall. Calls in
			// flight when the file ends are excused by the threshold as
			// in the whole capture.
			opts.StallAfter = 1e6
			whole := l.analyse(opts, func(int) bool { return true })
			inFlight := len(stalls(whole))
			removed := 0
			for _, drop := range sample(l.toClient, budget(l, perCapture), 8) {
				r := l.analyse(opts, func(i int) bool { return i != drop })
				removed++
				if s := stalls(r); len(s) > inFlight {
					t.Fatalf("without frame %d: %d stall findings (whole capture: %d): %q", l.pkts[drop].Frame, len(s), inFlight, s)
				}
			}
			if removed == 0 {
				t.Skip("no server data frame")
			}
			t.Logf("%d of %d server data frames removed one at a time", removed, countTrue(l.toClient))
			for name, keep := range map[string][]bool{"client->server only": l.toServer, "server->client only": l.toClient} {
				r := l.analyse(analyze.DefaultOptions(), func(i int) bool { return keep[i] })
				if s := stalls(r); len(s) > 0 {
					t.Errorf("%s: stall findings %q", name, s)
				}
			}
			// The one-way capture says so, when the client's ACKs can show
			// what it was sent: it sent a segment after the server's first
			// data.
			acks := false
			if first := slices.Index(l.toClient, true); first >= 0 {
				acks = slices.Contains(l.toServer[first:], true)
			}
			r := l.analyse(analyze.DefaultOptions(), func(i int) bool { return l.toServer[i] })
			if !acks {
				return
			}
			if r.Summary.CaptureLossBytes == 0 || len(r.Completeness) == 0 {
				t.Errorf("client->server only: capture_loss_bytes %d, completeness %q", r.Summary.CaptureLossBytes, r.Completeness)
			}
			missing := false
			for _, c := range r.Connections {
				if c.CaptureLoss.MissingDirection != nil && *c.CaptureLoss.MissingDirection == "server_to_client" {
					missing = true
				}
			}
			if !missing && whole.Summary.Replies > 0 {
				t.Errorf("client->server only: no connection has missing_direction server_to_client")
			}
		})
	}
}

// Removing frames that are not a stall's evidence keeps the verdict and
// adds no stall.
func TestCaptureLossKeepsVerdicts(t *testing.T) {
	for _, path := range append(realTCPCaptures(t), publicCaptures()...) {
		l := loadCapture(t, path)
		opts := analyze.DefaultOptions()
		opts.Sequential = true
		base := l.analyse(opts, func(int) bool { return true })
		if len(base.Diagnoses) == 0 {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			evidence := map[int64]bool{}
			for _, d := range base.Diagnoses {
				for _, i := range d.Findings {
					for _, fr := range base.Findings[i].Frames {
						evidence[fr] = true
					}
				}
			}
			other := make([]bool, len(l.pkts))
			for i, p := range l.pkts {
				other[i] = !evidence[p.Frame] && (l.toClient[i] || l.toServer[i])
			}
			for _, drop := range sample(other, budget(l, perCapture/2), 9) {
				r := l.analyse(opts, func(i int) bool { return i != drop })
				if got, want := verdicts(r), verdicts(base); !slices.Equal(got, want) {
					t.Fatalf("without frame %d: verdicts %q, whole capture %q", l.pkts[drop].Frame, got, want)
				}
			}
		})
	}
}

func verdicts(r *analyze.Report) []string {
	var out []string
	for _, d := range r.Diagnoses {
		out = append(out, fmt.Sprintf("%d:%s", d.Connection, d.Verdict))
	}
	return out
}

// A reply the capture dropped, which the client's ACK shows arrived: the
// call is counted unanswered, its finding is a warning naming the ACK, and
// no verdict rests on it. The same capture with the client's ACK not
// advancing (the reply never came) is a stall.
func TestDroppedReplyIsNotAStall(t *testing.T) {
	for _, dropped := range []bool{true, false} {
		s := newScenario(t)
		c, sv := uint32(100), uint32(900)
		call := readCall(7, 0, 4096)
		callFrame := s.seg(0, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
		s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)
		if dropped {
			sv += uint32(len(readReply(7, 4096))) // the reply: not in the capture
		}
		ackFrame := s.seg(10*time.Millisecond, true, c, sv, ackF, 501, nil)
		for i := 0; i < 3; i++ {
			s.seg(time.Second, true, c-1, sv, ackF, 501, nil)
			s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)
		}
		r := s.run(analyze.DefaultOptions())
		u := findKinds(r)["unanswered_call"]
		if len(u) != 1 || r.Summary.Unanswered != 1 {
			t.Fatalf("dropped=%v: unanswered findings %+v", dropped, u)
		}
		if !dropped {
			if u[0].Severity != analyze.SeverityStall || len(r.Diagnoses) != 1 || r.Summary.CaptureLossBytes != 0 {
				t.Errorf("reply never sent: finding %+v, diagnoses %+v", u[0], r.Diagnoses)
			}
			continue
		}
		if u[0].Severity != analyze.SeverityWarning || len(r.Diagnoses) != 0 || r.Summary.Unproven != 1 {
			t.Errorf("reply dropped by the capture: finding %+v, diagnoses %+v, unproven %d", u[0], r.Diagnoses, r.Summary.Unproven)
		}
		want := fmt.Sprintf("the client ACKed at frame %d 4144 bytes from the server that the capture did not see", ackFrame)
		if !strings.Contains(u[0].Summary, want) {
			t.Errorf("summary %q lacks %q", u[0].Summary, want)
		}
		cl := r.Connections[0].CaptureLoss
		if r.Summary.CaptureLossBytes != 4144 || cl.ServerToClient.Bytes != 4144 || !slices.Equal(cl.ServerToClient.Frames, []int64{ackFrame}) ||
			cl.ClientToServer.Bytes != 0 || cl.MissingDirection != nil {
			t.Errorf("capture loss %+v, summary %d", cl, r.Summary.CaptureLossBytes)
		}
		if len(r.Completeness) == 0 || !strings.Contains(r.Completeness[0], "1 unanswered call may have its reply in them") {
			t.Errorf("completeness %q", r.Completeness)
		}
		_ = callFrame
	}
}

// A call whose last byte the capture missed is known only by the frame
// that declared the hole: here the server's reply, whose ACK covers it.
// Its latency is not measured (it would read 0), and the report says so.
func TestCallEndingInAHoleIsNotTimed(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.seg(0, true, c-1, 0, 0x02, 501, nil)
	s.seg(100*time.Microsecond, false, sv-1, c, 0x02|ackF, 501, nil)
	s.seg(100*time.Microsecond, true, c, sv, ackF, 501, nil)
	call := readCall(9, 0, 4096)
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call[:44]) // the rest of the call: not captured
	c += uint32(len(call))
	s.seg(3*time.Millisecond, false, sv, c, ackF|pshF, 501, readReply(9, 4096))
	r := s.run(analyze.DefaultOptions())
	if r.Summary.Replies != 1 || r.Summary.Unanswered != 0 {
		t.Fatalf("summary %+v", r.Summary)
	}
	if len(r.Procedures) != 1 {
		t.Fatalf("procedures %+v, summary %+v", r.Procedures, r.Summary)
	}
	if p := r.Procedures[0]; p.Replies != 1 || p.Untimed != 1 || p.Latency.Max != 0 {
		t.Errorf("READ row %+v: its only reply must not be timed", p)
	}
	if len(r.Completeness) != 2 || !strings.Contains(r.Completeness[1], "1 reply was not timed") {
		t.Errorf("completeness %q", r.Completeness)
	}
}

// The server's data re-sent and never ACKed in a capture that holds no
// client packet at all (a one-way capture at the server): the client's
// silence is the capture's, so it is a warning, not client_not_acking.
func TestOneWayCaptureNeverBlamesTheMissingSide(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.seg(0, false, sv, c, ackF, 501, nil)
	c += uint32(len(readCall(5, 0, 4096))) // the client's call, not captured
	s.seg(time.Millisecond, false, sv, c, ackF, 501, nil)
	reply := readReply(5, 4096)
	s.seg(100*time.Microsecond, false, sv, c, ackF|pshF, 501, reply[:1448])
	for _, d := range []time.Duration{200, 400, 800} {
		s.seg(d*time.Millisecond, false, sv, c, ackF|pshF, 501, reply[:1448])
	}
	r := s.run(analyze.DefaultOptions())
	u := findKinds(r)["unacked_retransmission"]
	if len(u) != 1 || u[0].Severity != analyze.SeverityWarning || len(r.Diagnoses) != 0 {
		t.Fatalf("unacked %+v, diagnoses %+v", u, r.Diagnoses)
	}
	if !strings.Contains(u[0].Summary, "holds no client->server packet") || r.Summary.Unproven != 1 {
		t.Errorf("summary %q", u[0].Summary)
	}
	if m := r.Connections[0].CaptureLoss.MissingDirection; m == nil || *m != "client_to_server" {
		t.Errorf("missing_direction %v", m)
	}
}

// A stall that ended is not a stall at the end: the client gave up a
// connection whose reply data it never ACKed and re-sent its call on a new
// connection, where it was answered. The old connection's evidence is a
// warning with its frames; no verdict. Without the new connection it is
// client_not_acking.
func TestEpisodeOverOnANewConnection(t *testing.T) {
	for _, healed := range []bool{false, true} {
		s := newScenario(t)
		c, sv := uint32(5000), uint32(70000)
		call := readCall(0x51, 0, 65536)
		s.seg(0, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
		s.seg(40*time.Microsecond, false, sv, c, ackF, 501, nil)
		reply := readReply(0x51, 65536)
		s.seg(200*time.Microsecond, false, sv, c, ackF, 501, reply[:1448])
		var last int64
		for _, d := range []time.Duration{200, 400, 800, 1600, 3200} {
			last = s.seg(d*time.Millisecond, false, sv, c, ackF, 501, reply[:1448])
		}
		if healed {
			s.cport = 767
			c2, sv2 := uint32(1000), uint32(2000)
			s.seg(time.Second, true, c2, 0, 0x02, 501, nil)
			s.seg(100*time.Microsecond, false, sv2, c2+1, 0x02|ackF, 501, nil)
			c2, sv2 = c2+1, sv2+1
			s.seg(100*time.Microsecond, true, c2, sv2, ackF, 501, nil)
			s.seg(100*time.Microsecond, true, c2, sv2, ackF|pshF, 501, call)
			c2 += uint32(len(call))
			s.seg(300*time.Microsecond, false, sv2, c2, ackF|pshF, 501, reply)
			s.seg(100*time.Microsecond, true, c2, sv2+uint32(len(reply)), ackF, 501, nil)
		}
		r := s.run(analyze.DefaultOptions())
		u := findKinds(r)["unacked_retransmission"]
		if len(u) != 1 || u[0].Connection != 1 || u[0].Frames[len(u[0].Frames)-1] != last {
			t.Fatalf("healed=%v: unacked findings %+v", healed, u)
		}
		if !healed {
			if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
				t.Errorf("diagnoses %+v", r.Diagnoses)
			}
			continue
		}
		if u[0].Severity != analyze.SeverityWarning || !strings.Contains(u[0].Summary, "the episode is over: the client went on on connection 2") ||
			u[0].DurationMS < 6000 {
			t.Errorf("healed: finding %+v", u[0])
		}
		if len(r.Diagnoses) != 0 || stalls(r) != nil || r.Summary.Unproven != 0 {
			t.Errorf("healed: diagnoses %+v, stalls %q, unproven %d (an episode that is over is no unknown)", r.Diagnoses, stalls(r), r.Summary.Unproven)
		}
		if r.Summary.RPCRetransmissions != 1 || r.Summary.Unanswered != 0 {
			t.Errorf("healed: summary %+v", r.Summary)
		}
	}
}

// toPcapng rewrites the scenario's pcap (nanosecond, Ethernet) as pcapng
// with one interface and an interface statistics block that says the
// capture tool dropped ifDrop packets.
func toPcapng(t *testing.T, pcap []byte, ifDrop uint64) []byte {
	t.Helper()
	le := binary.LittleEndian
	var out []byte
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		out = le.AppendUint32(out, typ)
		out = le.AppendUint32(out, n)
		out = append(out, body...)
		out = le.AppendUint32(out, n)
	}
	shb := le.AppendUint32(nil, 0x1a2b3c4d)
	shb = le.AppendUint16(shb, 1)
	shb = le.AppendUint16(shb, 0)
	shb = le.AppendUint64(shb, ^uint64(0))
	block(0x0a0d0d0a, shb)
	idb := le.AppendUint16(nil, 1) // Ethernet
	idb = le.AppendUint16(idb, 0)
	idb = le.AppendUint32(idb, 262144)
	idb = append(idb, 9, 0, 1, 0, 9, 0, 0, 0) // if_tsresol: ns
	idb = append(idb, 0, 0, 0, 0)             // opt_endofopt
	block(1, idb)
	var last uint64
	for off := 24; off+16 <= len(pcap); {
		sec, nsec := uint64(le.Uint32(pcap[off:])), uint64(le.Uint32(pcap[off+4:]))
		caplen, length := le.Uint32(pcap[off+8:]), le.Uint32(pcap[off+12:])
		ts := sec*1e9 + nsec
		last = ts
		epb := le.AppendUint32(nil, 0)
		epb = le.AppendUint32(epb, uint32(ts>>32))
		epb = le.AppendUint32(epb, uint32(ts))
		epb = le.AppendUint32(epb, caplen)
		epb = le.AppendUint32(epb, length)
		epb = append(epb, pcap[off+16:off+16+int(caplen)]...)
		block(6, epb)
		off += 16 + int(caplen)
	}
	isb := le.AppendUint32(nil, 0)
	isb = le.AppendUint32(isb, uint32(last>>32))
	isb = le.AppendUint32(isb, uint32(last))
	isb = append(isb, 5, 0, 8, 0) // isb_ifdrop
	isb = le.AppendUint64(isb, ifDrop)
	isb = append(isb, 0, 0, 0, 0)
	block(5, isb)
	return out
}

// Over UDP no ACK shows what the capture missed: when the capture tool
// says it dropped packets, an unanswered UDP call is a warning, not
// server_not_replying; with no drops reported it stays a stall.
func TestUDPSilenceWithCaptureDrops(t *testing.T) {
	for _, drops := range []uint64{0, 3} {
		s := newScenario(t)
		s.udp(0, true, 2049, readCall(0x1001, 0, 4096)[4:])
		s.udp(2*time.Second, true, 2049, readCall(0x1002, 4096, 4096)[4:])
		s.udp(time.Millisecond, false, 2049, readReply(0x1002, 4096)[4:])
		s.buf = *bytes.NewBuffer(toPcapng(t, s.buf.Bytes(), drops))
		r := s.run(analyze.DefaultOptions())
		u := findKinds(r)["unanswered_call"]
		if len(u) != 1 {
			t.Fatalf("drops %d: unanswered %+v", drops, u)
		}
		if drops == 0 {
			if u[0].Severity != analyze.SeverityStall || len(r.Diagnoses) != 1 {
				t.Errorf("no drops: %+v, diagnoses %+v", u[0], r.Diagnoses)
			}
			continue
		}
		if u[0].Severity != analyze.SeverityWarning || len(r.Diagnoses) != 0 || !strings.Contains(u[0].Summary, "the capture tool dropped 3 packets") {
			t.Errorf("3 drops: %+v, diagnoses %+v", u[0], r.Diagnoses)
		}
		if len(r.Completeness) != 1 || !strings.Contains(r.Completeness[0], "dropped 3 packets") || *r.Captures[0].IfDrop != 3 {
			t.Errorf("completeness %q", r.Completeness)
		}
	}
}

// A file whose reading stopped at a damaged record, not at its end: what
// follows is unknown, so a call waiting at that point is no stall; the
// same capture ending cleanly is server_not_replying.
func TestDamagedRecordIsNotTheEnd(t *testing.T) {
	for _, damaged := range []bool{false, true} {
		s := newScenario(t)
		c, sv := uint32(100), uint32(900)
		call := readCall(3, 0, 4096)
		s.seg(0, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
		s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)
		for i := 0; i < 3; i++ {
			s.seg(time.Second, true, c-1, sv, ackF, 501, nil)
			s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)
		}
		if damaged {
			// A record header claiming 2 GiB, then bytes that may hold anything.
			s.buf.Write(words(0x6565e100, 0, 0x7fffffff, 0x7fffffff)[:16])
			s.buf.Write(make([]byte, 200))
		}
		r := s.run(analyze.DefaultOptions())
		u := findKinds(r)["unanswered_call"]
		if len(u) != 1 {
			t.Fatalf("damaged=%v: unanswered %+v", damaged, u)
		}
		if !damaged {
			if len(r.Diagnoses) != 1 || r.Summary.Unproven != 0 {
				t.Errorf("clean end: diagnoses %+v", r.Diagnoses)
			}
			continue
		}
		if u[0].Severity != analyze.SeverityWarning || len(r.Diagnoses) != 0 || r.Summary.Unproven != 1 ||
			!strings.Contains(u[0].Summary, "stopped at a damaged record") {
			t.Errorf("damaged: finding %+v, diagnoses %+v", u[0], r.Diagnoses)
		}
		if len(r.Completeness) == 0 || !strings.Contains(r.Completeness[0], "not at the end of the file") {
			t.Errorf("completeness %q", r.Completeness)
		}
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
