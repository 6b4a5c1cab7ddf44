package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publicDir holds public captures from other systems (../shared beside the
// repository; see SOURCES.md there). They are read where they are, never
// copied into the repository.
var publicDir = filepath.Join("..", "..", "..", "shared", "pcaps-public")

// publicCaptures: what nfsstall finds in each public capture, on the ports
// that carry its RPC (NFS 2049; MOUNT, NSM, KLM, RQUOTA and the like on the
// dynamic ports the capture's PORTMAP replies give), next to tshark's view.
//
// tsharkCalls and tsharkReplies were counted with tshark 4.0.17 as
//
//	tshark -n -r FILE -Y rpc -T fields -e rpc.msgtyp -e tcp.dstport -e udp.dstport \
//	    -e tcp.srcport -e udp.srcport -E occurrence=a
//
// counting every call (msgtyp 0) whose destination port is in ports and
// every reply (msgtyp 1) whose source port is, each message of a frame
// once (-d tcp.port==993,rpc for the nfs-write-verf-cookie file, whose
// client port tshark takes for TLS; -d udp.port==912,rpc for the
// udp-nfsv3-dup-retransm file, whose datagrams tshark's heuristics take
// for DNS). Where nfsstall's count differs, why says why.
var publicCaptures = []struct {
	file                       string
	ports                      string
	exit                       int
	calls, replies             int64
	tsharkCalls, tsharkReplies int64
	why                        string
	check                      func(t *testing.T, r *publicReport)
}{
	{file: "beats--nfs4_close.pcap", ports: "2049", calls: 1, replies: 1, tsharkCalls: 1, tsharkReplies: 1},
	{file: "beats--nfs_v3.pcap", ports: "2049", calls: 1, replies: 1, tsharkCalls: 1, tsharkReplies: 1,
		// Joined mid-stream; the reply is a 36-byte record, shorter than
		// the framer's search window.
		check: func(t *testing.T, r *publicReport) { r.want(t, "garbage bytes", r.Summary.GarbageBytes, 0) }},
	{file: "beats--nfsv42_clone.pcap", ports: "2049", calls: 1, replies: 1, tsharkCalls: 1, tsharkReplies: 1},
	{file: "beats--nfsv42_layoutstats.pcap", ports: "2049", calls: 1, replies: 1, tsharkCalls: 1, tsharkReplies: 1},
	{file: "conntrack-tools--nfsv3.pcap", ports: "2049,111,60260,37726", calls: 16, replies: 16, tsharkCalls: 16, tsharkReplies: 16,
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "NFS_ACL", 1) }},
	{file: "nfstrace--2sessions-tcp-wsize32k-tcp-wsize512k.pcap.gz", ports: "2049,111", calls: 421, replies: 421, tsharkCalls: 421, tsharkReplies: 421,
		check: func(t *testing.T, r *publicReport) { r.want(t, "undecodable", r.Summary.Undecodable, 0) }},
	{file: "nfstrace--eth-ipv4-tcp-nfsv3.pcap.gz", ports: "2049", calls: 3331, replies: 3331, tsharkCalls: 3331, tsharkReplies: 3331},
	{file: "nfstrace--eth-ipv4-tcp-nfsv4.pcap.gz", ports: "2049", calls: 1607, replies: 1607, tsharkCalls: 1607, tsharkReplies: 1607},
	// The server's CB_NULL call on the NFSv4.1 backchannel (same
	// connection, other way) and its reply are a callback row.
	{file: "nfstrace--eth-ipv4-tcp-nfsv41.pcap", ports: "2049", calls: 527, replies: 527, tsharkCalls: 527, tsharkReplies: 527,
		check: func(t *testing.T, r *publicReport) { r.want(t, "undecodable", r.Summary.Undecodable, 0) }},
	// NFSv3 over UDP: every WRITE call (16 KiB) comes in 12 IP fragments,
	// reassembled and analysed at the frame of the last, as tshark does.
	// tshark 4.0.17 with its defaults finds 1 call and 1 reply: its DNS
	// heuristic takes every later datagram (client port 912) for DNS. With
	// -d udp.port==912,rpc (the counts here) it finds the same 15 calls
	// at the same frames, and `tshark -n -r FILE -d udp.port==912,rpc -q
	// -z rpc,srt,100003,3` gives WRITE 12, min 0.000764, max 0.233384 s.
	{file: "nfstrace--eth-ipv4-udp-nfsv3-dup-retransm.pcap", ports: "2049", exit: exitStall, calls: 15, replies: 19, tsharkCalls: 15, tsharkReplies: 12,
		why: "7 replies (frames 14-18, 47, 107) answer calls sent before the capture began: tshark cannot tell a UDP reply without its call and shows them as RPC Continuation, nfsstall counts them as orphan replies",
		check: func(t *testing.T, r *publicReport) {
			var frags int64
			for _, s := range r.Skipped {
				if s.What == "packets" && strings.Contains(s.Reason, "IP fragment") {
					frags += s.Count
				}
			}
			r.want(t, "IP fragments skipped", frags, 7) // the last call's 7 fragments (frames 199-205): its last 5 were not captured
			r.want(t, "incomplete at the end", r.skipped("IP fragment of a datagram still incomplete at the end of the capture"), 7)
			r.want(t, "orphan replies", r.Summary.OrphanReplies, 7)
			// The one call tshark leaves unanswered too: xid 0x6273855e, completed at frame 81.
			r.want(t, "unanswered", r.Summary.Unanswered, 1)
			if len(r.Unanswered) != 1 || r.Unanswered[0].Frame != 81 {
				t.Errorf("unanswered %+v, want the call at frame 81", r.Unanswered)
			}
			r.wantProc(t, "NFS", 15)
			// 12 replies paired, as by tshark; the slowest timed as tshark
			// times it (frame 57 to 94: from the last fragment of the call).
			// The fastest differs: tshark pairs the duplicate reply at 186
			// with the first send at 144 (145 ms), nfsstall with the re-send
			// at 185, sent after the first reply (182): 0.475 ms.
			for _, p := range r.Procedures {
				r.want(t, "WRITE replies paired", p.Replies, 12)
				// Frames 57 and 93, 108 and 168, as tshark marks them; and
				// 185, the re-send of 144 after its reply at 182 (a replay,
				// which tshark does not mark).
				r.want(t, "WRITE retransmissions", p.Retransmits, 3)
				if p.Latency.Max != 233.384 || p.Latency.Min != 0.475 {
					t.Errorf("WRITE latency %+v, want max 233.384 ms (tshark's) and min 0.475", p.Latency)
				}
			}
		}},
	{file: "nfstrace--eth-ipv4-udp-nfsv3.pcap", ports: "2049,111,1048", calls: 64, replies: 64, tsharkCalls: 64, tsharkReplies: 64,
		// pcap version 2.1 (1999)
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "NFS", 58) }},
	{file: "nfstrace--eth-ipv6-tcp-nfsv3.pcap.gz", ports: "2049", calls: 1605, replies: 1605, tsharkCalls: 1605, tsharkReplies: 1605},
	{file: "nfstrace--lo-ipv4-tcp-nfsv3-nfsacl.pcap", ports: "2049,111,20048,58776", calls: 15, replies: 15, tsharkCalls: 15, tsharkReplies: 15,
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "NSM", 1) }},
	{file: "nfstrace--tcp-seq-overlap-in-fragment-12721.pcap.gz", ports: "2049", calls: 6171, replies: 6171, tsharkCalls: 3, tsharkReplies: 3,
		why: "after ~6000 segments lost from the capture tshark loses the record boundaries; nfsstall finds them again and pairs every WRITE",
		check: func(t *testing.T, r *publicReport) {
			r.want(t, "unanswered", r.Summary.Unanswered, 0)
			// 270 MB of WRITE data the server ACKed were not captured.
			// A WRITE whose last byte fell in a hole is known only by the
			// server's reply that ACKed it: it is not timed (it read
			// 0.000 ms), and every latency left is one the capture shows.
			if r.Summary.CaptureLoss < 250e6 {
				t.Errorf("capture_loss_bytes %d", r.Summary.CaptureLoss)
			}
			for _, p := range r.Procedures {
				if p.Name == "WRITE" && (p.Untimed == 0 || p.Latency.Min < 0.05) {
					t.Errorf("WRITE: %d untimed, min latency %.3f ms", p.Untimed, p.Latency.Min)
				}
			}
		}},
	{file: "sample-captures--genbroad.snoop", ports: "111", exit: exitError, tsharkCalls: 4,
		why: "a Sun snoop file: not read, the error names the format"},
	{file: "sample-captures--getsetacl.cap", ports: "2049", calls: 28, replies: 28, tsharkCalls: 28, tsharkReplies: 28,
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "NFS_ACL", 6) }},
	{file: "sample-captures--klm.pcap", ports: "111,624", calls: 9, replies: 9, tsharkCalls: 9, tsharkReplies: 9,
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "KLM", 8) }},
	{file: "sample-captures--nfs_bad_stalls.cap", ports: "2049,111,1023", calls: 108, replies: 213, tsharkCalls: 108, tsharkReplies: 108,
		why: "snaplen 96: nfsstall follows the record lengths through the cut READ replies; 105 replies answer calls sent three to a segment, whose headers the snaplen cut",
		check: func(t *testing.T, r *publicReport) {
			r.want(t, "orphan replies", r.Summary.OrphanReplies, 105)
			// The connection's SYN is in the capture: the calls were sent,
			// the report must not say "before the capture started".
			r.want(t, "orphans said undecoded", r.skipped("captured from its start"), 105)
			r.want(t, "garbage bytes", r.Summary.GarbageBytes, 0)
		}},
	{file: "sample-captures--nsm.pcap", ports: "111,1011", calls: 8, replies: 8, tsharkCalls: 8, tsharkReplies: 8,
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "NSM", 7) }},
	{file: "sample-captures--rquota.pcap", ports: "111,702", calls: 5, replies: 5, tsharkCalls: 5, tsharkReplies: 5,
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "RQUOTA", 4) }},
	{file: "sample-captures--vxi-11.pcap", ports: "111,1024", calls: 126, replies: 125, tsharkCalls: 126, tsharkReplies: 125,
		// A PORTMAP CALLIT broadcast over UDP is never answered: by design
		// (RFC 1833), so information, not a stall (exit 0).
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "395183", 124) }},
	{file: "suricata-verify--nfs3-readdirplus_input.pcap", ports: "2049", calls: 1, replies: 1, tsharkCalls: 1, tsharkReplies: 1},
	{file: "suricata-verify--nfs4-01_input.pcap", ports: "2049", calls: 33, replies: 33, tsharkCalls: 33, tsharkReplies: 33,
		check: func(t *testing.T, r *publicReport) { r.want(t, "undecodable", r.Summary.Undecodable, 0) }},
	{file: "suricata-verify--nfsv2.pcap", ports: "2049,111,1048", calls: 78, replies: 78, tsharkCalls: 78, tsharkReplies: 78,
		// pcap version 2.1 (1999)
		check: func(t *testing.T, r *publicReport) { r.wantProc(t, "NFS", 73) }},
	{file: "tcpdump--nfs-v4.pcap", ports: "2049", calls: 3, replies: 3, tsharkCalls: 3, tsharkReplies: 3,
		// The last call and its reply come after a gap: the reply's ACK
		// releases the call, which must be decoded first.
		check: func(t *testing.T, r *publicReport) { r.want(t, "unanswered", r.Summary.Unanswered, 0) }},
	{file: "tcpdump--nfs-write-verf-cookie.pcapng", ports: "2049", calls: 1, replies: 1, tsharkCalls: 1, tsharkReplies: 1},
	{file: "zeek--mount-unmount.pcap", ports: "20048", calls: 5, replies: 5, tsharkCalls: 5, tsharkReplies: 5},
	{file: "zeek--nfs_base.pcap", ports: "2049,20048", calls: 41, replies: 41, tsharkCalls: 41, tsharkReplies: 41},
	{file: "zeek--nfs_write.pcap", ports: "2049,20048,111", calls: 56, replies: 56, tsharkCalls: 56, tsharkReplies: 56},
	{file: "zeek--rpc-portmap-sadmind.pcap", ports: "111,32773,32774", exit: exitStall, calls: 18, replies: 10, tsharkCalls: 18, tsharkReplies: 10,
		check: func(t *testing.T, r *publicReport) { r.want(t, "unanswered", r.Summary.Unanswered, 8) }},
}

