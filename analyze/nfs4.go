package analyze

import (
	"github.com/nfsstall/nfsstall/decode"
)

// NFSv4 in the statistics. Version 4 has one procedure that does anything,
// COMPOUND, so a row per procedure would say nothing: a COMPOUND counts in
// the row of its main operation as Wireshark's nfs.main_opcode picks it
// (decode.OpTier; a WRITE compound is a WRITE row, as mountstats shows
// it), every operation inside is counted in Report.Operations, errors come
// from the COMPOUND status, and READ/WRITE bytes from the operations' data
// lengths. The decoders' structs are large (kilobytes) and reused: they
// live in nfs4Stats, made at the first NFSv4 message, so an NFSv3 analysis
// carries none of it and its packet path is unchanged.

// Row numbers (procKey.proc) of NFSv4 COMPOUNDs and callback CB_COMPOUNDs:
// the base plus the main operation's code. RPC procedure numbers of the
// NFS family are small, so the rows cannot meet a real procedure's.
const (
	opRow   = 1 << 20
	cbOpRow = 1 << 21
)

// rawRow is the row of an NFSv4 or callback procedure other than
// COMPOUND: its number, but that the numbers of the operation rows (which
// only hostile input would send) share the row below them.
func rawRow(proc uint32) uint32 { return min(proc, opRow-1) }

// Operation counters are indexed by code; codes past the table (ILLEGAL,
// and codes no minor version defines, which end a decode) share the last
// two slots.
const (
	opTable    = decode.OpRemoveXattr + 1
	opIllegal  = opTable
	opUnknown  = opTable + 1
	cbOpTable  = decode.CBOpOffload + 1
	cbIllegal  = cbOpTable
	cbUnknown  = cbOpTable + 1
	opSlots    = opTable + 2
	cbOpSlots  = cbOpTable + 2
	noSession  = 0 // call.sess of a call without SEQUENCE (or past the table)
	linuxCBPrg = 0x40000000
)

// nfs4Stats is what the analysis keeps of NFSv4 beyond the procedure rows.
type nfs4Stats struct {
	args   decode.Compound4Args
	res    decode.Compound4Res
	cbArgs decode.CBCompound4Args
	cbRes  decode.CBCompound4Res
	// ops and opErrors count every operation of every COMPOUND call, and
	// the results that failed (a COMPOUND stops at its first failure).
	ops, opErrors     [opSlots]int64
	cbOps, cbOpErrors [cbOpSlots]int64
	// opsUnseen counts operations a COMPOUND declared whose code the
	// capture does not show: after the data of a WRITE past the bytes kept
	// of a record (when the reply does not list them either), or past
	// decode.MaxOps.
	opsUnseen int64
	// cbProgs are the callback programs clients named (CREATE_SESSION,
	// BACKCHANNEL_CTL, SETCLIENTID), besides Linux's 0x40000000.
	cbProgs        [maxCBPrograms]uint32
	nCBProgs       int
	cbProgsDropped int64
	sessions       sessionTable
	callbacks      callbackTable
	state          stateTable  // recovery.go
	slots          slotTable   // slots.go
	recalls        recallTable // recall.go
	locks          lockTable   // lockwait.go
	// cur is what nfs4Call learned of the call being decoded, for onCall
	// to keep once it knows the call is tracked; curWrite its WRITE bytes.
	cur      call4
	curWrite int64
	// cbHead: scratch for looksLikeCallback
	cbHead [decode.MaxCallHeader]byte
}

// maxOpsUnseen bounds the operations one COMPOUND may add to opsUnseen:
// its declared count is not checked against anything when it is cut.
const maxOpsUnseen = 64

// call4 counts operations in a uint8: this fails to compile if they can
// pass 255.
var _ [255 - decode.MaxOps - maxOpsUnseen]struct{}

// maxCBPrograms bounds the callback programs remembered: clients name one
// each, and Linux always the same.
const maxCBPrograms = 16

// call4 is what a tracked NFSv4 call keeps for its reply: 16 bytes, as
// every call waiting carries one.
type call4 struct {
	// sess is the call's session (index+1 in sessionTable), noSession when
	// it has no SEQUENCE.
	sess int32
	// dir: see getfh.
	dir uint32
	// opsFrom: the decode of the arguments stopped before operation
	// opsFrom of opsTotal (cut in a WRITE's data, or by the snaplen): the
	// reply's results name the rest. opsTotal is 0 when all were counted
	// (at most decode.MaxOps + maxOpsUnseen).
	opsFrom, opsTotal uint8
	// getfh is the index+1 of the GETFH whose handle the call's name names
	// (paths.go), under directory dir or, fromRoot, the root.
	// rootFH: that GETFH returns the root (PUTROOTFH, GETFH).
	getfh            uint8
	fromRoot, rootFH bool
	// slot is the call's SEQUENCE slot id plus one (slots.go), 0 when not
	// followed.
	slot uint16
}

