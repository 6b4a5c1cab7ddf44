package decode

// fsArgs reads the arguments of the file and directory operations
// (PUTFH, LOOKUP, GETATTR, CREATE...); false for any other operation.
func (a *Compound4Args) fsArgs(x *XDR, o *OpArgs4) bool {
	switch o.Op {
	case OpGetFH, OpLookupP, OpPutPubFH, OpPutRootFH, OpReadlink, OpRestoreFH,
		OpSaveFH, OpIllegal:
		// void
	case OpAccess, OpSecinfoNoName:
		x.Uint32()
	case OpOpenAttr:
		x.Bool()
	case OpCreate:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		switch o.Type {
		case nf4Lnk:
			o.Name2 = x.Opaque(maxNFS4Name)
			o.mark(x, HasName2)
		case nf4Blk, nf4Chr:
			x.Skip(8) // specdata4
		}
		// Every other type takes the union's default arm: void.
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
		fattr4(x)
	case OpGetattr:
		bitmap4(x)
	case OpLink, OpLookup, OpRemove, OpSecinfo, OpGetXattr, OpRemoveXattr:
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
	case OpNVerify, OpVerify:
		fattr4(x)
	case OpPutFH:
		o.FH = x.Opaque(nfs4FHSize)
		o.mark(x, HasFH)
	case OpReaddir:
		x.Skip(8 + verifier4Size) // cookie, cookieverf
		x.Uint32()                // dircount
		o.Count = x.Uint32()
		o.mark(x, HasCount)
		bitmap4(x)
	case OpRename:
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
		o.Name2 = x.Opaque(maxNFS4Name)
		o.mark(x, HasName2)
	case OpSetattr:
		o.stateid(x)
		fattr4(x)
	case OpSetXattr:
		x.Uint32() // setxattr_option4
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
		o.Count = skipData(x, &o.Has, &a.dataEnd)
	case OpListXattrs:
		x.Skip(8) // cookie
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	default:
		return false
	}
	return true
}

// fsRes reads the results after the status of the file and directory
// operations (PUTFH, LOOKUP, GETATTR, CREATE...); false for any other
// operation.
func (r *Compound4Res) fsRes(x *XDR, o *OpRes4) bool {
	ok := o.Status == NFS4OK
	switch o.Op {
	case OpLookup, OpLookupP, OpNVerify, OpOpenAttr, OpPutFH, OpPutPubFH,
		OpPutRootFH, OpRestoreFH, OpSaveFH, OpVerify, OpIllegal:
		// status only
	case OpSetattr:
		bitmap4(x) // attrsset, whatever the status
	case OpAccess:
		if ok {
			x.Skip(8) // supported, access
		}
	case OpCreate:
		if ok {
			x.Skip(changeInfo4)
			bitmap4(x)
		}
	case OpGetattr:
		if ok {
			fattr4(x)
		}
	case OpGetFH:
		if ok {
			o.FH = x.Opaque(nfs4FHSize)
			o.mark(x, HasFH)
		}
	case OpLink, OpRemove, OpSetXattr, OpRemoveXattr:
		if ok {
			x.Skip(changeInfo4)
		}
	case OpReaddir:
		if ok {
			x.Skip(verifier4Size)
			for x.Bool() { // entry4 *: value follows
				x.Skip(8) // cookie
				x.Opaque(maxNFS4Name)
				fattr4(x)
				o.Count++
			}
			o.mark(x, HasCount)
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
		}
	case OpReadlink:
		if ok {
			x.Opaque(maxNFS4Data)
		}
	case OpRename:
		if ok {
			x.Skip(2 * changeInfo4)
		}
	case OpSecinfo, OpSecinfoNoName:
		if ok {
			for n := x.count(4); n > 0 && x.err == nil; n-- {
				if x.Uint32() == RPCSECGSS {
					x.Opaque(maxAuthBody) // oid
					x.Skip(8)             // qop, service
				}
			}
		}
	case OpGetXattr:
		if ok {
			x.Opaque(maxNFS4Data)
		}
	case OpListXattrs:
		if ok {
			x.Skip(8) // cookie
			for n := x.count(4); n > 0 && x.err == nil; n-- {
				x.Opaque(maxNFS4Name)
			}
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
		}
	default:
		return false
	}
	return true
}

// nfs_ftype4 values CREATE switches on.
const (
	nf4Reg       = 1
	nf4Dir       = 2
	nf4Blk       = 3
	nf4Chr       = 4
	nf4Lnk       = 5
	nf4Sock      = 6
	nf4FIFO      = 7
	nf4AttrDir   = 8
	nf4NamedAttr = 9
)
