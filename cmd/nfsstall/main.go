// Command nfsstall reads tcpdump captures offline and tells why NFS hung:
// which RPC calls never got a reply, which side stopped talking, and the
// frames that prove it.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/report"
)

// Exit statuses, the same for every command (scripts rely on them).
const (
	exitOK    = 0 // no finding of severity stall
	exitStall = 1 // at least one stall
	exitError = 2 // bad flags, unreadable or non-capture file
)

const usage = `nfsstall reads tcpdump captures offline and tells why NFS hung: which RPC
calls never got a reply, which side stopped talking, and the frames that prove
it.

Usage:
  nfsstall [flags] CAPTURE...
  nfsstall diff [flags] BASELINE CANDIDATE
  nfsstall --version | help

Flags may come before or after diff and the files. A capture file named
"diff", "help" or "version" is given as ./diff.

CAPTURE is a pcap or pcapng file, plain or compressed with gzip, xz, bzip2 or
zstd (detected by content), or - for standard input. Several files (tcpdump
-C/-W rotation) are read as one capture in timestamp order; frame numbers stay
per file, as Wireshark shows them.

The report opens with a verdict for each connection that stalled, then the
findings with their evidence frames:
  server_not_replying   calls reached the server's TCP (it ACKed them), no RPC
                        reply came: the server process is stuck, not the
                        network; says how many calls it holds over time and
                        whether its receive window shrinks toward zero
  client_not_acking     the server sent the reply and keeps re-sending it; the
                        client never ACKs: the client's receive path is stuck
  server_not_acking     the client re-sends data the server never ACKs
  client_window_closed  the client advertises a zero TCP window (stopped
                        reading)
  server_window_closed  the server advertises a zero TCP window
  reconnect_failing     the client's connection is gone and its SYNs to the NFS
                        port get no SYN-ACK (dropped: firewall, path, host down)
                        or a RST (nothing listens, or a firewall rejects) while
                        its calls wait
  grace_period          the server restarted: it refuses OPENs/LOCKs with
                        NFS4ERR_GRACE while clients reclaim (CLAIM_PREVIOUS,
                        RECLAIM_COMPLETE)
  server_delaying       the server answers NFS4ERR_DELAY / NFS3ERR_JUKEBOX to
                        the same operation on a file again and again while the
                        client waits
  auth_failing          the server keeps denying the client's credentials
                        (AUTH_ERROR: expired Kerberos ticket, lost GSS context,
                        sec= too weak)
  mtu_black_hole        one side's full-size segments are re-sent and never
                        ACKed while its smaller ones are, no ICMP "fragmentation
                        needed": the path between drops packets over its MTU
  state_recovery_loop   an NFSv4 client keeps losing its state (BADSESSION,
                        STALE_CLIENTID, EXPIRED) and re-registering; names two
                        clients sharing one client owner (a client-ID collision)
                        when that is the cause
  session_slots         the server keeps refusing an NFSv4.1 session's calls for
                        slot misuse (SEQ_MISORDERED, BADSLOT...); as findings
                        also a slot reused before its reply, every slot held for
                        long
  recall_stuck          a client's OPEN/REMOVE/RENAME/SETATTR gets NFS4ERR_DELAY
                        again and again because another client does not return a
                        recalled delegation or layout (names both and the file);
                        callback_path_down findings say the server cannot reach
                        a client's callbacks
  packet_loss           retransmissions that were eventually ACKed, with stalls
Findings with no verdict of their own: delayed_ack_pause (a sender that waits
again and again for the peer's delayed ACK, ~40 ms on Linux, ~200 ms on
Windows, before it sends the rest of a reply: slow, not hung), state_revoked
(the server revoked NFSv4 state), lock_wait (an NFSv4 LOCK denied and polled,
an NLM LOCK blocked and its GRANTED callback: a wait for another application,
not a fault).
Each verdict ends with a Wireshark display filter that shows its evidence
frames. No verdict rests on what the capture did not see: bytes the peer ACKed
that the capture missed (tcpdump drops, a one-way capture) may hold a missing
reply, so such calls are warnings; the "capture:" lines say what was missed, and
the answer line says "no stall proven" when a stall would rest on it. Then per
procedure (like mountstats): calls, replies, errors, RPC retransmissions,
latency min/mean/p50/p90/p99/max in ms from the call's first transmission (like
Wireshark's rpc.time), and per connection.

diff compares a healthy capture (BASELINE) with a hung one (CANDIDATE): latency
and error rate per procedure, TCP counts, throughput, and the findings and
verdicts only the candidate has. Give several files on one side as a
comma-separated list: nfsstall diff good.pcap bad0.pcap,bad1.pcap

Examples:
  nfsstall hung.pcap                    # text report: diagnosis first
  nfsstall --format json hung.pcap.gz   # JSON report (schema_version 1)
  nfsstall -f html hung.pcap > h.html   # one self-contained page: verdict,
                                        # evidence, time-sequence graphs
  nfsstall trace0 trace1 trace2         # rotated files, one timeline
  tcpdump -r big.pcap -w - 'port 2049' | nfsstall -
  nfsstall --port 2049,20048 m.pcap     # also MOUNT: file names from the export
  nfsstall --stall-after 30s hung.pcap  # a stall only past 30 s of waiting

Exit status: 0 no stall found, 1 a stall was found (a finding of severity
stall), 2 error (bad flags, unreadable file, not a capture). A capture file cut
short is not an error: it is analysed up to where it ends, with a warning on
stderr.

Flags:
`

