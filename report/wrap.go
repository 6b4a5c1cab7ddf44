package report

import (
	"strings"
	"unicode/utf8"
)

// para prints text as a paragraph: first before its first line, hang
// before the others, broken at spaces so that no line is wider than the
// report's width (0: never broken). A word wider than the line is kept
// whole. Runs of spaces inside a line are kept as they are (aligned
// columns of a finding line).
func (e *errWriter) para(first, hang, text string) {
	prefix := first
	for {
		room := e.width - utf8.RuneCountInString(prefix)
		if e.width <= 0 || utf8.RuneCountInString(text) <= room {
			e.printf("%s%s\n", prefix, text)
			return
		}
		cut := breakAt(text, room)
		if cut <= 0 {
			// No space within the room: break after the first word.
			cut = strings.IndexByte(text, ' ')
			if cut < 0 {
				e.printf("%s%s\n", prefix, text)
				return
			}
		}
		e.printf("%s%s\n", prefix, strings.TrimRight(text[:cut], " "))
		text = strings.TrimLeft(text[cut:], " ")
		if text == "" {
			return
		}
		prefix = hang
	}
}

// breakAt returns the byte offset of the last space in text at which a
// line of at most room runes can end, or 0 when there is none. A number
// is not parted from its unit ("13.1 MiB/s", "540 µs").
func breakAt(text string, room int) int {
	last, runes := 0, 0
	for i, r := range text {
		if runes > room {
			break
		}
		if r == ' ' && i > 0 && !unitAfter(text, i) {
			last = i
		}
		runes++
	}
	return last
}

// units are what analyze.FormatMS and FormatBytes write after a number.
var units = map[string]bool{"µs": true, "ms": true, "s": true, "min": true, "h": true,
	"B": true, "KiB": true, "MiB": true, "GiB": true, "TiB": true}

// unitAfter reports whether the space at text[i] parts a number from its
// unit.
func unitAfter(text string, i int) bool {
	if c := text[i-1]; c < '0' || c > '9' {
		return false
	}
	word := text[i+1:]
	if j := strings.IndexAny(word, " ,;:)"); j >= 0 {
		word = word[:j]
	}
	word = strings.TrimSuffix(strings.TrimSuffix(word, "."), "/s")
	return units[word]
}
