package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestTextNFS4Sections: the operations and sessions tables appear, with
// their figures, when the report has NFSv4, and not otherwise.
func TestTextNFS4Sections(t *testing.T) {
	r := handReport(0)
	var plain bytes.Buffer
	if err := Text(&plain, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "NFSv4") {
		t.Errorf("NFSv4 sections in a report without NFSv4:\n%s", plain.String())
	}
	r.Operations = []analyze.Operation{{Version: 4, Name: "SEQUENCE", Code: 53, Count: 521},
		{Version: 4, Name: "LOOKUP", Code: 15, Count: 25, Errors: 18}, {Version: 4, Name: "CB_RECALL", Code: 4, Count: 1, Callback: true}}
	r.NFS4Sessions = []analyze.NFS4Session{{SessionID: "964c9154030000000200000000000000", Client: "10.6.136.104:909",
		Server: "10.6.137.124:2049", Calls: 521, MaxSlotsInUse: 8, MaxSlotID: 7, HighestSlotID: 7, Results: 521,
		ServerHighestSlotID: 30, TargetHighestSlotIDMin: 29, TargetHighestSlotIDMax: 30, Slots: 31}}
	var out bytes.Buffer
	if err := Text(&out, r); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"NFSv4 OPERATIONS", "SEQUENCE   521    0", "LOOKUP     25     18", "CB_RECALL  1      0",
		"NFSv4.1 SESSIONS", "964c9154030000000200000000000000  10.6.136.104:909  10.6.137.124:2049  521    8",
		"29                 30                 31",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("text report lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "PROCEDURES") > strings.Index(s, "NFSv4 OPERATIONS") || strings.Index(s, "NFSv4.1 SESSIONS") > strings.Index(s, "CONNECTIONS") {
		t.Errorf("sections out of order:\n%s", s)
	}
}
