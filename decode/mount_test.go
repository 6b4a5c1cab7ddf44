package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func xdrString(s string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(s)))
	b = append(b, s...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestParseMountPath(t *testing.T) {
	p, err := ParseMountPath(xdrString("/srv/export"))
	if err != nil || string(p) != "/srv/export" {
		t.Fatalf("%q, %v", p, err)
	}
	// MNTPATHLEN is 1024: one more is rejected at the length word.
	long := xdrString(string(bytes.Repeat([]byte{'a'}, 1025)))
	if _, err := ParseMountPath(long); !errors.Is(err, ErrTooLong) {
		t.Errorf("1025-byte path: %v", err)
	}
	if _, err := ParseMountPath(xdrString("/srv/export")[:9]); !errors.Is(err, ErrShort) {
		t.Errorf("cut path: %v", err)
	}
}

func TestParseMountResult(t *testing.T) {
	fh := bytes.Repeat([]byte{0xab}, 28)
	ok3 := append(binary.BigEndian.AppendUint32(nil, 0), xdrString(string(fh))...)
	ok3 = binary.BigEndian.AppendUint32(ok3, 1) // one auth flavour, not read
	for _, tt := range []struct {
		name    string
		vers    uint32
		b       []byte
		status  uint32
		fh      []byte
		wantErr error
	}{
		{"v3 ok", 3, ok3, 0, fh, nil},
		{"v3 denied", 3, binary.BigEndian.AppendUint32(nil, 13), 13, nil, nil}, // MNT3ERR_ACCES: no handle follows
		{"v3 handle of 65 bytes", 3, append(binary.BigEndian.AppendUint32(nil, 0), xdrString(string(bytes.Repeat([]byte{1}, 65)))...), 0, nil, ErrTooLong},
		{"v3 cut in the handle", 3, ok3[:12], 0, nil, ErrShort},
		{"v1 ok", 1, append(binary.BigEndian.AppendUint32(nil, 0), bytes.Repeat([]byte{7}, 32)...), 0, bytes.Repeat([]byte{7}, 32), nil},
		{"v1 cut", 1, append(binary.BigEndian.AppendUint32(nil, 0), bytes.Repeat([]byte{7}, 31)...), 0, nil, ErrShort},
		{"empty", 3, nil, 0, nil, ErrShort},
	} {
		status, got, err := ParseMountResult(tt.vers, tt.b)
		if status != tt.status || !bytes.Equal(got, tt.fh) || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: status %d, fh %x, err %v; want %d, %x, %v", tt.name, status, got, err, tt.status, tt.fh, tt.wantErr)
		}
	}
}

func FuzzParseMount(f *testing.F) {
	f.Add(uint32(3), xdrString("/srv/export"))
	f.Add(uint32(1), append([]byte{0, 0, 0, 0}, bytes.Repeat([]byte{7}, 32)...))
	f.Fuzz(func(t *testing.T, vers uint32, b []byte) {
		if p, err := ParseMountPath(b); err == nil && (len(p) > mountPathLen || 4+len(p) > len(b)) {
			t.Fatalf("path of %d bytes from %d", len(p), len(b))
		}
		status, fh, err := ParseMountResult(vers, b)
		if err == nil && status == 0 && (len(fh) > mountFHSize3 || len(fh) > len(b)) {
			t.Fatalf("handle of %d bytes from %d", len(fh), len(b))
		}
	})
}
