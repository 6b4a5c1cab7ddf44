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
