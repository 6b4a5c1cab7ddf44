// Package tcpflow turns captured packets (capture.Packet) into
// per-connection, per-direction ordered byte streams, with the frame each
// byte came from and explicit gaps for bytes that were sent but not
// captured: it decodes link, IP and TCP or UDP headers (Decoder, for the
// link types capture.LinkTypeSupported accepts), reassembles IP fragments,
// applies Wireshark's tcp.analysis rules and reassembles TCP. Reading
// capture files is package capture's.
package tcpflow
