package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// Hostile input for the reader: old pcap versions and files cut inside a
// record.

// oldPcapFile builds a pcap file of version 2.minor whose records carry
// the captured and original lengths the way that version wrote them.
func oldPcapFile(minor uint16, order binary.ByteOrder, swapped bool, pkts [][]byte, wire []int) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	order.PutUint32(h, 0xa1b2c3d4)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], minor)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], uint32(layers.LinkTypeEthernet))
	b.Write(h)
	for i, p := range pkts {
		r := make([]byte, 16)
		order.PutUint32(r, uint32(1000+i))
		caplen, length := uint32(len(p)), uint32(wire[i])
		if swapped {
			caplen, length = length, caplen
		}
		order.PutUint32(r[8:], caplen)
		order.PutUint32(r[12:], length)
		b.Write(r)
		b.Write(p)
	}
	return b.Bytes()
}

// TestOldPcapVersions: pcap files of versions 2.0 to 2.3 (1990s tcpdump)
// are read as libpcap reads them, lengths swapped where those versions
// wrote them swapped, in both byte orders and through gzip.
func TestOldPcapVersions(t *testing.T) {
	full := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "0123456789"})
	cut := full[:len(full)-4] // snaplen cut: captured < original
	pkts, wire := [][]byte{full, cut, full}, []int{len(full), len(full), len(full)}
	for _, tt := range []struct {
		minor   uint16
		swapped bool
	}{{0, true}, {1, true}, {2, true}, {3, true}, {3, false}, {4, false}} {
		for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			file := oldPcapFile(tt.minor, order, tt.swapped, pkts, wire)
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(file)
			zw.Close()
			for _, data := range [][]byte{file, z.Bytes()} {
				name := fmt.Sprintf("2.%d %v swapped=%v gzip=%v", tt.minor, order, tt.swapped, data[0] == 0x1f)
				f, err := Open("-", bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var p Packet
				for i := range pkts {
					if err := f.Next(&p); err != nil {
						t.Fatalf("%s: packet %d: %v", name, i+1, err)
					}
					if !bytes.Equal(p.Data, pkts[i]) || p.Length != wire[i] {
						t.Errorf("%s: packet %d: %d bytes of %d, want %d of %d", name, i+1, len(p.Data), p.Length, len(pkts[i]), wire[i])
					}
				}
				if err := f.Next(&p); err == nil || f.Info.Truncated {
					t.Errorf("%s: not a clean end: %v %+v", name, err, f.Info)
				}
			}
		}
	}
}

// TestTruncatedAtRecordStart: a file cut inside a record names the
// offset where that record starts, whatever the buffering above and below
// the reader, for every format.
func TestTruncatedAtRecordStart(t *testing.T) {
	pkt1 := build(t, pkt{toServer: true, seq: 1, flags: ack, data: strings.Repeat("x", 1000)})
	var pkts [][]byte
	var wire []int
	for range 40 { // more than pcapgo's own 4 KiB buffer
		pkts = append(pkts, pkt1)
		wire = append(wire, len(pkt1))
	}
	for _, minor := range []uint16{4, 1} {
		file := oldPcapFile(minor, binary.LittleEndian, minor < 3, pkts, wire)
		rec := 24 + 30*(16+len(pkt1)) // the 31st record
		for _, at := range []int{rec + 1, rec + 15, rec + 16, rec + 500} {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(file[:at])
			zw.Close()
			for _, data := range [][]byte{file[:at], z.Bytes()} {
				f, err := Open("-", bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				var p Packet
				for f.Next(&p) == nil {
				}
				if !f.Info.Truncated || f.Info.TruncatedAt != int64(rec) || f.Info.Packets != 30 {
					t.Errorf("2.%d cut at %d (gzip %v): truncated %v at %d after %d packets, want at %d after 30",
						minor, at, data[0] == 0x1f, f.Info.Truncated, f.Info.TruncatedAt, f.Info.Packets, rec)
				}
			}
		}
	}
}
