// Package capture reads capture files: pcap (every version and the
// modified format), pcapng, either gzipped, from a path or stdin, and
// several files merged into one time-ordered stream (Input), with
// duplicates across files dropped, wild timestamps mended and every
// record read in bounded pieces. It holds the table of link types
// (number, tcpdump name, whether nfsstall decodes it: LinkTypeSupported, LinkTypeName, SupportedLinkTypes), the
// Packet a reader hands out, and Prefetch, which reads ahead on a
// goroutine of its own.
//
// capture decodes nothing past the record: link, IP and TCP headers are
// package tcpflow's. It imports neither tcpflow nor analyze.
package capture
