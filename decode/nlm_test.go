package decode

import (
	"encoding/binary"
	"errors"
	"testing"
)

// NLM messages built from the XDR of XNFS chapter 14 (nlm_prot.x), word
// by word.

func nlmWords(ws ...uint32) []byte {
	var b []byte
	for _, w := range ws {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

func nlmOpaque(s string) []byte {
	b := nlmWords(uint32(len(s)))
	b = append(b, s...)
	return append(b, make([]byte, (4-len(s)%4)%4)...)
}

// nlm4Lock is an nlm4_lock: caller "client1", handle fh, owner "oh",
// svid, offset, length (64-bit).
func nlm4Lock(fh string, svid uint32, off, length uint64) []byte {
	b := nlmOpaque("client1")
	b = append(b, nlmOpaque(fh)...)
	b = append(b, nlmOpaque("oh")...)
	b = append(b, nlmWords(svid)...)
	b = binary.BigEndian.AppendUint64(b, off)
	return binary.BigEndian.AppendUint64(b, length)
}

// nlm4LockArgs is an nlm4_lockargs: cookie "ck", block, exclusive, the
// lock, reclaim false, state 3.
func nlm4LockArgs(block bool, fh string) []byte {
	b := nlmOpaque("ck")
	b = append(b, nlmWords(b2u(block), 1)...)
	b = append(b, nlm4Lock(fh, 4242, 100, 50)...)
	return append(b, nlmWords(0, 3)...)
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func TestParseNLMArgs(t *testing.T) {
	var a NLMArgs
	if err := ParseNLMArgs(4, NLMProcLock, nlm4LockArgs(true, "FHANDLE1"), &a); err != nil {
		t.Fatal(err)
	}
	l := a.Lock
	if !a.Block || !a.Exclusive || a.Reclaim || string(a.Cookie) != "ck" || string(l.CallerName) != "client1" || string(l.FH) != "FHANDLE1" ||
		string(l.OH) != "oh" || l.SVID != 4242 || l.Offset != 100 || l.Length != 50 || a.Has != NLMHasLock|NLMHasBlock {
		t.Errorf("LOCK args %+v", a)
	}
	// GRANTED: nlm4_testargs (cookie, exclusive, lock).
	g := append(nlmOpaque("ck"), nlmWords(1)...)
	g = append(g, nlm4Lock("FHANDLE1", 4242, 100, 50)...)
	if err := ParseNLMArgs(4, NLMProcGranted, g, &a); err != nil || a.Block || !a.Exclusive || a.Lock.SVID != 4242 || string(a.Lock.FH) != "FHANDLE1" || a.Has != NLMHasLock {
		t.Errorf("GRANTED args %+v, %v", a, err)
	}
	// Version 3: 32-bit offset and length.
	v3 := append(nlmOpaque("ck"), nlmOpaque("client1")...)
	v3 = append(v3, nlmOpaque("fh")...)
	v3 = append(v3, nlmOpaque("oh")...)
	v3 = append(v3, nlmWords(7, 1, 2)...)
	if err := ParseNLMArgs(3, NLMProcUnlock, v3, &a); err != nil || a.Lock.SVID != 7 || a.Lock.Offset != 1 || a.Lock.Length != 2 {
		t.Errorf("v3 UNLOCK args %+v, %v", a, err)
	}
	// GRANTED_RES: an nlm4_res sent as a call.
	if err := ParseNLMArgs(4, NLMProcGrantedRes, append(nlmOpaque("ck"), nlmWords(0)...), &a); err != nil || a.Res.Stat != NLMGranted || a.Res.Has != NLMHasStat || string(a.Cookie) != "ck" {
		t.Errorf("GRANTED_RES args %+v, %v", a, err)
	}
	// Cut in the lock: the block flag kept, an error saying where.
	cut := nlm4LockArgs(true, "FHANDLE1")[:30]
	err := ParseNLMArgs(4, NLMProcLock, cut, &a)
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ErrShort) || a.Has != NLMHasBlock || !a.Block {
		t.Errorf("cut LOCK: %+v, %v", a, err)
	}
	if err := ParseNLMArgs(4, 22, []byte{1}, &a); err != nil || a.Has != 0 {
		t.Errorf("NM_LOCK: %+v %v, want nothing read", a, err)
	}
}

func TestParseNLMResult(t *testing.T) {
	var r NLMRes
	if err := ParseNLMResult(4, NLMProcLock, append(nlmOpaque("ck"), nlmWords(NLMBlocked)...), &r); err != nil || r.Stat != NLMBlocked || r.Has != NLMHasStat {
		t.Errorf("LOCK result %+v, %v", r, err)
	}
	// TEST denied: nlm4_holder (exclusive, svid, oh, offset, length).
	b := append(nlmOpaque("ck"), nlmWords(NLMDenied, 1, 99)...)
	b = append(b, nlmOpaque("other")...)
	b = binary.BigEndian.AppendUint64(b, 0)
	b = binary.BigEndian.AppendUint64(b, 10)
	if err := ParseNLMResult(4, NLMProcTest, b, &r); err != nil || r.Stat != NLMDenied || !r.Holder.Exclusive || r.Holder.SVID != 99 ||
		string(r.Holder.OH) != "other" || r.Holder.Length != 10 || r.Has != NLMHasStat|NLMHasHolder {
		t.Errorf("TEST result %+v, %v", r, err)
	}
	if err := ParseNLMResult(4, NLMProcLockMsg, b, &r); err != nil || r.Has != 0 {
		t.Errorf("LOCK_MSG result %+v: one-way, nothing to read", r)
	}
	if NLMStatName(3) != "NLM4_BLOCKED" || NLMStatName(77) != "NLM4_STAT_77" {
		t.Errorf("names %s %s", NLMStatName(3), NLMStatName(77))
	}
}

func TestNLMNoAllocs(t *testing.T) {
	var a NLMArgs
	var r NLMRes
	args := nlm4LockArgs(true, "FHANDLE1")
	cut := args[:30]
	res := append(nlmOpaque("ck"), nlmWords(NLMBlocked)...)
	if n := testing.AllocsPerRun(100, func() {
		_ = ParseNLMArgs(4, NLMProcLock, args, &a)
		_ = ParseNLMArgs(4, NLMProcLock, cut, &a)
		_ = ParseNLMResult(4, NLMProcLock, res, &r)
		_ = ParseNLMResult(4, NLMProcLock, res[:5], &r)
	}); n != 0 {
		t.Errorf("%.1f allocations, want 0", n)
	}
}

func FuzzParseNLM(f *testing.F) {
	f.Add(uint32(4), uint32(NLMProcLock), nlm4LockArgs(true, "FHANDLE1"))
	f.Add(uint32(4), uint32(NLMProcGranted), append(append(nlmOpaque("ck"), nlmWords(1)...), nlm4Lock("fh", 1, 0, 0)...))
	f.Add(uint32(1), uint32(NLMProcTest), append(nlmOpaque("ck"), nlmWords(NLMDenied, 1, 99, 0, 0, 10)...))
	f.Add(uint32(4), uint32(NLMProcGrantedRes), append(nlmOpaque("ck"), nlmWords(0)...))
	f.Fuzz(func(t *testing.T, vers, proc uint32, b []byte) {
		var a NLMArgs
		if err := ParseNLMArgs(vers, proc, b, &a); err == nil && a.Has&NLMHasLock != 0 {
			l := a.Lock
			if len(l.CallerName) > lmMaxStrLen || len(l.FH) > maxNetobj || len(l.OH) > maxNetobj || len(l.FH)+len(l.OH)+len(l.CallerName) > len(b) {
				t.Fatalf("lock %+v from %d bytes", l, len(b))
			}
		}
		var r NLMRes
		if err := ParseNLMResult(vers, proc, b, &r); err == nil && r.Has&NLMHasHolder != 0 && len(r.Holder.OH) > len(b) {
			t.Fatalf("holder %+v from %d bytes", r.Holder, len(b))
		}
	})
}
