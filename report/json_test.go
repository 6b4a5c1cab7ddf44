package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// TestIndentSameAsEncodingJSON: indent must lay out what encoding/json
// marshals exactly as json.Indent does.
func TestIndentSameAsEncodingJSON(t *testing.T) {
	values := []any{
		map[string]any{},
		[]any{},
		map[string]any{"a": []any{}, "b": map[string]any{}, "c": []any{1, "x", nil, true, 2.5e-7}},
		[]any{[]any{[]any{}}, map[string]any{"k": map[string]any{"l": []any{map[string]any{}}}}},
		"plain",
		`quote " backslash \ brackets {[,:]} <html> & ` + "\x00\x1b[31m\u202e\xff\u2028",
		map[string]string{`"{`: `}",\`, "\\": "\\\\\""},
		struct {
			A []int  `json:"a"`
			B string `json:"b,omitempty"`
		}{A: []int{1, 2}},
	}
	for _, v := range values {
		compact, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for depth := 0; depth < 3; depth++ {
			var want bytes.Buffer
			prefix := ""
			for range depth {
				prefix += "  "
			}
			if err := json.Indent(&want, compact, prefix, "  "); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			w := bufio.NewWriter(&got)
			indent(w, compact, depth)
			w.Flush()
			if got.String() != want.String() {
				t.Errorf("%s at depth %d:\n got %s\nwant %s", compact, depth, got.String(), want.String())
			}
		}
	}
}
