package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// textWidth is the width the text report's prose is broken at: the
// terminal's when stdout is one, else 80 (a file, a pipe to less or a
// ticket); 0 (never broken) with --wide.
func textWidth(wide bool, stdout io.Writer) int {
	if wide {
		return 0
	}
	if f, ok := stdout.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col >= 40 {
			return int(ws.Col)
		}
	}
	return 80
}
