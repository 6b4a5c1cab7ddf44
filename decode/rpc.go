package decode

import "errors"

// ONC RPC version 2, RFC 5531 section 9. Input to the parsers here is one
// RPC message with the record marking (RFC 5531 section 11) already removed.

// Message types (msg_type).
const (
	MsgCall  = 0
	MsgReply = 1
)

// Reply status (reply_stat).
const (
	MsgAccepted = 0
	MsgDenied   = 1
)

// Accepted reply status (accept_stat).
const (
	Success      = 0
	ProgUnavail  = 1
	ProgMismatch = 2
	ProcUnavail  = 3
	GarbageArgs  = 4
	SystemErr    = 5
)

// Rejected reply status (reject_stat).
const (
	RPCMismatch = 0
	AuthError   = 1
)

// Errors for RPC messages that decode as XDR but are not what was asked for.
var (
	// ErrNotCall means ParseCall was given a message whose msg_type is not CALL.
	ErrNotCall = errors.New("rpc: not a call")
	// ErrNotReply means ParseReply was given a message whose msg_type is not REPLY.
	ErrNotReply = errors.New("rpc: not a reply")
	// ErrRPCVersion means a call's rpcvers is not 2: the rest has no known layout.
	ErrRPCVersion = errors.New("rpc: version not 2")
	// ErrBadUnion means a union discriminant has no arm (reply_stat, reject_stat).
	ErrBadUnion = errors.New("xdr: unknown union discriminant")
)

// Call is a decoded RPC call header. Byte-slice fields alias the input.
type Call struct {
	XID, RPCVers, Prog, Vers, Proc uint32

	CredFlavor uint32
	Cred       []byte      // credential body, raw
	Sys        AuthSysCred // set when HasSys
	HasSys     bool        // CredFlavor is AuthSys and its body decoded
	GSS        GSSCred     // set when HasGSS
	HasGSS     bool        // CredFlavor is RPCSECGSS and its body decoded as version 1

	VerfFlavor uint32
	Verf       []byte // verifier body, raw

	// Args are the procedure arguments: the rest of the message (cut short
	// when the capture's snaplen cut the message). With RPCSEC_GSS
	// integrity or privacy they are still wrapped (RFC 2203 section 5.3.2).
	Args []byte
}

// Reply is a decoded RPC reply header. Which fields are meaningful depends
// on ReplyStat and then AcceptStat or RejectStat, as in RFC 5531's unions.
type Reply struct {
	XID       uint32
	ReplyStat uint32 // MsgAccepted or MsgDenied

	// When accepted.
	VerfFlavor uint32
	Verf       []byte // verifier body, raw; aliases the input
	AcceptStat uint32 // Success, ProgUnavail, ProgMismatch, ProcUnavail, GarbageArgs, SystemErr

	// When denied.
	RejectStat uint32 // RPCMismatch or AuthError
	AuthStat   uint32 // when RejectStat is AuthError

	// Lowest and highest versions supported: of the program when
	// AcceptStat is ProgMismatch, of RPC when RejectStat is RPCMismatch.
	MismatchLow, MismatchHigh uint32

	// Results are the procedure results when AcceptStat is Success: the rest
	// of the message, possibly cut by the snaplen; they alias the input.
	Results []byte
}

// Header peeks at xid and msg_type, the first 8 bytes of any RPC message.
func Header(b []byte) (xid, msgType uint32, err error) {
	x := NewXDR(b)
	xid = x.Uint32()
	msgType = x.Uint32()
	if err := x.fail("rpc header"); err != nil {
		return 0, 0, err
	}
	return xid, msgType, nil
}

// ParseCall decodes the call header in b into c, resetting c first. On
// error c holds the fields decoded before the failure.
func ParseCall(b []byte, c *Call) error {
	*c = Call{}
	x := NewXDR(b)
	c.XID = x.Uint32()
	mt := x.Uint32()
	if x.err != nil {
		return x.fail("rpc call header")
	}
	if mt != MsgCall {
		x.rejectAt(4, ErrNotCall)
		return x.fail("rpc call msg_type")
	}
	c.RPCVers = x.Uint32()
	if x.err == nil && c.RPCVers != 2 {
		x.rejectAt(8, ErrRPCVersion)
		// Without version 2 the layout of what follows is unknown.
		return x.fail("rpc call rpcvers")
	}
	c.Prog = x.Uint32()
	c.Vers = x.Uint32()
	c.Proc = x.Uint32()
	if x.err != nil {
		return x.fail("rpc call header")
	}

	c.CredFlavor = x.Uint32()
	c.Cred = x.Opaque(maxAuthBody)
	if x.err != nil {
		return x.fail("rpc call credential")
	}
	// The credential body is decoded from its own bounded slice: a broken
	// body leaves HasSys/HasGSS false but does not fail the call, whose
	// layout does not depend on it.
	switch c.CredFlavor {
	case AuthSys:
		c.HasSys = parseAuthSys(c.Cred, &c.Sys)
	case RPCSECGSS:
		c.HasGSS = parseGSSCred(c.Cred, &c.GSS)
	}

	c.VerfFlavor = x.Uint32()
	c.Verf = x.Opaque(maxAuthBody)
	if x.err != nil {
		return x.fail("rpc call verifier")
	}
	c.Args = x.Rest()
	return nil
}

