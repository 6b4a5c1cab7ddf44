package analyze

import (
	"fmt"
	"strconv"

	"github.com/nfsstall/nfsstall/decode"
)

// Words and numbers for people, shared by the findings here and the text
// report (package report), so that both say a thing the same way.

// ProcLabel names a procedure: "MOUNTv3 MNT" as the text report's tables
// write it, or with spaced "MOUNT v3 MNT" as findings' summaries do (issue
// 14 settles on one; until then each keeps its output).
func ProcLabel(program string, vers uint32, name string, spaced bool) string {
	if spaced {
		return fmt.Sprintf("%s v%d %s", program, vers, name)
	}
	return fmt.Sprintf("%sv%d %s", program, vers, name)
}

// procLabel is a call's procedure in a summary: its name, qualified unless
// it is NFSv3.
func procLabel(prog, vers, proc uint32) string {
	name := decode.ProcName(prog, vers, proc)
	if prog == decode.ProgNFS && vers == 3 {
		return name
	}
	return ProcLabel(decode.ProgramName(prog), vers, name, true)
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
