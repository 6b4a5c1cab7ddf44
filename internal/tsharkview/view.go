// Package tsharkview reads the tshark views that testdata/pcaps/make-captures.sh
// records beside each capture, for the tests that hold nfsstall to tshark.
package tsharkview

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Row is one line of a view, by column name.
type Row map[string]string

// Read reads a tshark -T fields view with a header row; path may also
// exist as path+".gz" (large views are stored compressed).
func Read(path string) ([]Row, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		f, err = os.Open(path + ".gz")
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(f.Name(), ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	var rows []Row
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		row := make(Row, len(header))
		for i, h := range header {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return rows, nil
}

// Captures returns the names (NAME of NAME.rpc.tsv) of the captures in dir
// that have tshark views.
func Captures(dir string) ([]string, error) {
	views, err := filepath.Glob(filepath.Join(dir, "*.rpc.tsv*"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range views {
		out = append(out, strings.TrimSuffix(strings.TrimSuffix(filepath.Base(v), ".gz"), ".rpc.tsv"))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tshark views in %s", dir)
	}
	return out, nil
}

// CaptureFile returns the capture a view belongs to (it may be gzipped).
func CaptureFile(dir, name string) (string, error) {
	for _, p := range []string{name, name + ".gz"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return filepath.Join(dir, p), nil
		}
	}
	return "", fmt.Errorf("no capture file for view %s in %s", name, dir)
}
