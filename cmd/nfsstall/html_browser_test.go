package main

// The HTML report opened in a real browser (headless Chromium driven over
// the DevTools protocol): what a person sees, with no console error, no
// request to anything but the page itself, the verdict visible, the
// Wireshark filter copyable, and the pictures with their labelled
// evidence frames.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/report"
)

// screenshotDir is where the browser tests write a screenshot of each page
// (README, "HTML report"): $NFSSTALL_SCREENSHOTS, else
// os.TempDir()/nfsstall-screenshots.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("NFSSTALL_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "nfsstall-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium finds the browser. Without one the test is skipped on a
// developer's machine and fails in CI (CI set), where .ci/run installs it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("no chromium on PATH (apt-get install chromium); with CI set this fails")
	}
	t.Fatal("no chromium on PATH: .ci/run installs Debian's chromium")
	return ""
}

// startBrowser starts one headless Chromium for a test; pages are tabs.
func startBrowser(t *testing.T) context.Context {
	path := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1100, 900))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA(); cancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	// The copy button may use the clipboard (a test reads it back).
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(bctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true}, Setting: browser.PermissionSettingGranted}); err != nil {
			t.Logf("granting %s: %v", name, err)
		}
	}
	return bctx
}

// tab is one page open in the browser, with what it reported: console
// errors, exceptions, log entries of level error, and every request.
type tab struct {
	ctx      context.Context
	mu       sync.Mutex
	errors   []string
	requests []string
}

func (tb *tab) problems() (errs, reqs []string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.errors), slices.Clone(tb.requests)
}

