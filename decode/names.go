package decode

import "strconv"

// ONC RPC program numbers of the NFS family.
const (
	ProgPortmap = 100000 // portmapper (v2) and rpcbind (v3, v4)
	ProgNFS     = 100003
	ProgRquota  = 100011
	ProgKLM     = 100020 // kernel lock manager
	ProgNLM     = 100021 // network lock manager
	ProgMount   = 100005
	ProgNSM     = 100024 // network status monitor (statd)
	ProgNFSACL  = 100227
)

// KnownProgram reports whether prog is one of the programs above: the ones
// that share a port or a connection with NFS, so finding one of them in a
// stream means we are reading RPC.
func KnownProgram(prog uint32) bool {
	switch prog {
	case ProgPortmap, ProgNFS, ProgRquota, ProgKLM, ProgNLM, ProgMount, ProgNSM, ProgNFSACL:
		return true
	}
	return false
}

// ProgramName names a program: "NFS", "MOUNT", "NLM", "PORTMAP", "NSM",
// "NFS_ACL", "RQUOTA", "KLM"; any other number as decimal.
func ProgramName(prog uint32) string {
	switch prog {
	case ProgPortmap:
		return "PORTMAP"
	case ProgNFS:
		return "NFS"
	case ProgRquota:
		return "RQUOTA"
	case ProgKLM:
		return "KLM"
	case ProgNLM:
		return "NLM"
	case ProgMount:
		return "MOUNT"
	case ProgNSM:
		return "NSM"
	case ProgNFSACL:
		return "NFS_ACL"
	}
	return strconv.FormatUint(uint64(prog), 10)
}

// Procedure names, indexed by procedure number. Gaps (empty strings) are
// numbers the version does not define.
var (
	// RFC 1094 section 2.2.
	nfs2Procs = [...]string{
		"NULL", "GETATTR", "SETATTR", "ROOT", "LOOKUP", "READLINK", "READ",
		"WRITECACHE", "WRITE", "CREATE", "REMOVE", "RENAME", "LINK",
		"SYMLINK", "MKDIR", "RMDIR", "READDIR", "STATFS",
	}
	// RFC 1813 section 3.
	nfs3Procs = [...]string{
		"NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ",
		"WRITE", "CREATE", "MKDIR", "SYMLINK", "MKNOD", "REMOVE", "RMDIR",
		"RENAME", "LINK", "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO",
		"PATHCONF", "COMMIT",
	}
	// RFC 7530; minor versions 1 and 2 keep the same two procedures.
	nfs4Procs = [...]string{"NULL", "COMPOUND"}
	// RFC 1813 appendix I; version 1 and 2 also have EXPORTALL, version 2 PATHCONF.
	mountProcs = [...]string{
		"NULL", "MNT", "DUMP", "UMNT", "UMNTALL", "EXPORT", "EXPORTALL", "PATHCONF",
	}
	// NLM versions 1-4 (X/Open XNFS; version 4 in RFC 1813 appendix II).
	// SHARE and later exist from version 3 on.
	nlmProcs = [...]string{
		0: "NULL", 1: "TEST", 2: "LOCK", 3: "CANCEL", 4: "UNLOCK", 5: "GRANTED",
		6: "TEST_MSG", 7: "LOCK_MSG", 8: "CANCEL_MSG", 9: "UNLOCK_MSG", 10: "GRANTED_MSG",
		11: "TEST_RES", 12: "LOCK_RES", 13: "CANCEL_RES", 14: "UNLOCK_RES", 15: "GRANTED_RES",
		20: "SHARE", 21: "UNSHARE", 22: "NM_LOCK", 23: "FREE_ALL",
	}
	// Portmapper version 2, RFC 1833 section 3.
	portmapProcs = [...]string{"NULL", "SET", "UNSET", "GETPORT", "DUMP", "CALLIT"}
	// rpcbind version 3 and 4, RFC 1833 section 2; version 4 renames CALLIT
	// to BCAST and adds 9-12.
	rpcbind3Procs = [...]string{
		"NULL", "SET", "UNSET", "GETADDR", "DUMP", "CALLIT", "GETTIME",
		"UADDR2TADDR", "TADDR2UADDR",
	}
	rpcbind4Procs = [...]string{
		"NULL", "SET", "UNSET", "GETADDR", "DUMP", "BCAST", "GETTIME",
		"UADDR2TADDR", "TADDR2UADDR", "GETVERSADDR", "INDIRECT",
		"GETADDRLIST", "GETSTAT",
	}
	// NSM version 1 (X/Open XNFS).
	nsmProcs = [...]string{"NULL", "STAT", "MON", "UNMON", "UNMON_ALL", "SIMU_CRASH", "NOTIFY"}
	// NFS_ACL, a Sun side protocol without an RFC; names as Wireshark gives them.
	nfsACL2Procs = [...]string{"NULL", "GETACL", "SETACL", "GETATTR", "ACCESS", "GETXATTRDIR"}
	nfsACL3Procs = [...]string{"NULL", "GETACL", "SETACL", "GETXATTRDIR"}
	// RQUOTA: version 1 has GETQUOTA and GETACTIVEQUOTA, version 2 the setters too.
	rquotaProcs = [...]string{"NULL", "GETQUOTA", "GETACTIVEQUOTA", "SETQUOTA", "SETACTIVEQUOTA"}
	// KLM version 1.
	klmProcs = [...]string{"NULL", "TEST", "LOCK", "CANCEL", "UNLOCK"}
)

