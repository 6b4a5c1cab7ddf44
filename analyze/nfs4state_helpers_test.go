package analyze_test

import (
	"net"
	"time"
)

// Hand-built NFSv4 exchanges for the state, slot, recall and lock
// findings: each client its own connection to 198.18.0.2:2049, its
// messages built word by word from the XDR of RFC 8881 (4.1) and RFC 7530
// (4.0).

// v4peer is one client's connection in a scenario.
type v4peer struct {
	s     *scenario
	ip    net.IP
	port  uint16
	c, sv uint32
}

// peer opens a connection from ip:port (handshake) and returns it.
func (s *scenario) peer(ip net.IP, port uint16) *v4peer {
	p := &v4peer{s: s, ip: ip, port: port, c: 1000, sv: 5000}
	p.use()
	s.seg(time.Millisecond, true, p.c, 0, synF, 501, nil)
	s.seg(time.Millisecond, false, p.sv, p.c+1, synF|ackF, 501, nil)
	p.c, p.sv = p.c+1, p.sv+1
	s.seg(time.Millisecond, true, p.c, p.sv, ackF, 501, nil)
	return p
}

func (p *v4peer) use() { p.s.cli, p.s.cport = p.ip, p.port }

// call sends a call record dt after the last frame and returns its frame.
func (p *v4peer) call(dt time.Duration, b []byte) int64 {
	p.use()
	f := p.s.seg(dt, true, p.c, p.sv, ackF|pshF, 501, b)
	p.c += uint32(len(b))
	return f
}

// reply sends a reply record (or a callback call) from the server.
func (p *v4peer) reply(dt time.Duration, b []byte) int64 {
	p.use()
	f := p.s.seg(dt, false, p.sv, p.c, ackF|pshF, 501, b)
	p.sv += uint32(len(b))
	return f
}

// opaque is an XDR opaque<>: length, bytes, padding.
func opaque(s string) []byte {
	b := words(uint32(len(s)))
	b = append(b, s...)
	return append(b, make([]byte, (4-len(s)%4)%4)...)
}

// compound4 is a COMPOUND call of minor version minor with n operations
// whose arguments are ops.
func compound4(xid, minor, n uint32, ops ...[]byte) []byte {
	b := words(xid, 0, 2, 100003, 4, 1, 0, 0, 0, 0) // AUTH_NONE
	b = append(b, words(0, minor, n)...)
	for _, o := range ops {
		b = append(b, o...)
	}
	return record(b)
}

// compound4Reply is a COMPOUND reply of status with n results.
func compound4Reply(xid, status, n uint32, res ...[]byte) []byte {
	b := words(xid, 1, 0, 0, 0, 0, status, 0, n)
	for _, r := range res {
		b = append(b, r...)
	}
	return record(b)
}

// seqArgs is SEQUENCE's arguments (op 53): session, sequenceid, slot,
// highest slot, cachethis false.
func seqArgs(sid []uint32, seq, slot, highest uint32) []byte {
	b := words(53)
	b = append(b, words(sid...)...)
	return append(b, words(seq, slot, highest, 0)...)
}

// seqRes is SEQUENCE's result NFS4_OK: session, sequenceid, slot,
// highest, target, status flags.
func seqRes(sid []uint32, seq, slot, highest, target, flags uint32) []byte {
	b := words(53, 0)
	b = append(b, words(sid...)...)
	return append(b, words(seq, slot, highest, target, flags)...)
}

// putfh is PUTFH of a 4-byte handle.
func putfh(fh uint32) []byte { return words(22, 4, fh) }

// getattr is GETATTR of an empty bitmap... of one word (type).
func getattr() []byte { return words(9, 1, 1) }

// seqGetattr41 is SEQUENCE, PUTFH fh, GETATTR.
func seqGetattr41(xid uint32, sid []uint32, seq, slot uint32, fh uint32) []byte {
	return compound4(xid, 1, 3, seqArgs(sid, seq, slot, 15), putfh(fh), getattr())
}

// seqGetattrOK answers it: SEQUENCE ok (flags), PUTFH ok, GETATTR ok
// with an empty bitmap and no values.
func seqGetattrOK(xid uint32, sid []uint32, seq, slot, target, flags uint32) []byte {
	return compound4Reply(xid, 0, 3, seqRes(sid, seq, slot, 15, target, flags), words(22, 0), words(9, 0, 0, 0))
}

// seqFail answers a compound whose SEQUENCE failed with status.
func seqFail(xid, status uint32) []byte { return compound4Reply(xid, status, 1, words(53, status)) }

