package analyze_test

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// A WRITE compound's operations after its data are past the 512 bytes the
// framer keeps of a record: they are counted from the reply, which lists
// them when the compound succeeded, and counted as unseen (skipped) when
// it failed before them.

const writeData = 2000

// writeCompound is SEQUENCE, PUTFH, WRITE of writeData bytes, GETATTR.
func writeCompound(xid uint32) []byte {
	b := words(xid, 0, 2, 100003, 4, 1, 0, 0, 0, 0)
	b = append(b, words(0, 1, 4, 53)...)
	b = append(b, words(sessionID...)...)
	b = append(b, words(8, 0, 0, 0)...)
	b = append(b, words(22, 4, 0xfeedface)...)
	b = append(b, words(38, 0, 0, 0, 0, 0, 0, 2, writeData)...) // WRITE: stateid, offset, FILE_SYNC, data
	b = append(b, make([]byte, writeData)...)
	return record(append(b, words(9, 1, 0x18)...)) // GETATTR: bitmap of 1 word
}

// writeReply answers it: all four results, or, with status, failing at WRITE.
func writeReply(xid, status uint32) []byte {
	n := uint32(4)
	if status != 0 {
		n = 3
	}
	b := words(xid, 1, 0, 0, 0, 0, status, 0, n, 53, 0)
	b = append(b, words(sessionID...)...)
	b = append(b, words(8, 0, 0, 0, 0)...)
	b = append(b, words(22, 0)...)
	if status != 0 {
		return record(append(b, words(38, status)...))
	}
	b = append(b, words(38, 0, writeData, 2, 1, 2)...) // count, committed, verifier
	return record(append(b, words(9, 0, 0, 0)...))     // GETATTR: empty bitmap, no attributes
}

func TestWriteOpsAfterDataFromReply(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(1000), uint32(5000)
	s.seg(0, true, c, 0, synF, 501, nil)
	s.seg(time.Millisecond, false, sv, c+1, synF|ackF, 501, nil)
	c, sv = c+1, sv+1
	for xid, status := range map[uint32]uint32{1: 0, 2: 28} { // NFS4ERR_NOSPC
		call, rep := writeCompound(xid), writeReply(xid, status)
		s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
		s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, rep)
		sv += uint32(len(rep))
	}
	r := s.run(analyze.DefaultOptions())
	var write *analyze.Procedure
	for i, p := range r.Procedures {
		if p.ProgramName == "NFS" && p.Name == "WRITE" {
			write = &r.Procedures[i]
		}
	}
	if write == nil || write.Calls != 2 || write.Replies != 2 || write.Errors != 1 || write.Bytes != 2*writeData {
		t.Fatalf("WRITE row %+v, want 2 calls, 2 replies, 1 error, %d bytes", write, 2*writeData)
	}
	ops := map[string]int64{}
	for _, op := range r.Operations {
		ops[op.Name] = op.Count
	}
	if ops["WRITE"] != 2 || ops["GETATTR"] != 1 {
		t.Errorf("operations %v, want WRITE 2 and GETATTR 1 (the failed compound's GETATTR is not shown)", ops)
	}
	var unseen int64
	for _, sk := range r.Skipped {
		if sk.What == "NFSv4 operations" {
			unseen += sk.Count
		}
	}
	if unseen != 1 {
		t.Errorf("unseen operations %d, want 1: %+v", unseen, r.Skipped)
	}
}
