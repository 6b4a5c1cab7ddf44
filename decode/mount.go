package decode

// The MOUNT protocol (RFC 1813 appendix I for version 3; RFC 1094 appendix
// A for versions 1 and 2): MNT maps an export's path to its root file
// handle, the handle every NFSv3 path is looked up from. nfsstall reads it
// to name files by their path.

// MountProcMnt is MOUNTPROC_MNT (the same number in versions 1 to 3).
const MountProcMnt = 1

const (
	mountPathLen  = 1024 // MNTPATHLEN
	mountFHSize   = 32   // FHSIZE: the fixed handle of versions 1 and 2
	mountFHSize3  = 64   // FHSIZE3
	mountStatusOK = 0    // MNT3_OK (and fhstatus 0 in versions 1 and 2)
)

// ParseMountPath returns the export path of a MOUNT MNT call's arguments
// (dirpath<MNTPATHLEN>). It aliases args.
func ParseMountPath(args []byte) ([]byte, error) {
	x := NewXDR(args)
	p := x.Opaque(mountPathLen)
	return p, x.fail("mount dirpath")
}

// ParseMountResult returns the status and, when it is 0 (MNT3_OK), the root
// file handle of a MOUNT MNT reply's results: version 3's
// mountres3 (fhandle3, a variable handle of at most 64 bytes, then the
// auth flavours, not read), versions 1 and 2's fhstatus (a fixed 32-byte
// handle). fh aliases results.
func ParseMountResult(vers uint32, results []byte) (status uint32, fh []byte, err error) {
	x := NewXDR(results)
	status = x.Uint32()
	if x.err == nil && status == mountStatusOK {
		if vers == 3 {
			fh = x.Opaque(mountFHSize3)
		} else {
			fh = x.FixedOpaque(mountFHSize)
		}
	}
	return status, fh, x.fail("mount result")
}
