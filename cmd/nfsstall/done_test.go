package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nfsstall/nfsstall/internal/gencap"
)

// Issue 14's "done when", as tests: every text report fits the width and
// every section its bound; the generated 20,000-unanswered-call and
// 10,000-connection captures give short reports that still name the worst
// stalls and every total.

// The bounds README gives for the text report's sections.
var sectionRows = map[string]int{
	"UNANSWERED CALLS": 20,
	"PROCEDURES":       40,
	"NFSv4 OPERATIONS": 30,
	"NFSv4.1 SESSIONS": 20,
	"CONNECTIONS":      20,
	"CLIENTS":          20,
}

var (
	diagConn = regexp.MustCompile(`^  connection \d+: `)
	// a line of one word after its indentation and label ("[0] FILE")
	oneWord = regexp.MustCompile(`^ *(\[\d+\] )?\S+$`)
)

// checkText checks a text report broken at width: no line is wider, but
// a table's rows (its title must fit), a Wireshark filter's line (pasted
// whole) and a word longer than the line (a file name), which README says
// are never broken; and no section holds more than its bound.
func checkText(t *testing.T, name, out string, width int) {
	t.Helper()
	var title string
	rows, findings, named, full, diagFindings := 0, 0, 0, 0, 0
	for _, l := range strings.Split(out, "\n") {
		if l == "" {
			title = ""
			continue
		}
		table := false
		if title == "" {
			title = l
		} else {
			for s := range sectionRows {
				if strings.HasPrefix(title, s) {
					table = true
					if !strings.HasPrefix(l, "  ... and ") && l != "" {
						rows++
						if rows-1 > sectionRows[s] { // the column names are a row
							t.Errorf("%s: %s holds more than %d rows", name, s, sectionRows[s])
						}
					}
				}
			}
		}
		if strings.HasPrefix(title, "DIAGNOSIS") {
			switch {
			case diagConn.MatchString(l):
				named, diagFindings = named+1, 0
				if !strings.Contains(l, "(") {
					full++
				}
			case strings.HasPrefix(l, "    - "):
				if diagFindings++; diagFindings > 5 {
					t.Errorf("%s: more than 4 findings and their rest under one verdict", name)
				}
			}
		}
		if strings.HasPrefix(title, "FINDINGS") && l != title && !strings.HasPrefix(l, "    ") {
			if findings++; findings > 21 {
				t.Errorf("%s: FINDINGS holds more than 20 lines and their rest", name)
			}
		}
		if l == title {
			rows = 0
		}
		trimmed := strings.TrimSpace(l)
		exempt := table && l != title || strings.HasPrefix(trimmed, "Wireshark: ") || strings.HasPrefix(trimmed, "Wireshark, in ")
		exempt = exempt || oneWord.MatchString(l)
		for _, word := range strings.Fields(l) {
			// a word that fits on no line at its indentation
			exempt = exempt || utf8.RuneCountInString(word) > width-(len(l)-len(strings.TrimLeft(l, " ")))
		}
		if n := utf8.RuneCountInString(l); n > width && !exempt {
			t.Errorf("%s: line of %d runes over %d: %q", name, n, width, l)
		}
	}
	if named > 10 || full > 3 {
		t.Errorf("%s: DIAGNOSIS names %d connections, %d in full; want at most 10 and 3", name, named, full)
	}
}

// TestTextFitsEveryCapture: the text report of every capture (the lab's,
// and the public ones when ../shared/pcaps-public is there) at 80 columns,
// the width when the output is not a terminal, as here; and diff's.
func TestTextFitsEveryCapture(t *testing.T) {
	paths, ports := capturesToRead(t)
	for i, path := range paths {
		out, _, _ := nfsstall(t, nil, "--port", ports[i], path)
		checkText(t, filepath.Base(path), out, 80)
	}
	for _, pair := range [][2]string{{"mixed.pcap.gz", "stall-client-noack.pcap.gz"}, {"stall-server-hung.pcap.gz", "nfs4-server-hung.pcap.gz"}} {
		out, _, _ := nfsstall(t, nil, "diff", filepath.Join(pcapDir, pair[0]), filepath.Join(pcapDir, pair[1]))
		checkText(t, "diff "+pair[0]+" "+pair[1], out, 80)
	}
}

// pcapCalls reads a pcap of Ethernet, IPv4 and TCP frames, as gencap
// writes them, and returns for each RPC call (a segment with data to port
// 2049) its frame number and time, and the connection it is on, numbered
// by the order connections are first seen, as nfsstall numbers them.
func pcapCalls(t *testing.T, path string) (frames []int64, times []int64, conns []int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatal("not a little-endian µs pcap")
	}
	ids := map[string]int{}
	frame := int64(0)
	for off := 24; off+16 <= len(b); {
		sec, usec, incl := binary.LittleEndian.Uint32(b[off:]), binary.LittleEndian.Uint32(b[off+4:]), int(binary.LittleEndian.Uint32(b[off+8:]))
		p := b[off+16 : off+16+incl]
		off += 16 + incl
		frame++
		ip := p[14:]
		ihl := int(ip[0]&0x0f) * 4
		tcp := ip[ihl:]
		sport, dport := binary.BigEndian.Uint16(tcp), binary.BigEndian.Uint16(tcp[2:])
		key := fmt.Sprint(ip[12:16], sport, ip[16:20], dport)
		if dport != gencap.ServerPort {
			key = fmt.Sprint(ip[16:20], dport, ip[12:16], sport)
		}
		if ids[key] == 0 {
			ids[key] = len(ids) + 1
		}
		data := int(binary.BigEndian.Uint16(ip[2:])) - ihl - int(tcp[12]>>4)*4
		if dport == gencap.ServerPort && data > 0 {
			frames = append(frames, frame)
			times = append(times, int64(sec)*1e6+int64(usec))
			conns = append(conns, ids[key])
		}
	}
	return frames, times, conns
}

