package tcpflow

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/internal/gencap"
	"github.com/nfsstall/nfsstall/internal/tsharkview"

	"github.com/nfsstall/nfsstall/capture"
)

// sameAsLayers checks that when decodeFast takes a packet, it decodes it
// exactly as the gopacket path does.
func sameAsLayers(t testing.TB, d *Decoder, p *capture.Packet) bool {
	var fast, slow Segment
	if !decodeFast(p, &fast) {
		return false
	}
	if r := d.decodeLayers(p, &slow); r != SkipNone {
		t.Fatalf("frame %d: fast path decoded what the layer path skips (%v)", p.Frame, r)
	}
	samePayload := bytes.Equal(fast.Payload, slow.Payload) && cap(fast.Payload) == cap(slow.Payload)
	fp, sp := fast.Payload, slow.Payload
	fast.Payload, slow.Payload = nil, nil
	if !samePayload || !reflect.DeepEqual(fast, slow) {
		t.Fatalf("frame %d: fast path\n%+v payload %x\nlayer path\n%+v payload %x", p.Frame, fast, fp, slow, sp)
	}
	return true
}

// TestDecodeFastSameAsLayers runs both decoding paths on every packet of
// the real captures, of generated ones, and of those packets cut short.
func TestDecodeFastSameAsLayers(t *testing.T) {
	type source struct {
		name string
		open func() (*capture.Input, error)
	}
	var caps []source
	names, err := tsharkview.Captures(pcapDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		path, err := tsharkview.CaptureFile(pcapDir, name)
		if err != nil {
			t.Fatal(err)
		}
		caps = append(caps, source{name: name, open: func() (*capture.Input, error) { return capture.OpenInputs([]string{path}, nil) }})
	}
	for i, cfg := range []gencap.Config{
		{Seed: 1, Size: 2 << 20, Conns: 3, ReorderRate: 0.01, RetransRate: 0.01, Unanswered: 3, Timestamps: true},
		{Seed: 2, Size: 1 << 20, Conns: 2, NoHandshake: true, SeqNearWrap: true, NoDelayedAck: true},
	} {
		var buf bytes.Buffer
		if _, err := gencap.Write(&buf, cfg); err != nil {
			t.Fatal(err)
		}
		caps = append(caps, source{name: fmt.Sprintf("generated-%d", i), open: func() (*capture.Input, error) {
			return capture.OpenInputs([]string{"-"}, bytes.NewReader(buf.Bytes()))
		}})
	}
	d := NewDecoder()
	for _, c := range caps {
		in, err := c.open()
		if err != nil {
			t.Fatal(err)
		}
		var p capture.Packet
		taken, all := 0, 0
		for in.Next(&p) == nil {
			all++
			if sameAsLayers(t, d, &p) {
				taken++
			}
			if all > 200 {
				continue
			}
			// The same frame cut at every length (a snaplen, a
			// truncated file), and with its IP length too short or long.
			data := bytes.Clone(p.Data)
			for n := 0; n < len(data) && n < 80; n++ {
				q := p
				q.Data = data[:n:n]
				sameAsLayers(t, d, &q)
			}
			if len(data) > 18 {
				for _, l := range []uint16{0, 19, 20, 39, 40, 41, uint16(len(data) - 14 + 6)} {
					mod := bytes.Clone(data)
					mod[16], mod[17] = byte(l>>8), byte(l)
					q := p
					q.Data = mod
					sameAsLayers(t, d, &q)
				}
			}
		}
		in.Close()
		t.Logf("%s: fast path took %d of %d packets", c.name, taken, all)
		if strings.HasPrefix(c.name, "generated") && taken < all*9/10 {
			t.Errorf("%s: fast path took only %d of %d packets", c.name, taken, all)
		}
	}
}

// FuzzDecodeFast feeds arbitrary frames: whatever the fast path takes, it
// must decode as the gopacket path does.
func FuzzDecodeFast(f *testing.F) {
	var buf bytes.Buffer
	if _, err := gencap.Write(&buf, gencap.Config{Size: 20 << 10, Timestamps: true}); err != nil {
		f.Fatal(err)
	}
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		f.Fatal(err)
	}
	var p capture.Packet
	for n := 0; in.Next(&p) == nil && n < 8; n++ {
		f.Add(bytes.Clone(p.Data))
	}
	in.Close()
	for _, fr := range boundaryFrames(f, 24) {
		f.Add(fr)
	}
	d := NewDecoder()
	f.Add(append([]byte{0x08, 0, 0, 0, 0, 0, 0, 7, 0x03, 0x0a, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0}, p.Data[14:]...)) // SLL2 on GRE
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeLinuxSLL} {
			sameAsLayers(t, d, &capture.Packet{Data: data[:len(data):len(data)], LinkType: lt})
		}
	})
}