type publicReport struct {
	jsonReport
	Procedures []struct {
		ProgramName string `json:"program_name"`
		Name        string `json:"name"`
		Untimed     int64  `json:"untimed"`
		Calls       int64  `json:"calls"`
		Replies     int64  `json:"replies"`
		Retransmits int64  `json:"retransmissions"`
		Latency     struct {
			Min float64 `json:"min"`
			Max float64 `json:"max"`
		} `json:"latency_ms"`
	} `json:"procedures"`
	Unanswered []struct {
		Frame int64 `json:"frame"`
	} `json:"unanswered_calls"`
}

func (r *publicReport) want(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %d, want %d", what, got, want)
	}
}

func (r *publicReport) skipped(reason string) int64 { return r.skippedCount(reason) }

// wantProc checks the calls of one program, all versions and procedures.
func (r *publicReport) wantProc(t *testing.T, program string, calls int64) {
	t.Helper()
	var n int64
	for _, p := range r.Procedures {
		if p.ProgramName == program {
			n += p.Calls
		}
	}
	r.want(t, program+" calls", n, calls)
}

// TestPublicCaptures analyses every public capture through the command
// line: no panic, the expected exit status, and the RPC messages found.
func TestPublicCaptures(t *testing.T) {
	entries, err := os.ReadDir(publicDir)
	if err != nil {
		t.Skipf("no public captures: %v", err)
	}
	known := map[string]bool{}
	for _, pc := range publicCaptures {
		known[pc.file] = true
	}
	for _, e := range entries {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".md") && !known[e.Name()] {
			t.Errorf("%s has no row in publicCaptures", e.Name())
		}
	}
	for _, pc := range publicCaptures {
		t.Run(pc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(publicDir, pc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			if (pc.calls != pc.tsharkCalls || pc.replies != pc.tsharkReplies) && pc.why == "" {
				t.Fatal("the counts differ from tshark's and why does not say why")
			}
			var out, errb bytes.Buffer
			code := run([]string{"--format", "json", "--port", pc.ports, path}, nil, &out, &errb)
			if code != pc.exit {
				t.Fatalf("exit %d, want %d; stderr %q", code, pc.exit, errb.String())
			}
			if code == exitError {
				if !strings.Contains(errb.String(), "snoop") {
					t.Errorf("the error does not name the format: %q", errb.String())
				}
				return
			}
			checkPrintable(t, "stderr", errb.String())
			var r publicReport
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			r.want(t, "calls", r.Summary.Calls, pc.calls)
			r.want(t, "replies", r.Summary.Replies, pc.replies)
			if pc.check != nil {
				pc.check(t, &r)
			}
			// The text report of the same file renders without control characters.
			out.Reset()
			if code := run([]string{"--port", pc.ports, path}, nil, &out, &errb); code != pc.exit {
				t.Errorf("text: exit %d", code)
			}
			checkPrintable(t, "text report", out.String())
		})
	}
}