// TestGeneratedScale: 20,000 calls never answered on 16 connections (with
// --stall-after 1ns, all stalls) and 10,000 connections (one client each)
// give reports under 150 lines, fitting 80 columns and their bounds, whose
// header gives the generator's totals; the 20,000 calls' report lists the
// 20 oldest calls (by the capture's own frames) and names, in full, the
// connection of the oldest.
func TestGeneratedScale(t *testing.T) {
	header := regexp.MustCompile(`(?m)^  (\d+) connections?, (\d+) calls?, (\d+) repl(?:y|ies), (\d+) unanswered,`)
	n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	t.Run("20000 unanswered", func(t *testing.T) {
		path, st := genCapture(t, gencap.Config{Seed: 1, Size: 0, Unanswered: 20000, Conns: 16})
		out, errOut, code := nfsstall(t, nil, "--stall-after", "1ns", path)
		if code != exitStall {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) >= 150 {
			t.Errorf("%d lines", len(lines))
		}
		checkText(t, "20000 unanswered", out, 80)
		m := header.FindStringSubmatch(out)
		if m == nil || n(m[1]) != int64(st.Connections) || n(m[2]) != st.Calls || n(m[3]) != 0 {
			t.Fatalf("header totals %q; the generator: %d connections, %d calls, no reply", m, st.Connections, st.Calls)
		}
		// Every call is unanswered: those tracked, and those a bound
		// stopped tracking, which NOT ANALYSED counts.
		untracked := regexp.MustCompile(`(?m)^  (\d+) RPC calls: not tracked for a reply`).FindStringSubmatch(out)
		if got := n(m[4]) + func() int64 {
			if untracked == nil {
				return 0
			}
			return n(untracked[1])
		}(); got != st.Unanswered {
			t.Errorf("unanswered %s and untracked %q: %d, the generator left %d", m[4], untracked, got, st.Unanswered)
		}
		if !strings.Contains(out, fmt.Sprintf("more (%s in all;", m[4])) {
			t.Errorf("the unanswered calls' total is not in their table")
		}
		if !strings.Contains(out, fmt.Sprintf("STALL: server_not_replying (%d connections)", st.Connections)) {
			t.Errorf("the answer line does not count every stalled connection")
		}
		frames, times, conns := pcapCalls(t, path)
		if int64(len(frames)) != st.Calls {
			t.Fatalf("%d calls in the pcap, the generator says %d", len(frames), st.Calls)
		}
		sec := textSection(out, "UNANSWERED CALLS")
		if len(sec) != 2+20+1 {
			t.Fatalf("UNANSWERED CALLS: %q", sec)
		}
		at := map[int64]int64{}
		for i, f := range frames {
			at[f] = times[i]
		}
		for _, row := range sec[2:22] {
			f := n(strings.Fields(row)[4]) // conn, xid, "NFSv3 READ", frame
			tm, ok := at[f]
			if !ok || tm > times[19] {
				t.Errorf("row %q: frame %d is not among the 20 oldest calls (the 20th was sent at %d µs)", row, f, times[19])
			}
		}
		oldest := fmt.Sprintf("  connection %d: server_not_replying\n", conns[0])
		if !strings.Contains(strings.Join(textSection(out, "DIAGNOSIS"), "\n")+"\n", oldest) {
			t.Errorf("DIAGNOSIS does not show in full the connection of the oldest call, %d", conns[0])
		}
	})
	t.Run("10000 connections", func(t *testing.T) {
		path, st := genCapture(t, gencap.Config{Seed: 1, Size: 19 << 20, Conns: 10000, SmallRead: 1024, BigRate: 0})
		if st.Connections != 10000 {
			t.Fatalf("the generator made %d connections", st.Connections)
		}
		out, errOut, code := nfsstall(t, nil, path)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) >= 150 {
			t.Errorf("%d lines", len(lines))
		}
		checkText(t, "10000 connections", out, 80)
		m := header.FindStringSubmatch(out)
		if m == nil || n(m[1]) != 10000 || n(m[2]) != st.Calls || n(m[3]) != st.Replies || n(m[4]) != st.Unanswered {
			t.Fatalf("header totals %q; the generator: 10000 connections, %d calls, %d replies, %d unanswered", m, st.Calls, st.Replies, st.Unanswered)
		}
		if !strings.Contains(out, "  ... and 9980 more (10000 in all;") {
			t.Errorf("CONNECTIONS does not count the 9980 not listed")
		}
		// CLIENTS: the clients told apart and the connections of the
		// others add up to the 10,000 clients, one connection each.
		sec := textSection(out, "CLIENTS")
		told := regexp.MustCompile(`^CLIENTS \((\d+)`).FindStringSubmatch(sec[0])
		others := regexp.MustCompile(`and (\d+) connections of other clients`).FindStringSubmatch(strings.Join(sec, "\n"))
		if told == nil || others == nil || n(told[1])+n(others[1]) != 10000 {
			t.Errorf("CLIENTS: %q and %q do not add up to 10000", told, others)
		}
	})
}