// options are the flags every command shares.
type options struct {
	mem      int64 // --memory, parsed
	version  bool
	utc      bool
	wide     bool
	pictures bool
	since    string
	until    string
	clients  string
	servers  string
	format   string
	ports    string
	progress string
	stall    time.Duration
	slow     time.Duration
	memory   string
}

func flags(name string, stderr io.Writer) (*pflag.FlagSet, *options) {
	o := &options{}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVarP(&o.format, "format", "f", "text", "report format: text, json, or html (one self-contained page with pictures)")
	fs.StringVarP(&o.ports, "port", "p", "2049", "server ports to analyse, comma-separated (TCP and UDP)")
	fs.DurationVar(&o.stall, "stall-after", time.Second, "a call unanswered, bytes never ACKed, a zero window or a reconnect lasting this long at the end of the capture is a stall; younger, each says why it is not one")
	fs.DurationVar(&o.slow, "slow", time.Second, "a reply later than this after its call is reported as slow")
	fs.StringVar(&o.progress, "progress", "auto", "progress line on stderr: auto (when stderr is a terminal), always, never")
	fs.StringVar(&o.memory, "memory", "64MB", "peak memory to aim for (e.g. 256MB, 1GB): every table that grows with the capture (connections, calls, reassembly, fragments, TCP evidence) is bounded in proportion; what a bound leaves out is reported")
	fs.StringVar(&o.since, "since", "", "analyse only packets from this time on: 2026-11-26T00:48:13Z (RFC 3339), or 2026-11-26 00:48:13[.frac] in local time (UTC with --utc)")
	fs.StringVar(&o.until, "until", "", "analyse only packets up to this time (as --since)")
	fs.StringVar(&o.clients, "client", "", "analyse only connections of these client addresses, comma-separated")
	fs.StringVar(&o.servers, "server", "", "analyse only connections to these server addresses, comma-separated")
	fs.BoolVar(&o.wide, "wide", false, "never break the text report's lines (by default they fit the terminal, 80 columns when not a terminal)")
	fs.BoolVar(&o.pictures, "pictures", false, "put the data of the HTML report's pictures (timelines, latency over time) in the JSON report too; --format html always gathers it, text never draws it")
	fs.BoolVar(&o.utc, "utc", false, "show times in UTC (by default in the local time zone, as tcpdump does; JSON is always UTC)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	// Help is printed by run, on stdout when asked for (nfsstall --help |
	// less), never on a mistake: then one line on stderr says how to get it.
	fs.Usage = func() {}
	return fs, o
}

// printUsage writes the help text.
func printUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, usage)
	fs.SetOutput(w)
	fmt.Fprint(w, fs.FlagUsagesWrapped(80))
}

// version says which build this is: the module version (a tagged
// go install) and the VCS revision the binary was built from, as
// debug.ReadBuildInfo has them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "nfsstall (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	out := "nfsstall " + v
	if rev != "" {
		out += fmt.Sprintf(" (revision %s%s%s)", rev[:min(12, len(rev))], map[bool]string{true: ", " + at, false: ""}[at != ""], dirty)
	}
	return out + " " + bi.GoVersion
}

// heapLimit is the Go heap's soft limit for a memory budget, unless
// GOMEMLIMIT says otherwise: the analysis keeps its state within the
// budget (see analyze.Budget and README, Bounds), and near this limit the
// garbage collector runs often enough that the process stays under the
// budget, where by default it would let the heap grow to twice what is
// live.
func heapLimit(budget int64) int64 { return budget * 3 / 4 }

// limitHeap: set the heap's soft limit from --memory. Only the command
// does: tests call run in a process of their own size.
var limitHeap = false

