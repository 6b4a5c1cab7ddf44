package decode

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// callHead is the fixed start of a call: xid, CALL, rpcvers 2, prog, vers, proc.
func callHead(xid, prog, vers, proc uint32) wire {
	return wire{}.u32(xid, MsgCall, 2, prog, vers, proc)
}

// authSys is an authsys_parms body.
func authSys(stamp uint32, machine string, uid, gid uint32, gids ...uint32) wire {
	w := wire{}.u32(stamp).str(machine).u32(uid, gid, uint32(len(gids)))
	return w.u32(gids...)
}

// Test messages. sysCall is what a Linux client sends for an NFSv3 READ
// of 4096 bytes at offset 8192: AUTH_SYS with seven groups, AUTH_NONE verifier.
var (
	sysCred = authSys(0x5e0c1a2b, "nfsclient01", 1000, 1000, 1000, 4, 24, 27, 30, 46, 100)
	readFH  = []byte{0x01, 0x00, 0x07, 0x01, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x87, 0xdd, 0x7e, 0x9f,
		0x58, 0x01, 0x4b, 0x49, 0xb8, 0x56, 0xe1, 0xc3, 0x2b, 0xdf, 0x79, 0xa4, 0x03, 0x00, 0x12, 0x00}
	readArgs = wire{}.opaque(readFH).u64(8192).u32(4096)
	sysCall  = callHead(0x6b8b4567, ProgNFS, 3, NFS3ProcRead).u32(AuthSys).opaque(sysCred).u32(AuthNone, 0).cat(readArgs)
	// nullCall is a MOUNT NULL ping with AUTH_NONE credential and verifier.
	nullCall = callHead(0x00000001, ProgMount, 3, 0).u32(AuthNone, 0, AuthNone, 0)
	// gssCall carries an RPCSEC_GSS krb5i credential (RFC 2203): version 1,
	// DATA, sequence 7, integrity, a 16-byte handle; the verifier is a MIC.
	gssHandle = []byte("0123456789abcdef")
	gssCred   = wire{}.u32(1, 0, 7, GSSServiceIntegrity).opaque(gssHandle)
	gssVerf   = bytes.Repeat([]byte{0xee}, 28)
	gssCall   = callHead(0x11, ProgNFS, 3, NFS3ProcGetattr).u32(RPCSECGSS).opaque(gssCred).u32(RPCSECGSS).opaque(gssVerf).u32(36).u32(99).opaque(readFH)

	successReply  = wire{}.u32(0x6b8b4567, MsgReply, MsgAccepted, AuthNone, 0, Success).u32(NFS3OK, 0, 4096, 1).opaque(make([]byte, 4096))
	progMismatch  = wire{}.u32(0x22, MsgReply, MsgAccepted, AuthNone, 0, ProgMismatch, 2, 3)
	procUnavail   = wire{}.u32(0x23, MsgReply, MsgAccepted, AuthNone, 0, ProcUnavail)
	rpcMismatch   = wire{}.u32(0x24, MsgReply, MsgDenied, RPCMismatch, 2, 2)
	authError     = wire{}.u32(0x25, MsgReply, MsgDenied, AuthError, 5)
	gssReply      = wire{}.u32(0x11, MsgReply, MsgAccepted, RPCSECGSS).opaque(gssVerf).u32(Success).u32(0xabcd)
	unknownAccept = wire{}.u32(0x26, MsgReply, MsgAccepted, AuthNone, 0, 9)
)

