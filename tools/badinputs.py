#!/usr/bin/env python3
"""badinputs.py: writes the hostile captures of tests/bad-inputs.

    python3 tools/badinputs.py OUTDIR

Each capture is broken in one way the table names (file format, packet
headers, or SMTP content an attacker controls) and is otherwise a normal
SMTP conversation, so what survives the damage can still be checked.
Deterministic: fixed timestamps, fixed sequence numbers, no randomness.
Python 3 standard library only. tests/bad-input-test runs this into a
temporary directory before each run.
"""

import os
import struct
import sys

BASE_TS = 1795894711          # 2026-11-28T19:38:31Z, as tools/pcapgen.py
MSS = 1460
SNAPLEN = 262144
LINK_EN10MB = 1

CLIENT = ("198.51.100.7", 40001)
SERVER = ("192.0.2.25", 25)


# --- pcap file writing ---------------------------------------------------

def pcap_header(snaplen=SNAPLEN, link=LINK_EN10MB, magic=0xa1b2c3d4):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, link)


def pcap_record(frame, ts_us, caplen=None, origlen=None):
    caplen = len(frame) if caplen is None else caplen
    origlen = len(frame) if origlen is None else origlen
    return struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000,
                       caplen, origlen) + frame


def pcap(frames, **kw):
    """frames: list of (ts_us, bytes)."""
    return pcap_header(**kw) + b"".join(pcap_record(f, t) for t, f in frames)


# --- packet building -----------------------------------------------------

def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ether(payload, ethertype=0x0800):
    return (b"\x00\x01\x02\x03\x04\x05\x00\x01\x02\x03\x04\x06" +
            struct.pack(">H", ethertype) + payload)


def tcp_hdr(sport, dport, seq, ack, flags, options=b"", doff=None):
    if doff is None:
        doff = (20 + len(options)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq & 0xffffffff,
                       ack & 0xffffffff, doff << 4, flags, 65535, 0,
                       0) + options


def ipv4(src, dst, l4, proto=6, ihl=5, total=None, frag=0, options=b""):
    if total is None:
        total = ihl * 4 + len(l4)
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, total & 0xffff, 1,
                       frag, 64, proto, 0, ip4(src), ip4(dst)) + options + l4


def seg(src, dst, seq, ack, flags, payload=b"", **kw):
    return ether(ipv4(src[0], dst[0], tcp_hdr(src[1], dst[1], seq, ack,
                                                flags) + payload, **kw))


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ACK_EVERY = 32768         # bytes a sender sends before its peer ACKs


class Conv:
    """A scripted TCP conversation; frames accumulate in self.frames."""

    def __init__(self, client=CLIENT, server=SERVER, ts=BASE_TS * 1000000,
                 isn=(1000, 5000000)):
        self.ep = (client, server)
        self.seq = list(isn)
        self.ts = ts
        self.frames = []

    def _emit(self, side, flags, payload=b""):
        src, dst = self.ep[side], self.ep[1 - side]
        self.ts += 100
        self.frames.append((self.ts, seg(src, dst, self.seq[side],
                                         self.seq[1 - side], flags,
                                         payload)))
        self.seq[side] += len(payload) + (1 if flags & (SYN | FIN) else 0)

    def open(self):
        self._emit(0, SYN)
        self._emit(1, SYN | ACK)
        self._emit(0, ACK)
        return self

    def send(self, side, data):
        for i in range(0, len(data), MSS):
            self._emit(side, PSH | ACK, data[i:i + MSS])
            # the receiver acknowledges as its 64 KiB window fills
            if (i + MSS) % ACK_EVERY < MSS and i + MSS < len(data):
                self._emit(1 - side, ACK)
        return self

    def c(self, data):
        return self.send(0, data)

    def s(self, data):
        return self.send(1, data)

    def close(self):
        self._emit(0, FIN | ACK)
        self._emit(1, FIN | ACK)
        self._emit(0, ACK)
        return self