func main() {
	limitHeap = true
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, o := flags("nfsstall", stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printUsage(stdout, fs)
			return exitOK
		}
		return fail(stderr, "%v\nRun 'nfsstall --help' for usage.", err)
	}
	files := fs.Args()
	// A command word is the first argument that is not a flag, wherever
	// the flags are: nfsstall --format json diff a b.
	cmd := ""
	if len(files) > 0 {
		switch files[0] {
		case "diff", "help", "version":
			cmd, files = files[0], files[1:]
		}
	}
	switch {
	case cmd == "help":
		printUsage(stdout, fs)
		return exitOK
	case cmd == "version" || o.version:
		fmt.Fprintln(stdout, version())
		return exitOK
	}
	opts, err := o.analysis()
	if err != nil {
		return fail(stderr, "%v", err)
	}
	if cmd == "diff" {
		return runDiff(files, o, opts, stdin, stdout, stderr)
	}
	if len(files) == 0 {
		return fail(stderr, "no capture file given\nRun 'nfsstall --help' for usage.")
	}
	r, code := analyse(files, o, opts, stdin, stderr)
	if r == nil {
		return code
	}
	switch o.format {
	case "json":
		err = report.JSON(stdout, r)
	case "html":
		err = report.HTML(stdout, r, o.html())
	default:
		err = report.TextWith(stdout, r, o.text(stdout))
	}
	if err != nil {
		return fail(stderr, "writing report: %v", err)
	}
	if r.HasStall() {
		return exitStall
	}
	return exitOK
}

func runDiff(args []string, o *options, opts analyze.Options, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		return fail(stderr, "diff takes two arguments, BASELINE and CANDIDATE (each a file or a comma-separated list)\nRun 'nfsstall --help' for usage.")
	}
	stdinUses := 0
	for _, arg := range args {
		for _, f := range strings.Split(arg, ",") {
			if f == "-" {
				stdinUses++
			}
		}
	}
	if stdinUses > 1 {
		return fail(stderr, "standard input (-) can be given only once: it can be read only once")
	}
	var sides [2]*analyze.Report
	for i, arg := range args {
		r, code := analyse(strings.Split(arg, ","), o, opts, stdin, stderr)
		if r == nil {
			return code
		}
		sides[i] = r
	}
	c := analyze.Compare(sides[0], sides[1])
	var err error
	switch o.format {
	case "json":
		err = report.DiffJSON(stdout, c)
	case "html":
		err = report.DiffHTML(stdout, c, o.html())
	default:
		err = report.DiffTextWith(stdout, c, o.text(stdout))
	}
	if err != nil {
		return fail(stderr, "writing report: %v", err)
	}
	if sides[1].HasStall() {
		return exitStall
	}
	return exitOK
}

// text returns the text report's options.
func (o *options) text(stdout io.Writer) report.TextOptions {
	t := report.TextOptions{Location: time.Local, Width: textWidth(o.wide, stdout)}
	if o.utc {
		t.Location = time.UTC
	}
	return t
}

// html returns the HTML report's options: times as in the text.
func (o *options) html() report.HTMLOptions {
	if o.utc {
		return report.HTMLOptions{Location: time.UTC}
	}
	return report.HTMLOptions{Location: time.Local}
}

// analysis checks the flags and turns them into analysis options.
func (o *options) analysis() (analyze.Options, error) {
	mem, err := parseSize(o.memory)
	if err != nil || mem < 16<<20 {
		return analyze.DefaultOptions(), fmt.Errorf("--memory must be a size of at least 16MB, like 64MB or 1GB, not %q", o.memory)
	}
	opts := analyze.Budget(mem)
	o.mem = mem
	if limitHeap && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(heapLimit(mem))
	}
	if o.format != "text" && o.format != "json" && o.format != "html" {
		return opts, fmt.Errorf("--format must be text, json or html, not %q", o.format)
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return opts, fmt.Errorf("--progress must be auto, always or never, not %q", o.progress)
	}
	p, err := parsePorts(o.ports)
	if err != nil {
		return opts, fmt.Errorf("--port: %v", err)
	}
	if o.stall <= 0 || o.slow <= 0 {
		return opts, errors.New("--stall-after and --slow must be positive durations, e.g. 500ms or 30s")
	}
	opts.Ports, opts.StallAfter, opts.Slow = p, int64(o.stall), int64(o.slow)
	// The pictures' data costs on every segment: gathered only for a
	// report that shows it.
	opts.NoPictures = o.format != "html" && !o.pictures
	loc := time.Local
	if o.utc {
		loc = time.UTC
	}
	for _, t := range []struct {
		flag, v string
		to      *int64
	}{{"--since", o.since, &opts.Since}, {"--until", o.until, &opts.Until}} {
		if t.v == "" {
			continue
		}
		at, err := parseTime(t.v, loc)
		if err != nil {
			return opts, fmt.Errorf("%s: %v", t.flag, err)
		}
		*t.to = at.UnixNano()
	}
	if opts.Until != 0 && opts.Until < opts.Since {
		return opts, errors.New("--until is before --since")
	}
	if opts.Clients, err = parseAddrs(o.clients); err != nil {
		return opts, fmt.Errorf("--client: %v", err)
	}
	if opts.Servers, err = parseAddrs(o.servers); err != nil {
		return opts, fmt.Errorf("--server: %v", err)
	}
	return opts, nil
}