// open writes page to dir/name.html and opens it from file://.
func open(t *testing.T, bctx context.Context, dir, name string, page []byte) (*tab, string) {
	t.Helper()
	file := filepath.Join(dir, name+".html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file
	tb := &tab{}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithListener(func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil {
				msg += " " + ex.Description
			}
			tb.errors = append(tb.errors, "exception: "+msg)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tb.errors = append(tb.errors, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				tb.errors = append(tb.errors, "log "+string(ev.Entry.Source)+": "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			tb.requests = append(tb.requests, ev.Request.URL)
		}
	}))
	t.Cleanup(cancel)
	tb.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	return tb, url
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// clean checks that the page reported no error and fetched nothing but
// itself.
func (tb *tab) clean(t *testing.T, url string) {
	t.Helper()
	errs, reqs := tb.problems()
	for _, e := range errs {
		t.Errorf("browser reported: %s", e)
	}
	for _, r := range reqs {
		if r != url {
			t.Errorf("the page requested %s: a report must load nothing", r)
		}
	}
}

// screenshot writes the whole page as dir/name.png, and what a 1100x900
// window shows first as dir/name-first-screen.png.
func (tb *tab) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	for _, shot := range []struct {
		suffix string
		action chromedp.Action[[]byte]
	}{{"", chromedp.FullScreenshot(100)}, {"-first-screen", chromedp.CaptureScreenshot()}} {
		buf, err := chromedp.Run(tb.ctx, shot.action)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+shot.suffix+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// jsonDiagnosis is what the JSON report says of one verdict.
type jsonDiagnosis struct {
	Connection int    `json:"connection"`
	Verdict    string `json:"verdict"`
	Findings   []int  `json:"findings"`
	Filters    []struct {
		FilterSet string `json:"filter_set"`
	} `json:"wireshark_filters"`
}

// stallVerdicts are the verdicts of the lab's stall captures, as the lab
// made them (testdata/pcaps/make-captures.sh, README's table): every
// capture whose exit status is 1 must be here.
var stallVerdicts = map[string]string{
	"stall-client-noack.pcap.gz": "client_not_acking",
	"stall-server-hung.pcap.gz":  "server_not_replying",
	"zero-window.pcap.gz":        "client_window_closed",
	"reconnect-drop.pcap.gz":     "reconnect_failing",
	"nfs4-server-hung.pcap.gz":   "server_not_replying",
	"nfs4-grace.pcap.gz":         "grace_period",
	"mtu-blackhole.pcap":         "mtu_black_hole",
}

// TestHTMLInBrowser renders, with the command itself, the HTML report of
// every stall capture and of a healthy one, opens each from file:// in
// Chromium, and checks what a person sees: no console error or exception,
// nothing fetched, the answer and each verdict in the page's text, each
// verdict's Wireshark filter (copied by its button into the clipboard);
// the pictures of every diagnosed connection once analyze fills the
// timelines. A screenshot of each page goes to screenshotDir.
func TestHTMLInBrowser(t *testing.T) {
	bctx := startBrowser(t)
	dir := screenshotDir(t)
	pages := t.TempDir()
	seen := map[string]bool{}
	for _, path := range realCaptures(t) {
		name := filepath.Base(path)
		if _, ok := stallVerdicts[name]; !ok && name != "mixed.pcap.gz" {
			// Not a known stall: its exit status says it must not be one.
			if _, _, code := nfsstall(t, nil, "--format", "json", path); code == exitStall {
				t.Errorf("%s: exit 1 (a stall), not in stallVerdicts: add its verdict", name)
			}
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			html, errOut, code := nfsstall(t, nil, "--format", "html", "--utc", path)
			verdict, stall := stallVerdicts[name]
			if want := map[bool]int{true: exitStall, false: exitOK}[stall]; code != want {
				t.Fatalf("exit %d, want %d: %s", code, want, errOut)
			}
			js, _, _ := nfsstall(t, nil, "--format", "json", "--pictures", path)
			var jr struct {
				Diagnoses []jsonDiagnosis `json:"diagnoses"`
				Findings  []struct {
					Frames []int64 `json:"frames"`
				} `json:"findings"`
				Timelines []analyze.Timeline `json:"timelines"`
			}
			if err := json.Unmarshal([]byte(js), &jr); err != nil {
				t.Fatal(err)
			}
			tb, url := open(t, bctx, pages, name, []byte(html))
			answer := eval[string](t, tb, `document.getElementById("verdict").innerText`)
			text := eval[string](t, tb, `document.body.innerText`)
			if !stall {
				if answer != "no stall found" {
					t.Errorf("answer %q, want no stall found", answer)
				}
			} else if !strings.HasPrefix(answer, "STALL: "+verdict+" (") {
				t.Errorf("answer %q, want STALL: %s (...)", answer, verdict)
			}
			// The answer is at the top, in view without scrolling.
			if top := eval[float64](t, tb, `document.getElementById("verdict").getBoundingClientRect().bottom`); top > 200 {
				t.Errorf("the answer ends %.0f px down the page", top)
			}
			if len(jr.Diagnoses) == 0 && stall {
				t.Fatal("JSON has no diagnosis")
			}
			for _, d := range jr.Diagnoses {
				sel := fmt.Sprintf("#connection-%d", d.Connection)
				got := eval[string](t, tb, `document.querySelector("`+sel+` .verdict").innerText`)
				if got != d.Verdict {
					t.Errorf("connection %d: verdict %q on the page, JSON says %q", d.Connection, got, d.Verdict)
				}
				for i, f := range d.Filters {
					id := fmt.Sprintf("filter-%d-%d", d.Connection, i)
					code := eval[string](t, tb, `document.getElementById("`+id+`").textContent`)
					if code != f.FilterSet || !strings.Contains(text, f.FilterSet) {
						t.Errorf("connection %d: filter %q on the page, JSON's filter_set %q", d.Connection, code, f.FilterSet)
					}
					// The copy button puts the filter in the clipboard.
					eval[bool](t, tb, `navigator.clipboard.writeText("").then(()=>true)`)
					if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(`button[data-copy="`+id+`"]`))); err != nil {
						t.Fatal(err)
					}
					// The button says what happened (then, after 2 s, "Copy" again).
					button := "Copy"
					for wait := time.Now(); button == "Copy" && time.Since(wait) < 1500*time.Millisecond; time.Sleep(20 * time.Millisecond) {
						button = eval[string](t, tb, `document.querySelector('button[data-copy="`+id+`"]').textContent`)
					}
					if button != "Copied" {
						t.Errorf("the copy button says %q after a click", button)
					}
					if clip := eval[string](t, tb, `navigator.clipboard.readText()`); clip != f.FilterSet {
						t.Errorf("connection %d: the copy button put %q in the clipboard, want %q", d.Connection, clip, f.FilterSet)
					}
				}
				checkPictures(t, tb, d, jr.Timelines, func(i int) []int64 { return jr.Findings[i].Frames })
			}
			tb.screenshot(t, dir, strings.TrimSuffix(name, ".gz"))
			tb.clean(t, url)
		})
	}
	for name := range stallVerdicts {
		if !seen[name] {
			t.Errorf("stall capture %s is not in testdata/pcaps", name)
		}
	}
}