def smtp(banner=b"mail.example ESMTP", helo=b"client.example",
         caps=(b"PIPELINING", b"STARTTLS"), tail=None, quit_=True):
    """A plain SMTP session up to the EHLO reply, then tail, then QUIT."""
    cv = Conv().open()
    cv.s(b"220 " + banner + b"\r\n")
    cv.c(b"EHLO " + helo + b"\r\n")
    lines = [b"250-mail.example"] + [b"250-" + x for x in caps[:-1]]
    lines += [b"250 " + caps[-1]]
    cv.s(b"\r\n".join(lines) + b"\r\n")
    if tail:
        tail(cv)
    if quit_:
        cv.c(b"QUIT\r\n")
        cv.s(b"221 bye\r\n")
    return cv.close()


def good():
    return smtp().frames


# --- the cases -------------------------------------------------------------

def case_files():
    out = {}
    full = pcap(good())
    out["empty.pcap"] = b""
    out["bad-magic.pcap"] = b"\x00\x11\x22\x33" + full[4:]
    out["short-header.pcap"] = full[:10]
    out["header-only.pcap"] = pcap_header()
    # The last record is cut in the middle of its bytes / of its header.
    out["truncated-record.pcap"] = full[:-30]
    last = len(pcap_record(good()[-1][1], 0))
    out["truncated-record-header.pcap"] = full[:len(full) - last + 8]
    # caplen above the file's snaplen (64): libpcap trims or refuses.
    fr = good()
    out["caplen-over-snaplen.pcap"] = pcap_header(snaplen=64) + b"".join(
        pcap_record(f, t) for t, f in fr)
    # caplen above 256 KiB, the largest libpcap accepts.
    big = b"\x00" * 300000
    out["caplen-over-256k.pcap"] = (pcap_header() +
                                    pcap_record(fr[0][1], fr[0][0]) +
                                    pcap_record(big, fr[1][0]))
    # caplen claims 4 GiB with no bytes behind it.
    out["caplen-huge.pcap"] = (pcap_header() +
                               struct.pack("<IIII", BASE_TS, 0, 0xffffffff,
                                           0xffffffff))
    out["link-unsupported.pcap"] = pcap(good(), link=147)
    # pcapng whose first block length is absurd.
    out["pcapng-bad-block.pcapng"] = (b"\x0a\x0d\x0d\x0a" +
                                      struct.pack("<I", 0xfffffff0) +
                                      b"\x4d\x3c\x2b\x1a" + b"\x00" * 20)
    out["zero-length-packets.pcap"] = pcap(
        [(BASE_TS * 1000000 + i, b"") for i in range(1000)] + good())
    out["short-packets.pcap"] = pcap(short_packets() + good())
    out["bad-ip-lengths.pcap"] = pcap(bad_ip_lengths() + good())
    out["bad-tcp-lengths.pcap"] = pcap(bad_tcp_lengths() + good())
    out["tcp-options-overrun.pcap"] = pcap(tcp_options_overrun() + good())
    out["deep-vlan.pcap"] = pcap(deep_vlan() + good())
    out["weird-timestamps.pcap"] = pcap(weird_timestamps())
    out["bad-usec.pcap"] = bad_usec()
    out["line-1mb.pcap"] = pcap(line_1mb())
    out["nul-bytes.pcap"] = pcap(nul_bytes())
    out["non-utf8.pcap"] = pcap(non_utf8())
    out["reply-codes.pcap"] = pcap(reply_codes())
    out["pipelined-100k.pcap"] = pcap(pipelined_100k())
    out["escapes.pcap"] = pcap(escapes())
    out["sql-meta.pcap"] = pcap(sql_meta())
    out["syn-flood.pcap"] = pcap(syn_flood())
    out["ooo-flood.pcap"] = pcap(ooo_flood())
    out["syn-flood-inside.pcap"] = pcap(syn_flood_inside())
    out["not-smtp.pcap"] = pcap(not_smtp())
    out["junk-before-banner.pcap"] = pcap(junk_before_banner())
    out["banner-1mb.pcap"] = pcap(banner_1mb())
    out["no-lf-at-end.pcap"] = pcap(no_lf_at_end())
    out["event-storm.pcap"] = pcap(event_storm())
    out["ack-hole-no-payload.pcap"] = pcap(ack_hole_no_payload())
    out["half-open-lines.pcap"] = pcap(half_open_lines())
    return out


def short_packets():
    t = BASE_TS * 1000000 - 10000
    c, s = CLIENT, SERVER
    frames = []
    full = seg(c, s, 1, 1, ACK, b"EHLO x\r\n")
    for n in (1, 6, 13, 14, 15, 20, 33, 34, 40, 53):
        frames.append((t + n, full[:n]))    # cut inside every header
    return frames