// procTable returns the names of prog's version vers, or nil. limit is how
// many entries of the table the version defines (versions of one program
// share a table where they only add procedures at the end).
func procTable(prog, vers uint32) (names []string, limit int) {
	switch prog {
	case ProgNFS:
		switch vers {
		case 2:
			return nfs2Procs[:], len(nfs2Procs)
		case 3:
			return nfs3Procs[:], len(nfs3Procs)
		case 4:
			return nfs4Procs[:], len(nfs4Procs)
		}
	case ProgMount:
		switch vers {
		case 1:
			return mountProcs[:], 7 // through EXPORTALL
		case 2:
			return mountProcs[:], len(mountProcs)
		case 3:
			return mountProcs[:], 6 // through EXPORT
		}
	case ProgNLM:
		switch vers {
		case 1, 2:
			return nlmProcs[:], 16 // through GRANTED_RES
		case 3, 4:
			return nlmProcs[:], len(nlmProcs)
		}
	case ProgPortmap:
		switch vers {
		case 2:
			return portmapProcs[:], len(portmapProcs)
		case 3:
			return rpcbind3Procs[:], len(rpcbind3Procs)
		case 4:
			return rpcbind4Procs[:], len(rpcbind4Procs)
		}
	case ProgNSM:
		if vers == 1 {
			return nsmProcs[:], len(nsmProcs)
		}
	case ProgNFSACL:
		switch vers {
		case 2:
			return nfsACL2Procs[:], len(nfsACL2Procs)
		case 3:
			return nfsACL3Procs[:], len(nfsACL3Procs)
		}
	case ProgRquota:
		switch vers {
		case 1:
			return rquotaProcs[:], 3 // through GETACTIVEQUOTA
		case 2:
			return rquotaProcs[:], len(rquotaProcs)
		}
	case ProgKLM:
		if vers == 1 {
			return klmProcs[:], len(klmProcs)
		}
	}
	return nil, 0
}

// ProcName names procedure proc of version vers of program prog, e.g.
// (100003, 3, 6) is "READ". A procedure it does not know is "PROC<n>",
// e.g. "PROC23"; procedure 0 is "NULL" in every program, as RFC 5531
// section 7 asks of every server. Known names are string constants, so
// naming does not allocate.
func ProcName(prog, vers, proc uint32) string {
	names, limit := procTable(prog, vers)
	if proc < uint32(limit) && names[proc] != "" {
		return names[proc]
	}
	if proc == 0 {
		return "NULL"
	}
	return "PROC" + strconv.FormatUint(uint64(proc), 10)
}

