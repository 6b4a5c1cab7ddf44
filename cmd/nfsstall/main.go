// Command nfsstall reads tcpdump captures offline and tells why NFS hung:
// which RPC calls never got a reply, which side stopped talking, and the
// frames that prove it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"nfsstall/analyze"
	"nfsstall/report"
	"nfsstall/tcpflow"
)

// Exit statuses, the same for every command (scripts rely on them).
const (
	exitOK    = 0 // no finding of severity stall
	exitStall = 1 // at least one stall
	exitError = 2 // bad flags, unreadable or non-capture file
)

const usage = `nfsstall reads tcpdump captures offline and tells why NFS hung: which RPC
calls never got a reply, which side stopped talking, and the frames that prove it.

Usage:
  nfsstall [flags] CAPTURE...

CAPTURE is a pcap or pcapng file, gzip-compressed or not (detected by content),
or - for standard input. Several files (tcpdump -C/-W rotation) are read as one
capture in timestamp order; frame numbers stay per file, as Wireshark shows them.

Examples:
  nfsstall hung.pcap                     # text report: diagnosis first, then tables
  nfsstall --format json hung.pcap.gz    # JSON report for scripts
  nfsstall trace0 trace1 trace2          # rotated files, one timeline
  tcpdump -r big.pcap -w - 'port 2049' | nfsstall -
  nfsstall --port 2049,20048 mount.pcap  # also decode MOUNT on port 20048

The report lists every RPC call with no reply at the end of the capture (with the
frame of its first transmission), and per procedure: calls, replies, errors, RPC
retransmissions and latency (min/mean/p50/p90/p99/max, ms, from the call's first
transmission, like Wireshark's rpc.time).

Exit status: 0 no stall found, 1 a stall was found, 2 error (bad flags,
unreadable file, not a capture). A capture file cut short is not an error: it is
analysed up to where it ends, with a warning on stderr.

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("nfsstall", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	format := fs.StringP("format", "f", "text", "report format: text or json")
	ports := fs.StringP("port", "p", "2049", "server ports to analyse, comma-separated (TCP and UDP)")
	progress := fs.String("progress", "auto", "progress line on stderr: auto (when stderr is a terminal), always, never")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "nfsstall: %v\nRun 'nfsstall --help' for usage.\n", err)
		return exitError
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "nfsstall: --format must be text or json, not %q\n", *format)
		return exitError
	}
	opts := analyze.DefaultOptions()
	p, err := parsePorts(*ports)
	if err != nil {
		fmt.Fprintf(stderr, "nfsstall: --port: %v\n", err)
		return exitError
	}
	opts.Ports = p
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintf(stderr, "nfsstall: no capture file given\nRun 'nfsstall --help' for usage.\n")
		return exitError
	}
	if n := strings.Count(strings.Join(files, "\x00")+"\x00", "-\x00"); n > 1 {
		fmt.Fprintf(stderr, "nfsstall: standard input (-) can be given only once\n")
		return exitError
	}

	in, err := tcpflow.OpenInputs(files, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "nfsstall: %v\n", err)
		return exitError
	}
	defer in.Close()
	if showProgress(*progress, stderr) {
		start := time.Now()
		last := start
		opts.Progress = func(packets int64) {
			if now := time.Now(); now.Sub(last) >= 500*time.Millisecond {
				last = now
				fmt.Fprintf(stderr, "\rnfsstall: %d packets read (%.1f s)", packets, now.Sub(start).Seconds())
			}
		}
		defer fmt.Fprintf(stderr, "\r\033[K")
	}
	r, err := analyze.Run(in, opts)
	if err != nil {
		fmt.Fprintf(stderr, "nfsstall: %v\n", err)
		return exitError
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "nfsstall: warning: %s\n", w)
	}
	if *format == "json" {
		err = report.JSON(stdout, r)
	} else {
		err = report.Text(stdout, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nfsstall: writing report: %v\n", err)
		return exitError
	}
	for _, f := range r.Findings {
		if f.Severity == analyze.SeverityStall {
			return exitStall
		}
	}
	return exitOK
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