// ParseReply decodes the reply header in b into r, resetting r first. On
// error r holds the fields decoded before the failure.
func ParseReply(b []byte, r *Reply) error {
	*r = Reply{}
	x := NewXDR(b)
	r.XID = x.Uint32()
	at := x.off
	mt := x.Uint32()
	if x.err != nil {
		return x.fail("rpc reply header")
	}
	if mt != MsgReply {
		x.rejectAt(at, ErrNotReply)
		return x.fail("rpc reply msg_type")
	}
	at = x.off
	r.ReplyStat = x.Uint32()
	if x.err != nil {
		return x.fail("rpc reply header")
	}
	switch r.ReplyStat {
	case MsgAccepted:
		r.VerfFlavor = x.Uint32()
		r.Verf = x.Opaque(maxAuthBody)
		if x.err != nil {
			return x.fail("rpc reply verifier")
		}
		r.AcceptStat = x.Uint32()
		switch r.AcceptStat {
		case Success:
			if x.err == nil {
				r.Results = x.Rest()
			}
		case ProgMismatch:
			r.MismatchLow = x.Uint32()
			r.MismatchHigh = x.Uint32()
		}
		// Other accept_stat values take the union's "default: void" arm,
		// including ones RFC 5531 does not define: nothing follows.
		return x.fail("rpc accepted reply")
	case MsgDenied:
		at = x.off
		r.RejectStat = x.Uint32()
		if x.err != nil {
			return x.fail("rpc rejected reply")
		}
		switch r.RejectStat {
		case RPCMismatch:
			r.MismatchLow = x.Uint32()
			r.MismatchHigh = x.Uint32()
		case AuthError:
			r.AuthStat = x.Uint32()
		default:
			// rejected_reply has no default arm.
			x.rejectAt(at, ErrBadUnion)
			return x.fail("rpc rejected reply reject_stat")
		}
		return x.fail("rpc rejected reply")
	default:
		x.rejectAt(at, ErrBadUnion)
		return x.fail("rpc reply reply_stat")
	}
}

// The longest RPC headers (RFC 5531: credential and verifier bodies are
// opaque<400>): a call's through its verifier body, an accepted reply's
// through its accept_stat. A boundary search that sees this many bytes
// after a marker sees the whole header of any legal message.
const (
	MaxCallHeader  = 24 + 2*(8+maxAuthBody) // 840
	MaxReplyHeader = 12 + 8 + maxAuthBody + 4
)

// LooksLikeCall reports whether b plausibly starts an RPC call: msg_type 0,
// rpcvers 2, a known program (KnownProgram) with a version below 10, a
// known credential flavor with a body of at most 400 bytes that decodes
// (AUTH_SYS: authsys_parms; RPCSEC_GSS: a version 1 credential with a
// known gss_proc and service), and a known verifier flavor with a body of
// at most 400 bytes. It is meant for finding record boundaries in a
// stream joined midway, so it is cheap and looks only at the header.
//
// It needs the whole header, through the verifier body (at most
// MaxCallHeader bytes), and returns false for fewer: a message whose rest
// was not captured is judged by LooksLikeCallHeader.
func LooksLikeCall(b []byte) bool {
	if len(b) < 32 || !LooksLikeCallHeader(b) {
		return false
	}
	x := NewXDR(b)
	x.Skip(24) // through proc: checked above, with the credential
	credFlavor := x.Uint32()
	cred := x.Opaque(maxAuthBody)
	verfFlavor := x.Uint32()
	x.Opaque(maxAuthBody)
	if x.err != nil || !knownFlavor(verfFlavor) {
		return false
	}
	switch credFlavor {
	case AuthSys:
		var s AuthSysCred
		return parseAuthSys(cred, &s)
	case RPCSECGSS:
		var g GSSCred
		return parseGSSCred(cred, &g) && g.Proc <= 3 && g.Service >= GSSServiceNone && g.Service <= GSSServicePrivacy
	}
	return true
}

