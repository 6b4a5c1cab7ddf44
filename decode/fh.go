package decode

import "hash/crc32"

// FHHash returns Wireshark's 32-bit file-handle hash, shown as
// "FH: 0x633aa4f4" and filtered on as nfs.fh.hash, so that users can match
// handles between nfsstall and Wireshark. Wireshark computes it with
// crc32_ccitt (wsutil/crc32.c) over the handle's bytes, without the length
// word: despite the name that is the reflected CRC-32 of IEEE 802.3
// (polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF), which
// is what crc32.ChecksumIEEE computes.
func FHHash(fh []byte) uint32 { return crc32.ChecksumIEEE(fh) }
