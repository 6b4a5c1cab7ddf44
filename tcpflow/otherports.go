package tcpflow

import "encoding/binary"

// RPC on ports not analysed. A capture of an NFS problem often holds RPC
// on other ports too (MOUNT on 20048, rpcbind on 111, NLM, a server on a
// non-standard port): when nothing was found on the analysed ports, the
// report names the ports where calls were seen, so the user knows which
// --port to give. A packet to another port is looked at only this far: a
// call's first words (msg_type CALL, rpcvers 2), a few comparisons.

// MaxOtherPorts bounds the ports counted.
const MaxOtherPorts = 8

// OtherPort counts the RPC calls seen to one port not analysed.
type OtherPort struct {
	Port  uint16
	Proto Proto
	Calls int64
}

// otherPortCall reports whether s, a segment to or from no analysed port,
// begins an RPC call: over TCP a record marker (the last fragment, of a
// plausible length), then XID, CALL (0) and RPC version 2; over UDP the
// same without the marker.
func otherPortCall(s *Segment) bool {
	p := s.Payload
	switch s.Proto {
	case ProtoTCP:
		if len(p) < 16 {
			return false
		}
		n := binary.BigEndian.Uint32(p)
		if n&0x80000000 == 0 || n&0x7fffffff < 40 || n&0x7fffffff > 1<<24 {
			return false
		}
		p = p[4:]
	case ProtoUDP:
		if len(p) < 12 {
			return false
		}
	default:
		return false
	}
	return binary.BigEndian.Uint32(p[4:]) == 0 && binary.BigEndian.Uint32(p[8:]) == 2
}

// noteOtherPort counts s if it is an RPC call to a port not analysed.
func (f *Flows) noteOtherPort(s *Segment) {
	if !otherPortCall(s) {
		return
	}
	for i := range f.Stats.OtherPorts {
		o := &f.Stats.OtherPorts[i]
		if o.Port == s.Dst.Port && o.Proto == s.Proto {
			o.Calls++
			return
		}
	}
	if len(f.Stats.OtherPorts) < MaxOtherPorts {
		f.Stats.OtherPorts = append(f.Stats.OtherPorts, OtherPort{Port: s.Dst.Port, Proto: s.Proto, Calls: 1})
	}
}