// LooksLikeCallHeader is LooksLikeCall for a call whose bytes were cut
// short (by the snaplen, or a gap in the capture): it needs only the fixed
// header, 24 bytes (msg_type 0, rpcvers 2, a known program, a version
// below 10), and checks the credential's flavor and length when they are
// there too.
func LooksLikeCallHeader(b []byte) bool {
	x := NewXDR(b)
	x.Skip(4) // xid
	msgType := x.Uint32()
	rpcVers := x.Uint32()
	prog := x.Uint32()
	vers := x.Uint32()
	x.Skip(4) // proc
	if x.err != nil || msgType != MsgCall || rpcVers != 2 || !KnownProgram(prog) || vers >= 10 {
		return false
	}
	credFlavor := x.Uint32()
	credLen := x.Uint32()
	return x.err != nil || (knownFlavor(credFlavor) && credLen <= maxAuthBody)
}

// LooksLikeReplyHeader is LooksLikeReply for a reply whose bytes were cut
// short: it needs only 12 bytes (msg_type 1, reply_stat 0 or 1). The XID
// check the caller makes matters all the more.
func LooksLikeReplyHeader(b []byte) bool {
	x := NewXDR(b)
	x.Skip(4) // xid
	msgType := x.Uint32()
	replyStat := x.Uint32()
	return x.err == nil && msgType == MsgReply && replyStat <= MsgDenied
}

// RecordHead is what the head of an RPC record says: its XID and, for a
// call, what was called.
type RecordHead struct {
	XID              uint32
	Call             bool // a call; else a reply
	Prog, Vers, Proc uint32
}

// PeekRecordHead reads a record marker and the RPC header after it from the
// first bytes of a record, which may be cut anywhere after the header. It
// makes the framer's test for a record boundary: a fragment length from
// 24 to DefaultMaxFragment, then a call (LooksLikeCallHeader) or a reply
// (LooksLikeReplyHeader).
func PeekRecordHead(b []byte) (RecordHead, bool) {
	x := NewXDR(b)
	n := x.Uint32() & 0x7fffffff
	body := x.Rest()
	if x.err != nil || n < 24 || n > DefaultMaxFragment {
		return RecordHead{}, false
	}
	switch {
	case LooksLikeReplyHeader(body):
		xid, _, _ := Header(body)
		return RecordHead{XID: xid}, true
	case LooksLikeCallHeader(body):
		h := RecordHead{Call: true}
		x := NewXDR(body)
		h.XID = x.Uint32()
		x.Skip(8) // msg_type, rpcvers
		h.Prog, h.Vers, h.Proc = x.Uint32(), x.Uint32(), x.Uint32()
		return h, true
	}
	return RecordHead{}, false
}

// LooksLikeReply reports whether b plausibly starts an RPC reply: msg_type
// 1 and reply_stat 0 or 1; if accepted, a known verifier flavor with a body
// of at most 400 bytes followed by an accept_stat of at most 5; if denied,
// a reject_stat of 0 or 1. The caller should also check that the XID is
// one it is waiting for, which is the stronger test.
//
// It needs 16 bytes for a denied reply and 24 plus the padded verifier
// body (24 with AUTH_NONE, 52 with a krb5 MIC) for an accepted one, at
// most MaxReplyHeader; given fewer it returns false.
func LooksLikeReply(b []byte) bool {
	x := NewXDR(b)
	x.Skip(4) // xid
	msgType := x.Uint32()
	replyStat := x.Uint32()
	if x.err != nil || msgType != MsgReply {
		return false
	}
	switch replyStat {
	case MsgAccepted:
		verfFlavor := x.Uint32()
		x.Opaque(maxAuthBody)
		acceptStat := x.Uint32()
		return x.err == nil && knownFlavor(verfFlavor) && acceptStat <= SystemErr
	case MsgDenied:
		rejectStat := x.Uint32()
		return x.err == nil && rejectStat <= AuthError
	}
	return false
}

// ReplyStatName names a reply_stat: "MSG_ACCEPTED", "MSG_DENIED".
func ReplyStatName(s uint32) string { return tableName(replyStatNames[:], s, "REPLY_STAT_") }

var replyStatNames = [...]string{
	MsgAccepted: "MSG_ACCEPTED",
	MsgDenied:   "MSG_DENIED",
}

var acceptStatNames = [...]string{
	Success:      "SUCCESS",
	ProgUnavail:  "PROG_UNAVAIL",
	ProgMismatch: "PROG_MISMATCH",
	ProcUnavail:  "PROC_UNAVAIL",
	GarbageArgs:  "GARBAGE_ARGS",
	SystemErr:    "SYSTEM_ERR",
}

// AcceptStatName names an accept_stat, e.g. "PROG_MISMATCH".
func AcceptStatName(s uint32) string { return tableName(acceptStatNames[:], s, "ACCEPT_STAT_") }

// RejectStatName names a reject_stat: "RPC_MISMATCH", "AUTH_ERROR".
func RejectStatName(s uint32) string { return tableName(rejectStatNames[:], s, "REJECT_STAT_") }

var rejectStatNames = [...]string{
	RPCMismatch: "RPC_MISMATCH",
	AuthError:   "AUTH_ERROR",
}