def bad_ip_lengths():
    t = BASE_TS * 1000000 - 10000
    tcp = tcp_hdr(40002, 25, 1, 1, ACK) + b"MAIL FROM:<a@b>\r\n"
    frames = []
    # total length past the frame, below the header, zero; IHL 0..4 and 15.
    for total in (1500, 60000, 19, 0, 39):
        frames.append(ether(ipv4("10.0.0.1", "10.0.0.2", tcp, total=total)))
    for ihl in (0, 1, 4, 15):
        frames.append(ether(ipv4("10.0.0.1", "10.0.0.2", tcp, ihl=ihl)))
    # IPv6 with a payload length far beyond the frame, and version 7.
    v6 = (struct.pack(">IHBB", 0x60000000, 65000, 6, 64) + b"\x20\x01" +
          b"\x00" * 14 + b"\x20\x01" + b"\x00" * 13 + b"\x01" + tcp)
    frames.append(ether(v6, 0x86dd))
    frames.append(ether(b"\x70" + ipv4("10.0.0.1", "10.0.0.2", tcp)[1:]))
    # ethertype IPv4 with an IPv6 header and the reverse.
    frames.append(ether(v6, 0x0800))
    frames.append(ether(ipv4("10.0.0.1", "10.0.0.2", tcp), 0x86dd))
    return [(t + i, f) for i, f in enumerate(frames)]


def bad_tcp_lengths():
    t = BASE_TS * 1000000 - 10000
    frames = []
    for doff in (0, 1, 4, 15, 6):
        tcp = tcp_hdr(40003, 25, 1, 1, ACK | PSH, doff=doff) + b"HELO x\r\n"
        frames.append(ether(ipv4("10.0.0.3", "10.0.0.4", tcp)))
    return [(t + i, f) for i, f in enumerate(frames)]


def tcp_options_overrun():
    t = BASE_TS * 1000000 - 10000
    frames = []
    # Option length past the header, zero and one (would loop), and an
    # option kind with no length byte at the very end.
    for opts in (b"\x02\x28\x05\xb4", b"\x08\x00\x00\x00", b"\x08\x01\x00\x00",
                 b"\x01\x01\x01\x08", b"\x05\xff\x00\x00" + b"\x00" * 36):
        tcp = tcp_hdr(40004, 25, 1, 1, SYN, options=opts[:40])
        frames.append(ether(ipv4("10.0.0.5", "10.0.0.6", tcp)))
    return [(t + i, f) for i, f in enumerate(frames)]


def deep_vlan():
    t = BASE_TS * 1000000 - 10000
    inner = ipv4("10.0.0.7", "10.0.0.8", tcp_hdr(40005, 25, 1, 1, SYN))
    tags = b"".join(struct.pack(">HH", i, 0x8100) for i in range(40))
    frame = (b"\x00" * 12 + struct.pack(">H", 0x8100) + tags +
             struct.pack(">HH", 1, 0x0800) + inner)
    # and a frame that is nothing but VLAN tags until it ends
    endless = b"\x00" * 12 + struct.pack(">H", 0x8100) + tags * 4
    return [(t, frame), (t + 1, endless)]


def weird_timestamps():
    cv = smtp()
    fr = cv.frames
    # Time jumps to the far future, to zero and backwards mid-session.
    stamps = [0xffffffff * 1000000 + 999999, 0, 5, BASE_TS * 1000000]
    return [(stamps[i % len(stamps)] if i % 3 == 0 else t, f)
            for i, (t, f) in enumerate(fr)]


def bad_usec():
    """Every third frame after the first has a microsecond field past a
    second (1 500 000, then 0xfffffff0): bytes a damaged file holds. The
    session is intact; only the times lie. Returns the file's bytes."""
    out = pcap_header()
    for i, (t, f) in enumerate(smtp().frames):
        sec, usec = t // 1000000, t % 1000000
        if i % 3 == 1:
            usec = 1500000 if i % 2 else 0xfffffff0
        out += struct.pack("<IIII", sec, usec, len(f), len(f)) + f
    return out


