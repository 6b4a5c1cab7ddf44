package analyze

import (
	"fmt"
	"strconv"

	"github.com/nfsstall/nfsstall/decode"
)

// Words and numbers for people, shared by the findings here and the text
// report (package report), so that both say a thing the same way.

// ProcLabel names a procedure the one way every report writes it (text
// tables, findings' summaries, diff, HTML): program and version, then the
// procedure, "NFSv3 READ", "MOUNTv3 MNT", "PORTMAPv2 CALLIT", "NFSv4 WRITE"
// (a COMPOUND by its main operation). A row that is not one program's
// ("(other procedures)", program "*") is its name alone.
func ProcLabel(program string, vers uint32, name string) string {
	if program == "" || program == "*" {
		return name
	}
	return program + "v" + strconv.FormatUint(uint64(vers), 10) + " " + name
}

// Label is the procedure's ProcLabel.
func (p *Procedure) Label() string { return ProcLabel(p.ProgramName, p.Version, p.Name) }

// Label is the call's procedure's ProcLabel.
func (u *Unanswered) Label() string { return ProcLabel(u.ProgramName, u.Version, u.Procedure) }

// ProcLabel is the ProcLabel of the finding's call ("NFSv3 READ"), or its
// Procedure when the analysis did not name the program ("" when the
// finding is about no call).
func (f *Finding) ProcLabel() string {
	if f.procLabel != "" {
		return f.procLabel
	}
	return f.Procedure
}

// procLabel is ProcLabel of a call's numbers.
func procLabel(prog, vers, proc uint32) string {
	return ProcLabel(decode.ProgramName(prog), vers, decode.ProcName(prog, vers, proc))
}

// Plural returns one when n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// FormatMS formats a duration in milliseconds: "9.63 s", "12.5 ms", "80 µs".
func FormatMS(msec float64) string {
	switch {
	case msec >= 1000:
		return fmt.Sprintf("%.2f s", msec/1000)
	case msec >= 1:
		return fmt.Sprintf("%.1f ms", msec)
	}
	return fmt.Sprintf("%.0f µs", msec*1000)
}

// FrameLabel names a frame as Wireshark numbers it; when the report spans
// several capture files, as FILE:FRAME, FILE being its index in
// Report.Captures.
func FrameLabel(file int, frame int64, multiFile bool) string {
	if multiFile {
		return strconv.Itoa(file) + ":" + strconv.FormatInt(frame, 10)
	}
	return strconv.FormatInt(frame, 10)
}
