package analyze_test

// Joining mid-stream on real captures: most production captures start in
// the middle of connections, often inside a 1 MiB READ reply. Cut a real
// capture at many points and check that everything whose call and reply
// are both after the cut is found and paired exactly as in the whole file.

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
)

func TestJoinMidStream(t *testing.T) {
	for _, name := range []string{"mixed.pcap", "stall-server-stopped.pcap", "ipv6.pcap"} {
		src := captureFile(t, name)
		_, whole := run(t, src)
		var packets []capture.Packet
		f, err := capture.Open(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		var p capture.Packet
		for f.Next(&p) == nil {
			q := p
			q.Data = append([]byte(nil), p.Data...)
			packets = append(packets, q)
		}
		f.Close()
		const cuts = 9
		for i := 1; i <= cuts; i++ {
			skip := len(packets) * i / (cuts + 1) // frames 1..skip are not in the cut file
			t.Run(name+"/from-frame-"+strconv.Itoa(skip+1), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "cut.pcap")
				writePcap(t, path, packets[skip:])
				r, cut := run(t, path)
				off := int64(skip)
				// By xid and frame: libnfs starts every command's XIDs
				// alike, so an xid alone is not unique in a capture.
				type key struct {
					xid   uint32
					frame int64
				}
				got := map[key]analyze.Message{}
				for _, m := range cut {
					if !m.Call {
						got[key{m.XID, m.Frame + off}] = m
					}
				}
				callStart := map[int64]int64{} // a call's last frame -> its first
				for _, m := range whole {
					if m.Call {
						callStart[m.Frame] = m.FirstFrame
					}
				}
				want := 0
				for _, m := range whole {
					if m.Call || m.CallFrame == 0 || callStart[m.CallFrame] <= off || m.FirstFrame <= off {
						continue // the call or the reply began before the cut
					}
					want++
					g, ok := got[key{m.XID, m.Frame}]
					switch {
					case !ok:
						t.Errorf("reply xid 0x%08x (frame %d) not found", m.XID, m.Frame)
					case g.CallFrame+off != m.CallFrame || g.Latency != m.Latency:
						t.Errorf("reply xid 0x%08x frame %d: call %d latency %d, whole file: call %d latency %d",
							m.XID, m.Frame, g.CallFrame+off, g.Latency, m.CallFrame, m.Latency)
					}
				}
				t.Logf("%d exchanges after the cut checked", want)
				if want == 0 && i < cuts {
					t.Errorf("no exchange after the cut: the test checks nothing")
				}
				// What came before the first boundary is passed over and
				// counted, not decoded as garbage records.
				if r.Summary.Undecodable > 2 {
					t.Errorf("%d undecodable records after joining mid-stream", r.Summary.Undecodable)
				}
			})
		}
	}
}

func writePcap(t *testing.T, path string, pkts []capture.Packet) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriterNanos(out)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Time), CaptureLength: len(p.Data), Length: p.Length}
		if err := w.WritePacket(ci, p.Data); err != nil {
			t.Fatal(err)
		}
	}
}
