package report

import (
	"bytes"
	"github.com/nfsstall/nfsstall/analyze"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPara(t *testing.T) {
	for _, tt := range []struct {
		width       int
		first, hang string
		text        string
		want        string
	}{
		{0, "  ", "    ", "no width: never broken, however long the line is", "  no width: never broken, however long the line is\n"},
		{20, "  ", "    ", "fits in twenty", "  fits in twenty\n"},
		{20, "  ", "    ", "one two three four five six seven", "  one two three four\n    five six seven\n"},
		{10, "- ", "  ", "a-very-long-word and more", "- a-very-long-word\n  and more\n"},
		{12, "", "  ", "µs µs µs µs µs µs", "µs µs µs µs\n  µs µs\n"}, // runes, not bytes
		{30, "  ", "    ", "warning [kind]  two spaces kept", "  warning [kind]  two spaces\n    kept\n"},
		// a number is not parted from its unit
		{20, "", "", "throughput was 13.1 MiB/s then", "throughput was\n13.1 MiB/s then\n"},
		{20, "", "", "it waited for 540 µs, then", "it waited for\n540 µs, then\n"},
		{15, "", "", "it was sent 6 times again", "it was sent 6\ntimes again\n"},
	} {
		var b bytes.Buffer
		w := &errWriter{w: &b, width: tt.width}
		w.para(tt.first, tt.hang, tt.text)
		if b.String() != tt.want {
			t.Errorf("para(%d, %q):\n got %q\nwant %q", tt.width, tt.text, b.String(), tt.want)
		}
	}
}

// TestTextWidth: at a width of 80 no line of prose is wider, and no word
// is lost: the paragraphs joined again are the lines printed unbroken.
// Tables and Wireshark filters are not broken.
func TestTextWidth(t *testing.T) {
	for name, r := range map[string]func() *bytes.Buffer{
		"hand": func() *bytes.Buffer { return textOf(t, handReport(23), 80) },
		"big":  func() *bytes.Buffer { return textOf(t, bigReport(), 80) },
	} {
		out := r().String()
		inTable := false
		for _, l := range strings.Split(out, "\n") {
			if l == "" {
				inTable = false
				continue
			}
			if strings.Contains(l, "\t") || strings.HasPrefix(l, "  conn  ") || strings.HasPrefix(l, "  procedure  ") || strings.HasPrefix(l, "  id  ") || strings.HasPrefix(l, "  client  ") {
				inTable = true
			}
			if inTable || strings.HasPrefix(strings.TrimSpace(l), "Wireshark") {
				continue
			}
			if n := utf8.RuneCountInString(l); n > 80 && strings.Contains(strings.TrimSpace(l), " ") {
				t.Errorf("%s: line of %d runes: %q", name, n, l)
			}
		}
	}
	wide := strings.Fields(textOf(t, handReport(23), 0).String())
	narrow := strings.Fields(textOf(t, handReport(23), 80).String())
	if strings.Join(wide, " ") != strings.Join(narrow, " ") {
		t.Errorf("words differ once broken at 80")
	}
}

func textOf(t *testing.T, r any, width int) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	if err := TextWith(&b, r.(*analyze.Report), TextOptions{Width: width}); err != nil {
		t.Fatal(err)
	}
	return &b
}
