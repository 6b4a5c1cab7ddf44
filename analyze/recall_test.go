package analyze_test

import (
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// Recalls, hand-built. The oracle is RFC 8881 section 10.4.4 (and 18.16.3
// for OPEN): a conflicting OPEN makes the server recall the delegation
// with CB_RECALL and answer the OPEN NFS4ERR_DELAY until the holder's
// DELEGRETURN; a holder that never answers keeps the opener waiting.

const (
	dirFH  = 0xd1d1d1d1
	fileFH = 0xfeedface
)

// recallScene: A (198.18.0.1) looks up "report.txt" (learning its
// handle) and holds a delegation on it; B (198.18.0.3) opens it and gets
// NFS4ERR_DELAY, the server recalls A's delegation. answer and give say
// whether A answers the recall and returns the delegation. It returns the
// frames: the recall, its answer, the return, B's first and last DELAY.
func recallScene(t *testing.T, answer, give bool, retries int) (*scenario, []int64) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	a.call(time.Millisecond, lookupGetFH41(1, sidA, 1, dirFH, "report.txt"))
	a.reply(time.Millisecond, lookupGetFH41OK(1, sidA, 1, fileFH))
	b.call(time.Millisecond, open41(1, sidB, 1, dirFH, "report.txt"))
	recall := a.reply(time.Millisecond, cbRecallOf(0x77, sidA, fileFH)) // the backchannel: server to A
	firstDelay := b.reply(time.Millisecond, open41Delay(1, sidB, 1))
	var ans, ret int64
	if answer {
		ans = a.call(time.Millisecond, cbRecallOfOK(0x77, sidA))
	}
	if give {
		ret = a.call(time.Millisecond, delegReturn41(2, sidA, 2, fileFH))
		a.reply(time.Millisecond, delegReturn41OK(2, sidA, 2))
	}
	lastDelay := firstDelay
	for i := range retries {
		xid := uint32(2 + i)
		b.call(time.Second, open41(xid, sidB, xid, dirFH, "report.txt"))
		lastDelay = b.reply(time.Millisecond, open41Delay(xid, sidB, xid))
	}
	return s, []int64{recall, ans, ret, firstDelay, lastDelay}
}