// exchangeID is EXCHANGE_ID (op 42) of owner with verifier verf: flags 0,
// SP4_NONE, no implementation id.
func exchangeID(xid uint32, owner string, verf uint32) []byte {
	b := words(42, 0, verf)
	b = append(b, opaque(owner)...)
	return compound4(xid, 1, 1, append(b, words(0, 0, 0)...))
}

// exchangeIDOK answers it with client ID clid: sequenceid 1, flags 0,
// SP4_NONE, so_minor_id 0, empty so_major_id and scope, no impl id.
func exchangeIDOK(xid uint32, clid uint32) []byte {
	return compound4Reply(xid, 0, 1, words(42, 0, 0, clid, 1, 0, 0, 0, 0, 0, 0, 0))
}

// channel is a channel_attrs4 of slots requests, no RDMA.
func channel(slots uint32) []uint32 { return []uint32{0, 1 << 20, 1 << 20, 4096, 16, slots, 0} }

// createSession is CREATE_SESSION (op 43) for client ID clid, 16 fore
// channel slots, back channel 1, Linux's callback program, AUTH_NONE.
func createSession(xid uint32, clid uint32) []byte {
	b := words(43, 0, clid, 1, 0)
	b = append(b, words(channel(16)...)...)
	b = append(b, words(channel(1)...)...)
	return compound4(xid, 1, 1, append(b, words(0x40000000, 1, 0)...))
}

// createSessionOK answers it with session sid and slots fore slots.
func createSessionOK(xid uint32, sid []uint32, slots uint32) []byte {
	b := words(43, 0)
	b = append(b, words(sid...)...)
	b = append(b, words(1, 0)...)
	b = append(b, words(channel(slots)...)...)
	return compound4Reply(xid, 0, 1, append(b, words(channel(1)...)...))
}

// destroySession is DESTROY_SESSION (op 44) of sid.
func destroySession(xid uint32, sid []uint32) []byte {
	return compound4(xid, 1, 1, append(words(44), words(sid...)...))
}

func destroySessionReply(xid, status uint32) []byte {
	return compound4Reply(xid, status, 1, words(44, status))
}

// renew40 is a 4.0 RENEW (op 30) of client ID clid.
func renew40(xid, clid uint32) []byte { return compound4(xid, 0, 1, words(30, 0, clid)) }

func renew40Reply(xid, status uint32) []byte {
	return compound4Reply(xid, status, 1, words(30, status))
}

// setClientID40 is a 4.0 SETCLIENTID of id with verifier verf, callback
// program cbProg40 at 198.18.0.1 port 40000.
func setClientID40(xid uint32, id string, verf uint32) []byte {
	b := words(35, 0, verf)
	b = append(b, opaque(id)...)
	b = append(b, words(cbProg40)...)
	b = append(b, opaque("tcp")...)
	b = append(b, opaque("198.18.0.1.156.64")...)
	return compound4(xid, 0, 1, append(b, words(1)...))
}

// setClientID40OK answers it with client ID clid.
func setClientID40OK(xid, clid uint32) []byte {
	return compound4Reply(xid, 0, 1, words(35, 0, 0, clid, 1, 2))
}

// confirm40 is SETCLIENTID_CONFIRM (op 36) of clid.
func confirm40(xid, clid uint32) []byte { return compound4(xid, 0, 1, words(36, 0, clid, 1, 2)) }

func confirm40OK(xid uint32) []byte { return compound4Reply(xid, 0, 1, words(36, 0)) }

// lookupGetFH41 is SEQUENCE, PUTFH dir, LOOKUP name, GETFH: the reply
// names the file's handle.
func lookupGetFH41(xid uint32, sid []uint32, seq, dir uint32, name string) []byte {
	return compound4(xid, 1, 4, seqArgs(sid, seq, 0, 15), putfh(dir), append(words(15), opaque(name)...), words(10))
}

// lookupGetFH41OK answers it with handle fh (4 bytes).
func lookupGetFH41OK(xid uint32, sid []uint32, seq, fh uint32) []byte {
	return compound4Reply(xid, 0, 4, seqRes(sid, seq, 0, 15, 15, 0), words(22, 0), words(15, 0), words(10, 0, 4, fh))
}

