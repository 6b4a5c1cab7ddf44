package analyze_test

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// FuzzNFS4Analysis runs the NFSv4 analysis (rows by main operation,
// operation counts, sessions, callbacks on the backchannel, file names) on
// four records of one connection: a call, a callback from the server, the
// client's reply to it, and the reply to the call, whatever their bytes.
// It must not panic, and the report must stay consistent: every call and
// reply decoded is in a row, and no session used more slots at once than
// it had calls.
//
//	go test ./analyze -run '^$' -fuzz '^FuzzNFS4Analysis$' -fuzztime 1m
func FuzzNFS4Analysis(f *testing.F) {
	f.Add(lookupCompound(1), cbRecall(1), cbRecallOK(1), lookupNoent(1))
	f.Add(writeCompound(2), cbRecall(9), cbRecallOK(9), writeReply(2, 0))
	f.Add(writeCompound(3), cbRecall(3), cbRecallOK(3), writeReply(3, 28))
	f.Add(compound40(4, 4, words(24), lookup4("export"), lookup4("dir"), words(10)), []byte{}, []byte{},
		compoundOK(4, []uint32{24, 15, 15, 10}, 0xaaaa0001))
	f.Add(setClientID(5), cbRecall40(5), cbRecall40Reply(5), setClientIDOK(5))
	// the status detectors (watch.go): a reclaim OPEN refused GRACE, a
	// RECLAIM_COMPLETE answered DELAY, a GSS call denied CTXPROBLEM
	f.Add(compound41(6, 1, putfh4(0xaaaa), open4(true, "")), []byte{}, []byte{}, reply41(6, 1, 10013, 22, 18))
	f.Add(compound41(7, 1, words(58, 0)), []byte{}, []byte{}, reply41(7, 1, 10008, 58))
	f.Add(gssGetattr(8, 1), []byte{}, []byte{}, authDenied(8, 14))
	f.Fuzz(func(t *testing.T, call, cb, cbReply, reply []byte) {
		v := newConvo(t)
		for _, m := range []struct {
			toServer bool
			b        []byte
		}{{true, call}, {false, cb}, {true, cbReply}, {false, reply}} {
			if len(m.b) > 0 {
				v.send(m.toServer, m.b)
			}
		}
		v.s.seg(time.Millisecond, true, v.c, v.sv, ackF, 501, nil)
		opts := analyze.DefaultOptions()
		opts.MaxSessions, opts.MaxCallbacks, opts.MaxPaths = 1, 1, 2
		r := v.s.run(opts)
		var calls, replies int64
		for _, p := range r.Procedures {
			calls += p.Calls
			replies += p.Replies
			if p.Replies > p.Calls+p.Retransmits || p.Errors > p.Replies {
				t.Errorf("row %+v: more replies than calls, or errors than replies", p)
			}
		}
		if calls != r.Summary.Calls || replies != r.Summary.Replies-r.Summary.OrphanReplies {
			t.Errorf("rows hold %d calls and %d replies; summary %+v", calls, replies, r.Summary)
		}
		for _, s := range r.NFS4Sessions {
			if s.MaxSlotsInUse < 0 || int64(s.MaxSlotsInUse) > s.Calls {
				t.Errorf("session %+v: more slots in use than calls", s)
			}
		}
		for _, op := range r.Operations {
			if op.Count < 0 || op.Errors < 0 {
				t.Errorf("operation %+v", op)
			}
		}
	})
}
