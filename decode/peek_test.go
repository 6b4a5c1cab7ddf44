package decode

import (
	"encoding/binary"
	"testing"
)

func TestPeekRecordHead(t *testing.T) {
	be := func(ws ...uint32) []byte {
		b := make([]byte, 4*len(ws))
		for i, w := range ws {
			binary.BigEndian.PutUint32(b[4*i:], w)
		}
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want RecordHead
		ok   bool
	}{
		{"call", be(0x80000080, 0x1234, MsgCall, 2, ProgNFS, 3, NFS3ProcRead), RecordHead{XID: 0x1234, Call: true, Prog: ProgNFS, Vers: 3, Proc: NFS3ProcRead}, true},
		{"reply", be(0x80000080, 0x1234, MsgReply, MsgAccepted), RecordHead{XID: 0x1234}, true},
		{"call cut in its header", be(0x80000080, 0x1234, MsgCall, 2, ProgNFS, 3), RecordHead{}, false},
		{"fragment too short", be(0x80000010, 0x1234, MsgReply, MsgAccepted), RecordHead{}, false},
		{"fragment too long", be(0x80000000|(DefaultMaxFragment+1), 0x1234, MsgReply, MsgAccepted), RecordHead{}, false},
		{"no header", be(0x80000080), RecordHead{}, false},
		{"not RPC", be(0x80000080, 0x1234, 7, 7, 7, 7, 7), RecordHead{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PeekRecordHead(tt.b)
			if got != tt.want || ok != tt.ok {
				t.Errorf("PeekRecordHead = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