// open41 is SEQUENCE, PUTFH dir, OPEN name for writing (CLAIM_NULL,
// NOCREATE, open owner "o1").
func open41(xid uint32, sid []uint32, seq, dir uint32, name string) []byte {
	o := words(18, 0, 2, 0, 0, 5)
	o = append(o, opaque("o1")...)
	o = append(o, words(0, 0)...) // OPEN4_NOCREATE, CLAIM_NULL
	o = append(o, opaque(name)...)
	return compound4(xid, 1, 3, seqArgs(sid, seq, 0, 15), putfh(dir), o)
}

// open41Delay answers it NFS4ERR_DELAY.
func open41Delay(xid uint32, sid []uint32, seq uint32) []byte {
	return compound4Reply(xid, 10008, 3, seqRes(sid, seq, 0, 15, 15, 0), words(22, 0), words(18, 10008))
}

// cbRecallOf is a CB_COMPOUND of CB_SEQUENCE (session sid) and CB_RECALL
// of fh, delegation stateid other 0xde1e9a7e.
func cbRecallOf(xid uint32, sid []uint32, fh uint32) []byte {
	b := words(xid, 0, 2, 0x40000000, 1, 1, 0, 0, 0, 0)
	b = append(b, words(0, 1, 0, 2, 11)...)
	b = append(b, words(sid...)...)
	b = append(b, words(1, 0, 0, 0, 0)...)
	b = append(b, words(4, 1, 0xde1e9a7e, 0, 0, 0)...) // CB_RECALL: stateid, truncate
	return record(append(b, words(4, fh)...))
}

// cbRecallOfOK answers it.
func cbRecallOfOK(xid uint32, sid []uint32) []byte {
	b := words(xid, 1, 0, 0, 0, 0, 0, 0, 2, 11, 0)
	b = append(b, words(sid...)...)
	b = append(b, words(1, 0, 0, 0)...)
	return record(append(b, words(4, 0)...))
}

// delegReturn41 is SEQUENCE, PUTFH fh, DELEGRETURN of stateid other
// 0xde1e9a7e.
func delegReturn41(xid uint32, sid []uint32, seq, fh uint32) []byte {
	return compound4(xid, 1, 3, seqArgs(sid, seq, 0, 15), putfh(fh), words(8, 1, 0xde1e9a7e, 0, 0))
}

func delegReturn41OK(xid uint32, sid []uint32, seq uint32) []byte {
	return compound4Reply(xid, 0, 3, seqRes(sid, seq, 0, 15, 15, 0), words(22, 0), words(8, 0))
}

// cbNull is a CB_NULL of Linux's callback program.
func cbNull(xid uint32) []byte { return record(words(xid, 0, 2, 0x40000000, 1, 0, 0, 0, 0, 0)) }

// lock41 is SEQUENCE, PUTFH fh, LOCK of a write lock on the whole file
// (offset 0, length all ones) for a new lock owner owner.
func lock41(xid uint32, sid []uint32, seq, fh uint32, owner string) []byte {
	o := words(12, 2, 0, 0, 0, 0xffffffff, 0xffffffff, 1, 0, 1, 0xaa, 0, 0, 0)
	o = append(o, words(0, 0, 1)...) // lock seqid, client ID
	o = append(o, opaque(owner)...)
	return compound4(xid, 1, 3, seqArgs(sid, seq, 0, 15), putfh(fh), o)
}

// lock41OK grants it (lock stateid).
func lock41OK(xid uint32, sid []uint32, seq uint32) []byte {
	return compound4Reply(xid, 0, 3, seqRes(sid, seq, 0, 15, 15, 0), words(22, 0), words(12, 0, 1, 0x10c, 0, 0))
}

// lock41Denied refuses it: a write lock on bytes 0-99 held by owner of
// client ID clid.
func lock41Denied(xid uint32, sid []uint32, seq uint32, clid uint32, owner string) []byte {
	d := words(12, 10010, 0, 0, 0, 100, 2, 0, clid)
	return compound4Reply(xid, 10010, 3, seqRes(sid, seq, 0, 15, 15, 0), words(22, 0), append(d, opaque(owner)...))
}

// locku41 is SEQUENCE, PUTFH fh, LOCKU of the whole file.
func locku41(xid uint32, sid []uint32, seq, fh uint32) []byte {
	return compound4(xid, 1, 3, seqArgs(sid, seq, 0, 15), putfh(fh), words(14, 2, 1, 1, 0x10c, 0, 0, 0, 0, 0xffffffff, 0xffffffff))
}

func locku41OK(xid uint32, sid []uint32, seq uint32) []byte {
	return compound4Reply(xid, 0, 3, seqRes(sid, seq, 0, 15, 15, 0), words(22, 0), words(14, 0, 2, 0x10c, 0, 0))
}