func TestParseCall(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Call
	}{
		{
			name: "AUTH_SYS NFSv3 READ",
			in:   sysCall,
			want: Call{
				XID: 0x6b8b4567, RPCVers: 2, Prog: ProgNFS, Vers: 3, Proc: NFS3ProcRead,
				CredFlavor: AuthSys, Cred: sysCred,
				Sys: AuthSysCred{
					Stamp: 0x5e0c1a2b, Machine: []byte("nfsclient01"), UID: 1000, GID: 1000,
					NGIDs: 7, GIDs: [16]uint32{1000, 4, 24, 27, 30, 46, 100},
				},
				HasSys:     true,
				VerfFlavor: AuthNone, Verf: []byte{},
				Args: readArgs,
			},
		},
		{
			name: "AUTH_NONE MOUNT NULL",
			in:   nullCall,
			want: Call{
				XID: 1, RPCVers: 2, Prog: ProgMount, Vers: 3, Proc: 0,
				CredFlavor: AuthNone, Cred: []byte{}, VerfFlavor: AuthNone, Verf: []byte{}, Args: []byte{},
			},
		},
		{
			name: "RPCSEC_GSS integrity",
			in:   gssCall,
			want: Call{
				XID: 0x11, RPCVers: 2, Prog: ProgNFS, Vers: 3, Proc: NFS3ProcGetattr,
				CredFlavor: RPCSECGSS, Cred: gssCred,
				GSS:        GSSCred{Version: 1, Proc: 0, Seq: 7, Service: GSSServiceIntegrity, Handle: gssHandle},
				HasGSS:     true,
				VerfFlavor: RPCSECGSS, Verf: gssVerf,
				Args: wire{}.u32(36).u32(99).opaque(readFH),
			},
		},
		{
			name: "AUTH_SYS with 17 groups leaves Sys empty",
			in:   callHead(5, ProgNFS, 3, 1).u32(AuthSys).opaque(authSys(0, "h", 0, 0, make([]uint32, 17)...)).u32(AuthNone, 0),
			want: Call{
				XID: 5, RPCVers: 2, Prog: ProgNFS, Vers: 3, Proc: 1,
				CredFlavor: AuthSys, Cred: authSys(0, "h", 0, 0, make([]uint32, 17)...),
				VerfFlavor: AuthNone, Verf: []byte{}, Args: []byte{},
			},
		},
		{
			name: "AUTH_SYS body cut inside its groups",
			in:   callHead(6, ProgNFS, 3, 1).u32(AuthSys).opaque(authSys(0, "h", 0, 0, 1, 2)[:24]).u32(AuthNone, 0),
			want: Call{
				XID: 6, RPCVers: 2, Prog: ProgNFS, Vers: 3, Proc: 1,
				CredFlavor: AuthSys, Cred: authSys(0, "h", 0, 0, 1, 2)[:24],
				VerfFlavor: AuthNone, Verf: []byte{}, Args: []byte{},
			},
		},
		{
			name: "RPCSEC_GSS version 2 is not decoded",
			in:   callHead(7, ProgNFS, 3, 1).u32(RPCSECGSS).opaque(wire{}.u32(2, 0, 7, 1).opaque(nil)).u32(AuthNone, 0),
			want: Call{
				XID: 7, RPCVers: 2, Prog: ProgNFS, Vers: 3, Proc: 1,
				CredFlavor: RPCSECGSS, Cred: wire{}.u32(2, 0, 7, 1).opaque(nil),
				VerfFlavor: AuthNone, Verf: []byte{}, Args: []byte{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Call{XID: 0xbad, HasSys: true, Args: []byte("stale")} // must be reset
			if err := ParseCall(tt.in, &c); err != nil {
				t.Fatalf("ParseCall: %v", err)
			}
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("got  %+v\nwant %+v", c, tt.want)
			}
			for _, s := range [][]byte{c.Cred, c.Verf, c.Args, c.Sys.Machine, c.GSS.Handle} {
				if !within(tt.in, s) {
					t.Errorf("slice %x does not alias the input", s)
				}
			}
		})
	}
}

func TestParseCallErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr error
		wantOff int
		want    Call // fields decoded before the failure
	}{
		{"empty", nil, ErrShort, 0, Call{}},
		{"xid only", wire{}.u32(9), ErrShort, 4, Call{XID: 9}},
		{"reply not call", wire{}.u32(9, MsgReply, 0), ErrNotCall, 4, Call{XID: 9}},
		{"msg_type 2", wire{}.u32(9, 2, 2), ErrNotCall, 4, Call{XID: 9}},
		{"rpcvers 3", wire{}.u32(9, MsgCall, 3, ProgNFS, 3, 0), ErrRPCVersion, 8, Call{XID: 9, RPCVers: 3}},
		{"cred above 400", callHead(9, ProgNFS, 3, 0).u32(AuthSys, 401), ErrTooLong, 28,
			Call{XID: 9, RPCVers: 2, Prog: ProgNFS, Vers: 3, CredFlavor: AuthSys}},
		{"verf above 400", callHead(9, ProgNFS, 3, 0).u32(AuthNone, 0, AuthNone, 1000), ErrTooLong, 36,
			Call{XID: 9, RPCVers: 2, Prog: ProgNFS, Vers: 3, Cred: []byte{}}},
		{"cred body cut", callHead(9, ProgNFS, 3, 0).u32(AuthSys, 40).raw(1, 2), ErrShort, 32,
			Call{XID: 9, RPCVers: 2, Prog: ProgNFS, Vers: 3, CredFlavor: AuthSys}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Call
			err := ParseCall(tt.in, &c)
			var de *DecodeError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &de) {
				t.Fatalf("err = %v, want a DecodeError wrapping %v", err, tt.wantErr)
			}
			if de.Offset != tt.wantOff {
				t.Errorf("error offset = %d, want %d (%v)", de.Offset, tt.wantOff, err)
			}
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("got  %+v\nwant %+v", c, tt.want)
			}
		})
	}
}

// TestParseCallTruncated cuts a call at every length: before the end of
// the verifier it must fail with ErrShort, from there on it must succeed
// with Args holding what is left, and it must never panic.
func TestParseCallTruncated(t *testing.T) {
	for _, msg := range []wire{sysCall, nullCall, gssCall} {
		argsAt := len(msg) - len(mustCall(t, msg).Args)
		for n := 0; n <= len(msg); n++ {
			var c Call
			err := ParseCall(msg[:n], &c)
			if n < argsAt {
				if !errors.Is(err, ErrShort) {
					t.Errorf("cut at %d of %d: err = %v, want ErrShort", n, len(msg), err)
				}
				continue
			}
			if err != nil {
				t.Errorf("cut at %d: %v", n, err)
			} else if !bytes.Equal(c.Args, msg[argsAt:n]) {
				t.Errorf("cut at %d: Args = %x, want %x", n, c.Args, msg[argsAt:n])
			}
		}
	}
}

func mustCall(t *testing.T, b []byte) Call {
	t.Helper()
	var c Call
	if err := ParseCall(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Reply
	}{
		{"accepted SUCCESS", successReply, Reply{
			XID: 0x6b8b4567, ReplyStat: MsgAccepted, VerfFlavor: AuthNone, Verf: []byte{}, AcceptStat: Success,
			Results: successReply[24:],
		}},
		{"accepted SUCCESS with RPCSEC_GSS verifier", gssReply, Reply{
			XID: 0x11, ReplyStat: MsgAccepted, VerfFlavor: RPCSECGSS, Verf: gssVerf, AcceptStat: Success,
			Results: wire{}.u32(0xabcd),
		}},
		{"accepted PROG_MISMATCH", progMismatch, Reply{
			XID: 0x22, ReplyStat: MsgAccepted, Verf: []byte{}, AcceptStat: ProgMismatch, MismatchLow: 2, MismatchHigh: 3,
		}},
		{"accepted PROC_UNAVAIL", procUnavail, Reply{
			XID: 0x23, ReplyStat: MsgAccepted, Verf: []byte{}, AcceptStat: ProcUnavail,
		}},
		{"accepted undefined accept_stat is void", unknownAccept, Reply{
			XID: 0x26, ReplyStat: MsgAccepted, Verf: []byte{}, AcceptStat: 9,
		}},
		{"denied RPC_MISMATCH", rpcMismatch, Reply{
			XID: 0x24, ReplyStat: MsgDenied, RejectStat: RPCMismatch, MismatchLow: 2, MismatchHigh: 2,
		}},
		{"denied AUTH_ERROR", authError, Reply{
			XID: 0x25, ReplyStat: MsgDenied, RejectStat: AuthError, AuthStat: 5,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reply{AuthStat: 77, Results: []byte("stale")} // must be reset
			if err := ParseReply(tt.in, &r); err != nil {
				t.Fatalf("ParseReply: %v", err)
			}
			if !reflect.DeepEqual(r, tt.want) {
				t.Errorf("got  %+v\nwant %+v", r, tt.want)
			}
			if !within(tt.in, r.Verf) || !within(tt.in, r.Results) {
				t.Error("slices do not alias the input")
			}
		})
	}
}

func TestParseReplyErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr error
		wantOff int
	}{
		{"empty", nil, ErrShort, 0},
		{"call not reply", callHead(1, ProgNFS, 3, 0), ErrNotReply, 4},
		{"reply_stat 2", wire{}.u32(1, MsgReply, 2), ErrBadUnion, 8},
		{"reject_stat 2", wire{}.u32(1, MsgReply, MsgDenied, 2), ErrBadUnion, 12},
		{"verf above 400", wire{}.u32(1, MsgReply, MsgAccepted, AuthNone, 401), ErrTooLong, 16},
		{"accept_stat missing", wire{}.u32(1, MsgReply, MsgAccepted, AuthNone, 0), ErrShort, 20},
		{"mismatch high missing", wire{}.u32(1, MsgReply, MsgAccepted, AuthNone, 0, ProgMismatch, 2), ErrShort, 28},
		{"auth_stat missing", wire{}.u32(1, MsgReply, MsgDenied, AuthError), ErrShort, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reply
			err := ParseReply(tt.in, &r)
			var de *DecodeError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &de) {
				t.Fatalf("err = %v, want a DecodeError wrapping %v", err, tt.wantErr)
			}
			if de.Offset != tt.wantOff {
				t.Errorf("error offset = %d, want %d (%v)", de.Offset, tt.wantOff, err)
			}
		})
	}
}

// TestParseReplyTruncated cuts each reply at every length: before its
// fixed part ends it must fail with ErrShort, after that succeed.
func TestParseReplyTruncated(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		fixedTo int // length of the header without the procedure results
	}{
		{"SUCCESS", successReply, 24},
		{"SUCCESS GSS", gssReply, 24 + 28},
		{"PROG_MISMATCH", progMismatch, len(progMismatch)},
		{"PROC_UNAVAIL", procUnavail, len(procUnavail)},
		{"RPC_MISMATCH", rpcMismatch, len(rpcMismatch)},
		{"AUTH_ERROR", authError, len(authError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n := 0; n <= len(tt.in); n++ {
				var r Reply
				err := ParseReply(tt.in[:n], &r)
				if n < tt.fixedTo && !errors.Is(err, ErrShort) {
					t.Errorf("cut at %d: err = %v, want ErrShort", n, err)
				}
				if n >= tt.fixedTo && err != nil {
					t.Errorf("cut at %d: %v", n, err)
				}
			}
		})
	}
}

func TestHeader(t *testing.T) {
	xid, mt, err := Header(successReply)
	if xid != 0x6b8b4567 || mt != MsgReply || err != nil {
		t.Errorf("Header = %#x, %d, %v", xid, mt, err)
	}
	if _, _, err := Header(successReply[:7]); !errors.Is(err, ErrShort) {
		t.Errorf("Header of 7 bytes: err = %v, want ErrShort", err)
	}
}

