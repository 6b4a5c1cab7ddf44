// Command advgen writes one adversarial capture shape (see
// internal/advcap) for bench/adversarial.sh.
//
//	advgen bigpcap SIZE OUT | bigpcapng SIZE OUT | bigblock SIZE OUT | ifaces N OUT | interleaved N OUT
//	advgen stats N OUT | linktypes N OUT
//	advgen rotated FILES PACKETS DIR | overlapped FILES PACKETS DIR
//	advgen rotatedgz FILES PACKETS DIR | overlappedgz FILES PACKETS DIR (gzipped)
//
// OUT ending in .gz is gzipped.
package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nfsstall/nfsstall/internal/advcap"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "advgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: advgen SHAPE N [M] OUT")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		return err
	}
	switch args[0] {
	case "rotated", "overlapped", "rotatedgz", "overlappedgz":
		if len(args) != 4 {
			return fmt.Errorf("usage: advgen %s FILES PACKETS DIR", args[0])
		}
		m, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		paths, err := advcap.Rotated(args[3], int(n), m, strings.HasPrefix(args[0], "overlapped"), strings.HasSuffix(args[0], "gz"))
		if err == nil {
			fmt.Println(strings.Join(paths, "\n"))
		}
		return err
	}
	f, err := os.Create(args[2])
	if err != nil {
		return err
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(args[2], ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	switch args[0] {
	case "bigpcap":
		err = advcap.BigPcap(w, n)
	case "bigpcapng":
		err = advcap.BigPcapng(w, n)
	case "bigblock":
		err = advcap.BigBlock(w, n)
	case "ifaces":
		err = advcap.Interfaces(w, int(n))
	case "interleaved":
		err = advcap.Interleaved(w, int(n))
	case "stats":
		err = advcap.Stats(w, int(n))
	case "linktypes":
		err = advcap.LinkTypes(w, int(n))
	default:
		err = fmt.Errorf("unknown shape %q", args[0])
	}
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
