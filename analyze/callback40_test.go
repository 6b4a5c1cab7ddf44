package analyze_test

import (
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/analyze"
)

// An NFSv4.0 callback: the client names its callback program and address
// in SETCLIENTID, and the server opens a connection to that address. With
// the callback port followed, the server's calls on it are callback rows
// of that program (not Linux's 0x40000000 here, so the program must come
// from SETCLIENTID).

const cbProg40 = 0x40000001

// tcpSeg writes one TCP segment from src:sport to dst:dport.
func (s *scenario) tcpSeg(dt time.Duration, src, dst net.IP, sport, dport uint16, seq, ack uint32, flags uint8, payload []byte) {
	s.t.Helper()
	s.now = s.now.Add(dt)
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 501,
		ACK: flags&ackF != 0, PSH: flags&pshF != 0, SYN: flags&synF != 0}
	tcp.SetNetworkLayerForChecksum(ip)
	s.write(ip, tcp, gopacket.Payload(payload))
}

// setClientID is a 4.0 COMPOUND of SETCLIENTID naming cbProg40 at
// 198.18.0.1 port 40000 (156.64).
func setClientID(xid uint32) []byte {
	b := words(xid, 0, 2, 100003, 4, 1, 0, 0, 0, 0)
	b = append(b, words(0, 0, 1, 35, 1, 2, 1)...) // tag, minor 0, 1 op, SETCLIENTID: verifier, id of 1 byte
	b = append(b, 'c', 0, 0, 0)
	b = append(b, words(cbProg40, 3)...)
	b = append(b, 't', 'c', 'p', 0)
	addr := "198.18.0.1.156.64"
	b = append(b, words(uint32(len(addr)))...)
	b = append(b, addr...)
	b = append(b, make([]byte, (4-len(addr)%4)%4)...)
	return record(append(b, words(1)...)) // callback_ident
}

func setClientIDOK(xid uint32) []byte {
	return record(words(xid, 1, 0, 0, 0, 0, 0, 0, 1, 35, 0, 0, 7, 1, 2))
}

// cbRecall40 is a 4.0 CB_COMPOUND of CB_RECALL alone.
func cbRecall40(xid uint32) []byte {
	b := words(xid, 0, 2, cbProg40, 1, 1, 0, 0, 0, 0)
	b = append(b, words(0, 0, 1, 1, 4, 1, 0, 0, 0, 0, 4, 0xfeedface)...) // tag, minor, ident, 1 op: CB_RECALL
	return record(b)
}

func cbRecall40Reply(xid uint32) []byte { return record(words(xid, 1, 0, 0, 0, 0, 0, 0, 1, 4, 0)) }

func TestCallback40OnServerOpenedConnection(t *testing.T) {
	s := newScenario(t)
	cli, srv := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 2}
	// The client's connection to the server.
	c, sv := uint32(1000), uint32(5000)
	s.tcpSeg(0, cli, srv, 766, 2049, c, 0, synF, nil)
	s.tcpSeg(time.Millisecond, srv, cli, 2049, 766, sv, c+1, synF|ackF, nil)
	c, sv = c+1, sv+1
	call, rep := setClientID(1), setClientIDOK(1)
	s.tcpSeg(time.Millisecond, cli, srv, 766, 2049, c, sv, ackF|pshF, call)
	c += uint32(len(call))
	s.tcpSeg(time.Millisecond, srv, cli, 2049, 766, sv, c, ackF|pshF, rep)
	// The server's connection to the callback address.
	c2, s2 := uint32(70000), uint32(90000)
	s.tcpSeg(time.Millisecond, srv, cli, 880, 40000, c2, 0, synF, nil)
	s.tcpSeg(time.Millisecond, cli, srv, 40000, 880, s2, c2+1, synF|ackF, nil)
	c2, s2 = c2+1, s2+1
	cb, cbRep := cbRecall40(1), cbRecall40Reply(1) // the XID of the client's SETCLIENTID, again
	s.tcpSeg(time.Millisecond, srv, cli, 880, 40000, c2, s2, ackF|pshF, cb)
	c2 += uint32(len(cb))
	s.tcpSeg(2*time.Millisecond, cli, srv, 40000, 880, s2, c2, ackF|pshF, cbRep)

	opts := analyze.DefaultOptions()
	opts.Ports = []uint16{2049, 40000}
	r := s.run(opts)
	if r.Summary.Calls != 2 || r.Summary.Replies != 2 || r.Summary.Undecodable != 0 || r.Summary.OrphanReplies != 0 {
		t.Errorf("summary %+v, want 2 calls and 2 replies paired", r.Summary)
	}
	rows := map[string]analyze.Procedure{}
	for _, p := range r.Procedures {
		rows[p.ProgramName+" "+p.Name] = p
	}
	if p := rows["NFS SETCLIENTID"]; p.Calls != 1 || p.Replies != 1 {
		t.Errorf("SETCLIENTID row %+v", p)
	}
	if p := rows["NFS_CB CB_RECALL"]; p.Calls != 1 || p.Replies != 1 || p.Program != cbProg40 || p.Version != 1 || p.Latency.Max != 2 {
		t.Errorf("CB_RECALL row %+v, want 1 call of program %#x answered in 2 ms; rows %v", p, cbProg40, rows)
	}
	var cbOps int64
	for _, op := range r.Operations {
		if op.Callback && op.Name == "CB_RECALL" {
			cbOps += op.Count
		}
	}
	if cbOps != 1 {
		t.Errorf("CB_RECALL operations %d, want 1: %+v", cbOps, r.Operations)
	}
}