// checkPictures: a diagnosed connection has a time–sequence graph and a
// graph of calls outstanding, and every evidence frame of its verdict
// that the timeline holds (the first 20, as the filter) is labelled.
func checkPictures(t *testing.T, tb *tab, d jsonDiagnosis, tls []analyze.Timeline, frames func(int) []int64) {
	t.Helper()
	sel := fmt.Sprintf("#connection-%d", d.Connection)
	for _, g := range []string{"timeseq", "outstanding"} {
		if n := eval[int](t, tb, `document.querySelectorAll('`+sel+` svg[data-graph="`+g+`"]').length`); n == 0 {
			t.Errorf("connection %d: no %s graph", d.Connection, g)
		}
	}
	inTimeline := map[int64]bool{}
	for _, tl := range tls {
		if tl.Connection != d.Connection {
			continue
		}
		for _, s := range tl.Segments {
			inTimeline[s.Frame] = true
		}
		for _, a := range tl.Acks {
			inTimeline[a.Frame] = true
		}
	}
	labels := eval[[]string](t, tb, `Array.from(document.querySelectorAll('`+sel+` svg text.frame-label')).map(e => e.textContent)`)
	var want []int64
	for _, fi := range d.Findings {
		for _, fr := range frames(fi) {
			if !slices.Contains(want, fr) && len(want) < 20 {
				want = append(want, fr)
			}
		}
	}
	labelled := 0
	for _, fr := range want {
		if !inTimeline[fr] {
			continue
		}
		labelled++
		if !slices.Contains(labels, fmt.Sprint(fr)) {
			t.Errorf("connection %d: evidence frame %d is in the timeline but not labelled (labels %v)", d.Connection, fr, labels)
		}
	}
	t.Logf("connection %d: %d evidence frames labelled", d.Connection, labelled)
}

// TestHTMLPicturesInBrowser draws the pictures of real stall captures
// from timelines made of tshark's views of them (tsharkTimeline), not
// nfsstall's, and checks them in the browser: a time–sequence graph per
// direction and the calls outstanding for each diagnosed connection, every
// evidence frame the views hold labelled at its place, the never-ACKed
// retransmissions drawn as such, the zero window shaded; no console error.
func TestHTMLPicturesInBrowser(t *testing.T) {
	bctx := startBrowser(t)
	dir := screenshotDir(t)
	pages := t.TempDir()
	for _, tt := range []struct {
		name     string
		retx     bool // retransmissions to see
		zeroWin  bool // a zero window to shade
		evidence []int64
	}{
		// The frames are tshark's: the READ call, the server's data
		// re-sent and never ACKed (client_not_acking).
		{"stall-client-noack.pcap.gz", true, false, []int64{3382, 3383, 4103, 4104, 4105, 4110, 4119, 4132}},
		{"zero-window.pcap.gz", false, true, nil},
		{"stall-server-hung.pcap.gz", false, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(pcapDir, tt.name)
			fs, o := flags("nfsstall", io.Discard)
			if err := fs.Parse([]string{"--utc"}); err != nil {
				t.Fatal(err)
			}
			opts, err := o.analysis()
			if err != nil {
				t.Fatal(err)
			}
			r, code := analyse([]string{path}, o, opts, nil, io.Discard)
			if r == nil {
				t.Fatalf("exit %d", code)
			}
			v := loadView(t, strings.TrimSuffix(tt.name, ".gz"))
			first, err := time.Parse("2006-01-02 15:04:05.999999999", v.capinfo["First packet time"])
			if err != nil {
				t.Fatal(err)
			}
			r.Timelines = nil
			for _, d := range r.Diagnoses {
				for _, c := range r.Connections {
					if c.ID == d.Connection {
						r.Timelines = append(r.Timelines, tsharkTimeline(t, v, c, first))
					}
				}
			}
			var page bytes.Buffer
			if err := report.HTML(&page, r, o.html()); err != nil {
				t.Fatal(err)
			}
			tb, url := open(t, bctx, pages, tt.name+"-tshark", page.Bytes())
			for _, d := range r.Diagnoses {
				var jd jsonDiagnosis
				jd.Connection, jd.Verdict, jd.Findings = d.Connection, d.Verdict, d.Findings
				checkPictures(t, tb, jd, r.Timelines, func(i int) []int64 { return r.Findings[i].Frames })
				sel := fmt.Sprintf("#connection-%d", d.Connection)
				labels := eval[[]string](t, tb, `Array.from(document.querySelectorAll('`+sel+` svg[data-graph="timeseq"] text.frame-label')).map(e => e.textContent)`)
				for _, fr := range tt.evidence {
					if !slices.Contains(labels, fmt.Sprint(fr)) {
						t.Errorf("frame %d (tshark's evidence) not labelled: %v", fr, labels)
					}
				}
				if n := eval[int](t, tb, `document.querySelectorAll('`+sel+` svg > line.retx').length`); (n > 0) != tt.retx {
					t.Errorf("%d retransmission marks, want some: %v", n, tt.retx)
				}
				if n := eval[int](t, tb, `document.querySelectorAll('`+sel+` svg > rect.zerowin').length`); (n > 0) != tt.zeroWin {
					t.Errorf("%d zero-window shades, want some: %v", n, tt.zeroWin)
				}
				// The first picture is in view with the verdict on a
				// 1100x900 window: what a person sees first.
				if top := eval[float64](t, tb, `document.querySelector('`+sel+` svg').getBoundingClientRect().top`); top > 700 {
					t.Errorf("the first picture starts %.0f px down", top)
				}
			}
			tb.screenshot(t, dir, strings.TrimSuffix(tt.name, ".gz")+"-tshark-timeline")
			tb.clean(t, url)
		})
	}
}