func TestRecallStuckNoAnswer(t *testing.T) {
	s, fr := recallScene(t, false, false, 3)
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindRecallStuck)
	if len(fs) != 1 {
		t.Fatalf("findings %+v, want one recall_stuck", r.Findings)
	}
	f := fs[0]
	want := []int64{fr[0], fr[3], fr[4]}
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, want) || f.Path != "report.txt" || f.Procedure != "CB_RECALL" {
		t.Errorf("%s frames %v (want %v) path %q: %s", f.Severity, f.Frames, want, f.Path, f.Summary)
	}
	// Handles are named by Wireshark's nfs.fh.hash, the CRC-32 of their bytes.
	fh := fmt.Sprintf("FH 0x%08x %q", crc32.ChecksumIEEE([]byte{0xfe, 0xed, 0xfa, 0xce}), "report.txt")
	for _, w := range []string{"sent 198.18.0.1 a CB_RECALL", fh, "never answered the callback",
		`198.18.0.3's OPEN "report.txt" got NFS4ERR_DELAY 4 times`} {
		if !strings.Contains(f.Summary, w) {
			t.Errorf("finding does not say %q: %s", w, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictRecallStuck || r.Diagnoses[0].Connection != f.Connection {
		t.Fatalf("diagnoses %+v, want recall_stuck", r.Diagnoses)
	}
	if d := r.Diagnoses[0].Summary; !strings.Contains(d, "client 198.18.0.3 waits on \"report.txt\" because client 198.18.0.1 holds") {
		t.Errorf("verdict: %s", d)
	}
	// B's DELAY loop (3 s, past --stall-after) is the recall's doing: a
	// warning that says so, not a server_delaying stall of its own.
	if ds := findingsOf(r, analyze.KindDelay); len(ds) != 1 || ds[0].Severity != analyze.SeverityWarning ||
		!strings.Contains(ds[0].Summary, "recalling the file from another client") {
		t.Errorf("server_delaying findings %+v, want one warning naming the recall", ds)
	}
	// The callback never answered is the recall's finding, not also a
	// callback_path_down one.
	if fs := findingsOf(r, analyze.KindCallbackPathDown); len(fs) != 0 {
		t.Errorf("callback_path_down %+v, want none", fs)
	}
}

func TestRecallStuckAnsweredNotReturned(t *testing.T) {
	s, fr := recallScene(t, true, false, 2)
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindRecallStuck)
	want := []int64{fr[0], fr[1], fr[3], fr[4]}
	slices.Sort(want)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityStall || !slices.Equal(fs[0].Frames, want) ||
		!strings.Contains(fs[0].Summary, "but sent no DELEGRETURN by the end of the capture") {
		t.Errorf("findings %+v", fs)
	}
}

// TestRecallReturned: the holder answers and returns at once; the opener
// got one DELAY and its retry would succeed: no finding.
func TestRecallReturned(t *testing.T) {
	s, _ := recallScene(t, true, true, 0)
	r := s.run(analyze.DefaultOptions())
	if fs := findingsOf(r, analyze.KindRecallStuck); len(fs) != 0 {
		t.Errorf("findings %+v, want none", fs)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestCallbackPathDown: RENEW answered NFS4ERR_CB_PATH_DOWN (4.0, RFC
// 7530 section 16.29.4); SEQUENCE with SEQ4_STATUS_CB_PATH_DOWN_SESSION
// (0x200, 4.1); a CB_NULL the client never answers.
func TestCallbackPathDown(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 800)
	a.call(time.Millisecond, renew40(1, 7))
	r1 := a.reply(time.Millisecond, renew40Reply(1, 10048))
	b := s.peer(cliB, 700)
	b.call(time.Millisecond, seqGetattr41(1, sidB, 1, 0, fileFH))
	r2 := b.reply(time.Millisecond, seqGetattrOK(1, sidB, 1, 0, 15, 0x200))
	cb := b.reply(time.Millisecond, cbNull(0x99))
	b.call(2*time.Second, seqGetattr41(2, sidB, 2, 0, fileFH))
	b.reply(time.Millisecond, seqGetattrOK(2, sidB, 2, 0, 15, 0))
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindCallbackPathDown)
	if len(fs) != 3 {
		t.Fatalf("findings %+v, want 3 callback_path_down", fs)
	}
	for i, w := range []struct {
		frames []int64
		says   string
	}{
		{[]int64{r1}, "1 RENEW reply NFS4ERR_CB_PATH_DOWN"},
		{[]int64{r2}, "1 SEQUENCE reply with SEQ4_STATUS_CB_PATH_DOWN_SESSION"},
		{[]int64{cb}, "callback CB_NULL xid 0x00000099 to 198.18.0.3"},
	} {
		f := fs[i]
		if f.Severity != analyze.SeverityWarning || !slices.Equal(f.Frames, w.frames) || !strings.Contains(f.Summary, w.says) {
			t.Errorf("finding %d: %s %v (want %v): %s (want %q)", i, f.Severity, f.Frames, w.frames, f.Summary, w.says)
		}
	}
}

// TestRecallStuck40: NFSv4.0 (RFC 7530 section 10.4): the server calls
// the holder back on a connection it opens to the address SETCLIENTID
// named (198.18.0.1 port 40000, followed with --port); the CB_RECALL gets
// no answer while another client's OPEN gets NFS4ERR_DELAY.
func TestRecallStuck40(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	a.call(time.Millisecond, setClientID40(1, "client-a", 1))
	a.reply(time.Millisecond, setClientID40OK(1, 7))
	a.call(time.Millisecond, compound4(2, 0, 3, putfh(dirFH), append(words(15), opaque("report.txt")...), words(10)))
	a.reply(time.Millisecond, compound4Reply(2, 0, 3, words(22, 0), words(15, 0), words(10, 0, 4, fileFH)))
	open40 := func(xid uint32) []byte {
		o := words(18, 0, 2, 0, 0, 5)
		o = append(o, opaque("o1")...)
		o = append(o, words(0, 0)...)
		return compound4(xid, 0, 2, putfh(dirFH), append(o, opaque("report.txt")...))
	}
	delay40 := func(xid uint32) []byte { return compound4Reply(xid, 10008, 2, words(22, 0), words(18, 10008)) }
	b.call(time.Millisecond, open40(1))
	first := b.reply(time.Millisecond, delay40(1))
	cb := s.tconnect(srvIP, 880, cliA, 40000)
	recall := cb.send(time.Millisecond, true, cbRecall40(0x31))
	var last int64
	for i := range uint32(2) {
		b.call(time.Second, open40(2+i))
		last = b.reply(time.Millisecond, delay40(2+i))
	}
	opts := analyze.DefaultOptions()
	opts.Ports = []uint16{2049, 40000}
	r := s.run(opts)
	fs := findingsOf(r, analyze.KindRecallStuck)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityStall || !slices.Equal(fs[0].Frames, []int64{first, recall, last}) ||
		!strings.Contains(fs[0].Summary, "the server sent 198.18.0.1 a CB_RECALL") || !strings.Contains(fs[0].Summary, `198.18.0.3's OPEN "report.txt" got NFS4ERR_DELAY 3 times`) {
		t.Fatalf("findings %+v", r.Findings)
	}
	var verdicts []string
	for _, d := range r.Diagnoses {
		verdicts = append(verdicts, d.Verdict)
	}
	// The callback connection's CB_RECALL with no reply is the holder's
	// silence, the same recall_stuck, not a server_not_replying (the
	// "server" of that connection is the holder's callback service).
	if !slices.Equal(verdicts, []string{analyze.VerdictRecallStuck, analyze.VerdictRecallStuck}) {
		t.Errorf("verdicts %v, want recall_stuck on both connections", verdicts)
	}
}

// TestNFS4StateKindsInDiff: diff (analyze.Compare) names the new kinds and
// verdicts that only the candidate has: a healthy lock exchange against a
// stuck recall.
func TestNFS4StateKindsInDiff(t *testing.T) {
	base, _ := lockScene(t, 0, false)
	cand, _ := recallScene(t, false, false, 3)
	c := analyze.Compare(base.run(analyze.DefaultOptions()), cand.run(analyze.DefaultOptions()))
	var got []string
	for _, ch := range c.Changes {
		if ch.Kind == "new_finding" || ch.Kind == "new_verdict" {
			got = append(got, ch.Kind+" "+ch.Metric)
		}
	}
	if !slices.Contains(got, "new_finding recall_stuck") || !slices.Contains(got, "new_verdict recall_stuck") {
		t.Errorf("changes %v, want recall_stuck as new finding and verdict", got)
	}
}
