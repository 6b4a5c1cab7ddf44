package report

import (
	"fmt"
	"io"

	"github.com/nfsstall/nfsstall/analyze"
)

// operations prints the count of every NFSv4 operation inside the
// COMPOUNDs (and callback operations inside the CB_COMPOUNDs): a COMPOUND
// is one procedure row, by its main operation, but does several things.
func operations(w *errWriter, r *analyze.Report) {
	rows := r.Operations[:min(len(r.Operations), textOperations)]
	tableSection(w, "NFSv4 OPERATIONS (inside every COMPOUND call; errors: results that failed)", "  operation\tcount\terrors\n", len(rows), func(t io.Writer) {
		if n := len(r.Operations) - len(rows); n > 0 {
			defer fmt.Fprintf(t, "  ... and %d more operations (--format json lists them)\n", n)
		}
		for _, op := range rows {
			fmt.Fprintf(t, "  %s\t%d\t%d\n", op.Name, op.Count, op.Errors)
		}
	})
}

// sessions prints the NFSv4.1 sessions' slot use.
func sessions(w *errWriter, r *analyze.Report) {
	rows := r.NFS4Sessions[:min(len(r.NFS4Sessions), textSessions)]
	tableSection(w, "NFSv4.1 SESSIONS (slots from SEQUENCE, the most calls first)",
		"  session\tclient\tserver\tcalls\tslots used at once\tmax slotid\thighest slotid\tserver target min\tserver target max\tslots granted\n", len(rows), func(t io.Writer) {
			if n := len(r.NFS4Sessions) - len(rows); n > 0 {
				defer fmt.Fprintf(t, "  ... and %d more sessions (--format json lists them)\n", n)
			}
			for _, s := range rows {
				granted, target := "-", "-\t-"
				if s.Slots > 0 {
					granted = fmt.Sprint(s.Slots)
				}
				if s.Results > 0 {
					target = fmt.Sprintf("%d\t%d", s.TargetHighestSlotIDMin, s.TargetHighestSlotIDMax)
				}
				fmt.Fprintf(t, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", s.SessionID, s.Client, s.Server, s.Calls,
					s.MaxSlotsInUse, s.MaxSlotID, s.HighestSlotID, target, granted)
			}
		})
}
