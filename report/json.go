// Package report renders the analysis model for people (text) and for
// machines (JSON, the contract in ../shared/report-json.md).
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"

	"github.com/nfsstall/nfsstall/analyze"
)

// JSON writes r as one indented JSON object, the same bytes as
// encoding/json's Encoder with SetIndent("", "  ") would write. It is
// streamed, one top-level key and one array element at a time, so a
// report with ten thousand connections or unanswered calls does not need
// its whole text in memory.
func JSON(w io.Writer, r *analyze.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	// put writes v indented at depth (in units of two spaces).
	put := func(v any, depth int) error {
		compact.Reset()
		if err := enc.Encode(v); err != nil {
			return err
		}
		indent(bw, bytes.TrimSuffix(compact.Bytes(), []byte("\n")), depth)
		return nil
	}
	v := reflect.ValueOf(r).Elem()
	t := v.Type()
	bw.WriteString("{")
	first := true
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fv := v.Field(i)
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		if !first {
			bw.WriteString(",")
		}
		first = false
		bw.WriteString("\n  ")
		if err := put(name, 1); err != nil {
			return err
		}
		bw.WriteString(": ")
		if fv.Kind() != reflect.Slice || fv.Len() == 0 {
			if err := put(fv.Interface(), 1); err != nil {
				return err
			}
			continue
		}
		// One element at a time.
		bw.WriteString("[")
		for j := range fv.Len() {
			if j > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			if err := put(fv.Index(j).Interface(), 2); err != nil {
				return err
			}
		}
		bw.WriteString("\n  ]")
	}
	if !first {
		bw.WriteString("\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// indent writes compact JSON (as encoding/json writes it: no whitespace
// outside strings) indented by two spaces per level, starting at depth,
// as json.Indent does; it is several times faster, having no validation to
// do.
func indent(w *bufio.Writer, b []byte, depth int) {
	newline := func() {
		w.WriteByte('\n')
		for range depth {
			w.WriteString("  ")
		}
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '"':
			// Copy the string through its closing quote.
			j := i + 1
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			w.Write(b[i : j+1])
			i = j
		case '{', '[':
			w.WriteByte(c)
			if i+1 < len(b) && (b[i+1] == '}' || b[i+1] == ']') {
				w.WriteByte(b[i+1]) // empty: {} or []
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			w.WriteByte(c)
		case ',':
			w.WriteByte(c)
			newline()
		case ':':
			w.WriteString(": ")
		default:
			w.WriteByte(c)
		}
	}
}
