package analyze

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// Credentials refused (issue 13, item 10): replies MSG_DENIED with
// AUTH_ERROR, and RPCSEC_GSS contexts created again and again (NULL calls
// with an RPCSEC_GSS credential whose gss_proc is INIT or CONTINUE_INIT).
// A run is one client's denials by one server since the last call of
// that client the server accepted (an accepted reply to a procedure other
// than NULL: a context creation's own NULL call is accepted even when the
// context is no good). At most maxAuthPairs pairs are followed; the
// context creations of a pair with no denial since its last accepted call
// are the usual GSS set-up, not a finding.

// KindAuth is the finding of calls denied for their credentials.
const KindAuth = "auth_failing"

// VerdictAuth: calls keep being denied for their credentials.
const VerdictAuth = "auth_failing"

const (
	maxAuthPairs = 4096
	authStats    = 16 // auth_stat values counted one by one; the rest share the last
)

// authRun is one client's denials by one server since the last call the
// server accepted.
type authRun struct {
	key         pairKey
	first, last tcpflow.FrameRef // the first and last denials
	denials     int
	stats       [authStats]int
	ev          evidence // denials and context creations
	inits       int      // GSS context creations since the first denial
	initsBefore int      // context creations before it (since the last accepted call)
	conn        int      // the connection of the first denial, named (kept from folding) for the finding
	ok          tcpflow.FrameRef
	okConn      int
}

// authTable follows the runs of every client and server.
type authTable struct {
	open     map[pairKey]*authRun
	done     []*authRun
	doneMore int64
	refused  int64 // events not followed: maxAuthPairs pairs followed
}

func (t *authTable) run(c *connState) *authRun {
	k := pairKey{c.info.Client.Addr, c.info.Server}
	r := t.open[k]
	if r == nil {
		if len(t.open) >= maxAuthPairs {
			t.refused++
			return nil
		}
		if t.open == nil {
			t.open = map[pairKey]*authRun{}
		}
		r = &authRun{key: k}
		t.open[k] = r
	}
	return r
}

// contextInit sees a call creating an RPCSEC_GSS context.
func (t *authTable) contextInit(c *connState, at tcpflow.FrameRef) {
	r := t.run(c)
	if r == nil {
		return
	}
	if r.denials == 0 {
		r.initsBefore++
		return
	}
	r.inits++
	r.ev.add(at)
}

// denied sees a reply MSG_DENIED with AUTH_ERROR, its auth_stat st.
func (t *authTable) denied(c *connState, st uint32, at tcpflow.FrameRef) {
	r := t.run(c)
	if r == nil {
		return
	}
	if r.denials == 0 {
		r.first = at
		r.conn, c.named = c.info.ID, true
	}
	r.denials++
	r.stats[min(st, authStats-1)]++
	r.last = at
	r.ev.add(at)
}

// accepted sees an accepted reply to a call other than NULL: a run ends.
func (t *authTable) accepted(c *connState, at tcpflow.FrameRef) {
	if len(t.open) == 0 {
		return
	}
	k := pairKey{c.info.Client.Addr, c.info.Server}
	r := t.open[k]
	if r == nil {
		return
	}
	delete(t.open, k)
	if r.denials == 0 {
		return
	}
	r.ok, r.okConn = at, c.info.ID
	if len(t.done) >= maxListed {
		t.doneMore++
		return
	}
	t.done = append(t.done, r)
}

// authHints says what an auth_stat means and whose it is.
var authHints = map[uint32]string{
	1:  "the server could not read the credential",
	2:  "the server rejected the credential: the client must begin a new session",
	3:  "the server could not read the verifier",
	4:  "the server rejected the verifier (expired or replayed)",
	5:  "the credential's flavor is too weak for the export: the mount's sec= does not match the export's",
	6:  "the server found the verifier it was sent invalid",
	7:  "the server failed for a reason it does not say",
	13: "the client's GSS credential is not good (its Kerberos ticket expired or is unknown to the server's keytab)",
	14: "the server no longer has the GSS context (restarted, or the context expired): the client must create a new one",
}

// authFindings makes one finding per run: the ended ones, then those
// open at the end.
func (a *Analyzer) authFindings(all []Finding, omitted map[string]int64) []Finding {
	t := &a.watch.auth
	open := slices.Collect(maps.Values(t.open))
	open = slices.DeleteFunc(open, func(r *authRun) bool { return r.denials == 0 })
	slices.SortFunc(open, func(x, y *authRun) int {
		if c := cmp.Compare(x.first.Time, y.first.Time); c != 0 {
			return c
		}
		return bytes.Compare(x.key.client[:], y.key.client[:])
	})
	omitted[KindAuth] += t.doneMore
	for i, r := range append(slices.Clone(t.done), open...) {
		if i >= maxListed {
			omitted[KindAuth]++
			continue
		}
		all = append(all, a.authFinding(r))
	}
	return all
}

