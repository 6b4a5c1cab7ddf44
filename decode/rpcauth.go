package decode

// RPC authentication (RFC 5531 section 8, RPCSEC_GSS RFC 2203): the
// flavors, the credential bodies the decoders read, and their names.

// Authentication flavors (auth_flavor). RFC 5531 lists 0-3 and 6; 4 and 5
// are registered with IANA, 7 is AUTH_TLS (RFC 9289), which Linux clients
// send in a NULL call to probe for RPC-over-TLS.
const (
	AuthNone  = 0
	AuthSys   = 1
	AuthShort = 2
	AuthDH    = 3
	AuthKerb4 = 4
	AuthRSA   = 5
	RPCSECGSS = 6
	AuthTLS   = 7
)

// RPCSEC_GSS services (rpc_gss_service_t, RFC 2203 section 5).
const (
	GSSServiceNone      = 1
	GSSServiceIntegrity = 2
	GSSServicePrivacy   = 3
)

// Limits from the protocol's XDR: opaque_auth body<400>, authsys_parms
// machinename<255> and gids<16>.
const (
	maxAuthBody    = 400
	maxMachineName = 255
	maxAuthSysGIDs = 16
)

// AuthSysCred is an AUTH_SYS credential body (authsys_parms, RFC 5531
// appendix A).
type AuthSysCred struct {
	Stamp   uint32
	Machine []byte // machine name; aliases the input
	UID     uint32
	GID     uint32
	NGIDs   int                    // number of supplementary groups, at most 16
	GIDs    [maxAuthSysGIDs]uint32 // the first NGIDs are set; an array so decoding does not allocate
}

// GSSCred is an RPCSEC_GSS version 1 credential body (rpc_gss_cred_vers_1_t,
// RFC 2203 section 5). It matters to nfsstall because with the integrity or
// privacy service the procedure arguments and results are wrapped.
type GSSCred struct {
	Version uint32 // RPCSEC_GSS version, 1
	Proc    uint32 // gss_proc: DATA=0 INIT=1 CONTINUE_INIT=2 DESTROY=3
	Seq     uint32 // seq_num
	Service uint32 // GSSServiceNone, GSSServiceIntegrity or GSSServicePrivacy
	Handle  []byte // context handle; aliases the input
}

// parseAuthSys decodes an authsys_parms body; on failure it clears s.
func parseAuthSys(b []byte, s *AuthSysCred) bool {
	x := NewXDR(b)
	s.Stamp = x.Uint32()
	s.Machine = x.Opaque(maxMachineName)
	s.UID = x.Uint32()
	s.GID = x.Uint32()
	n := x.Uint32()
	if x.err == nil && n > maxAuthSysGIDs {
		x.rejectAt(x.off, ErrTooLong)
	}
	for i := 0; x.err == nil && i < int(n); i++ {
		s.GIDs[i] = x.Uint32()
	}
	if x.err != nil {
		*s = AuthSysCred{}
		return false
	}
	s.NGIDs = int(n)
	return true
}

// parseGSSCred decodes an RPCSEC_GSS credential body; on failure, or for a
// version other than 1 (whose layout we do not know), it clears g.
func parseGSSCred(b []byte, g *GSSCred) bool {
	x := NewXDR(b)
	g.Version = x.Uint32()
	if x.err != nil || g.Version != 1 {
		*g = GSSCred{}
		return false
	}
	g.Proc = x.Uint32()
	g.Seq = x.Uint32()
	g.Service = x.Uint32()
	// RFC 2203 does not bound the handle; the whole credential is <400>.
	g.Handle = x.Opaque(maxAuthBody)
	if x.err != nil {
		*g = GSSCred{}
		return false
	}
	return true
}

// knownFlavor reports whether f is an auth flavor we would expect to see.
func knownFlavor(f uint32) bool { return f <= AuthTLS }

// auth_stat, RFC 5531 section 9 (8-12 are the deprecated AUTH_KERB errors,
// 13-14 come from RPCSEC_GSS, RFC 2203).
var authStatNames = [...]string{
	"AUTH_OK",
	"AUTH_BADCRED",
	"AUTH_REJECTEDCRED",
	"AUTH_BADVERF",
	"AUTH_REJECTEDVERF",
	"AUTH_TOOWEAK",
	"AUTH_INVALIDRESP",
	"AUTH_FAILED",
	"AUTH_KERB_GENERIC",
	"AUTH_TIMEEXPIRE",
	"AUTH_TKT_FILE",
	"AUTH_DECODE",
	"AUTH_NET_ADDR",
	"RPCSEC_GSS_CREDPROBLEM",
	"RPCSEC_GSS_CTXPROBLEM",
}

// AuthStatName names an auth_stat, e.g. "AUTH_BADCRED".
func AuthStatName(s uint32) string { return tableName(authStatNames[:], s, "AUTH_STAT_") }

var authFlavorNames = [...]string{
	AuthNone:  "AUTH_NONE",
	AuthSys:   "AUTH_SYS",
	AuthShort: "AUTH_SHORT",
	AuthDH:    "AUTH_DH",
	AuthKerb4: "AUTH_KERB4",
	AuthRSA:   "AUTH_RSA",
	RPCSECGSS: "RPCSEC_GSS",
	AuthTLS:   "AUTH_TLS",
}

// AuthFlavorName names an auth_flavor, e.g. "AUTH_SYS".
func AuthFlavorName(f uint32) string { return tableName(authFlavorNames[:], f, "AUTH_") }
