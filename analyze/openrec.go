package analyze

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// An RPC record whose declared length runs past the last byte captured of
// its stream (its connection ended, or the capture did, first) was never
// decoded: neither counted as a call or reply nor paired. A reply begun
// to a call still waiting is told on that call ("reply incomplete");
// every other such record is counted in Report.Skipped, per direction,
// with what its header says when enough of it was captured.

// maxOpenListed bounds the open records described per direction; all are
// counted.
const maxOpenListed = 5

// openRecords counts the records left open in one direction.
type openRecords struct {
	n    int64
	list []string
}

// noteOpen counts r, a record still open when c closed, sent in dir.
func (c *connState) noteOpen(dir tcpflow.Dir, r *decode.Record) {
	o := &c.a.open[dir]
	o.n++
	if len(o.list) >= maxOpenListed {
		return
	}
	what := "header not captured"
	if xid, typ, err := decode.Header(r.Head); err == nil {
		switch typ {
		case decode.MsgCall:
			what = "call xid " + XID(xid).String()
			if len(r.Head) >= 24 {
				prog, vers, proc := binary.BigEndian.Uint32(r.Head[12:]), binary.BigEndian.Uint32(r.Head[16:]), binary.BigEndian.Uint32(r.Head[20:])
				what = procLabel(prog, vers, proc) + " " + what
			}
		case decode.MsgReply:
			what = "reply xid " + XID(xid).String()
		default:
			what = fmt.Sprintf("msg_type %d, xid %s", typ, XID(xid))
		}
	}
	o.list = append(o.list, fmt.Sprintf("connection %d at frame %s: %s, %d of %d bytes", c.info.ID, c.a.frame(unmark(r.First)), what, r.Have, r.Len))
}

// openSkipped adds the records left open to the report's skipped list.
func (a *Analyzer) openSkipped(r *Report) {
	for d := range a.open {
		o := &a.open[d]
		if o.n == 0 {
			continue
		}
		more := ""
		if n := o.n - int64(len(o.list)); n > 0 {
			more = fmt.Sprintf("; and %d more", n)
		}
		r.Skipped = append(r.Skipped, Skipped{What: "RPC records " + tcpflow.Dir(d).String(), Count: o.n,
			Reason: fmt.Sprintf("still open when their connection or the capture ended: their declared length runs past the last byte captured, so they were not decoded (%s%s)",
				strings.Join(o.list, "; "), more)})
	}
}