func TestLooksLikeCall(t *testing.T) {
	mod := func(b []byte, at int, v uint32) []byte {
		c := bytes.Clone(b)
		copy(c[at:], wire{}.u32(v))
		return c
	}
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"AUTH_SYS NFS READ", sysCall, true},
		{"AUTH_SYS through its verifier body", sysCall[:len(sysCall)-len(mustCall(t, sysCall).Args)], true},
		{"AUTH_SYS without its verifier", sysCall[:32+len(sysCred)], false},
		{"AUTH_SYS first 32 bytes", sysCall[:32], false},
		{"AUTH_NONE MOUNT NULL", nullCall, true},
		{"AUTH_NONE needs its verifier header", nullCall[:39], false},
		{"RPCSEC_GSS", gssCall, true},
		{"RPCSEC_GSS through its 28-byte verifier", gssCall[:len(gssCall)-len(mustCall(t, gssCall).Args)], true},
		{"RPCSEC_GSS without its verifier body", gssCall[:len(gssCall)-len(mustCall(t, gssCall).Args)-4], false},
		{"RPCSEC_GSS version 2", callHead(1, ProgNFS, 3, 1).u32(RPCSECGSS).opaque(wire{}.u32(2, 0, 7, GSSServiceNone).opaque(gssHandle)).u32(RPCSECGSS).opaque(gssVerf), false},
		{"RPCSEC_GSS service 4", callHead(1, ProgNFS, 3, 1).u32(RPCSECGSS).opaque(wire{}.u32(1, 0, 7, 4).opaque(gssHandle)).u32(RPCSECGSS).opaque(gssVerf), false},
		{"RPCSEC_GSS handle past its credential", callHead(1, ProgNFS, 3, 1).u32(RPCSECGSS).opaque(wire{}.u32(1, 0, 7, 1, 40).raw(gssHandle...)).u32(RPCSECGSS).opaque(gssVerf), false},
		{"AUTH_SYS 17 groups", callHead(1, ProgNFS, 3, 1).u32(AuthSys).opaque(authSys(1, "h", 0, 0, make([]uint32, 17)...)).u32(AuthNone, 0), false},
		{"credential and verifier of 400 bytes", callHead(1, ProgNFS, 3, 1).u32(AuthDH).opaque(make([]byte, 400)).u32(AuthDH).opaque(make([]byte, 400)), true},
		{"portmap v2", callHead(1, ProgPortmap, 2, 3).u32(AuthNone, 0, AuthNone, 0), true},
		{"NLM v4", callHead(1, ProgNLM, 4, 2).u32(AuthSys).opaque(sysCred).u32(AuthNone, 0), true},
		{"AUTH_TLS probe", callHead(1, ProgNFS, 3, 0).u32(AuthTLS, 0, AuthNone, 0), true},
		{"empty", nil, false},
		{"garbage", bytes.Repeat([]byte{0x5a}, 64), false},
		{"zeros", make([]byte, 64), false},
		{"msg_type 1", mod(sysCall, 4, MsgReply), false},
		{"msg_type 2", mod(sysCall, 4, 2), false},
		{"rpcvers 3", mod(sysCall, 8, 3), false},
		{"unknown program (sadmind)", mod(sysCall, 12, 100232), false},
		{"version 10", mod(sysCall, 16, 10), false},
		{"cred flavor 8", mod(sysCall, 24, 8), false},
		{"cred length 401", mod(sysCall, 28, 401), false},
		{"AUTH_SYS body too small", mod(sysCall, 28, 16), false},
		{"verf flavor 9", mod(nullCall, 32, 9), false},
		{"verf length 401", mod(nullCall, 36, 401), false},
		{"WRITE data (not a header)", wire{}.u32(0, 0, 2, 0x00018, 0, 0, 0, 0, 0, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeCall(tt.in); got != tt.want {
				t.Errorf("LooksLikeCall = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLooksLikeReply(t *testing.T) {
	mod := func(b []byte, at int, v uint32) []byte {
		c := bytes.Clone(b)
		copy(c[at:], wire{}.u32(v))
		return c
	}
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"accepted SUCCESS", successReply, true},
		{"accepted SUCCESS first 24 bytes", successReply[:24], true},
		{"accepted SUCCESS first 23 bytes", successReply[:23], false},
		{"RPCSEC_GSS verifier", gssReply, true},
		{"RPCSEC_GSS verifier cut before accept_stat", gssReply[:48], false},
		{"PROG_MISMATCH", progMismatch, true},
		{"denied RPC_MISMATCH", rpcMismatch, true},
		{"denied AUTH_ERROR", authError, true},
		{"denied first 16 bytes", authError[:16], true},
		{"denied first 15 bytes", authError[:15], false},
		{"empty", nil, false},
		{"garbage", bytes.Repeat([]byte{0xa5}, 64), false},
		{"call", sysCall, false},
		{"msg_type 2", mod(successReply, 4, 2), false},
		{"reply_stat 2", mod(successReply, 8, 2), false},
		{"reject_stat 2", mod(rpcMismatch, 12, 2), false},
		{"accept_stat 6", mod(successReply, 20, 6), false},
		{"undefined accept_stat 9", unknownAccept, false},
		{"verf flavor 9", mod(successReply, 12, 9), false},
		{"verf length 401", mod(successReply, 16, 401), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeReply(tt.in); got != tt.want {
				t.Errorf("LooksLikeReply = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRPCNames(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"reply accepted", ReplyStatName(0), "MSG_ACCEPTED"},
		{"reply denied", ReplyStatName(1), "MSG_DENIED"},
		{"reply unknown", ReplyStatName(2), "REPLY_STAT_2"},
		{"accept success", AcceptStatName(0), "SUCCESS"},
		{"accept prog unavail", AcceptStatName(1), "PROG_UNAVAIL"},
		{"accept prog mismatch", AcceptStatName(2), "PROG_MISMATCH"},
		{"accept proc unavail", AcceptStatName(3), "PROC_UNAVAIL"},
		{"accept garbage args", AcceptStatName(4), "GARBAGE_ARGS"},
		{"accept system err", AcceptStatName(5), "SYSTEM_ERR"},
		{"accept unknown", AcceptStatName(6), "ACCEPT_STAT_6"},
		{"reject rpc mismatch", RejectStatName(0), "RPC_MISMATCH"},
		{"reject auth error", RejectStatName(1), "AUTH_ERROR"},
		{"reject unknown", RejectStatName(7), "REJECT_STAT_7"},
		{"auth ok", AuthStatName(0), "AUTH_OK"},
		{"auth badcred", AuthStatName(1), "AUTH_BADCRED"},
		{"auth tooweak", AuthStatName(5), "AUTH_TOOWEAK"},
		{"auth failed", AuthStatName(7), "AUTH_FAILED"},
		{"auth net addr", AuthStatName(12), "AUTH_NET_ADDR"},
		{"auth gss ctx", AuthStatName(14), "RPCSEC_GSS_CTXPROBLEM"},
		{"auth unknown", AuthStatName(15), "AUTH_STAT_15"},
		{"flavor none", AuthFlavorName(0), "AUTH_NONE"},
		{"flavor sys", AuthFlavorName(1), "AUTH_SYS"},
		{"flavor gss", AuthFlavorName(6), "RPCSEC_GSS"},
		{"flavor tls", AuthFlavorName(7), "AUTH_TLS"},
		{"flavor unknown", AuthFlavorName(390003), "AUTH_390003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestRPCZeroAllocs(t *testing.T) {
	var c Call
	var r Reply
	tests := []struct {
		name string
		f    func()
	}{
		{"ParseCall AUTH_SYS", func() { _ = ParseCall(sysCall, &c) }},
		{"ParseCall RPCSEC_GSS", func() { _ = ParseCall(gssCall, &c) }},
		{"ParseReply SUCCESS", func() { _ = ParseReply(successReply, &r) }},
		{"ParseReply denied", func() { _ = ParseReply(authError, &r) }},
		{"Header", func() { _, _, _ = Header(sysCall) }},
		{"LooksLikeCall", func() { _ = LooksLikeCall(sysCall) }},
		{"LooksLikeReply", func() { _ = LooksLikeReply(successReply) }},
		{"names", func() {
			_, _, _ = AcceptStatName(2), AuthStatName(1), AuthFlavorName(1)
			_, _ = RejectStatName(0), ReplyStatName(1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
}

func BenchmarkParseCall(b *testing.B) {
	var c Call
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseCall(sysCall, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReply(b *testing.B) {
	var r Reply
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseReply(successReply, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLooksLikeCall(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !LooksLikeCall(sysCall) {
			b.Fatal("not a call")
		}
	}
}

// FuzzParseCall checks that ParseCall never panics, that what it returns
// lies within its input, and that its errors say where they happened.
func FuzzParseCall(f *testing.F) {
	for _, seed := range [][]byte{sysCall, nullCall, gssCall, sysCall[:40], successReply} {
		f.Add([]byte(seed))
	}
	for _, seed := range loadBoundarySeeds(f).calls {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Call
		err := ParseCall(b, &c)
		checkDecodeError(t, b, err, ErrShort, ErrTooLong, ErrNotCall, ErrRPCVersion)
		for _, s := range [][]byte{c.Cred, c.Verf, c.Args, c.Sys.Machine, c.GSS.Handle} {
			if !within(b, s) {
				t.Fatalf("slice %x is not within the input", s)
			}
		}
		if len(c.Cred) > maxAuthBody || len(c.Verf) > maxAuthBody || len(c.Sys.Machine) > maxMachineName {
			t.Fatal("auth body above its limit")
		}
		if c.HasSys && (c.CredFlavor != AuthSys || c.Sys.NGIDs > maxAuthSysGIDs) {
			t.Fatalf("HasSys with flavor %d and %d groups", c.CredFlavor, c.Sys.NGIDs)
		}
		if c.HasGSS && c.CredFlavor != RPCSECGSS {
			t.Fatalf("HasGSS with flavor %d", c.CredFlavor)
		}
		if err == nil {
			if c.RPCVers != 2 {
				t.Fatalf("decoded rpcvers %d", c.RPCVers)
			}
			// Args are exactly the tail of the message.
			if len(c.Args) > 0 && &c.Args[len(c.Args)-1] != &b[len(b)-1] {
				t.Fatal("Args do not end where the message ends")
			}
			if xid, mt, herr := Header(b); herr != nil || xid != c.XID || mt != MsgCall {
				t.Fatalf("Header = %#x %d %v, call xid %#x", xid, mt, herr, c.XID)
			}
			if LooksLikeReply(b) {
				t.Fatal("a decoded call looks like a reply")
			}
		}
		// A call LooksLikeCall accepts has a header that decodes as far
		// as the bytes it looked at.
		if LooksLikeCall(b) && err != nil && !errors.Is(err, ErrShort) && !errors.Is(err, ErrTooLong) {
			t.Fatalf("LooksLikeCall but ParseCall: %v", err)
		}
	})
}

// FuzzParseReply is FuzzParseCall's counterpart for replies.
func FuzzParseReply(f *testing.F) {
	for _, seed := range [][]byte{successReply[:64], gssReply, progMismatch, procUnavail, rpcMismatch, authError, unknownAccept, sysCall} {
		f.Add([]byte(seed))
	}
	for _, seed := range loadBoundarySeeds(f).replies {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Reply
		err := ParseReply(b, &r)
		checkDecodeError(t, b, err, ErrShort, ErrTooLong, ErrNotReply, ErrBadUnion)
		if !within(b, r.Verf) || !within(b, r.Results) {
			t.Fatal("slices not within the input")
		}
		if len(r.Verf) > maxAuthBody {
			t.Fatal("verifier above its limit")
		}
		if r.Results != nil && (r.ReplyStat != MsgAccepted || r.AcceptStat != Success) {
			t.Fatalf("Results set for reply_stat %d accept_stat %d", r.ReplyStat, r.AcceptStat)
		}
		if err == nil && r.ReplyStat == MsgDenied && r.RejectStat > AuthError {
			t.Fatalf("decoded reject_stat %d", r.RejectStat)
		}
		// LooksLikeReply does not read the mismatch versions or auth_stat
		// after the status words; nothing else may fail.
		if LooksLikeReply(b) && err != nil && !errors.Is(err, ErrShort) {
			t.Fatalf("LooksLikeReply but ParseReply: %v", err)
		}
		if err == nil && r.AcceptStat <= SystemErr && knownFlavor(r.VerfFlavor) && !LooksLikeReply(b) {
			t.Fatal("a decoded reply with known values does not look like one")
		}
	})
}

// checkDecodeError checks that err is nil or a *DecodeError wrapping one
// of want, with an offset inside the input.
func checkDecodeError(t *testing.T, b []byte, err error, want ...error) {
	t.Helper()
	if err == nil {
		return
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
	}
	if de.Offset < 0 || de.Offset > len(b) {
		t.Fatalf("error offset %d outside 0..%d", de.Offset, len(b))
	}
	for _, w := range want {
		if errors.Is(err, w) {
			_ = err.Error() // must not panic
			return
		}
	}
	t.Fatalf("unexpected error %v", err)
}
