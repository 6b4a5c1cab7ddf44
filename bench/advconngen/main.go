// Command advconngen writes one adversarial capture of internal/advconn to
// stdout: advconngen SHAPE [N].
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"

	"github.com/nfsstall/nfsstall/internal/advconn"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: advconngen SHAPE [N]")
		for _, s := range advconn.Shapes {
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
	if err := advconn.Write(w, os.Args[1], n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
