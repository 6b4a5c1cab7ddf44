package analyze

import (
	"fmt"
	"slices"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// The application-level stalls of issue 13 that show in RPC and NFS
// statuses: a grace period (grace.go), delay loops (delay.go), denied
// credentials (auth.go). Each watches calls and replies through the two
// hooks here, called from onCall and onReply; each keeps state per server
// or per client and server, bounded, and makes its findings at the end.

// watchers is the state of the status detectors.
type watchers struct {
	grace graceTable
	delay delayTable
	auth  authTable
	end   int64 // the capture's end, set when findings are made
}

// watchCall sees every call that is not an RPC retransmission (an NFSv4
// COMPOUND's arguments are in a.nfs4.args).
func (a *Analyzer) watchCall(c *connState, m *decode.Call, at tcpflow.FrameRef) {
	if isCompound(m.Prog, m.Vers, m.Proc) {
		a.watch.grace.call(c, &a.nfs4.args, m.XID, at)
	}
	if m.HasGSS && m.Proc == 0 && (m.GSS.Proc == gssInit || m.GSS.Proc == gssContinueInit) {
		a.watch.auth.contextInit(c, at)
	}
}

// watchReply sees every reply; p is its call, nil when the capture does
// not have it.
func (a *Analyzer) watchReply(c *connState, m *decode.Reply, p *call, at tcpflow.FrameRef) {
	c.held.replied()
	if m.ReplyStat == decode.MsgDenied {
		if m.RejectStat == decode.AuthError {
			a.watch.auth.denied(c, m.AuthStat, at)
		}
		return
	}
	if p == nil || m.AcceptStat != decode.Success {
		return
	}
	if p.proc != 0 {
		a.watch.auth.accepted(c, at)
	}
	st, ok := nfsStatus(p, m.Results)
	if !ok || p.wrapped {
		return
	}
	if p.vers == 4 {
		a.watch.grace.reply(c, p, m.XID, st, at)
	}
	a.watch.delay.reply(c, p, st, at, a.opts.StallAfter)
}

// nfsStatus is the status an NFSv3 or NFSv4 COMPOUND reply begins with:
// nfsstat3 (every procedure but NULL) or the COMPOUND's nfsstat4.
func nfsStatus(p *call, results []byte) (uint32, bool) {
	if p.prog != decode.ProgNFS || p.proc == 0 || (p.vers != 3 && !isCompound(p.prog, p.vers, p.proc)) {
		return 0, false
	}
	x := decode.NewXDR(results)
	st := x.Uint32()
	return st, x.Err() == nil
}

// RPCSEC_GSS control procedures (rpc_gss_proc_t, RFC 2203 section 5).
const (
	gssInit         = 1
	gssContinueInit = 2
)

// maxWatchFrames and watchTail bound a detector's evidence: the first
// maxWatchFrames frames and the last watchTail.
const (
	maxWatchFrames = 10
	watchTail      = 2
)

// evidence keeps the first maxWatchFrames frames and the latest watchTail.
type evidence struct {
	frames []tcpflow.FrameRef
	tail   [watchTail]tcpflow.FrameRef
	n      int
}

func (e *evidence) add(at tcpflow.FrameRef) {
	if len(e.frames) < maxWatchFrames {
		e.frames = append(e.frames, at)
	} else {
		e.tail[(e.n-maxWatchFrames)%watchTail] = at
	}
	e.n++
}

// refs returns the frames kept, in time order.
func (e *evidence) refs() []tcpflow.FrameRef {
	refs := slices.Clone(e.frames)
	for i := range min(e.n-len(e.frames), watchTail) {
		refs = append(refs, e.tail[i])
	}
	return sortFrames(refs)
}

// intervals keeps the first maxWatchGaps intervals between events, and
// their range.
type intervals struct {
	gaps     []int64
	n        int
	min, max int64
}

const maxWatchGaps = 8

func (iv *intervals) add(g int64) {
	if len(iv.gaps) < maxWatchGaps {
		iv.gaps = append(iv.gaps, g)
	}
	if iv.n == 0 || g < iv.min {
		iv.min = g
	}
	iv.max = max(iv.max, g)
	iv.n++
}

// String says how events were spaced: the intervals when few, else the
// first ones and the range, and whether they grew (a backoff).
func (iv *intervals) String() string {
	if iv.n == 0 {
		return ""
	}
	var b []byte
	for i, g := range iv.gaps {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, FormatMS(ms(g))...)
	}
	s := string(b)
	if iv.n > len(iv.gaps) {
		s = FormatMS(ms(iv.min)) + " to " + FormatMS(ms(iv.max)) + ", the first " + s
	}
	switch {
	case iv.n >= 2 && iv.gaps[len(iv.gaps)-1] >= 2*iv.gaps[0] && iv.gaps[0] > 0:
		s += " (backing off)"
	case iv.n >= 3 && iv.max <= iv.min+iv.min/4:
		s += " (steady)"
	}
	return s
}

// watchFindings adds the findings of the status detectors.
func (a *Analyzer) watchFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	a.watch.end = end
	all = a.graceFindings(all, omitted)
	all = a.delayFindings(all, omitted)
	return a.authFindings(all, omitted)
}

// skipped says what the detectors' bounds left out.
func (w *watchers) skipped() []Skipped {
	var out []Skipped
	if w.grace.dropped > 0 {
		out = append(out, Skipped{Bound: true, What: "GRACE answers and reclaims not followed for " + KindGrace, Count: w.grace.dropped,
			Reason: fmt.Sprintf("%d servers are followed", maxGraceServers)})
	}
	for _, s := range []func() (Skipped, bool){w.delay.skipped, w.auth.skipped} {
		if sk, ok := s(); ok {
			out = append(out, sk)
		}
	}
	return out
}

// statusVerdict gives the verdict of a stalled connection whose stall
// findings include the status detectors' (at idx), ranked grace period,
// then delay loop, then denied credentials; it reports whether it did.
func (a *Analyzer) statusVerdict(r *Report, d *Diagnosis, idx []int) bool {
	for _, v := range []struct {
		kind    string
		verdict func(*Report, *Diagnosis, []int)
	}{{KindGrace, a.graceVerdict}, {KindDelay, a.delayVerdict}, {KindAuth, a.authVerdict}} {
		var of []int
		for _, i := range idx {
			if f := &r.Findings[i]; f.Kind == v.kind && f.Severity == SeverityStall {
				of = append(of, i)
			}
		}
		if len(of) > 0 {
			v.verdict(r, d, of)
			return true
		}
	}
	return false
}
