package analyze

import (
	"fmt"
	"math"
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

// FormatMS formats a duration given in milliseconds, the one way every
// text line and table writes one, its unit chosen by size: "540 µs" below
// 1 ms, "4.52 ms", "43.6 ms", "540 ms" below 1 s (three significant
// digits), "9.63 s" below a minute, "2 min 05 s" below
// an hour, then "1 h 30 min". It rounds first, then picks the unit, so
// 999.6 ms is "1.00 s", never "1000 ms".
func FormatMS(msec float64) string {
	switch {
	case math.IsNaN(msec):
		return "?"
	case msec < 0:
		return "-" + FormatMS(-msec)
	}
	if us := math.Round(msec * 1000); us < 1000 {
		return fmt.Sprintf("%.0f µs", us)
	}
	// Three significant digits of ms.
	if hundredths := math.Round(msec * 100); hundredths < 1000 {
		return fmt.Sprintf("%.2f ms", hundredths/100)
	}
	if tenths := math.Round(msec * 10); tenths < 1000 {
		return fmt.Sprintf("%.1f ms", tenths/10)
	}
	if whole := math.Round(msec); whole < 1000 {
		return fmt.Sprintf("%.0f ms", whole)
	}
	if cs := math.Round(msec / 10); cs < 6000 {
		return fmt.Sprintf("%.2f s", cs/100)
	}
	if sec := math.Round(msec / 1000); sec < 3600 {
		return fmt.Sprintf("%d min %02d s", int64(sec)/60, int64(sec)%60)
	}
	minutes := int64(math.Round(msec / 60000))
	return fmt.Sprintf("%d h %02d min", minutes/60, minutes%60)
}

// FormatBytes formats a size in bytes for people in binary units, as
// --memory reads them (1 MiB = 1024 KiB = 1,048,576 bytes): "512 B",
// "1.5 KiB", "64.0 MiB", "2.0 GiB"; exact byte counts (a segment's 1448
// bytes, a table's bytes column) are written as the plain number.
func FormatBytes(n float64) string {
	if n < 0 {
		return "-" + FormatBytes(-n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if math.Round(n) < 1024 {
		return fmt.Sprintf("%.0f B", n)
	}
	i := 0
	n /= 1024
	for math.Round(n*10) >= 1024*10 && i+1 < len(units) {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// FormatRate formats a data rate, bytes per second, in FormatBytes' units:
// "12.5 MiB/s".
func FormatRate(bps float64) string { return FormatBytes(bps) + "/s" }

// FrameLabel names a frame as Wireshark numbers it; when the report spans
// several capture files, as FILE:FRAME, FILE being its index in
// Report.Captures.
func FrameLabel(file int, frame int64, multiFile bool) string {
	if multiFile {
		return strconv.Itoa(file) + ":" + strconv.FormatInt(frame, 10)
	}
	return strconv.FormatInt(frame, 10)
}
