package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/internal/gencap"
)

// genCapture writes a capture from internal/gencap to a file in a test
// directory and returns its path and what the generator says it holds.
func genCapture(t *testing.T, cfg gencap.Config) (string, gencap.Stats) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gen.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := gencap.Write(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, st
}

// textSection returns the lines of the text report's section whose title
// begins with title, up to the blank line that ends it; nil when absent.
func textSection(out, title string) []string {
	var sec []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, title):
			in = true
		case in && l == "":
			return sec
		}
		if in {
			sec = append(sec, l)
		}
	}
	return sec
}

// TestClientsSummary: the generator gives connection n (from 1) the client
// address 198.18.(n>>8).(n&255), one client per connection. The CLIENTS
// section lists every client with its connection, calls and unanswered
// calls, which sum to the generator's counts; clients with an unanswered
// call (a stall with --stall-after 1ns: the server ACKs each, later) come first with it as their worst
// finding; past 20 clients the rest are counted. One client: no section.
// htmlRowRE is a row of the HTML page's CLIENTS table.
var htmlRowRE = regexp.MustCompile(`<tr><td>([^<]*)</td><td class="n">(\d+)</td><td class="n">(\d+)</td><td class="n">(\d+)</td><td class="n">(\d+)</td><td>([^<]*)</td></tr>`)

func TestClientsSummary(t *testing.T) {
	rowRE := regexp.MustCompile(`^  (198\.18\.\d+\.\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(.*)$`)
	for _, tt := range []struct {
		conns      int
		unanswered int64
	}{{12, 5}, {30, 7}} {
		t.Run(fmt.Sprint(tt.conns), func(t *testing.T) {
			path, st := genCapture(t, gencap.Config{Seed: 3, Size: 2 << 20, Conns: tt.conns, Unanswered: tt.unanswered, SmallRead: 16 << 10, BigRate: 0})
			if st.Connections < 2 {
				t.Fatalf("the generator made %d connections", st.Connections)
			}
			out, errOut, code := nfsstall(t, nil, "--stall-after", "1ns", path)
			if code != exitStall {
				t.Fatalf("exit %d, want %d: %s", code, exitStall, errOut)
			}
			sec := textSection(out, "CLIENTS")
			if len(sec) < 2 || sec[0] != fmt.Sprintf("CLIENTS (%d; the worst first)", st.Connections) {
				t.Fatalf("CLIENTS section %q; the generator made %d connections, one per client", sec, st.Connections)
			}
			rows := sec[2:]
			shown := min(st.Connections, 20)
			if more := st.Connections - shown; more > 0 {
				want := fmt.Sprintf("  ... and %d more clients (%d with no finding): --format json lists their connections", more, more)
				if rows[len(rows)-1] != want {
					t.Errorf("last line %q, want %q", rows[len(rows)-1], want)
				}
				rows = rows[:len(rows)-1]
			}
			if len(rows) != shown {
				t.Fatalf("%d client rows, want %d", len(rows), shown)
			}
			// The HTML page has the same table, cell for cell.
			page, errOut, code := nfsstall(t, nil, "--stall-after", "1ns", "--format", "html", path)
			if code != exitStall {
				t.Fatalf("html: exit %d, want %d: %s", code, exitStall, errOut)
			}
			at := strings.Index(page, `<h2 id="clients">`+sec[0]+`</h2>`)
			if at < 0 {
				t.Fatalf("the HTML page has no %q heading", sec[0])
			}
			section := page[at:]
			section = section[:strings.Index(section, "</table>")]
			htmlRows := htmlRowRE.FindAllStringSubmatch(section, -1)
			if len(htmlRows) != len(rows) {
				t.Fatalf("the HTML CLIENTS table has %d rows, the text %d", len(htmlRows), len(rows))
			}
			var calls, unanswered int64
			seen := map[string]bool{}
			for i, l := range rows {
				m := rowRE.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("row %q", l)
				}
				if h := htmlRows[i]; !slices.Equal(h[1:], m[1:]) {
					t.Errorf("HTML row %d %q, text %q", i, h[1:], m[1:])
				}
				seen[m[1]] = true
				n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
				if n(m[2]) != 1 {
					t.Errorf("%s: %s connections, the generator gives each client one", m[1], m[2])
				}
				calls += n(m[3])
				unanswered += n(m[4])
				stalled := int64(i) < st.Unanswered
				if got := n(m[4]) == 1 && strings.HasPrefix(m[6], "stall unanswered_call, connection "); got != stalled {
					t.Errorf("row %d %q: want the %d clients with an unanswered call first, that call their worst finding", i, l, st.Unanswered)
				}
			}
			if unanswered != st.Unanswered {
				t.Errorf("unanswered calls of the clients listed %d, the generator left %d", unanswered, st.Unanswered)
			}
			if shown == st.Connections && calls != st.Calls {
				t.Errorf("calls of the clients %d, the generator sent %d", calls, st.Calls)
			}
			for a := range seen {
				var x, y, z, w int
				fmt.Sscanf(a, "%d.%d.%d.%d", &x, &y, &z, &w)
				if n := z<<8 | w; n < 1 || n > tt.conns {
					t.Errorf("client %s is not one of the generator's 198.18.0.1 to its %dth", a, tt.conns)
				}
			}
		})
	}
	out, _, _ := nfsstall(t, nil, filepath.Join(pcapDir, "stall-client-noack.pcap.gz"))
	if sec := textSection(out, "CLIENTS"); sec != nil {
		t.Errorf("one client, yet a CLIENTS section: %q", sec)
	}
}