// analyse reads one set of files into a report. On error it returns nil
// and the exit status.
func analyse(files []string, o *options, opts analyze.Options, stdin io.Reader, stderr io.Writer) (*analyze.Report, int) {
	stdinUses := 0
	for _, f := range files {
		if f == "-" {
			stdinUses++
		}
	}
	if stdinUses > 1 {
		return nil, fail(stderr, "standard input (-) can be given only once")
	}
	in, err := capture.OpenInputs(files, stdin)
	if err != nil {
		return nil, fail(stderr, "%v", err)
	}
	// Files that overlap in time are all open at once (about 60 KB each,
	// gzipped): 512 fit the default budget.
	in.MaxOpen = int(max(16, 512*o.mem/analyze.DefaultMemory))
	defer in.Close()
	shown := false
	if showProgress(o.progress, stderr) {
		start := time.Now()
		last := start
		opts.Progress = func(p analyze.Progress) {
			if now := time.Now(); now.Sub(last) >= 250*time.Millisecond {
				last, shown = now, true
				fmt.Fprintf(stderr, "\r\033[K%s", progressLine(p, now.Sub(start)))
			}
		}
	}
	r, err := analyze.Run(in, opts)
	if shown {
		fmt.Fprintf(stderr, "\r\033[K") // clear the progress line before any message
	}
	if err != nil {
		return nil, fail(stderr, "%v", err)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "nfsstall: warning: %s\n", w)
	}
	for _, s := range r.Skipped {
		if s.Bound {
			// A cap on nfsstall's own memory or work: the report is
			// incomplete there, and --memory raises most caps.
			fmt.Fprintf(stderr, "nfsstall: limit reached: %d %s %s (--memory raises most limits)\n", s.Count, s.What, s.Reason)
		}
	}
	return r, exitOK
}

func fail(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "nfsstall: "+format+"\n", args...)
	return exitError
}

// parseSize reads a byte size: a number with an optional unit, B, KB, MB,
// GB (powers of 1024, as the budget is counted; KiB, MiB, GiB too).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	return int64(n * float64(mult)), nil
}

// parseTime reads a time as RFC 3339 (its zone given), or as
// "2006-01-02 15:04:05" with an optional fraction, or with a T, in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2026-11-26T00:48:13Z or 2026-11-26 00:48:13.5", s)
}

// parseAddrs reads comma-separated IP addresses.
func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", f)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

func parsePorts(s string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a port number (1-65535)", f)
		}
		out = append(out, uint16(n))
	}
	if len(out) == 0 {
		return nil, errors.New("no port given")
	}
	return out, nil
}

// progressLine says how far reading has got: bytes read of the total (of
// the compressed file for gzip), the rate, the time left and the packets.
func progressLine(p analyze.Progress, elapsed time.Duration) string {
	rate := float64(p.Read) / max(elapsed.Seconds(), 1e-3)
	if p.Total <= 0 {
		return fmt.Sprintf("nfsstall: %s read, %s/s, %d packets", analyze.FormatBytes(float64(p.Read)), analyze.FormatBytes(rate), p.Packets)
	}
	left := ""
	if rate > 0 && p.Read < p.Total {
		eta := time.Duration(float64(p.Total-p.Read) / rate * 1e9)
		if eta < 10*time.Second {
			eta = eta.Round(100 * time.Millisecond)
		} else {
			eta = eta.Round(time.Second)
		}
		left = fmt.Sprintf(", %s left", analyze.FormatMS(float64(eta.Milliseconds())))
	}
	return fmt.Sprintf("nfsstall: %s of %s (%d%%), %s/s%s, %d packets",
		analyze.FormatBytes(float64(p.Read)), analyze.FormatBytes(float64(p.Total)), p.Read*100/p.Total, analyze.FormatBytes(rate), left, p.Packets)
}

func showProgress(mode string, stderr io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := stderr.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