def line_1mb():
    def tail(cv):
        cv.c(b"MAIL FROM:<" + b"A" * (1 << 20) + b">\r\n")
        cv.s(b"500 line too long\r\n")
        cv.c(b"STARTTLS\r\n")
        cv.s(b"454 TLS not available\r\n")
    return smtp(helo=b"h" * (1 << 20), tail=tail).frames


def nul_bytes():
    return smtp(banner=b"mail\x00evil\x00 ESMTP", helo=b"nul\x00client",
                caps=(b"PIPE\x00LINING", b"STARTTLS")).frames


def non_utf8():
    return smtp(banner=b"\xff\xfe\xc3\x28 caf\xe9 \xed\xa0\x80 ESMTP",
                helo=b"\xc0\xaf\xf0\x28\x8c\x28").frames


def reply_codes():
    cv = Conv().open()
    cv.s(b"000 zero\r\n099 low\r\n150 prelim\r\n600 high\r\n999 x\r\n"
         b"2500 long\r\n25 short\r\n-250 neg\r\n220 real banner\r\n")
    cv.c(b"EHLO codes.example\r\n")
    cv.s(b"250-mail.example\r\n250-STARTTLS\r\n250 OK\r\n")
    cv.c(b"STARTTLS\r\n")
    cv.s(b"700 what\r\n")
    cv.c(b"QUIT\r\n")
    cv.s(b"221 bye\r\n")
    return cv.close().frames


