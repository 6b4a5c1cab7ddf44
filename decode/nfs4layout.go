package decode

// layoutArgs reads the arguments of the pNFS operations (LAYOUTGET,
// GETDEVICEINFO...); false for any other operation.
func (a *Compound4Args) layoutArgs(x *XDR, o *OpArgs4) bool {
	switch o.Op {
	case OpGetDeviceInfo:
		x.Skip(deviceIDSize)
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
		bitmap4(x)
	case OpGetDeviceList:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		x.Skip(4 + 8 + verifier4Size) // maxdevices, cookie, cookieverf
	case OpLayoutCommit:
		o.range4(x)
		o.Reclaim = x.Bool()
		o.stateid(x)
		if x.Bool() { // newoffset4
			x.Skip(8)
		}
		if x.Bool() { // newtime4
			x.Skip(nfstime4Size)
		}
		o.Type = x.Uint32()
		o.mark(x, HasType)
		x.Opaque(maxNFS4Data) // layoutupdate4 body
	case OpLayoutGet:
		x.Bool() // signal_layout_avail
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.IOMode = x.Uint32()
		o.range4(x)
		x.Uint64() // minlength
		o.stateid(x)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	case OpLayoutReturn:
		o.Reclaim = x.Bool()
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.IOMode = x.Uint32()
		o.Claim = x.Uint32()
		o.mark(x, HasClaim)
		if x.err == nil && o.Claim == LayoutReturnFile {
			o.range4(x)
			o.stateid(x)
			x.Opaque(maxNFS4Data)
		}
		// LAYOUTRETURN4_FSID, _ALL and any other type: the default arm, void.
	case OpLayoutError:
		o.range4(x)
		o.stateid(x)
		n := x.count(deviceIDSize + 8)
		x.Skip(n * (deviceIDSize + 8)) // device_error4: deviceid, status, opnum
	case OpLayoutStats:
		o.range4(x)
		o.stateid(x)
		x.Skip(32 + deviceIDSize) // read and write io_info4, deviceid
		o.Type = x.Uint32()
		o.mark(x, HasType)
		x.Opaque(maxNFS4Data)
	default:
		return false
	}
	return true
}

// layoutRes reads the results after the status of the pNFS operations
// (LAYOUTGET, GETDEVICEINFO...); false for any other operation.
func (r *Compound4Res) layoutRes(x *XDR, o *OpRes4) bool {
	ok := o.Status == NFS4OK
	switch o.Op {
	case OpLayoutError, OpLayoutStats:
		// status only
	case OpGetDeviceInfo:
		switch {
		case ok:
			o.Type = x.Uint32()
			o.mark(x, HasType)
			x.Opaque(maxNFS4Data)
			bitmap4(x)
		case o.Status == NFS4ErrTooSmall:
			x.Uint32() // mincount
		}
	case OpGetDeviceList:
		if ok {
			x.Skip(8 + verifier4Size)
			n := x.count(deviceIDSize)
			x.Skip(n * deviceIDSize)
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
		}
	case OpLayoutCommit:
		if ok && x.Bool() { // newsize4
			o.Length = x.Uint64()
			o.mark(x, HasLength)
		}
	case OpLayoutGet:
		switch {
		case ok:
			x.Bool() // return_on_close
			o.stateid(x)
			for i, n := 0, x.count(24); i < n && x.err == nil; i++ {
				off, length := x.Uint64(), x.Uint64()
				x.Uint32() // iomode
				typ := x.Uint32()
				x.Opaque(maxNFS4Data)
				if i == 0 {
					o.Offset, o.Length, o.Type = off, length, typ
					o.mark(x, HasOffset|HasLength|HasType)
				}
			}
		case o.Status == NFS4ErrLayoutTryLater:
			x.Bool()
		}
	case OpLayoutReturn:
		if ok && x.Bool() {
			o.stateid(x)
		}
	default:
		return false
	}
	return true
}

// layoutreturn_type4 values of LAYOUTRETURN.
const (
	LayoutReturnFile = 1
	LayoutReturnFSID = 2
	LayoutReturnAll  = 3
)
