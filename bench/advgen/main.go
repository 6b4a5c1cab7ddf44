// Command advgen writes one adversarial capture of internal/advcap to
// stdout: advgen SHAPE [N].
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"

	"nfsstall/internal/advcap"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: advgen SHAPE [N]")
		for _, s := range advcap.Shapes {
			fmt.Fprintf(os.Stderr, "  %-12s %s (default n %d)\n", s.Name, s.Doc, s.Default)
		}
		os.Exit(2)
	}
	n := 0
	if len(os.Args) > 2 {
		var err error
		if n, err = strconv.Atoi(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	if err := advcap.Write(w, os.Args[1], n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