def pipelined_100k():
    cv = Conv().open()
    cv.s(b"220 mail.example ESMTP\r\n")
    cv.c(b"EHLO pipe.example\r\n")
    cv.s(b"250-mail.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
    cv.c(b"NOOP\r\n" * 100000)
    cv.s(b"250 ok\r\n" * 100000)
    cv.c(b"QUIT\r\n")
    cv.s(b"221 bye\r\n")
    return cv.close().frames


# Hostile text for banners, EHLO names and evidence: CR and LF inside a
# value, terminal escapes (colour, clear screen, OSC title with BEL), a
# format string, DEL and a high byte.
EVIL = b"a\rb\x1b[31mred\x1b[2J\x1b]0;pwn\x07%n%s%x\x7f\x9b|"
EVIL_ESCAPED = r"a\rb\x1b[31mred\x1b[2J\x1b]0;pwn\x07%n%s%x\x7f\x9b|"


def escapes():
    """Masked capability and masked command lines carrying EVIL, so the
    hostile bytes reach events.evidence and the stdout alert line too."""
    cv = Conv().open()
    cv.s(b"220 " + EVIL + b" ESMTP\r\n")
    cv.c(b"EHLO " + EVIL + b"\r\n")
    cv.s(b"250-mail.example\r\n250-XXXXXXXA " + EVIL + b"\r\n250 OK\r\n")
    cv.c(b"XXXXXXXX " + EVIL + b"\r\n")
    cv.s(b"500 unknown\r\n")
    cv.c(b"QUIT\r\n")
    cv.s(b"221 bye\r\n")
    return cv.close().frames


SQL_HELO = b"x'); DROP TABLE sessions;-- \"q\" ; DELETE FROM events"
SQL_HELO_ESCAPED = r"""x'); DROP TABLE sessions;-- \"q\" ; DELETE FROM events"""
SQL_BANNER = b"mail' OR '1'='1 ESMTP"


def sql_meta():
    def tail(cv):
        cv.c(b"STARTTLS\r\n")
        cv.s(b"454 4.7.0 TLS not available'; DROP TABLE events;--\r\n")
    return smtp(banner=SQL_BANNER, helo=SQL_HELO, tail=tail).frames


def syn_flood():
    frames = []
    t = BASE_TS * 1000000 - 10 ** 6
    for i in range(100000):
        src = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
        frames.append((t + i, seg((src, 1024 + i % 60000), SERVER, i, 0,
                                  SYN)))
    return frames + good()


def syn_flood_inside():
    """The 100 000-SYN flood with a real session inside it: the session's
    frames are spread evenly through the flood, and its EHLO reply is
    masked. With a table far smaller than the flood, flows without data
    are evicted first, so the session survives and is detected."""
    sess = smtp(caps=(b"PIPELINING", b"XXXXXXXA")).frames
    t = BASE_TS * 1000000 - 10 ** 6
    step = 100000 // (len(sess) + 1)
    frames, n = [], 0
    for _, f in sess:
        for _ in range(step):
            src = "10.%d.%d.%d" % (n >> 16 & 255, n >> 8 & 255, n & 255)
            frames.append((t + len(frames), seg((src, 1024 + n % 60000),
                                                SERVER, n, 0, SYN)))
            n += 1
        frames.append((t + len(frames), f))
    return frames


def ooo_flood():
    """A session whose client sends 2 000 segments of 1000 bytes (8 times reasm_ooo_max) beyond a hole that is
    never filled: out-of-order memory must stay capped."""
    cv = Conv().open()
    cv.s(b"220 mail.example ESMTP\r\n")
    base = cv.seq[0]
    for i in range(2000):
        cv.ts += 10
        cv.frames.append((cv.ts, seg(CLIENT, SERVER, base + 10 + i * 1000,
                                     cv.seq[1], ACK | PSH, b"Z" * 1000)))
    return cv.frames


def not_smtp():
    cv = Conv().open()
    blob = bytes((i * 7 + 3) & 255 for i in range(20000))
    cv.c(blob)
    cv.s(blob[::-1])
    return cv.close().frames


def junk_before_banner():
    """One line that is no reply ahead of the greeting, then an EHLO reply
    with a masked STARTTLS: the client's EHLO alone makes it SMTP
    (smtp.h), so the masking must still be reported."""
    cv = Conv().open()
    cv.s(b"999 x\r\n220 mail.example ESMTP\r\n")
    cv.c(b"EHLO client.example\r\n")
    cv.s(b"250-mail.example\r\n250-XXXXXXXA\r\n250 OK\r\n")
    cv.c(b"QUIT\r\n")
    cv.s(b"221 bye\r\n")
    return cv.close().frames


def banner_1mb():
    """The server's greeting is one 1 MiB line; the session goes on."""
    def tail(cv):
        cv.c(b"STARTTLS\r\n")
        cv.s(b"454 TLS not available\r\n")
    return smtp(banner=b"B" * (1 << 20), tail=tail).frames


def no_lf_at_end():
    """Both sides end inside a 100 KiB line that never gets its LF."""
    cv = Conv().open()
    cv.s(b"220 mail.example ESMTP\r\n")
    cv.c(b"EHLO end.example\r\n")
    cv.s(b"250-mail.example\r\n250 STARTTLS\r\n")
    cv.c(b"MAIL FROM:<" + b"m" * 100000)
    cv.s(b"250-" + b"s" * 100000)
    return cv.close().frames


def event_storm():
    """1000 sessions from 1000 clients, each with a masked STARTTLS, within
    one second: every event must reach the database, while the alert lines
    stay under the rate limit (600 a minute by default)."""
    frames = []
    for i in range(1000):
        cv = Conv(client=("10.9.%d.%d" % (i >> 8, i & 255), 30000 + i),
                  ts=BASE_TS * 1000000 + i * 1000)
        cv.open()
        cv.s(b"220 mail.example ESMTP\r\n")
        cv.c(b"EHLO storm.example\r\n")
        cv.s(b"250-mail.example\r\n250-XXXXXXXA\r\n250 OK\r\n")
        cv.close()
        frames += cv.frames
    frames.sort(key=lambda f: f[0])
    return frames


def ack_hole_no_payload():
    """Handshake, then the client's FIN 200 bytes further on (its data was
    never captured) and the server's ACK of all of it: reassembly reports a
    hole on a flow that never carried payload. (Found by fuzz_pcap.)"""
    cv = Conv().open()
    cv.seq[0] += 200
    cv._emit(0, FIN | ACK)
    cv._emit(1, ACK)
    cv._emit(1, FIN | ACK)
    cv._emit(0, ACK)
    return cv.frames


def half_open_lines(n=60000, line_len=900):
    """n connections from n clients, each a handshake and then one
    line_len-byte command line without its line end, never closed: every
    session holds a partial line at once, the shape that makes SMTP line
    buffers grow with the number of connections."""
    line = b"MAIL FROM:<" + b"p" * (line_len - 11)
    frames = []
    for i in range(n):
        cv = Conv(client=("10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255,
                                           i & 255), 1024 + i % 60000),
                  ts=BASE_TS * 1000000 + i * 1000)
        frames += cv.open().c(line).frames
    return frames


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: badinputs.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in sorted(case_files().items()):
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