// v4 returns the NFSv4 state, made on first use.
func (a *Analyzer) v4() *nfs4Stats {
	if a.nfs4 == nil {
		a.nfs4 = &nfs4Stats{}
		a.nfs4.sessions.max = a.opts.MaxSessions
	}
	return a.nfs4
}

// isCompound reports whether a call of prog, vers, proc is an NFSv4 COMPOUND.
func isCompound(prog, vers, proc uint32) bool {
	return prog == decode.ProgNFS && vers == 4 && proc == decode.NFS4ProcCompound
}

// opSlot is the counter of operation op.
func opSlot(op uint32) int {
	switch {
	case op < opTable:
		return int(op)
	case op == decode.OpIllegal:
		return opIllegal
	}
	return opUnknown
}

func cbOpSlot(op uint32) int {
	switch {
	case op < cbOpTable:
		return int(op)
	case op == decode.CBOpIllegal:
		return cbIllegal
	}
	return cbUnknown
}

// nfs4Call decodes the arguments of a COMPOUND call m and returns its row:
// opRow plus its main operation (plus 0 when none decoded). It counts the
// operations (every transmission, as tshark does) and leaves in n.cur what
// the call keeps if tracked.
func (a *Analyzer) nfs4Call(m *decode.Call) uint32 {
	n := a.v4()
	args := &n.args
	err := decode.ParseCompoundArgs(m.Args, args) // keep what decoded, even if cut short
	n.cur, n.curWrite = call4{}, 0
	kept := min(args.N, decode.MaxOps)
	for i := range kept {
		o := &args.Ops[i]
		n.ops[opSlot(o.Op)]++
		if o.Op == decode.OpWrite && o.Has&decode.HasCount != 0 {
			n.curWrite += int64(o.Count)
		}
	}
	n.opsUnseen += int64(args.N - kept) // read past decode.MaxOps, not kept
	if err != nil && uint32(args.N) < args.NumOps {
		// The rest is not in the bytes kept: unseen, unless the reply
		// lists it (nfs4Reply takes back what it names). A declared count
		// is not trusted past maxOpsUnseen.
		left := min(args.NumOps-uint32(args.N), maxOpsUnseen)
		n.opsUnseen += int64(left)
		if args.N <= decode.MaxOps {
			n.cur.opsFrom, n.cur.opsTotal = uint8(args.N), uint8(uint32(args.N)+left)
		}
	}
	if p, ok := args.CBProgram(); ok {
		n.addCBProgram(p)
	}
	return opRow + args.MainOp()
}

// track4 keeps what p, an NFSv4 COMPOUND call just tracked, needs for its
// reply, and counts it in its session's slots.
func (a *Analyzer) track4(p *call, c *connState) {
	n := a.nfs4
	p.v4 = n.cur
	if n.args.Has&decode.HasSequence != 0 {
		p.v4.sess = n.sessions.call(&n.args.Sequence, c)
		a.slotCall(p, &n.args.Sequence, c)
	}
	p.whatV4(&n.args)
	p.nameV4(&n.args)
	a.stateCall(&n.args, c, p.first)
	a.recallReturn(&n.args, c, p.first)
}

// whatV4 keeps, for findings, what a COMPOUND's main operation was about,
// as an NFSv3 call keeps its arguments: the file handle current when it
// ran (the last PUTFH before it), its name, offset and count.
func (p *call) whatV4(args *decode.Compound4Args) {
	main := args.MainOp()
	for i := range min(args.N, decode.MaxOps) {
		o := &args.Ops[i]
		if o.Op == decode.OpPutFH && o.Has&decode.HasFH != 0 {
			p.hasFH, p.fhHash = true, decode.FHHash(o.FH)
		}
		if o.Op != main {
			continue
		}
		if o.Has&decode.HasName != 0 {
			p.nameLen = uint8(copy(p.nameBuf[:], o.Name))
			p.nameCut = len(o.Name) > len(p.nameBuf)
		}
		if (o.Op == decode.OpRead || o.Op == decode.OpWrite) && o.Has&decode.HasOffset != 0 && o.Has&decode.HasCount != 0 {
			p.hasOffset, p.offset, p.count = true, o.Offset, o.Count
		}
		return
	}
}

// nfs4Reply reads the results of the reply to p, a COMPOUND call, into its
// row ps: READ bytes, the operations counted, the session. It reports
// whether the COMPOUND failed (its status is not NFS4_OK).
func (a *Analyzer) nfs4Reply(p *call, results []byte, ps *procStats, c *connState) bool {
	n := a.v4()
	res := &n.res
	decode.ParseCompoundResult(results, res) // keep what decoded, even if cut short
	kept := min(res.N, decode.MaxOps)
	for i := range kept {
		o := &res.Ops[i]
		if o.Status != decode.NFS4OK {
			n.opErrors[opSlot(o.Op)]++
		}
		if o.Op == decode.OpRead && o.Has&decode.HasCount != 0 {
			ps.bytes += int64(o.Count)
		}
	}
	if p.v4.opsTotal > 0 {
		// The call's arguments were cut: its later operations are the
		// results' (one per operation, in order, up to the first failure).
		for i := int(p.v4.opsFrom); i < min(kept, int(p.v4.opsTotal)); i++ {
			n.ops[opSlot(res.Ops[i].Op)]++
			n.opsUnseen--
		}
		p.v4.opsTotal = 0
	}
	if res.Has&decode.HasSequence != 0 {
		n.sessions.result(p.v4.sess, &res.Sequence)
	}
	if res.Has&decode.HasCreateSession != 0 {
		n.sessions.created(&res.CreateSession, c)
	}
	a.learnV4(p, res)
	a.stateReply(res, c, c.at)
	a.slotReply(p, res, c, c.at)
	a.recallReply(p, res, c, c.at)
	a.lockReply(p, res, c, c.at)
	return res.Status != decode.NFS4OK
}