// NFSv4 operation names (nfs_opnum4), indexed by code: RFC 7530 (3-39),
// RFC 8881 (40-58), RFC 7862 (59-71), RFC 8276 (72-75). 0-2 are not
// operations.
var nfs4Ops = [...]string{
	3: "ACCESS", 4: "CLOSE", 5: "COMMIT", 6: "CREATE", 7: "DELEGPURGE",
	8: "DELEGRETURN", 9: "GETATTR", 10: "GETFH", 11: "LINK", 12: "LOCK",
	13: "LOCKT", 14: "LOCKU", 15: "LOOKUP", 16: "LOOKUPP", 17: "NVERIFY",
	18: "OPEN", 19: "OPENATTR", 20: "OPEN_CONFIRM", 21: "OPEN_DOWNGRADE",
	22: "PUTFH", 23: "PUTPUBFH", 24: "PUTROOTFH", 25: "READ", 26: "READDIR",
	27: "READLINK", 28: "REMOVE", 29: "RENAME", 30: "RENEW", 31: "RESTOREFH",
	32: "SAVEFH", 33: "SECINFO", 34: "SETATTR", 35: "SETCLIENTID",
	36: "SETCLIENTID_CONFIRM", 37: "VERIFY", 38: "WRITE", 39: "RELEASE_LOCKOWNER",
	40: "BACKCHANNEL_CTL", 41: "BIND_CONN_TO_SESSION", 42: "EXCHANGE_ID",
	43: "CREATE_SESSION", 44: "DESTROY_SESSION", 45: "FREE_STATEID",
	46: "GET_DIR_DELEGATION", 47: "GETDEVICEINFO", 48: "GETDEVICELIST",
	49: "LAYOUTCOMMIT", 50: "LAYOUTGET", 51: "LAYOUTRETURN", 52: "SECINFO_NO_NAME",
	53: "SEQUENCE", 54: "SET_SSV", 55: "TEST_STATEID", 56: "WANT_DELEGATION",
	57: "DESTROY_CLIENTID", 58: "RECLAIM_COMPLETE",
	59: "ALLOCATE", 60: "COPY", 61: "COPY_NOTIFY", 62: "DEALLOCATE",
	63: "IO_ADVISE", 64: "LAYOUTERROR", 65: "LAYOUTSTATS", 66: "OFFLOAD_CANCEL",
	67: "OFFLOAD_STATUS", 68: "READ_PLUS", 69: "SEEK", 70: "WRITE_SAME",
	71: "CLONE", 72: "GETXATTR", 73: "SETXATTR", 74: "LISTXATTRS", 75: "REMOVEXATTR",
}

// OpName names an NFSv4 operation, e.g. "READ", "SEQUENCE", "ILLEGAL"; an
// undefined code is "OP<n>".
func OpName(op uint32) string {
	if op < uint32(len(nfs4Ops)) && nfs4Ops[op] != "" {
		return nfs4Ops[op]
	}
	if op == OpIllegal {
		return "ILLEGAL"
	}
	return "OP" + strconv.FormatUint(uint64(op), 10)
}

// CBProcName names a procedure of the NFSv4 callback program (whose
// number the client chooses, see Compound4Args.CBProgram): "CB_NULL",
// "CB_COMPOUND", else "CB_PROC<n>".
func CBProcName(proc uint32) string { return tableName(cbProcNames[:], proc, "CB_PROC") }

var cbProcNames = [...]string{
	CBProcNull:     "CB_NULL",
	CBProcCompound: "CB_COMPOUND",
}

// NFSv4 callback operation names (nfs_cb_opnum4), RFC 7530 (3-4), RFC 8881
// (5-14), RFC 7862 (15).
var nfs4CBOps = [...]string{
	3: "CB_GETATTR", 4: "CB_RECALL", 5: "CB_LAYOUTRECALL", 6: "CB_NOTIFY",
	7: "CB_PUSH_DELEG", 8: "CB_RECALL_ANY", 9: "CB_RECALLABLE_OBJ_AVAIL",
	10: "CB_RECALL_SLOT", 11: "CB_SEQUENCE", 12: "CB_WANTS_CANCELLED",
	13: "CB_NOTIFY_LOCK", 14: "CB_NOTIFY_DEVICEID", 15: "CB_OFFLOAD",
}

// CBOpName names an NFSv4 callback operation, e.g. "CB_RECALL"; an
// undefined code is "CB_OP<n>".
func CBOpName(op uint32) string {
	if op < uint32(len(nfs4CBOps)) && nfs4CBOps[op] != "" {
		return nfs4CBOps[op]
	}
	if op == OpIllegal {
		return "CB_ILLEGAL"
	}
	return "CB_OP" + strconv.FormatUint(uint64(op), 10)
}

