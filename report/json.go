// Package report renders the analysis model for people (text) and for
// machines (JSON, the contract in ../shared/report-json.md).
package report

import (
	"encoding/json"
	"io"

	"nfsstall/analyze"
)

// JSON writes r as one indented JSON object.
func JSON(w io.Writer, r *analyze.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