func (a *Analyzer) authFinding(r *authRun) Finding {
	f := Finding{Kind: KindAuth, Severity: SeverityWarning, Connection: r.conn, Start: Time(r.first.Time)}
	refs := r.ev.refs()
	if r.ok.Frame != 0 {
		refs = append(refs, r.ok)
	}
	f.setFrames(refs)
	var b strings.Builder
	var stats, hints []string
	blameAt := 0 // f.blame's place in authBlame: the first listed wins
	for st, n := range r.stats {
		if n == 0 {
			continue
		}
		name := decode.AuthStatName(uint32(st))
		if st == authStats-1 {
			name = "other"
		}
		stats = append(stats, fmt.Sprintf("%s %d", name, n))
		for i, bl := range authBlame {
			if bl.stat == name && (f.blame == "" || i < blameAt) {
				f.blame, blameAt = bl.blame, i
			}
		}
		if h := authHints[uint32(st)]; h != "" {
			hints = append(hints, name+": "+h)
		}
	}
	fmt.Fprintf(&b, "server %s denied %d %s from %s with AUTH_ERROR (%s) from frame %s to frame %s (%s; frames %s)",
		r.key.server, r.denials, Plural(r.denials, "call", "calls"), tcpflow.Endpoint{Addr: r.key.client}.IP(),
		strings.Join(stats, ", "), a.frame(r.first), a.frame(r.last), FormatMS(ms(r.last.Time-r.first.Time)), a.frames(f.refs))
	if len(hints) > 0 {
		fmt.Fprintf(&b, "; %s", strings.Join(hints, "; "))
	}
	if r.inits > 0 {
		fmt.Fprintf(&b, "; the client created an RPCSEC_GSS context %d %s meanwhile and its calls were still denied", r.inits, Plural(r.inits, "time", "times"))
	}
	switch {
	case r.ok.Frame != 0:
		f.DurationMS = ms(r.ok.Time - r.first.Time)
		fmt.Fprintf(&b, "; the server accepted a call from it again at frame %s (connection %d), %s after the first denial", a.frame(r.ok), r.okConn, FormatMS(f.DurationMS))
	default:
		f.DurationMS = ms(r.last.Time - r.first.Time)
		b.WriteString("; no call of this client was accepted by this server after the first denial, to the end of the capture")
		if (r.denials >= 2 || r.inits >= 2) && f.DurationMS >= ms(a.opts.StallAfter) {
			f.Severity = SeverityStall
		}
	}
	f.Summary = b.String()
	return f
}

// authVerdict is the verdict for calls that keep being denied: the
// auth_failing findings at idx.
func (a *Analyzer) authVerdict(r *Report, d *Diagnosis, idx []int) {
	f := r.Findings[idx[0]]
	d.Verdict = VerdictAuth
	d.Findings = idx
	blame := f.blame
	if blame == "" {
		blame = "the server rejects the credential the client sends"
	}
	d.Summary = fmt.Sprintf("the server refuses the client's credentials (RPC AUTH_ERROR) and keeps refusing them to the end of the capture, %s after the first denial (frames %s): %s. The calls will not be served until that is put right. Not the network, and not a hung server: it answers at once.",
		FormatMS(f.DurationMS), a.findingFrames(r, idx), blame)
}

// authBlame says whose the fault is, by the first auth_stat of the list
// the denials show (Finding.blame).
var authBlame = []struct{ stat, blame string }{
	{"AUTH_TOOWEAK", "the mount's security flavor is weaker than the export allows: a mismatch between the client's sec= and the server's export options"},
	{"RPCSEC_GSS_CREDPROBLEM", "the client's GSS credential is not good (its Kerberos ticket expired, or the user has none): the client side (kinit, gssd, its keytab)"},
	{"RPCSEC_GSS_CTXPROBLEM", "the server does not know the client's GSS context (it restarted or dropped it) and the contexts the client creates do not help: the server side (its gssproxy/svcgssd, keytab or clock)"},
}

// skipped says how many events were not followed.
func (t *authTable) skipped() (Skipped, bool) {
	if t.refused == 0 {
		return Skipped{}, false
	}
	return Skipped{Bound: true, What: "denials and GSS context creations not followed for " + KindAuth, Count: t.refused,
		Reason: fmt.Sprintf("%d client and server pairs are followed at once", maxAuthPairs)}, true
}