// nfsstat4 names from 10001 on (RFC 7530, RFC 8881, RFC 7862, RFC 8276),
// indexed by value-10001; 10002 and 10073 are not used.
var nfs4ErrNames = [...]string{
	"NFS4ERR_BADHANDLE", "", "NFS4ERR_BAD_COOKIE", "NFS4ERR_NOTSUPP", "NFS4ERR_TOOSMALL", "NFS4ERR_SERVERFAULT",
	"NFS4ERR_BADTYPE", "NFS4ERR_DELAY", "NFS4ERR_SAME", "NFS4ERR_DENIED", "NFS4ERR_EXPIRED", "NFS4ERR_LOCKED", "NFS4ERR_GRACE",
	"NFS4ERR_FHEXPIRED", "NFS4ERR_SHARE_DENIED", "NFS4ERR_WRONGSEC", "NFS4ERR_CLID_INUSE", "NFS4ERR_RESOURCE", "NFS4ERR_MOVED",
	"NFS4ERR_NOFILEHANDLE", "NFS4ERR_MINOR_VERS_MISMATCH", "NFS4ERR_STALE_CLIENTID", "NFS4ERR_STALE_STATEID",
	"NFS4ERR_OLD_STATEID", "NFS4ERR_BAD_STATEID", "NFS4ERR_BAD_SEQID", "NFS4ERR_NOT_SAME", "NFS4ERR_LOCK_RANGE",
	"NFS4ERR_SYMLINK", "NFS4ERR_RESTOREFH", "NFS4ERR_LEASE_MOVED", "NFS4ERR_ATTRNOTSUPP", "NFS4ERR_NO_GRACE",
	"NFS4ERR_RECLAIM_BAD", "NFS4ERR_RECLAIM_CONFLICT", "NFS4ERR_BADXDR", "NFS4ERR_LOCKS_HELD", "NFS4ERR_OPENMODE",
	"NFS4ERR_BADOWNER", "NFS4ERR_BADCHAR", "NFS4ERR_BADNAME", "NFS4ERR_BAD_RANGE", "NFS4ERR_LOCK_NOTSUPP", "NFS4ERR_OP_ILLEGAL",
	"NFS4ERR_DEADLOCK", "NFS4ERR_FILE_OPEN", "NFS4ERR_ADMIN_REVOKED", "NFS4ERR_CB_PATH_DOWN",
	// 10049: minor version 1
	"NFS4ERR_BADIOMODE", "NFS4ERR_BADLAYOUT", "NFS4ERR_BAD_SESSION_DIGEST", "NFS4ERR_BADSESSION", "NFS4ERR_BADSLOT",
	"NFS4ERR_COMPLETE_ALREADY", "NFS4ERR_CONN_NOT_BOUND_TO_SESSION", "NFS4ERR_DELEG_ALREADY_WANTED",
	"NFS4ERR_BACK_CHAN_BUSY", "NFS4ERR_LAYOUTTRYLATER", "NFS4ERR_LAYOUTUNAVAILABLE", "NFS4ERR_NOMATCHING_LAYOUT",
	"NFS4ERR_RECALLCONFLICT", "NFS4ERR_UNKNOWN_LAYOUTTYPE", "NFS4ERR_SEQ_MISORDERED", "NFS4ERR_SEQUENCE_POS",
	"NFS4ERR_REQ_TOO_BIG", "NFS4ERR_REP_TOO_BIG", "NFS4ERR_REP_TOO_BIG_TO_CACHE", "NFS4ERR_RETRY_UNCACHED_REP",
	"NFS4ERR_UNSAFE_COMPOUND", "NFS4ERR_TOO_MANY_OPS", "NFS4ERR_OP_NOT_IN_SESSION", "NFS4ERR_HASH_ALG_UNSUPP",
	"", "NFS4ERR_CLIENTID_BUSY", "NFS4ERR_PNFS_IO_HOLE", "NFS4ERR_SEQ_FALSE_RETRY", "NFS4ERR_BAD_HIGH_SLOT",
	"NFS4ERR_DEADSESSION", "NFS4ERR_ENCR_ALG_UNSUPP", "NFS4ERR_PNFS_NO_LAYOUT", "NFS4ERR_NOT_ONLY_OP",
	"NFS4ERR_WRONG_CRED", "NFS4ERR_WRONG_TYPE", "NFS4ERR_DIRDELEG_UNAVAIL", "NFS4ERR_REJECT_DELEG",
	"NFS4ERR_RETURNCONFLICT", "NFS4ERR_DELEG_REVOKED",
	// 10088: minor version 2, then RFC 8276
	"NFS4ERR_PARTNER_NOTSUPP", "NFS4ERR_PARTNER_NO_AUTH", "NFS4ERR_UNION_NOTSUPP", "NFS4ERR_OFFLOAD_DENIED",
	"NFS4ERR_WRONG_LFS", "NFS4ERR_BADLABEL", "NFS4ERR_OFFLOAD_NO_REQS", "NFS4ERR_NOXATTR", "NFS4ERR_XATTR2BIG",
}

// nfsstat4 names below 10000: the errno values NFSv3 has too.
var nfs4LowErrNames = [...]string{
	1: "NFS4ERR_PERM", 2: "NFS4ERR_NOENT", 5: "NFS4ERR_IO", 6: "NFS4ERR_NXIO",
	13: "NFS4ERR_ACCESS", 17: "NFS4ERR_EXIST", 18: "NFS4ERR_XDEV",
	20: "NFS4ERR_NOTDIR", 21: "NFS4ERR_ISDIR", 22: "NFS4ERR_INVAL",
	27: "NFS4ERR_FBIG", 28: "NFS4ERR_NOSPC", 30: "NFS4ERR_ROFS",
	31: "NFS4ERR_MLINK", 63: "NFS4ERR_NAMETOOLONG", 66: "NFS4ERR_NOTEMPTY",
	69: "NFS4ERR_DQUOT", 70: "NFS4ERR_STALE",
}