// untrack4 notes that p, an NFSv4 call, no longer waits for a reply: its
// slot is free.
func (a *Analyzer) untrack4(p *call) {
	if n := a.nfs4; n != nil && p.v4.sess != noSession {
		n.slots.freeSlot(p)
		n.sessions.done(p.v4.sess)
		p.v4.sess = noSession
	}
}

// nfs2Failed reports whether the results of an NFSv2 reply to procedure
// proc say it failed: every procedure but NULL, ROOT and WRITECACHE (which
// return nothing) begins its results with a status (RFC 1094 section 2.2).
func nfs2Failed(proc uint32, results []byte) bool {
	switch proc {
	case 0, 3, 7:
		return false
	}
	x := decode.NewXDR(results)
	st := x.Uint32()
	return x.Err() == nil && st != 0
}

// addCBProgram remembers prog as a callback program.
func (n *nfs4Stats) addCBProgram(prog uint32) {
	if n.isCBProgram(prog) {
		return
	}
	if n.nCBProgs == len(n.cbProgs) {
		n.cbProgsDropped++
		return
	}
	n.cbProgs[n.nCBProgs] = prog
	n.nCBProgs++
}

// isCBProgram reports whether prog is a program clients named for their
// callbacks (or Linux's, named in a CREATE_SESSION the capture may miss).
func (n *nfs4Stats) isCBProgram(prog uint32) bool {
	if prog == linuxCBPrg {
		return true
	}
	for _, p := range n.cbProgs[:n.nCBProgs] {
		if p == prog {
			return true
		}
	}
	return false
}

// rowName names a procedure row: an NFSv4 COMPOUND's by its main
// operation, a callback's by its main callback operation, any other by
// its procedure.
func (a *Analyzer) rowName(k procKey) (name, program string) {
	switch {
	case k == otherProcs:
		return "(other procedures)", "*"
	case k.prog == decode.ProgNFS && k.vers == 4 && k.proc >= opRow && k.proc < cbOpRow:
		if k.proc == opRow {
			return "COMPOUND", "NFS" // no operation decoded
		}
		return decode.OpName(k.proc - opRow), "NFS"
	case a.nfs4 != nil && a.nfs4.isCBProgram(k.prog):
		switch {
		case k.proc == cbOpRow:
			return "CB_COMPOUND", "NFS_CB" // no operation decoded
		case k.proc > cbOpRow:
			return decode.CBOpName(k.proc - cbOpRow), "NFS_CB"
		}
		return decode.CBProcName(k.proc), "NFS_CB"
	}
	return decode.ProcName(k.prog, k.vers, k.proc), decode.ProgramName(k.prog)
}

// cbFailed reports whether the results of a CB_COMPOUND reply say it failed,
// counting its failed operations.
func (a *Analyzer) cbFailed(results []byte) bool {
	n := a.v4()
	res := &n.cbRes
	decode.ParseCBCompoundResult(results, res) // keep what decoded, even if cut short
	for i := range min(res.N, decode.MaxOps) {
		if res.Ops[i].Status != decode.NFS4OK {
			n.cbOpErrors[cbOpSlot(res.Ops[i].Op)]++
		}
	}
	return res.Status != decode.NFS4OK
}

// name is the call's procedure as findings name it: an NFSv4 COMPOUND
// (or a callback on a followed connection) by its main operation, as its
// row is named.
func (p *call) name() string {
	switch {
	case p.row == opRow, p.row == cbOpRow:
		return decode.ProcName(p.prog, p.vers, p.proc)
	case p.row > cbOpRow:
		return decode.CBOpName(p.row - cbOpRow)
	case p.row > opRow:
		return decode.OpName(p.row - opRow)
	}
	return decode.ProcName(p.prog, p.vers, p.proc)
}

// procLabel is ProcLabel for the call ("NFSv4 WRITE").
func (p *call) procLabel() string {
	switch {
	case p.row <= opRow || p.prog == decode.ProgNFS && p.vers == 3:
		return procLabel(p.prog, p.vers, p.proc)
	case p.row >= cbOpRow:
		return ProcLabel("NFS_CB", p.vers, p.name())
	}
	return ProcLabel(decode.ProgramName(p.prog), p.vers, p.name())
}
