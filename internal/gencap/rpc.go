package gencap

// The RPC messages the generated connections carry: NFSv3 READ calls and
// the headers of their replies, record-marked.

import "encoding/binary"

// AppendReadCall appends a record-marked NFSv3 READ call (AUTH_SYS, as a
// Linux client sends it) to dst: 160 bytes with a 32-byte file handle.
func AppendReadCall(dst []byte, xid, stamp uint32, fh []byte, offset uint64, count uint32) []byte {
	be := binary.BigEndian
	n := len(dst)
	msgLen := 24 + 76 + 8 + 4 + (len(fh)+3)&^3 + 12
	dst = append(dst, make([]byte, 4+msgLen)...)
	b := dst[n:]
	be.PutUint32(b[0:], 0x80000000|uint32(msgLen))
	be.PutUint32(b[4:], xid)
	be.PutUint32(b[8:], 0)       // CALL
	be.PutUint32(b[12:], 2)      // RPC version
	be.PutUint32(b[16:], 100003) // NFS
	be.PutUint32(b[20:], 3)
	be.PutUint32(b[24:], 6) // READ
	be.PutUint32(b[28:], 1) // AUTH_SYS
	be.PutUint32(b[32:], 68)
	be.PutUint32(b[36:], stamp)
	be.PutUint32(b[40:], 13)
	copy(b[44:60], "nfsgen-client\x00\x00\x00")
	be.PutUint32(b[60:], 0) // uid
	be.PutUint32(b[64:], 0) // gid
	be.PutUint32(b[68:], 8)
	for i := 0; i < 8; i++ {
		be.PutUint32(b[72+4*i:], uint32(i+1))
	}
	be.PutUint32(b[104:], 0) // verifier AUTH_NONE
	be.PutUint32(b[108:], 0)
	be.PutUint32(b[112:], uint32(len(fh)))
	copy(b[116:], fh)
	o := 116 + (len(fh)+3)&^3
	be.PutUint64(b[o:], offset)
	be.PutUint32(b[o+8:], count)
	return dst
}

// AppendReadReply appends the record marker and header of an NFSv3 READ
// reply (READ3resok, with or without post_op_attr) carrying count bytes of
// data, which follow it on the wire: 132 bytes with attributes, 48 without.
func AppendReadReply(dst []byte, xid, count uint32, attr bool, fileid uint64, mtime uint32) []byte {
	be := binary.BigEndian
	n := len(dst)
	hdr := replyHdrNone
	if attr {
		hdr = replyHdrAttr
	}
	dst = append(dst, make([]byte, hdr)...)
	b := dst[n:]
	be.PutUint32(b[0:], 0x80000000|uint32(hdr-4+int(count)))
	be.PutUint32(b[4:], xid)
	be.PutUint32(b[8:], 1)  // REPLY
	be.PutUint32(b[12:], 0) // MSG_ACCEPTED
	be.PutUint32(b[16:], 0) // verifier AUTH_NONE
	be.PutUint32(b[20:], 0)
	be.PutUint32(b[24:], 0) // SUCCESS
	be.PutUint32(b[28:], 0) // NFS3_OK
	o := 32
	if attr {
		be.PutUint32(b[o:], 1)
		o += 4
		a := b[o : o+84]
		be.PutUint32(a[0:], 1)      // NF3REG
		be.PutUint32(a[4:], 0o644)  // mode
		be.PutUint32(a[8:], 1)      // nlink
		be.PutUint64(a[20:], 1<<40) // size
		be.PutUint64(a[28:], 1<<40) // used
		be.PutUint64(a[44:], 0x2a)  // fsid
		be.PutUint64(a[52:], fileid)
		for t := 60; t < 84; t += 8 {
			be.PutUint32(a[t:], mtime)
		}
		o += 84
	} else {
		be.PutUint32(b[o:], 0)
		o += 4
	}
	be.PutUint32(b[o:], count)
	be.PutUint32(b[o+4:], 0) // eof
	be.PutUint32(b[o+8:], count)
	return dst
}