// NFS4StatName names an nfsstat4, e.g. "NFS4_OK", "NFS4ERR_NOENT",
// "NFS4ERR_DELAY"; an undefined value is "NFS4ERR_<n>". Known names are
// constants, so naming does not allocate.
func NFS4StatName(s uint32) string {
	switch {
	case s == NFS4OK:
		return "NFS4_OK"
	case s < uint32(len(nfs4LowErrNames)) && nfs4LowErrNames[s] != "":
		return nfs4LowErrNames[s]
	case s > 10000 && s-10001 < uint32(len(nfs4ErrNames)) && nfs4ErrNames[s-10001] != "":
		return nfs4ErrNames[s-10001]
	}
	return "NFS4ERR_" + strconv.FormatUint(uint64(s), 10)
}

// NFS3StatName names an nfsstat3, e.g. "NFS3_OK", "NFS3ERR_NOENT"; one RFC
// 1813 does not define is "NFS3ERR_<n>".
func NFS3StatName(s uint32) string {
	switch s {
	case NFS3OK:
		return "NFS3_OK"
	case NFS3ErrPerm:
		return "NFS3ERR_PERM"
	case NFS3ErrNoEnt:
		return "NFS3ERR_NOENT"
	case NFS3ErrIO:
		return "NFS3ERR_IO"
	case NFS3ErrNXIO:
		return "NFS3ERR_NXIO"
	case NFS3ErrAccess:
		return "NFS3ERR_ACCES"
	case NFS3ErrExist:
		return "NFS3ERR_EXIST"
	case NFS3ErrXDev:
		return "NFS3ERR_XDEV"
	case NFS3ErrNoDev:
		return "NFS3ERR_NODEV"
	case NFS3ErrNotDir:
		return "NFS3ERR_NOTDIR"
	case NFS3ErrIsDir:
		return "NFS3ERR_ISDIR"
	case NFS3ErrInval:
		return "NFS3ERR_INVAL"
	case NFS3ErrFBig:
		return "NFS3ERR_FBIG"
	case NFS3ErrNoSpc:
		return "NFS3ERR_NOSPC"
	case NFS3ErrROFS:
		return "NFS3ERR_ROFS"
	case NFS3ErrMLink:
		return "NFS3ERR_MLINK"
	case NFS3ErrNameTooLong:
		return "NFS3ERR_NAMETOOLONG"
	case NFS3ErrNotEmpty:
		return "NFS3ERR_NOTEMPTY"
	case NFS3ErrDQuot:
		return "NFS3ERR_DQUOT"
	case NFS3ErrStale:
		return "NFS3ERR_STALE"
	case NFS3ErrRemote:
		return "NFS3ERR_REMOTE"
	case NFS3ErrBadHandle:
		return "NFS3ERR_BADHANDLE"
	case NFS3ErrNotSync:
		return "NFS3ERR_NOT_SYNC"
	case NFS3ErrBadCookie:
		return "NFS3ERR_BAD_COOKIE"
	case NFS3ErrNotSupp:
		return "NFS3ERR_NOTSUPP"
	case NFS3ErrTooSmall:
		return "NFS3ERR_TOOSMALL"
	case NFS3ErrServerFault:
		return "NFS3ERR_SERVERFAULT"
	case NFS3ErrBadType:
		return "NFS3ERR_BADTYPE"
	case NFS3ErrJukebox:
		return "NFS3ERR_JUKEBOX"
	}
	return "NFS3ERR_" + strconv.FormatUint(uint64(s), 10)
}

// StableName names a stable_how: "UNSTABLE", "DATA_SYNC", "FILE_SYNC";
// another value is "STABLE_<n>".
func StableName(s uint32) string {
	switch s {
	case Unstable:
		return "UNSTABLE"
	case DataSync:
		return "DATA_SYNC"
	case FileSync:
		return "FILE_SYNC"
	}
	return "STABLE_" + strconv.FormatUint(uint64(s), 10)
}

// tableName returns names[v], or prefix and v in decimal for a v past the
// table.
func tableName(names []string, v uint32, prefix string) string {
	if v < uint32(len(names)) {
		return names[v]
	}
	return prefix + strconv.FormatUint(uint64(v), 10)
}