// TestHTMLHostileNamesInBrowser: LOOKUP names (and, in the same calls,
// AUTH_SYS machine names) made of markup, quotes and ampersands reach the
// page as text: no script of theirs runs (window.__pwned stays
// undefined), no element of theirs exists, and each finding's summary,
// as the JSON report has it, shows literally in the page's text.
func TestHTMLHostileNamesInBrowser(t *testing.T) {
	bctx := startBrowser(t)
	names := []string{
		`<script>window.__pwned=1</script>`,
		`"><img src=x onerror="window.__pwned=2">`,
		`a&b'c"d&amp;<b>bold</b>`,
	}
	capture := lookupCapture(t, names)
	page, errOut, code := nfsstall(t, bytes.NewReader(capture), "--format", "html", "-")
	if code != exitStall {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, bad := range []string{"<script>window", "<img", "<b>bold"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	js, _, _ := nfsstall(t, bytes.NewReader(capture), "--format", "json", "-")
	var jr struct {
		Findings []struct {
			Summary string `json:"summary"`
		} `json:"findings"`
		Unanswered []struct {
			Detail string `json:"detail"`
		} `json:"unanswered_calls"`
	}
	if err := json.Unmarshal([]byte(js), &jr); err != nil {
		t.Fatal(err)
	}
	if len(jr.Findings) != len(names) {
		t.Fatalf("%d findings, want %d", len(jr.Findings), len(names))
	}
	tb, url := open(t, bctx, t.TempDir(), "hostile", []byte(page))
	if pwned := eval[string](t, tb, `typeof window.__pwned`); pwned != "undefined" {
		t.Errorf("a name from the wire ran as script: window.__pwned is %s", pwned)
	}
	if n := eval[int](t, tb, `document.scripts.length`); n != 1 {
		t.Errorf("%d scripts on the page, want 1", n)
	}
	if n := eval[int](t, tb, `document.querySelectorAll("img, b").length`); n != 0 {
		t.Errorf("%d img or b elements from the wire", n)
	}
	text := eval[string](t, tb, `document.body.innerText`)
	shown := 0
	for _, f := range jr.Findings {
		// The summaries carry the names as the text report quotes them.
		if strings.Contains(text, f.Summary) {
			shown++
		}
	}
	for _, u := range jr.Unanswered {
		if !strings.Contains(text, u.Detail) {
			t.Errorf("unanswered detail %q not shown literally", u.Detail)
		}
	}
	for _, n := range names {
		q := strings.Trim(fmt.Sprintf("%q", n), `"`)
		if !strings.Contains(text, q) {
			t.Errorf("name %s not in the page's text", q)
		}
	}
	if shown == 0 {
		t.Error("no finding's summary in the page's text")
	}
	tb.clean(t, url)
}

// TestDiffHTMLInBrowser: nfsstall diff --format html of a healthy capture
// against a hung one opens cleanly and shows both sides and the
// candidate's verdict.
func TestDiffHTMLInBrowser(t *testing.T) {
	bctx := startBrowser(t)
	page, errOut, code := nfsstall(t, nil, "diff", "--format", "html", filepath.Join(pcapDir, "stall-server-stopped.pcap.gz"), filepath.Join(pcapDir, "stall-client-noack.pcap.gz"))
	if code != exitStall {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tb, url := open(t, bctx, t.TempDir(), "diff", []byte(page))
	if v := eval[string](t, tb, `document.getElementById("verdict").innerText`); v != "Candidate: STALL: client_not_acking (1 connection)" {
		t.Errorf("answer %q", v)
	}
	sides := eval[[]string](t, tb, `Array.from(document.querySelectorAll(".side > div > p > b")).map(e => e.innerText)`)
	if len(sides) != 2 || sides[0] != "no stall found" || sides[1] != "STALL: client_not_acking (1 connection)" {
		t.Errorf("sides %q", sides)
	}
	// Side by side: the candidate's column is right of the baseline's.
	if x := eval[[]float64](t, tb, `Array.from(document.querySelectorAll(".side > div")).map(e => e.getBoundingClientRect().left)`); len(x) != 2 || x[1] <= x[0]+100 {
		t.Errorf("columns at %v", x)
	}
	tb.screenshot(t, screenshotDir(t), "diff")
	tb.clean(t, url)
}
