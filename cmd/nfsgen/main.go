// Command nfsgen writes a synthetic NFSv3 capture (pcap, Ethernet) for
// benchmarking and testing nfsstall: READ calls and 64 KiB / 1 MiB READ
// replies on many connections, with delayed ACKs, TCP timestamps,
// reordering, retransmissions and unanswered calls. The same flags and
// seed give the same file.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nfsstall/nfsstall/internal/gencap"
)

const usage = `nfsgen writes a synthetic NFSv3 READ capture (pcap, Ethernet, port 2049).

Usage:
  nfsgen [flags] OUTPUT      (OUTPUT - writes to standard output)

Examples:
  nfsgen --size 512M big.pcap
  nfsgen --size 256M --no-handshake midstream.pcap
  nfsgen --size 256M --conns 10000 --small 8K --big-rate 0 conns.pcap
  nfsgen --size 0 --unanswered 1000000 --conns 16 unanswered.pcap

It prints what it generated (calls, replies, unanswered calls,
retransmitted and reordered segments) on stderr: what nfsstall should find.

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfg gencap.Config
	var size, small, big string
	fs := pflag.NewFlagSet("nfsgen", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed: the same seed and flags give the same file")
	fs.StringVar(&size, "size", "64M", "approximate file size (K, M, G suffixes: powers of 1024); 0 with --unanswered gives only unanswered calls")
	fs.IntVar(&cfg.Conns, "conns", 4, "number of TCP connections")
	fs.IntVar(&cfg.Active, "active", 8, "connections exchanging packets at once (their packets interleave)")
	fs.BoolVar(&cfg.NoHandshake, "no-handshake", false, "start every connection mid-stream: no SYN, the server's first bytes are the tail of an earlier reply")
	fs.BoolVar(&cfg.SeqNearWrap, "seq-wrap", false, "initial sequence numbers just below 2^32")
	fs.StringVar(&small, "small", "64K", "size of a small READ")
	fs.StringVar(&big, "big", "1M", "size of a big READ")
	fs.Float64Var(&cfg.BigRate, "big-rate", 0.25, "fraction of READs that are big")
	fs.Float64Var(&cfg.NoAttrRate, "no-attr-rate", 0.1, "fraction of READ replies without post_op_attr")
	fs.Float64Var(&cfg.ReorderRate, "reorder-rate", 0.0005, "fraction of reply segments sent after their successor")
	fs.Float64Var(&cfg.RetransRate, "retrans-rate", 0.0005, "fraction of reply segments sent twice")
	fs.Int64Var(&cfg.Unanswered, "unanswered", 0, "number of calls never answered (spread over the capture)")
	fs.Float64Var(&cfg.UnansweredRate, "unanswered-rate", 0, "fraction of the other calls never answered")
	timestamps := fs.Bool("timestamps", true, "TCP timestamps option on every segment")
	delayed := fs.Bool("delayed-ack", true, "the client ACKs every second reply segment (else every one)")
	fs.IntVar(&cfg.Segment, "segment", 1448, "TCP payload bytes of a full segment")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return fail(stderr, "%v", err)
	}
	cfg.Timestamps, cfg.NoDelayedAck = *timestamps, !*delayed
	var err error
	if cfg.Size, err = parseSize(size); err != nil {
		return fail(stderr, "--size: %v", err)
	}
	for _, s := range []struct {
		v   string
		dst *int
	}{{small, &cfg.SmallRead}, {big, &cfg.BigRead}} {
		n, err := parseSize(s.v)
		if err != nil || n <= 0 || n%4 != 0 || n > 16<<20 {
			return fail(stderr, "READ size %q: want a multiple of 4 from 4 to 16M", s.v)
		}
		*s.dst = int(n)
	}
	if cfg.Conns <= 0 || cfg.Conns > 60000 {
		return fail(stderr, "--conns must be 1 to 60000")
	}
	if cfg.Segment < 200 || cfg.Segment > 9000 {
		return fail(stderr, "--segment must be 200 to 9000")
	}
	if fs.NArg() != 1 {
		return fail(stderr, "one OUTPUT file (or -) expected\nRun 'nfsgen --help' for usage.")
	}
	out := stdout
	if path := fs.Arg(0); path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		defer f.Close()
		out = f
	}
	st, err := gencap.Write(out, cfg)
	if err != nil {
		return fail(stderr, "writing: %v", err)
	}
	if f, ok := out.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return fail(stderr, "%v", err)
		}
	}
	fmt.Fprintf(stderr, "nfsgen: %d bytes, %d packets, %d connections, %d calls, %d replies, %d unanswered, %d retransmitted and %d reordered segments\n",
		st.Bytes, st.Packets, st.Connections, st.Calls, st.Replies, st.Unanswered, st.Retransmissions, st.Reordered)
	return 0
}

// parseSize reads a byte count with an optional K, M or G suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch u := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i")); {
	case strings.HasSuffix(u, "K"):
		mult, s = 1<<10, u[:len(u)-1]
	case strings.HasSuffix(u, "M"):
		mult, s = 1<<20, u[:len(u)-1]
	case strings.HasSuffix(u, "G"):
		mult, s = 1<<30, u[:len(u)-1]
	default:
		s = u
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 512M)", s)
	}
	return n * mult, nil
}

func fail(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "nfsgen: "+format+"\n", args...)
	return 2
}
