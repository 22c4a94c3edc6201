#!/usr/bin/env python3
"""pcapgen.py: writes stripwatch's bundled test captures, deterministically.

    python3 tools/pcapgen.py OUTDIR        (make pcaps: OUTDIR = pcaps)

Every capture is built from a scripted SMTP conversation: a TCP three-way
handshake, data cut at the MSS with correct sequence and acknowledgement
numbers, ACKs, a FIN/ACK close, real TLS records after STARTTLS (the TLS 1.2
server sends tools/pcapgen-cert.pem as its certificate). Timestamps are
fixed and initial sequence numbers come from a PRNG seeded with the file
name, so a rerun writes the same bytes. Python 3 standard library only.

The scenario table at the bottom names each file, says what it shows and
what stripwatch should find; the same text becomes OUTDIR/README.
"""

import base64
import collections
import hashlib
import ipaddress
import os
import random
import struct
import sys
import zlib

# 2026-11-28T19:38:31Z: every capture starts here, so alert times are fixed.
BASE_TS_US = 1795894711 * 1000000
MSS = 1460              # Ethernet MSS: data is cut into segments of this
RTT_US = 20000          # one round trip between client and server
STEP_US = 50            # between back-to-back segments of one flight
THINK_US = 1500         # a peer's processing time before it answers
SNAPLEN = 262144        # what tcpdump writes by default

CERT_PEM = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "pcapgen-cert.pem")

C, S = 0, 1             # sides: client, server


def cert_der(path=None):
    """The DER bytes of a committed test certificate (default: the one
    every TLS 1.2 capture shows)."""
    with open(path or CERT_PEM, "r", encoding="ascii") as f:
        lines = [l.strip() for l in f if l.strip() and "-----" not in l]
    return base64.b64decode("".join(lines))


def csum(data):
    """Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4_bytes(a):
    return bytes(int(x) for x in a.split("."))


def ip6_bytes(a):
    return ipaddress.IPv6Address(a).packed


# --------------------------------------------------------------------------
# TCP conversation


class Seg:
    """One TCP segment as the capture will show it."""

    def __init__(self, ts, side, seq, ack, flags, payload=b"", tag=None):
        self.ts = ts
        self.side = side
        self.seq = seq & 0xFFFFFFFF
        self.ack = ack & 0xFFFFFFFF
        self.flags = flags
        self.payload = payload
        self.tag = tag

    def copy(self):
        return Seg(self.ts, self.side, self.seq, self.ack, self.flags,
                   self.payload, self.tag)


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class Conn:
    """One TCP connection; send() appends segments as a real stack would."""

    def __init__(self, rng, client, server, cport, sport, start_us=0,
                 isn=None):
        self.rng = rng
        self.addr = (client, server)
        self.port = (cport, sport)
        self.v6 = ":" in client
        self.isn = [rng.getrandbits(32), rng.getrandbits(32)]
        if isn is not None:
            self.isn = list(isn)
        self.nxt = [self.isn[C] + 1, self.isn[S] + 1]
        self.now = BASE_TS_US + start_us
        self.segs = []

    def _emit(self, side, flags, payload=b"", seq=None, tag=None):
        other = 1 - side
        s = Seg(self.now, side, self.nxt[side] if seq is None else seq,
                self.nxt[other] if flags & ACK else 0, flags, payload, tag)
        self.segs.append(s)
        return s

    def handshake(self):
        self._emit(C, SYN, seq=self.isn[C])
        self.now += RTT_US // 2
        self._emit(S, SYN | ACK, seq=self.isn[S])
        self.now += RTT_US // 2
        self._emit(C, ACK)
        self.now += THINK_US

    def send(self, side, data, chunks=None, tag=None):
        """side writes data; cut at MSS, or at the sizes in chunks."""
        pieces = []
        if chunks:
            off = 0
            for n in chunks:
                pieces.append(data[off:off + n])
                off += n
            if off < len(data):
                pieces.append(data[off:])
        else:
            pieces = [data]
        out = []
        for p in pieces:
            while p:
                part, p = p[:MSS], p[MSS:]
                out.append(part)
        for i, part in enumerate(out):
            flags = ACK | (PSH if i == len(out) - 1 else 0)
            self._emit(side, flags, part, tag=tag)
            self.nxt[side] = (self.nxt[side] + len(part)) & 0xFFFFFFFF
            self.now += STEP_US
        self.now += RTT_US // 2

    def ack(self, side):
        """side sends a bare ACK for what it received."""
        self._emit(side, ACK)
        self.now += THINK_US

    def close(self, first=C):
        """first sends FIN, the other answers FIN/ACK, first ACKs."""
        other = 1 - first
        self._emit(first, FIN | ACK)
        self.nxt[first] = (self.nxt[first] + 1) & 0xFFFFFFFF
        self.now += RTT_US // 2
        self._emit(other, FIN | ACK)
        self.nxt[other] = (self.nxt[other] + 1) & 0xFFFFFFFF
        self.now += RTT_US // 2
        self._emit(first, ACK)
        self.now += STEP_US


def run_script(conn, script):
    """Play a list of (side, bytes[, opts]) steps on conn.

    A step by the same side as the previous one is preceded by a bare ACK
    from the peer (delayed ACK), so every byte is acknowledged.
    """
    last = None
    for step in script:
        side, data = step[0], step[1]
        opts = step[2] if len(step) > 2 else {}
        if last == side:
            conn.ack(1 - side)
        conn.send(side, data, chunks=opts.get("chunks"), tag=opts.get("tag"))
        conn.now += opts.get("delay", THINK_US)
        last = side
    if last is not None:
        conn.ack(1 - last)
    conn.close(C)
    return conn.segs


# --------------------------------------------------------------------------
# TLS records


def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def vec24(b):
    return u24(len(b)) + b


def ext(t, body):
    return u16(t) + vec16(body)


def hs(t, body):
    return u8(t) + vec24(body)


def record(ctype, body, version=0x0303):
    return u8(ctype) + u16(version) + vec16(body)


def rbytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def client_hello(rng, sni):
    """A TLS ClientHello as OpenSSL 3 sends it: TLS 1.3 and 1.2 offered."""
    suites = [0x1302, 0x1303, 0x1301, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
              0xC02B, 0xC02F, 0x009F, 0x009E, 0x00FF]
    name = sni.encode("ascii")
    exts = b"".join([
        ext(0x0000, vec16(u8(0) + vec16(name))),           # server_name
        ext(0x000B, vec8(b"\x00\x01\x02")),                # ec_point_formats
        ext(0x000A, vec16(b"".join(u16(g) for g in
                                   (0x001D, 0x0017, 0x001E, 0x0019,
                                    0x0018)))),            # supported_groups
        ext(0x0023, b""),                                  # session_ticket
        ext(0x0016, b""),                                  # encrypt_then_mac
        ext(0x0017, b""),                                  # ext_master_secret
        ext(0x000D, vec16(b"".join(u16(a) for a in
                                   (0x0403, 0x0503, 0x0603, 0x0807, 0x0808,
                                    0x0804, 0x0805, 0x0806, 0x0401, 0x0501,
                                    0x0601)))),            # signature_algs
        ext(0x002B, vec8(u16(0x0304) + u16(0x0303))),      # supported_versions
        ext(0x002D, vec8(b"\x01")),                        # psk_kex_modes
        ext(0x0033, vec16(u16(0x001D) + vec16(rbytes(rng, 32)))),  # key_share
    ])
    body = (u16(0x0303) + rbytes(rng, 32) + vec8(rbytes(rng, 32)) +
            vec16(b"".join(u16(s) for s in suites)) + vec8(b"\x00") +
            vec16(exts))
    return record(22, hs(1, body), version=0x0301)


def client_hello_legacy(rng, sni, version):
    """A ClientHello of a client that knows nothing newer than version
    (TLS 1.0 0x0301, TLS 1.1 0x0302): no supported_versions extension."""
    suites = [0xC009, 0xC013, 0xC00A, 0xC014, 0x002F, 0x0035, 0x000A, 0x00FF]
    name = sni.encode("ascii")
    exts = b"".join([
        ext(0x0000, vec16(u8(0) + vec16(name))),
        ext(0x000B, vec8(b"\x00\x01\x02")),
        ext(0x000A, vec16(u16(0x0017) + u16(0x0018))),
    ])
    body = (u16(version) + rbytes(rng, 32) + vec8(b"") +
            vec16(b"".join(u16(x) for x in suites)) + vec8(b"\x00") +
            vec16(exts))
    return record(22, hs(1, body), version=0x0301)


def server_flight_legacy(rng, der, version):
    """ServerHello (version, ECDHE-ECDSA-AES128-SHA) + Certificate +
    ServerKeyExchange + ServerHelloDone of a TLS 1.0/1.1 server."""
    sh = (u16(version) + rbytes(rng, 32) + vec8(rbytes(rng, 32)) +
          u16(0xC009) + u8(0) + vec16(ext(0xFF01, b"\x00")))
    cert = vec24(vec24(der))
    ske = (u8(3) + u16(0x0017) + vec8(b"\x04" + rbytes(rng, 64)) +
           vec16(b"\x30\x45\x02\x20" + rbytes(rng, 32) +
                 b"\x02\x21\x00" + rbytes(rng, 32)))
    return record(22, hs(2, sh) + hs(11, cert) + hs(12, ske) + hs(14, b""),
                  version=version)


def server_flight_12(rng, der):
    """ServerHello + Certificate + ServerKeyExchange + ServerHelloDone, one
    record, as OpenSSL sends them; cipher ECDHE-ECDSA-AES128-GCM-SHA256."""
    exts = b"".join([
        ext(0xFF01, b"\x00"),                              # renegotiation_info
        ext(0x000B, vec8(b"\x00\x01\x02")),
        ext(0x0017, b""),
    ])
    sh = (u16(0x0303) + rbytes(rng, 32) + vec8(rbytes(rng, 32)) +
          u16(0xC02B) + u8(0) + vec16(exts))
    cert = vec24(vec24(der))
    ske = (u8(3) + u16(0x0017) + vec8(b"\x04" + rbytes(rng, 64)) +
           u16(0x0403) + vec16(b"\x30\x45\x02\x20" + rbytes(rng, 32) +
                               b"\x02\x21\x00" + rbytes(rng, 32)))
    return record(22, hs(2, sh) + hs(11, cert) + hs(12, ske) + hs(14, b""))


def client_finish_12(rng):
    """ClientKeyExchange, ChangeCipherSpec, encrypted Finished."""
    cke = hs(16, vec8(b"\x04" + rbytes(rng, 64)))
    return (record(22, cke) + record(20, b"\x01") +
            record(22, rbytes(rng, 40)))


def server_finish(rng):
    """NewSessionTicket-less ChangeCipherSpec and encrypted Finished."""
    return record(20, b"\x01") + record(22, rbytes(rng, 40))


def server_flight_13(rng, session_id_len=32):
    """TLS 1.3 ServerHello (supported_versions 0x0304, x25519 key share),
    the compatibility ChangeCipherSpec, then the encrypted rest of the
    flight (EncryptedExtensions .. Finished) as application data."""
    exts = (ext(0x002B, u16(0x0304)) +
            ext(0x0033, u16(0x001D) + vec16(rbytes(rng, 32))))
    sh = (u16(0x0303) + rbytes(rng, 32) + vec8(rbytes(rng, session_id_len)) +
          u16(0x1301) + u8(0) + vec16(exts))
    return (record(22, hs(2, sh)) + record(20, b"\x01") +
            record(23, rbytes(rng, 1580)) + record(23, rbytes(rng, 280)) +
            record(23, rbytes(rng, 69)))


def client_finish_13(rng):
    return record(20, b"\x01") + record(23, rbytes(rng, 69))


def app_data(rng, *sizes):
    return b"".join(record(23, rbytes(rng, n)) for n in sizes)


def tls_tail(rng, version, der, sni=None):
    """Script steps of a whole handshake and a short encrypted exchange;
    the client names sni (default SERVER_NAME)."""
    legacy = {"1.0": 0x0301, "1.1": 0x0302}
    sni = sni or SERVER_NAME
    if version in legacy:
        v = legacy[version]
        steps = [(C, client_hello_legacy(rng, sni, v),
                  {"tag": "client_hello"}),
                 (S, server_flight_legacy(rng, der, v),
                  {"tag": "server_hello"}),
                 (C, client_finish_12(rng)),
                 (S, server_finish(rng))]
        return steps + [(S, app_data(rng, 85)), (C, app_data(rng, 45)),
                        (S, app_data(rng, 230)), (C, app_data(rng, 30)),
                        (S, app_data(rng, 40))]
    steps = [(C, client_hello(rng, sni), {"tag": "client_hello"})]
    if version == "1.2":
        steps += [(S, server_flight_12(rng, der), {"tag": "server_hello"}),
                  (C, client_finish_12(rng)),
                  (S, server_finish(rng))]
    else:
        steps += [(S, server_flight_13(rng), {"tag": "server_hello"}),
                  (C, client_finish_13(rng))]
    steps += [(S, app_data(rng, 85)),                   # encrypted 220 banner
              (C, app_data(rng, 45)),                   # EHLO
              (S, app_data(rng, 230)),                  # EHLO reply
              (C, app_data(rng, 60, 55, 30)),           # MAIL, RCPT, DATA
              (S, app_data(rng, 60)),
              (C, app_data(rng, 1210)),                 # message
              (S, app_data(rng, 75)),
              (C, app_data(rng, 30)),                   # QUIT
              (S, app_data(rng, 40) + record(21, rbytes(rng, 26)))]
    return steps


# --------------------------------------------------------------------------
# SMTP content

SERVER_NAME = "mx.example.net"
CLIENT_NAME = "client.example.org"
CLIENT_IP, SERVER_IP = "192.0.2.10", "198.51.100.25"
CLIENT_IP6, SERVER_IP6 = "2001:db8:1::10", "2001:db8:2::25"


def crlf(*lines):
    return b"".join(l.encode("latin-1") + b"\r\n" for l in lines)


POSTFIX_BANNER = "220 mx.example.net ESMTP Postfix (Debian/GNU)"
POSTFIX_EHLO = ["250-mx.example.net", "250-PIPELINING", "250-SIZE 10240000",
                "250-VRFY", "250-ETRN", "250-STARTTLS",
                "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN",
                "250-SMTPUTF8", "250 CHUNKING"]

EXIM_BANNER = ("220 mail.example.com ESMTP Exim 4.96 "
               "Sat, 28 Nov 2026 19:38:31 +0000")
EXIM_EHLO = ["250-mail.example.com Hello client.example.org [192.0.2.10]",
             "250-SIZE 52428800", "250-8BITMIME", "250-PIPELINING",
             "250-PIPE_CONNECT", "250-CHUNKING", "250-STARTTLS", "250-PRDR",
             "250 HELP"]

EXCH_BANNER = ("220 EXCH01.corp.example.com Microsoft ESMTP MAIL Service "
               "ready at Sat, 28 Nov 2026 19:38:31 +0000")
EXCH_EHLO = ["250-EXCH01.corp.example.com Hello [192.0.2.10]",
             "250-SIZE 37748736", "250-PIPELINING", "250-DSN",
             "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250-X-ANONYMOUSTLS",
             "250-AUTH NTLM", "250-X-EXPS GSSAPI NTLM", "250-8BITMIME",
             "250-BINARYMIME", "250-CHUNKING", "250-XEXCH50", "250-XRDST",
             "250 XSHADOWREQUEST"]

# Exchange 2003 behind a Cisco ASA with ESMTP inspection: extensions the ASA
# does not know are overwritten with X's of the same length, ending in a
# letter counting up; the banner keeps only '0', '2' and spaces.
EXCH2003_BANNER = ("mail.corp.example.com Microsoft ESMTP MAIL Service, "
                   "Version: 6.0.3790.4675 ready at  Sat, 28 Nov 2026 "
                   "19:38:31 +0000")
EXCH2003_EHLO = ["mail.corp.example.com Hello [192.0.2.10]", "TURN",
                 "SIZE", "STARTTLS", "ETRN", "PIPELINING", "DSN",
                 "ENHANCEDSTATUSCODES",
                 "8bitmime", "BINARYMIME", "CHUNKING", "VRFY",
                 "X-EXPS GSSAPI NTLM LOGIN", "X-EXPS=LOGIN",
                 "AUTH GSSAPI NTLM LOGIN", "AUTH=LOGIN", "X-LINK2STATE",
                 "XEXCH50", "OK"]
ASA_KNOWN = {"SIZE", "PIPELINING", "DSN", "8BITMIME", "AUTH", "VRFY",
             "ENHANCEDSTATUSCODES", "DELIVERBY", "CHUNKING",
             "BINARYMIME", "HELP"}


def asa_banner(text):
    return "220 " + "".join(c if c in "02 " else "*" for c in text)


def asa_ehlo(lines):
    out, letter = [], ord("A")
    for i, l in enumerate(lines):
        sep = " " if i == len(lines) - 1 else "-"
        kw = l.split(" ")[0].split("=")[0].upper()
        if i == 0 or kw in ASA_KNOWN:
            out.append("250" + sep + l)
        else:
            out.append("250" + sep + "X" * (len(l) - 1) + chr(letter))
            letter += 1
    return out


def mail_body(rng, paragraphs=1, extra=()):
    """A swaks-like message; paragraphs of filler make it span segments."""
    words = ("the quick brown fox jumps over a lazy dog while relay hosts "
             "queue deferred mail for later delivery and operators read "
             "their logs").split()
    lines = ["Date: Sat, 28 Nov 2026 19:38:31 +0000",
             "To: alice@example.net", "From: bob@example.org",
             "Subject: test Sat, 28 Nov 2026 19:38:31 +0000",
             "Message-Id: <20261128193831.%06d@client.example.org>" %
             rng.randrange(1000000),
             "X-Mailer: swaks v20240103.0 jetmore.org/john/code/swaks/",
             "", "This is a test mailing", ""]
    lines += list(extra)
    for _ in range(paragraphs):
        for _ in range(12):
            lines.append(" ".join(rng.choice(words) for _ in range(11)))
        lines.append("")
    return crlf(*lines) + b".\r\n"


def envelope(rng, body_paragraphs=0, extra=()):
    """MAIL, RCPT, DATA, the message, QUIT, lock-step (no pipelining)."""
    qid = "%010X" % rng.getrandbits(40)
    return [(C, crlf("MAIL FROM:<bob@example.org>")),
            (S, crlf("250 2.1.0 Ok")),
            (C, crlf("RCPT TO:<alice@example.net>")),
            (S, crlf("250 2.1.5 Ok")),
            (C, crlf("DATA")),
            (S, crlf("354 End data with <CR><LF>.<CR><LF>")),
            (C, mail_body(rng, body_paragraphs, extra), {"tag": "body"}),
            (S, crlf("250 2.0.0 Ok: queued as " + qid)),
            (C, crlf("QUIT")),
            (S, crlf("221 2.0.0 Bye"))]


def ehlo_step(name=CLIENT_NAME):
    return (C, crlf("EHLO " + name), {"tag": "ehlo"})


# --------------------------------------------------------------------------
# Conversations: each returns the script of one session.


def conv_starttls(rng, version="1.2", split=False, cert=None):
    """Postfix, STARTTLS, a TLS handshake; split cuts the EHLO reply and
    the server's TLS flight into two segments each (for reordering); cert
    names another certificate file than the default."""
    der = cert_der(cert)
    steps = ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
              (S, crlf(*POSTFIX_EHLO), {"tag": "ehlo_reply"}),
              (C, crlf("STARTTLS"), {"tag": "starttls"}),
              (S, crlf("220 2.0.0 Ready to start TLS"))] +
             tls_tail(rng, version, der))
    if split:
        for i, st in enumerate(steps):
            tag = st[2].get("tag") if len(st) > 2 else None
            if tag in ("ehlo_reply", "server_hello"):
                steps[i] = (st[0], st[1], {"tag": tag, "chunks": [100]})
    return steps


def conv_exim_tls13(rng):
    return ([(S, crlf(EXIM_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*EXIM_EHLO), {"tag": "ehlo_reply"}),
             (C, crlf("STARTTLS"), {"tag": "starttls"}),
             (S, crlf("220 TLS go ahead"))] +
            tls_tail(rng, "1.3", None))


def conv_no_starttls(rng):
    lines = [l for l in POSTFIX_EHLO if "STARTTLS" not in l]
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*lines), {"tag": "ehlo_reply"})] + envelope(rng))


def conv_exchange(rng):
    return ([(S, crlf(EXCH_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*EXCH_EHLO), {"tag": "ehlo_reply"}),
             (C, crlf("STARTTLS"), {"tag": "starttls"}),
             (S, crlf("220 2.0.0 SMTP server ready"))] +
            tls_tail(rng, "1.2", cert_der()))


def conv_body_quotes(rng):
    """Plaintext server; the message quotes lines a parser must not take
    for commands or replies."""
    lines = [l for l in EXIM_EHLO if "STARTTLS" not in l]
    extra = ["Our firewall rewrote the EHLO reply. It said:", "",
             "250-XXXXXXXA", "XXXXXXXX", "STARTTLS",
             "220 2.0.0 Ready to start TLS", "EHLO x",
             "500 5.5.1 Command unrecognized", "454 4.7.0 TLS not available",
             ""]
    return ([(S, crlf(EXIM_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*lines), {"tag": "ehlo_reply"})] +
            envelope(rng, 1, extra))


def conv_pipelined(rng):
    lines = [l for l in POSTFIX_EHLO if "STARTTLS" not in l]
    return [(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
            (S, crlf(*lines), {"tag": "ehlo_reply"}),
            (C, crlf("MAIL FROM:<bob@example.org> SIZE=1201",
                     "RCPT TO:<alice@example.net>",
                     "RCPT TO:<carol@example.net>", "DATA")),
            (S, crlf("250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok",
                     "354 End data with <CR><LF>.<CR><LF>")),
            (C, mail_body(rng, 0), {"tag": "body"}),
            (S, crlf("250 2.0.0 Ok: queued as 4XKQ0y1Zq5z9sVN")),
            (C, crlf("RSET", "MAIL FROM:<bob@example.org>",
                     "RCPT TO:<dave@example.net>", "DATA")),
            (S, crlf("250 2.0.0 Ok", "250 2.1.0 Ok",
                     "550 5.1.1 <dave@example.net>: Recipient address "
                     "rejected: User unknown", "554 5.5.1 Error: no valid "
                     "recipients")),
            (C, crlf("QUIT")), (S, crlf("221 2.0.0 Bye"))]


def conv_offered_not_requested(rng):
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*POSTFIX_EHLO), {"tag": "ehlo_reply"})] +
            envelope(rng))


def conv_asa(rng, body_paragraphs=4):
    """Postfix behind an ASA: 250-STARTTLS became 250-XXXXXXXA; the client
    sends its mail in plaintext."""
    lines = ["250-XXXXXXXA" if l == "250-STARTTLS" else l
             for l in POSTFIX_EHLO]
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*lines), {"tag": "ehlo_reply"})] +
            envelope(rng, body_paragraphs))


def conv_asa_exchange(rng):
    return ([(S, crlf(asa_banner(EXCH2003_BANNER)), {"tag": "banner"}),
             ehlo_step(),
             (S, crlf(*asa_ehlo(EXCH2003_EHLO)), {"tag": "ehlo_reply"})] +
            envelope(rng))


def conv_cmd_masked(rng):
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*POSTFIX_EHLO), {"tag": "ehlo_reply"}),
             (C, crlf("XXXXXXXX"), {"tag": "starttls"}),
             (S, crlf("500 5.5.1 Command unrecognized"))] + envelope(rng))


def conv_refused(rng):
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*POSTFIX_EHLO), {"tag": "ehlo_reply"}),
             (C, crlf("STARTTLS"), {"tag": "starttls"}),
             (S, crlf("454 4.7.0 TLS not available due to local problem"))] +
            envelope(rng))


def conv_plaintext_after(rng):
    """The 220 came back but the client carries on in plaintext: what a
    downgrade (or a decrypted export) looks like on the wire."""
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*POSTFIX_EHLO), {"tag": "ehlo_reply"}),
             (C, crlf("STARTTLS"), {"tag": "starttls"}),
             (S, crlf("220 2.0.0 Ready to start TLS")),
             (C, crlf("EHLO " + CLIENT_NAME), {"tag": "plaintext"}),
             (S, crlf(*[l for l in POSTFIX_EHLO if "STARTTLS" not in l]))] +
            envelope(rng))


def conv_cmd_injection(rng):
    """RSET rides in the STARTTLS segment (CVE-2011-0411 style); the server
    answers 220 and the handshake follows."""
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*POSTFIX_EHLO), {"tag": "ehlo_reply"}),
             (C, crlf("STARTTLS", "RSET"), {"tag": "starttls"}),
             (S, crlf("220 2.0.0 Ready to start TLS"))] +
            tls_tail(rng, "1.2", cert_der()))


def conv_resp_injection(rng):
    """A second reply rides behind the 220 in one segment."""
    return ([(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
             (S, crlf(*POSTFIX_EHLO), {"tag": "ehlo_reply"}),
             (C, crlf("STARTTLS"), {"tag": "starttls"}),
             (S, crlf("220 2.0.0 Ready to start TLS", "250 injected"))] +
            tls_tail(rng, "1.2", cert_der()))


# --------------------------------------------------------------------------
# Transport shapes: rewrite a list of segments.


def data_segs(segs, tag=None, side=None):
    return [i for i, s in enumerate(segs) if s.payload and
            (tag is None or s.tag == tag) and (side is None or s.side == side)]


def retime(segs, old_ts):
    """Keep capture times increasing after the order changed."""
    for s, t in zip(segs, sorted(old_ts)):
        s.ts = t
    return segs


def shape_ooo(segs):
    """Swap the first two segments of the EHLO reply, of the body and of
    the server's TLS flight, where those span two segments or more."""
    ts = [s.ts for s in segs]
    for tag in ("ehlo_reply", "body", "server_hello"):
        idx = data_segs(segs, tag)
        if len(idx) >= 2:
            a, b = idx[0], idx[1]
            segs[a], segs[b] = segs[b], segs[a]
    return retime(segs, ts)


def shape_retrans(segs):
    """Resend the EHLO, the EHLO reply and the first body segment, same
    bytes, half-way between the original and the peer's next segment (the
    one that acknowledges it), as a sender with a short RTO would."""
    out = list(segs)
    for tag in ("ehlo_reply", "ehlo", "body"):
        idx = data_segs(out, tag)
        if not idx:
            continue
        i = idx[0]
        nxt = next(s for s in out[i + 1:] if s.side != out[i].side)
        dup = out[i].copy()
        dup.ts = out[i].ts + (nxt.ts - out[i].ts) // 2
        out.append(dup)
    out.sort(key=lambda s: s.ts)
    return out


def shape_dup(segs):
    """SPAN session mirroring both ports: every packet twice."""
    out = []
    for s in segs:
        d = s.copy()
        d.ts = s.ts + 3
        out += [s, d]
    return out


def shape_midstream(segs):
    """The capture starts after the banner: no SYN, no greeting."""
    first = data_segs(segs, "ehlo")[0]
    return segs[first:]


def shape_conflict(segs):
    """A 'retransmission' of the EHLO reply with other bytes: SIZE 10240000
    became SIZE 99999999 (same length, so the outcome does not depend on
    which copy reassembly keeps)."""
    out = list(segs)
    i = data_segs(out, "ehlo_reply")[0]
    bad = out[i].copy()
    assert b"SIZE 10240000" in bad.payload
    bad.payload = bad.payload.replace(b"SIZE 10240000", b"SIZE 99999999")
    bad.ts = out[i].ts + 30000
    out.append(bad)
    out.sort(key=lambda s: s.ts)
    return out


def shape_lost(segs):
    """The mirror dropped the second body segment; the peers did not (it is
    acked), so the hole is never filled."""
    idx = data_segs(segs, "body")
    assert len(idx) >= 3
    return [s for i, s in enumerate(segs) if i != idx[1]]


# --------------------------------------------------------------------------
# Evasions: segments the receiver drops (or ignores), added to a
# conversation; the sensor must reach the verdict the plain one gives.


def broken(seg, **attrs):
    for k, v in attrs.items():
        setattr(seg, k, v)
    return seg


def chaff_before(segs, tag, old, new, **attrs):
    """A copy of the first segment tagged tag, old replaced by new (same
    length), captured just before the real one and broken by attrs so the
    receiver drops it."""
    out = list(segs)
    i = data_segs(out, tag)[0]
    bad = out[i].copy()
    assert old in bad.payload and len(old) == len(new)
    bad.payload = bad.payload.replace(old, new)
    bad.ts = out[i].ts - 10
    out.insert(i, broken(bad, **attrs))
    return out


def rst_before_reply(segs, delta, **attrs):
    """A spoofed server RST right after the EHLO, delta bytes from the
    sequence number the server really sends next."""
    out = list(segs)
    i = data_segs(out, "ehlo")[0]
    reply = out[data_segs(out, "ehlo_reply")[0]]
    rst = Seg(out[i].ts + 10, S, reply.seq + delta, 0, RST)
    out.insert(i + 1, broken(rst, **attrs))
    return out


def shape_oow(segs):
    """The capture ends after the EHLO reply (STARTTLS offered); a client
    segment 64 MiB beyond the server's window carries a line to resync on
    after the hole, then XXXXXXXX."""
    i = data_segs(segs, "ehlo_reply")[-1]
    out = segs[:i + 1]
    ehlo = out[data_segs(out, "ehlo")[0]]
    nxt = (ehlo.seq + len(ehlo.payload) + (64 << 20)) & 0xFFFFFFFF
    reply = out[i]
    out.append(Seg(reply.ts + 2000, C, nxt,
                   reply.seq + len(reply.payload), ACK | PSH,
                   crlf("NOOP", "XXXXXXXX")))
    return out


def with_timestamps(segs):
    """RFC 7323 timestamps on every segment: a millisecond clock per host,
    each echoing the last value its peer sent."""
    base = {C: 100000, S: 7000000}
    last = {C: 0, S: 0}
    for s in segs:
        val = (base[s.side] + (s.ts - BASE_TS_US) // 1000) & 0xFFFFFFFF
        s.tsopt = (val, last[1 - s.side])
        last[s.side] = val
    return segs


def shape_paws(segs):
    """Timestamps on; a stale copy of the EHLO reply (TSval older than the
    banner's) saying STARTTLS arrives first: PAWS drops it."""
    out = with_timestamps(segs)
    banner = out[data_segs(out, "banner")[0]]
    out = chaff_before(out, "ehlo_reply", b"250-XXXXXXXA", b"250-STARTTLS")
    i = data_segs(out, "ehlo_reply")[0]
    out[i].tsopt = ((banner.tsopt[0] - 5000) & 0xFFFFFFFF, banner.tsopt[1])
    return out


def shape_keepalive(segs):
    """Between the EHLO reply and STARTTLS the client sends keep-alives at
    its next sequence number minus one: Windows' with one byte that is not
    the byte sent there (0x00 for the EHLO's LF), and a zero-byte one."""
    out = list(segs)
    i = data_segs(out, "starttls")[0]
    st = out[i]
    for k, pl in enumerate((b"\x00", b"")):
        out.insert(i + k, Seg(st.ts - 40 + 10 * k, C, st.seq - 1, st.ack,
                              ACK, pl))
    return out


def shape_skew(segs):
    """SPAN with skewed directions: the first segment of the EHLO reply is
    captured after the client's next segment, which acknowledges it."""
    out = list(segs)
    i = data_segs(out, "ehlo_reply")[0]
    first = out.pop(i)
    j = next(k for k in range(i, len(out)) if out[k].side == C and
             out[k].payload)
    first.ts = out[j].ts + 30
    out.insert(j + 1, first)
    return out


def offloaded(segs, side=S):
    """tcpdump on the sender: its checksums hold the pseudo-header sum."""
    for s in segs:
        if s.side == side:
            s.csum = "partial"
    return segs


def conv_asa_split_first(rng):
    """conv_asa with the EHLO reply in two segments, the masked line in the
    first."""
    script = conv_asa(rng)
    for i, st in enumerate(script):
        if len(st) > 2 and st[2].get("tag") == "ehlo_reply":
            script[i] = (st[0], st[1], {"tag": "ehlo_reply", "chunks": [100]})
    return script


# --------------------------------------------------------------------------
# Packets and encapsulations


class Endpoints:
    def __init__(self, conn):
        self.addr = conn.addr
        self.port = conn.port
        self.v6 = conn.v6


def tcp_bytes(ep, s, src, dst):
    """The TCP segment; optional attributes of s: tsopt (TSval, TSecr) adds
    the timestamps option, csum "bad" or "partial" breaks the checksum (a
    receiver drops it / what transmit offload leaves)."""
    side = s.side
    opts = b""
    if s.flags & SYN:
        opts = (b"\x02\x04" + u16(MSS) + b"\x01\x01\x04\x02" +
                b"\x01\x03\x03\x07")   # MSS, SACK permitted, wscale 7
    tsopt = getattr(s, "tsopt", None)
    if tsopt:
        opts += b"\x01\x01\x08\x0a" + struct.pack("!II", *tsopt)
    hlen = 20 + len(opts)
    win = 64240 if side == C else 65160
    hdr = struct.pack("!HHIIBBHHH", ep.port[side], ep.port[1 - side], s.seq,
                      s.ack, (hlen // 4) << 4, s.flags, win, 0, 0) + opts
    seg = hdr + s.payload
    if ep.v6:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), 6)
    else:
        pseudo = src + dst + struct.pack("!xBH", 6, len(seg))
    c = csum(pseudo + seg)
    mode = getattr(s, "csum", None)
    if mode == "bad":
        c ^= 0x5A5A
    elif mode == "partial":
        c = ~csum(pseudo) & 0xFFFF     # the pseudo-header sum only
    return seg[:16] + u16(c) + seg[18:]


def ip4_header(src, dst, proto, plen, ident, ttl=64, frag=0x4000,
               bad=False):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + plen, ident, frag, ttl,
                    proto, 0, src, dst)
    return h[:10] + u16(csum(h) ^ (0x5A5A if bad else 0)) + h[12:]


def ip_packet(ep, s, ident):
    """The IPv4 or IPv6 packet carrying segment s."""
    side = s.side
    if ep.v6:
        src, dst = ip6_bytes(ep.addr[side]), ip6_bytes(ep.addr[1 - side])
        tcp = tcp_bytes(ep, s, src, dst)
        return struct.pack("!IHBB", 0x60000000, len(tcp), 6, 64) + src + dst \
            + tcp
    src, dst = ip4_bytes(ep.addr[side]), ip4_bytes(ep.addr[1 - side])
    tcp = tcp_bytes(ep, s, src, dst)
    return ip4_header(src, dst, 6, len(tcp), ident,
                      bad=getattr(s, "ipcsum_bad", False)) + tcp


MAC = {C: b"\x52\x54\x00\x12\x34\x56", S: b"\x00\x1b\x21\xab\xcd\xef"}
TAP_MAC = (b"\x00\x50\x56\x01\x02\x03", b"\x00\x50\x56\x0a\x0b\x0c")


def eth(side, etype, payload):
    return MAC[1 - side] + MAC[side] + u16(etype) + payload


def ethertype(ep):
    return 0x86DD if ep.v6 else 0x0800


def enc_ether(ep, s, ip):
    return [eth(s.side, ethertype(ep), ip)]


def enc_vlan(ep, s, ip):
    return [eth(s.side, 0x8100, u16(100) + u16(ethertype(ep)) + ip)]


def enc_qinq(ep, s, ip):
    return [eth(s.side, 0x88A8, u16(3000) + u16(0x8100) + u16(100) +
                u16(ethertype(ep)) + ip)]


def enc_sll(ep, s, ip):
    pkttype = 0 if s.side == S else 4       # to us / outgoing
    return [struct.pack("!HHH", pkttype, 1, 6) + MAC[s.side] + b"\0\0" +
            u16(ethertype(ep)) + ip]


def enc_sll2(ep, s, ip):
    pkttype = 0 if s.side == S else 4
    return [u16(ethertype(ep)) + b"\0\0" + struct.pack("!IHBB", 2, 1,
                                                       pkttype, 6) +
            MAC[s.side] + b"\0\0" + ip]


def enc_raw(ep, s, ip):
    return [ip]


def enc_null(ep, s, ip):
    # host byte order of the capturing machine: little-endian here
    return [struct.pack("<I", 30 if ep.v6 else 2) + ip]


def enc_mpls(ep, s, ip):
    outer = (1001 << 12) | (0 << 9) | (0 << 8) | 63
    inner = (2002 << 12) | (0 << 9) | (1 << 8) | 63
    return [eth(s.side, 0x8847, struct.pack("!II", outer, inner) + ip)]


TUN_SRC, TUN_DST = ip4_bytes("10.255.0.1"), ip4_bytes("10.255.0.2")


def outer_ip(proto, payload, ident):
    """The mirror's tunnel: Ethernet and IPv4 from the tap to the sensor."""
    return (TAP_MAC[1] + TAP_MAC[0] + u16(0x0800) +
            ip4_header(TUN_SRC, TUN_DST, proto, len(payload), ident) +
            payload)


class Counter:
    def __init__(self):
        self.n = 0

    def next(self):
        self.n += 1
        return self.n


def enc_gre(ep, s, ip, ctr=None):
    gre = u16(0) + u16(ethertype(ep))
    return [outer_ip(47, gre + ip, ctr.next() if ctr else 1)]


def enc_erspan2(ep, s, ip, ctr=None):
    n = ctr.next() if ctr else 1
    # GRE with the sequence bit, protocol 0x88be; ERSPAN type II header:
    # ver 1, VLAN 0, CoS 0, En 0, T 0, session 7; reserved, index 0
    gre = u16(0x1000) + u16(0x88BE) + struct.pack("!I", n)
    hdr = struct.pack("!HHI", (1 << 12) | 0, 7, 0)
    inner = eth(s.side, ethertype(ep), ip)
    return [outer_ip(47, gre + hdr + inner, n)]


def enc_erspan3(ep, s, ip, ctr=None):
    n = ctr.next() if ctr else 1
    # GRE with sequence, protocol 0x22eb; ERSPAN type III header: ver 2,
    # VLAN 0, session 7, a timestamp, SGT 0, flags (gra 01 = 100 ns ts),
    # no optional platform subheader
    gre = u16(0x1000) + u16(0x22EB) + struct.pack("!I", n)
    hdr = (struct.pack("!HH", (2 << 12) | 0, 7) +
           struct.pack("!I", (s.ts // 100) & 0xFFFFFFFF) +
           struct.pack("!HH", 0, (1 << 1)))
    inner = eth(s.side, ethertype(ep), ip)
    return [outer_ip(47, gre + hdr + inner, n)]


def enc_vxlan(ep, s, ip, ctr=None):
    n = ctr.next() if ctr else 1
    inner = eth(s.side, ethertype(ep), ip)
    vx = struct.pack("!II", 0x08000000, 5001 << 8)
    udp_payload = vx + inner
    udp = struct.pack("!HHHH", 49152 + (n % 1000), 4789, 8 + len(udp_payload),
                      0) + udp_payload
    return [outer_ip(17, udp, n)]


FRAG_SIZE = 104         # bytes of IP payload per fragment (13 * 8)


def fragments(ip, order_reverse=False):
    """Cut an IPv4 packet into fragments of FRAG_SIZE payload bytes."""
    hdr, data = ip[:20], ip[20:]
    ident = struct.unpack("!H", hdr[4:6])[0]
    src, dst, proto = hdr[12:16], hdr[16:20], hdr[9]
    out = []
    for off in range(0, len(data), FRAG_SIZE):
        part = data[off:off + FRAG_SIZE]
        more = off + FRAG_SIZE < len(data)
        frag = (0x2000 if more else 0) | (off // 8)
        out.append(ip4_header(src, dst, proto, len(part), ident, frag=frag) +
                   part)
    return out[::-1] if order_reverse else out


def enc_frag(ep, s, ip):
    if s.tag == "ehlo_reply":
        return [eth(s.side, 0x0800, f) for f in fragments(ip, True)]
    if s.tag in ("body", "banner"):
        return [eth(s.side, 0x0800, f) for f in fragments(ip)]
    return [eth(s.side, 0x0800, ip)]


IP6_NH_HOPOPTS, IP6_NH_ROUTING, IP6_NH_FRAGMENT, IP6_NH_DSTOPTS = 0, 43, 44, 60


def ip6_ext(nh, body=b"\x01\x04\x00\x00\x00\x00"):
    """An 8-byte IPv6 extension header: next header nh, then body (PadN
    by default; a routing header passes its own, segments left 0)."""
    return u8(nh) + u8(0) + body


def ip6_with_exts(ip, kinds):
    """Insert extension headers of the given kinds (in order) between the
    IPv6 header and its payload; the payload length grows with them."""
    nh, payload = ip[6], ip[40:]
    chain = b""
    for k in reversed(kinds):
        body = b"\x00\x00\x00\x00\x00\x00"      # routing: type 0 sl 0
        chain = (ip6_ext(nh, body) if k == IP6_NH_ROUTING else
                 ip6_ext(nh)) + chain
        nh = k
    payload = chain + payload
    return ip[:4] + u16(len(payload)) + u8(nh) + ip[7:40] + payload


def enc_ipv6_ext(ep, s, ip):
    """Server packets behind hop-by-hop, destination options and routing
    headers, client packets behind routing and destination options: TCP
    is never the first next header."""
    kinds = ([IP6_NH_HOPOPTS, IP6_NH_DSTOPTS, IP6_NH_ROUTING] if s.side == S
             else [IP6_NH_ROUTING, IP6_NH_DSTOPTS])
    return [eth(s.side, 0x86DD, ip6_with_exts(ip, kinds))]


def frag6(ip, off, part, more, ident):
    """One IPv6 fragment of ip (no extension headers) carrying part of its
    payload at byte offset off."""
    fh = u8(ip[6]) + u8(0) + u16(off | (1 if more else 0)) + \
        struct.pack("!I", ident)
    body = fh + part
    return ip[:4] + u16(len(body)) + u8(IP6_NH_FRAGMENT) + ip[7:40] + body


def forged_train(ip, v6):
    """The EHLO reply's datagram as fragments of FRAG_SIZE, preceded by a
    forged fragment that overlaps two of them in part and says STARTTLS
    where the real bytes say XXXXXXXA. A receiver (Linux, RFC 5722)
    discards the whole datagram; a first-copy-wins reassembler would keep
    the forged bytes."""
    hl = 40 if v6 else 20
    data = ip[hl:]
    pos = data.index(b"XXXXXXXA")
    start = max(0, (pos - 40) // 8 * 8)
    if start % FRAG_SIZE == 0:
        start += 8
    forged = data[start:start + FRAG_SIZE].replace(b"XXXXXXXA", b"STARTTLS")
    if v6:
        ident = 0x5A5A0000 | (len(data) & 0xFFFF)
        mk = (lambda off, part, more: frag6(ip, off, part, more, ident))
    else:
        ident = struct.unpack("!H", ip[4:6])[0]
        mk = (lambda off, part, more: ip4_header(
            ip[12:16], ip[16:20], ip[9], len(part), ident,
            frag=(0x2000 if more else 0) | (off // 8)) + part)
    out = [mk(start, forged, True)]
    for off in range(0, len(data), FRAG_SIZE):
        part = data[off:off + FRAG_SIZE]
        out.append(mk(off, part, off + FRAG_SIZE < len(data)))
    return out


def enc_frag_forged(ep, s, ip):
    """The first copy of the EHLO reply as a forged, overlapping fragment
    train; everything else (the retransmission too) whole."""
    etype = 0x86DD if ep.v6 else 0x0800
    if s.tag == "ehlo_reply":
        return [eth(s.side, etype, f) for f in forged_train(ip, ep.v6)]
    return [eth(s.side, etype, ip)]


def shape_rto_ehlo_reply(segs):
    """The EHLO reply never reached the client (its datagram was
    discarded): the server resends it, whole, after a 200 ms timeout and
    before the client goes on."""
    out = list(segs)
    i = data_segs(out, "ehlo_reply")[0]
    rtx = out[i].copy()
    rtx.tag = "ehlo_reply_rtx"
    rtx.ts = out[i].ts + 200000
    nxt = next(k for k in range(i + 1, len(out)) if out[k].side != S)
    for k in range(nxt, len(out)):
        out[k].ts += 200000 + RTT_US
    out.append(rtx)
    out.sort(key=lambda x: x.ts)
    return out


LINKTYPE = {"ether": 1, "null": 0, "raw": 101, "ipv4": 228, "sll": 113,
            "sll2": 276}


def frames(ep, segs, enc, ident_base):
    """(ts_us, frame) records for segs under encapsulation enc."""
    recs = []
    ctr = Counter()
    ident = ident_base
    for s in segs:
        ident = (ident + 1) & 0xFFFF
        ip = ip_packet(ep, s, ident)
        if enc in (enc_gre, enc_erspan2, enc_erspan3, enc_vxlan):
            fs = enc(ep, s, ip, ctr)
        else:
            fs = enc(ep, s, ip)
        for k, f in enumerate(fs):
            recs.append((s.ts + k, f))
    return recs


# --------------------------------------------------------------------------
# File writers


def write_pcap(path, linktype, recs, nsec=False, big=False, cut=None,
               garbage=None):
    """Classic libpcap file; cut truncates the file at that byte offset,
    garbage is appended after the records."""
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, SNAPLEN, linktype)]
    for ts, f in recs:
        sub = (ts % 1000000) * (1000 if nsec else 1)
        out.append(struct.pack(e + "IIII", ts // 1000000, sub, len(f), len(f))
                   + f)
    data = b"".join(out)
    if cut is not None:
        data = data[:cut]
    if garbage is not None:
        data += garbage
    with open(path, "wb") as fh:
        fh.write(data)


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def pcapng_block(btype, body):
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def pcapng_opt(code, val):
    return struct.pack("<HH", code, len(val)) + pad4(val)


def write_pcapng(path, linktype, recs):
    """pcapng: section header, one interface (microsecond resolution), an
    enhanced packet block per record."""
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + \
        pcapng_opt(4, b"stripwatch pcapgen.py") + pcapng_opt(0, b"")
    idb = struct.pack("<HHI", linktype, 0, SNAPLEN) + \
        pcapng_opt(2, b"mirror0") + pcapng_opt(9, b"\x06") + \
        pcapng_opt(0, b"")
    out = [pcapng_block(0x0A0D0D0A, shb), pcapng_block(1, idb)]
    for ts, f in recs:
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f),
                           len(f)) + pad4(f)
        out.append(pcapng_block(6, body))
    with open(path, "wb") as fh:
        fh.write(b"".join(out))


# --------------------------------------------------------------------------
# Scenarios


def seed_of(name):
    return zlib.crc32(name.encode("ascii"))


def session(name, conv, v6=False, start_us=0, cport=None, sport=25,
            client=None, server=None, isn=None, shape=None, rng=None):
    """Segments of one scripted session."""
    rng = rng or random.Random(seed_of(name))
    c = client or (CLIENT_IP6 if v6 else CLIENT_IP)
    sv = server or (SERVER_IP6 if v6 else SERVER_IP)
    conn = Conn(rng, c, sv, cport or rng.randrange(32768, 60999), sport,
                start_us, isn)
    conn.handshake()
    segs = run_script(conn, conv(rng))
    if shape:
        segs = shape(segs)
    return Endpoints(conn), segs


def one(outdir, name, conv, enc=enc_ether, link="ether", writer="pcap",
        v6=False, shape=None, isn=None, sport=25, **kw):
    ep, segs = session(name, conv, v6=v6, shape=shape, isn=isn, sport=sport)
    recs = frames(ep, segs, enc, seed_of(name) & 0xFFFF)
    path = os.path.join(outdir, name)
    if writer == "pcapng":
        write_pcapng(path, LINKTYPE[link], recs)
    else:
        write_pcap(path, LINKTYPE[link], recs, **kw)
    return recs


def wrap_isn(name, conv):
    """A server ISN that puts 2^32 thirty bytes into the EHLO reply; the
    reply is sent in two segments so one straddles the wrap."""
    rng = random.Random(seed_of(name))
    script = conv(rng)
    banner = script[0][1]
    return (2**32 - 1 - len(banner) - 30) & 0xFFFFFFFF


def conv_asa_split(rng):
    script = conv_asa(rng)
    for i, st in enumerate(script):
        if len(st) > 2 and st[2].get("tag") == "ehlo_reply":
            script[i] = (st[0], st[1], {"tag": "ehlo_reply", "chunks": [60]})
    return script


def gen_interleaved(outdir, name):
    """Four sessions at once, their packets interleaved in time."""
    rng = random.Random(seed_of(name))
    parts = [
        (conv_starttls, CLIENT_IP, "192.0.2.11", 0),
        (conv_asa, "192.0.2.12", SERVER_IP, 7000),
        (conv_refused, "192.0.2.13", "198.51.100.26", 13000),
        (conv_no_starttls, CLIENT_IP6, SERVER_IP6, 21000),
    ]
    recs = []
    for k, (conv, cl, sv, start) in enumerate(parts):
        sub = random.Random(rng.getrandbits(32))
        ep, segs = session(name, conv, start_us=start, client=cl, server=sv,
                           cport=40000 + 1111 * k, rng=sub)
        recs += frames(ep, segs, enc_ether, 1000 * k)
    recs.sort(key=lambda r: r[0])
    write_pcap(os.path.join(outdir, name), 1, recs)


def conv_ehlo_421(rng):
    """The server answers EHLO with 421: it is shutting down."""
    return [(S, crlf(POSTFIX_BANNER), {"tag": "banner"}), ehlo_step(),
            (S, crlf("421 4.3.2 Service shutting down, closing "
                     "transmission channel"), {"tag": "ehlo_reply"})]


def gen_sequence(convs, sport=25):
    """A generator writing one session per conversation, to one server,
    one after another (10 s apart): a server's history in one file."""
    def gen(outdir, name):
        rng = random.Random(seed_of(name))
        recs = []
        for k, conv in enumerate(convs):
            sub = random.Random(rng.getrandbits(32))
            ep, segs = session(name, conv, start_us=10000000 * k,
                               cport=41000 + k, sport=sport, rng=sub)
            recs += frames(ep, segs, enc_ether, 2000 * k)
        write_pcap(os.path.join(outdir, name), 1, recs)
    return gen


def gen_truncated(outdir, name):
    """The ASA conversation, the file cut in the middle of a record that
    follows the EHLO reply."""
    ep, segs = session(name, conv_asa)
    recs = frames(ep, segs, enc_ether, 7)
    at = [i for i, s in enumerate(segs) if s.tag == "body"][0]
    off = 24 + sum(16 + len(f) for _, f in recs[:at]) + 16 + 40
    write_pcap(os.path.join(outdir, name), 1, recs, cut=off)


def gen_garbage(outdir, name):
    """The ASA conversation up to the reply to MAIL, then text where the
    next record header should be."""
    ep, segs = session(name, conv_asa)
    recs = frames(ep, segs, enc_ether, 9)
    at = [i for i, s in enumerate(segs) if s.tag == "body"][0]
    write_pcap(os.path.join(outdir, name), 1, recs[:at],
               garbage=b"this is not a pcap record, just text\n" * 8)


SERVER_GROUPS = [
    # (servers, address format, encapsulation, IPv6)
    (10, "198.51.100.%d", enc_ether, False),
    (4, "2001:db8:2::%x", enc_ether, True),
    (2, "198.51.101.%d", enc_vlan, False),
    (2, "198.51.102.%d", enc_frag, False),
]
SERVER_KINDS = ["offer", "offer", "offered_plain", "none", "refused", "cert2"]


def server_history_expected(kinds):
    """What stripwatch's policy (README, "What it detects") makes of one
    server's sessions in this order: outcomes, events (kind, severity),
    and the servers row's counts."""
    offered = accepted = 0
    cert = None
    outcomes, events = [], []
    for k in kinds:
        has_offer = k != "none"
        if not has_offer and offered >= 1:
            events.append(("starttls_vanished", "high"))
        if k == "refused":
            events.append(("starttls_refused",
                           "high" if accepted > 0 else "medium"))
        shown = {"offer": "cert", "cert2": "cert2"}.get(k)
        if shown and cert and shown != cert:
            events.append(("certificate_changed", "medium"))
        outcomes.append({"offer": "tls", "cert2": "tls",
                         "offered_plain": "plaintext_offered",
                         "refused": "refused"}.get(k) or
                        ("stripped" if offered >= 1 else "plaintext"))
        offered += has_offer
        accepted += k in ("offer", "cert2")
        cert = shown or cert
    return outcomes, events, {"sessions": len(kinds), "offered": offered,
                              "accepted": accepted, "cert": cert}


def gen_servers(path, sessions_per_server=6):
    """Many servers, each seen in several sessions by several clients:
    some sessions lose the STARTTLS offer (starttls_vanished), refuse it
    (starttls_refused, raised to high after an accepted STARTTLS) or show
    another certificate. Servers come plain, IPv6, VLAN-tagged and IPv4
    fragmented. One server's sessions never overlap (each ends before the
    next begins); different servers' do. Writes the capture to path and
    returns what it must give: sessions (tuple, outcome), events (kind,
    severity, server, count) and servers rows (counts, certificate)."""
    rng = random.Random(seed_of("servers"))
    certs = {"cert": CERT_PEM,
             "cert2": os.path.join(os.path.dirname(CERT_PEM),
                                   "pcapgen-cert2.pem")}
    sha = {k: hashlib.sha256(cert_der(p)).hexdigest()
           for k, p in certs.items()}
    convs = {"offer": lambda r: conv_starttls(r, "1.2"),
             "cert2": lambda r: conv_starttls(r, "1.2", cert=certs["cert2"]),
             "offered_plain": conv_offered_not_requested,
             "none": conv_no_starttls, "refused": conv_refused}
    servers = []
    for n, fmt, enc, v6 in SERVER_GROUPS:
        for i in range(n):
            servers.append((fmt % (101 + len(servers)), enc, v6))
    period = 400000         # longer than any one session
    step = period // len(servers)
    recs, want = [], {"sessions": [], "events": [], "servers": []}
    for si, (server, enc, v6) in enumerate(servers):
        kinds = SERVER_KINDS[:]
        rng.shuffle(kinds)
        kinds = (kinds * sessions_per_server)[:sessions_per_server]
        outcomes, events, row = server_history_expected(kinds)
        for k, kind in enumerate(kinds):
            client = ("2001:db8:1::%x" if v6 else "192.0.2.%d") % (10 + k)
            cport = 40000 + 100 * si + k
            ep, segs = session("servers", convs[kind], v6=v6,
                               start_us=k * period + si * step,
                               cport=cport, client=client, server=server,
                               rng=random.Random(rng.getrandbits(32)))
            recs += frames(ep, segs, enc, (si * 64 + k) * 100)
            want["sessions"].append([client, cport, server, 25,
                                     outcomes[k]])
        for (kind, sev), count in sorted(
                collections.Counter(events).items()):
            want["events"].append([kind, sev, server, 25, count])
        want["servers"].append([server, 25, row["sessions"], row["offered"],
                                row["accepted"], sha.get(row["cert"])])
    recs.sort(key=lambda r: r[0])
    write_pcap(path, 1, recs)
    return want


CERT_NOTE = "cert = tools/pcapgen-cert.pem"

# name, generator, description (what it shows / what stripwatch finds)
SCENARIOS = [
    # clean
    ("clean-starttls-tls12.pcap",
     lambda d, n: one(d, n, lambda r: conv_starttls(r, "1.2")),
     "Postfix, swaks upgrades with STARTTLS, TLS 1.2 with certificate "
     "(ECDHE-ECDSA-AES128-GCM). No event; outcome tls, TLS1.2, SNI "
     "mx.example.net, " + CERT_NOTE + "."),
    ("clean-starttls-tls10.pcap",
     lambda d, n: one(d, n, lambda r: conv_starttls(r, "1.0")),
     "Postfix, STARTTLS, an old client: TLS 1.0 (no supported_versions), "
     "ECDHE-ECDSA-AES128-SHA, certificate. No event; outcome tls, TLS1.0, "
     + CERT_NOTE + "."),
    ("clean-starttls-tls11.pcap",
     lambda d, n: one(d, n, lambda r: conv_starttls(r, "1.1")),
     "As clean-starttls-tls10 with TLS 1.1. No event; outcome tls, "
     "TLS1.1, " + CERT_NOTE + "."),
    ("hist-new-certificate.pcap",
     lambda d, n: one(d, n, lambda r: conv_starttls(r, "1.2", cert=os.path.join(
         os.path.dirname(CERT_PEM), "pcapgen-cert2.pem"))),
     "The server of clean-starttls-tls12 showing another certificate "
     "(tools/pcapgen-cert2.pem). Alone: no event. Read after "
     "clean-starttls-tls12 into the same database (another run): "
     "certificate_changed."),
    ("clean-starttls-tls13.pcap",
     lambda d, n: one(d, n, conv_exim_tls13),
     "Exim, STARTTLS then TLS 1.3 (supported_versions 0x0304, "
     "TLS_AES_128_GCM_SHA256, certificate encrypted). No event; outcome "
     "tls, TLS1.3, no cert_sha256."),
    ("clean-no-starttls.pcap",
     lambda d, n: one(d, n, conv_no_starttls),
     "Postfix without STARTTLS, mail delivered in plaintext. No event; "
     "outcome plaintext."),
    ("clean-exchange.pcap",
     lambda d, n: one(d, n, conv_exchange),
     "Exchange EHLO reply with XEXCH50, X-ANONYMOUSTLS, XRDST, X-EXPS and "
     "STARTTLS; client upgrades, TLS 1.2. No event (X extensions are not "
     "masks); outcome tls."),
    ("clean-body-quotes.pcap",
     lambda d, n: one(d, n, conv_body_quotes),
     "Exim without STARTTLS; the DATA body quotes 250-XXXXXXXA, XXXXXXXX, "
     "STARTTLS, a 220, EHLO x, 500 and 454 lines. No event; outcome "
     "plaintext; helo client.example.org."),
    ("clean-pipelined.pcap",
     lambda d, n: one(d, n, conv_pipelined),
     "PIPELINING: MAIL/RCPT/RCPT/DATA in one segment, four replies in one; "
     "a second pipelined group rejected. No event; outcome plaintext."),
    ("clean-offered-not-requested.pcap",
     lambda d, n: one(d, n, conv_offered_not_requested),
     "STARTTLS offered, the client never asks. No event; outcome "
     "plaintext_offered."),
    ("hist-ehlo-421.pcap",
     gen_sequence([lambda r: conv_starttls(r, "1.2"), conv_ehlo_421]),
     "Two sessions to one server: a STARTTLS upgrade (TLS 1.2), then EHLO "
     "answered 421 4.3.2 (shutting down). The server is going away, not "
     "hiding STARTTLS: no event; outcomes tls, incomplete."),
    ("clean-interleaved.pcap", gen_interleaved,
     "Four sessions at once, packets interleaved: TLS 1.2 upgrade, ASA "
     "masking, 454 refusal, IPv6 plaintext. Events capability_masked and "
     "starttls_refused; outcomes tls, stripped, refused, plaintext."),
    # positive
    ("pos-asa-masked.pcap",
     lambda d, n: one(d, n, conv_asa),
     "Cisco ASA rewrote 250-STARTTLS to 250-XXXXXXXA; mail in plaintext. "
     "Event capability_masked; outcome stripped."),
    ("pos-asa-exchange.pcap",
     lambda d, n: one(d, n, conv_asa_exchange),
     "Exchange 2003 behind an ASA: banner masked to 220 ***...**0****0*** "
     "(only '0', '2' and spaces kept), "
     "250-XXXA, 250-XXXXXXXB ... 250 XH, no STARTTLS. Events "
     "capability_masked, banner_masked; outcome stripped."),
    ("pos-cmd-masked.pcap",
     lambda d, n: one(d, n, conv_cmd_masked),
     "STARTTLS offered; the ISP rewrote the client's STARTTLS to XXXXXXXX, "
     "answered 500 5.5.1 Command unrecognized; mail in plaintext. Event "
     "command_masked; outcome stripped."),
    ("pos-refused-454.pcap",
     lambda d, n: one(d, n, conv_refused),
     "STARTTLS answered 454 4.7.0 TLS not available due to local problem; "
     "mail in plaintext. Event starttls_refused; outcome refused."),
    ("pos-plaintext-after-starttls.pcap",
     lambda d, n: one(d, n, conv_plaintext_after),
     "220 to STARTTLS, then a plaintext EHLO and mail. Event "
     "plaintext_after_starttls; outcome stripped."),
    ("pos-cmd-injection.pcap",
     lambda d, n: one(d, n, conv_cmd_injection),
     "STARTTLS\\r\\nRSET\\r\\n in one client segment, 220, then a TLS 1.2 "
     "handshake. Event starttls_injection; outcome stripped."),
    ("pos-resp-injection.pcap",
     lambda d, n: one(d, n, conv_resp_injection),
     "220 2.0.0 Ready to start TLS\\r\\n250 injected\\r\\n in one server "
     "segment, then TLS 1.2. Event starttls_injection; outcome stripped."),
]

ENCAPS = [
    ("ether", enc_ether, "ether", "Ethernet"),
    ("vlan", enc_vlan, "ether", "802.1Q VLAN 100"),
    ("qinq", enc_qinq, "ether", "QinQ: 802.1ad (0x88a8) S-tag 3000 around "
     "802.1Q VLAN 100"),
    ("sll", enc_sll, "sll", "Linux cooked v1 (LINKTYPE_LINUX_SLL)"),
    ("sll2", enc_sll2, "sll2", "Linux cooked v2 (LINKTYPE_LINUX_SLL2)"),
    ("raw", enc_raw, "raw", "raw IP (LINKTYPE_RAW 101)"),
    ("ipv4", enc_raw, "ipv4", "raw IPv4 (LINKTYPE_IPV4 228)"),
    ("null", enc_null, "null", "BSD NULL loopback (AF_INET, little-endian)"),
    ("mpls", enc_mpls, "ether", "Ethernet, two MPLS labels"),
    ("gre", enc_gre, "ether", "IPv4 inside GRE inside IPv4"),
    ("erspan2", enc_erspan2, "ether", "ERSPAN type II (GRE 0x88be, "
     "sequence number) carrying Ethernet"),
    ("erspan3", enc_erspan3, "ether", "ERSPAN type III (GRE 0x22eb) "
     "carrying Ethernet"),
    ("vxlan", enc_vxlan, "ether", "VXLAN (UDP 4789, VNI 5001) carrying "
     "Ethernet"),
    ("ipfrag", enc_frag, "ether", "IPv4 fragments of 104 bytes: banner and "
     "body in order, the EHLO reply's train in reverse order"),
]

ASA_FINDS = "Event capability_masked; outcome stripped."


def encap_scenarios():
    out = []
    for tag, enc, link, what in ENCAPS:
        out.append(("link-%s.pcap" % tag,
                    (lambda e, l: lambda d, n: one(d, n, conv_asa, enc=e,
                                                   link=l))(enc, link),
                    "ASA-masked conversation, %s. %s" % (what, ASA_FINDS)))
    out += [
        ("link-ipv6.pcap",
         lambda d, n: one(d, n, conv_asa, v6=True),
         "ASA-masked conversation over IPv6 (2001:db8:1::10 -> "
         "2001:db8:2::25). " + ASA_FINDS),
        ("link-ipv6-ext.pcap",
         lambda d, n: one(d, n, conv_asa, v6=True, enc=enc_ipv6_ext),
         "ASA-masked conversation over IPv6, TCP behind extension headers: "
         "server packets hop-by-hop, destination options, routing; client "
         "packets routing, destination options. The default filter must "
         "let them through. " + ASA_FINDS),
        ("link-pcapng.pcapng",
         lambda d, n: one(d, n, conv_asa, writer="pcapng"),
         "ASA-masked conversation in pcapng (SHB, IDB, EPBs). " + ASA_FINDS),
        ("link-pcap-nsec-be.pcap",
         lambda d, n: one(d, n, conv_asa, nsec=True, big=True),
         "ASA-masked conversation in a big-endian nanosecond pcap. " +
         ASA_FINDS),
    ]
    return out


SHAPES = [
    ("tcp-out-of-order.pcap", shape_ooo, None,
     "EHLO-reply and body segments swapped in capture order. " + ASA_FINDS),
    ("tcp-retransmit.pcap", shape_retrans, None,
     "EHLO, EHLO reply and a body segment retransmitted before the peer's "
     "ACK, same bytes. " + ASA_FINDS + " No reassembly_conflict."),
    ("tcp-span-dup.pcap", shape_dup, None,
     "Every packet twice (SPAN of both ports). " + ASA_FINDS +
     " No reassembly_conflict."),
    ("tcp-seq-wrap.pcap", None, "wrap",
     "Server sequence numbers wrap 2^32 thirty bytes into the EHLO reply, "
     "sent in two segments. " + ASA_FINDS),
    ("tcp-midstream.pcap", shape_midstream, None,
     "Capture joined after the banner: no SYN, starts with EHLO. " +
     ASA_FINDS),
    ("tcp-conflict.pcap", shape_conflict, None,
     "A copy of the EHLO reply segment with SIZE 99999999 for SIZE "
     "10240000. Events capability_masked, reassembly_conflict; outcome "
     "stripped."),
    ("tcp-lost-segment.pcap", shape_lost, None,
     "The second body segment never captured (acked by the peer): "
     "gaps >= 1, parser resyncs. " + ASA_FINDS),
]


def shape_scenarios():
    out = []
    for name, shape, special, what in SHAPES:
        if special == "wrap":
            fn = (lambda d, n: one(d, n, conv_asa_split,
                                   isn=(random.Random(1).getrandbits(32),
                                        wrap_isn(n, conv_asa_split))))
        else:
            fn = (lambda sh: lambda d, n: one(d, n, conv_asa,
                                              shape=sh))(shape)
        out.append((name, fn, what))
    out.append(("tcp-tls12-ooo-dup.pcap",
                lambda d, n: one(d, n, lambda r: conv_starttls(r, "1.2", True),
                                 shape=lambda s: shape_dup(shape_ooo(s))),
                "Clean TLS 1.2 upgrade; the EHLO reply and the server's TLS "
                "flight each in two segments, swapped; every packet twice. "
                "No event; outcome tls, TLS1.2, " + CERT_NOTE + "."))
    return out


PLAIN_ASA = "Same verdict as pos-asa-masked: " + ASA_FINDS
PLAIN_TLS = ("Same verdict as clean-starttls-tls12: no event; outcome tls.")

EVASIONS = [
    ("evade-chaff-csum.pcap", conv_asa,
     lambda s: chaff_before(s, "ehlo_reply", b"250-XXXXXXXA",
                            b"250-STARTTLS", csum="bad"),
     "ASA conversation; just before the real EHLO reply, a copy saying "
     "250-STARTTLS with a bad TCP checksum. " + PLAIN_ASA),
    ("evade-chaff-ipcsum.pcap", conv_asa,
     lambda s: chaff_before(s, "ehlo_reply", b"250-XXXXXXXA",
                            b"250-STARTTLS", ipcsum_bad=True),
     "As evade-chaff-csum, the chaff's IPv4 header checksum bad instead. " +
     PLAIN_ASA),
    ("evade-chaff-masked.pcap", lambda r: conv_starttls(r, "1.2"),
     lambda s: chaff_before(s, "ehlo_reply", b"250-STARTTLS",
                            b"250-XXXXXXXA", csum="bad"),
     "Clean TLS 1.2 upgrade; before the real EHLO reply, a copy saying "
     "250-XXXXXXXA with a bad TCP checksum. " + PLAIN_TLS),
    ("evade-rst-inexact.pcap", conv_asa,
     lambda s: rst_before_reply(s, 1000),
     "ASA conversation; after the EHLO a spoofed server RST 1000 bytes "
     "into the window (RFC 5961: not taken). " + PLAIN_ASA),
    ("evade-rst-outside.pcap", conv_asa,
     lambda s: rst_before_reply(s, 1 << 29),
     "As evade-rst-inexact, the RST 2^29 bytes away, outside the window. " +
     PLAIN_ASA),
    ("evade-rst-badcsum.pcap", conv_asa,
     lambda s: rst_before_reply(s, 0, csum="bad"),
     "As evade-rst-inexact, the RST at the exact sequence number but with "
     "a bad checksum. " + PLAIN_ASA),
    ("evade-oow-data.pcap", conv_offered_not_requested, shape_oow,
     "STARTTLS offered, capture ends after the EHLO reply; a client "
     "segment 64 MiB beyond the server's window says XXXXXXXX. Same "
     "verdict as without it: no event; outcome plaintext_offered."),
    ("evade-paws.pcap", conv_asa, shape_paws,
     "ASA conversation with TCP timestamps; a copy of the EHLO reply "
     "saying 250-STARTTLS, its TSval older than the banner's, arrives "
     "first (PAWS). " + PLAIN_ASA),
    ("evade-keepalive.pcap", lambda r: conv_starttls(r, "1.2"),
     shape_keepalive,
     "Clean TLS 1.2 upgrade with a Windows one-byte keep-alive (0x00 at "
     "the EHLO's last byte) and a zero-byte one before STARTTLS. " +
     PLAIN_TLS + " No reassembly_conflict."),
    ("evade-span-skew.pcap", conv_asa_split_first, shape_skew,
     "ASA conversation, EHLO reply in two segments; the first (holding "
     "250-XXXXXXXA) is captured after the client's MAIL, which "
     "acknowledges it. " + PLAIN_ASA + " gaps=0."),
    ("evade-offload-chaff.pcap", conv_asa,
     lambda s: chaff_before(offloaded(s), "ehlo_reply", b"250-XXXXXXXA",
                            b"250-STARTTLS", csum="bad"),
     "ASA conversation captured on the server (its checksums hold the "
     "pseudo-header sum: transmit offload); chaff saying 250-STARTTLS with "
     "a checksum that is neither right nor offloaded. " + PLAIN_ASA),
    ("tcp-offload-server.pcap", conv_asa, offloaded,
     "ASA conversation captured with tcpdump on the server: every server "
     "segment's checksum holds only the pseudo-header sum. " + PLAIN_ASA),
]


def evasion_scenarios():
    return [(name, (lambda c, sh: lambda d, n: one(d, n, c, shape=sh))(
        conv, shape), what) for name, conv, shape, what in EVASIONS]


BROKEN = [
    ("bad-truncated.pcap", gen_truncated,
     "ASA-masked conversation, file cut in the middle of the first body "
     "record. Exit non-zero with an error; the session (capability_masked, "
     "stripped) is still written."),
    ("bad-garbage.pcap", gen_garbage,
     "ASA-masked conversation up to DATA, then text instead of a record "
     "header. Exit non-zero with an error; the session (capability_masked, "
     "stripped) is still written."),
]


FRAG_FORGED_WHAT = (
    "the EHLO reply's first copy arrives as IP fragments led by a forged "
    "fragment that overlaps two real ones in part and says STARTTLS where "
    "they say XXXXXXXA; the receiver discards the datagram (RFC 5722, "
    "Linux), the server resends the segment whole 200 ms later. " +
    ASA_FINDS + " No reassembly_conflict: the forged bytes never count.")

FRAG_EVASIONS = [
    ("frag-overlap-v4.pcap",
     lambda d, n: one(d, n, conv_asa, enc=enc_frag_forged,
                      shape=shape_rto_ehlo_reply),
     "ASA-masked conversation, IPv4: " + FRAG_FORGED_WHAT),
    ("frag-overlap-v6.pcap",
     lambda d, n: one(d, n, conv_asa, v6=True, enc=enc_frag_forged,
                      shape=shape_rto_ehlo_reply),
     "ASA-masked conversation, IPv6: " + FRAG_FORGED_WHAT),
]


# --------------------------------------------------------------------------
# IMAP (RFC 3501, RFC 9051) on port 143: a Dovecot server and a mail client.

IMAP_PORT = 143
IMAP_NAME = "imap.example.net"
# The password of every cleartext login below: stripwatch must never store,
# log or print it (grep its output for it).
IMAP_PASSWORD = "Imap-Secr3t"
DOVECOT_PRE = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"
DOVECOT_POST = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT "
                "SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "
                "THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE "
                "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
                "I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
                "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
                "PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY "
                "SPECIAL-USE")
# disable_plaintext_auth = yes: STARTTLS offered, LOGIN refused before it
IMAP_TLS_CAPS = DOVECOT_PRE + " STARTTLS LOGINDISABLED"
# disable_plaintext_auth = no: STARTTLS offered, plaintext login allowed
IMAP_OPEN_CAPS = DOVECOT_PRE + " STARTTLS AUTH=PLAIN"
# no TLS configured at all
IMAP_PLAIN_CAPS = DOVECOT_PRE + " AUTH=PLAIN"
IMAP_QUOTES = ["The firewall log shows what the server said:", "",
               "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED",
               "* OK [CAPABILITY IMAP4rev1 XXXXXXXX] Dovecot ready.",
               "a1 STARTTLS", "a1 OK Begin TLS negotiation now.",
               "a2 LOGIN bob secret", "a2 XXXXXXXX", "* PREAUTH Logged in",
               "+OK POP3 ready", "STLS", "USER bob", "PASS secret",
               "the next line ends in a literal {64}", ""]


def imap_greeting(caps, word="OK"):
    return (S, crlf("* %s [CAPABILITY %s] Dovecot (Debian) ready." %
                    (word, caps)), {"tag": "banner"})


def imap_capability(tag, caps):
    return [(C, crlf(tag + " CAPABILITY")),
            (S, crlf("* CAPABILITY " + caps, tag + " OK Pre-login "
                     "capabilities listed, post-login capabilities have "
                     "more."))]


def imap_starttls(tag, answer="OK Begin TLS negotiation now."):
    return [(C, crlf(tag + " STARTTLS"), {"tag": "starttls"}),
            (S, crlf(tag + " " + answer))]


def imap_logged_in(tag):
    return (S, crlf(tag + " OK [CAPABILITY " + DOVECOT_POST + "] Logged in"))


def imap_login(tag):
    return [(C, crlf("%s LOGIN bob %s" % (tag, IMAP_PASSWORD)),
             {"tag": "login"}), imap_logged_in(tag)]


def imap_logout(tag):
    return [(C, crlf(tag + " LOGOUT")),
            (S, crlf("* BYE Logging out",
                     tag + " OK Logout completed (0.001 + 0.000 secs)."))]


def imap_literal(line, data):
    """A line ending in a literal, its bytes, and what follows them."""
    return ("%s {%d}\r\n" % (line, len(data))).encode("ascii") + data


def imap_mailbox(rng, first, extra=()):
    """Logged in: SELECT INBOX, FETCH its message (a literal of the message
    swaks would send, extra lines in its body), LOGOUT; tags a<first>..."""
    msg = mail_body(rng, 1, extra)[:-3]         # without SMTP's "."
    t = ["a%d" % (first + i) for i in range(3)]
    return ([(C, crlf(t[0] + " SELECT INBOX")),
             (S, crlf("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
                      "\\Draft)", "* OK [PERMANENTFLAGS (\\Answered "
                      "\\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
                      "permitted.", "* 1 EXISTS", "* 0 RECENT",
                      "* OK [UIDVALIDITY 1795894700] UIDs valid",
                      "* OK [UIDNEXT 2] Predicted next UID",
                      t[0] + " OK [READ-WRITE] Select completed (0.001 + "
                      "0.000 secs).")),
             (C, crlf(t[1] + " FETCH 1 BODY.PEEK[]")),
             (S, imap_literal("* 1 FETCH (BODY[]", msg) +
              crlf(")", t[1] + " OK Fetch completed (0.001 + 0.000 secs)."),
              {"tag": "body"})] + imap_logout(t[2]))


def imap_plain_ir():
    """A SASL PLAIN response: no authzid, bob, the password."""
    return base64.b64encode(b"\0bob\0" +
                            IMAP_PASSWORD.encode("ascii")).decode("ascii")


def conv_imap_starttls(rng, version="1.2"):
    return ([imap_greeting(IMAP_TLS_CAPS)] +
            imap_capability("a1", IMAP_TLS_CAPS) + imap_starttls("a2") +
            tls_tail(rng, version, cert_der(), IMAP_NAME))


def conv_imap_masked(rng):
    """A middlebox overwrote STARTTLS in the greeting; the client, seeing
    no STARTTLS, logs in in the clear."""
    caps = IMAP_OPEN_CAPS.replace("STARTTLS", "XXXXXXXX")
    return ([imap_greeting(caps)] + imap_login("a1") + imap_mailbox(rng, 2))


def conv_imap_cmd_masked(rng):
    return ([imap_greeting(IMAP_TLS_CAPS),
             (C, crlf("a1 XXXXXXXX"), {"tag": "starttls"}),
             (S, crlf("a1 BAD Error in IMAP command XXXXXXXX: Unknown "
                      "command (0.001 + 0.000 secs)."))] + imap_logout("a2"))


def conv_imap_refused(rng):
    return ([imap_greeting(IMAP_TLS_CAPS)] +
            imap_starttls("a1", "NO STARTTLS is not available") +
            imap_logout("a2"))


def conv_imap_plaintext_after(rng):
    """OK to STARTTLS, then plaintext: the client logs in and reads mail."""
    return ([imap_greeting(IMAP_OPEN_CAPS)] + imap_starttls("a1") +
            imap_login("a2") + imap_mailbox(rng, 3))


def conv_imap_cmd_injection(rng):
    """A LOGIN rides in the STARTTLS segment; OK, then TLS 1.2."""
    return ([imap_greeting(IMAP_OPEN_CAPS),
             (C, crlf("a1 STARTTLS", "a2 LOGIN bob " + IMAP_PASSWORD),
              {"tag": "starttls"}),
             (S, crlf("a1 OK Begin TLS negotiation now."))] +
            tls_tail(rng, "1.2", cert_der(), IMAP_NAME))


def conv_imap_resp_injection(rng):
    """A capability list without STARTTLS rides behind the OK."""
    return ([imap_greeting(IMAP_TLS_CAPS),
             (C, crlf("a1 STARTTLS"), {"tag": "starttls"}),
             (S, crlf("a1 OK Begin TLS negotiation now.",
                      "* CAPABILITY " + IMAP_PLAIN_CAPS))] +
            tls_tail(rng, "1.2", cert_der(), IMAP_NAME))


def conv_imap_preauth(rng):
    return ([imap_greeting(DOVECOT_POST, "PREAUTH")] +
            imap_mailbox(rng, 1))


def conv_imap_logindisabled(rng):
    """LOGINDISABLED shown, the client logs in anyway; Dovecot refuses."""
    return ([imap_greeting(IMAP_TLS_CAPS),
             (C, crlf("a1 LOGIN bob " + IMAP_PASSWORD), {"tag": "login"}),
             (S, crlf("* BAD [ALERT] Plaintext authentication not allowed "
                      "without SSL/TLS, but your client did it anyway. If "
                      "anyone was listening, the password was exposed.",
                      "a1 NO [PRIVACYREQUIRED] Plaintext authentication "
                      "disallowed on non-secure (SSL/TLS) connections."))] +
            imap_logout("a2"))


def conv_imap_auth_ir(rng):
    return ([imap_greeting(IMAP_PLAIN_CAPS),
             (C, crlf("a1 AUTHENTICATE PLAIN " + imap_plain_ir()),
              {"tag": "login"}), imap_logged_in("a1")] +
            imap_mailbox(rng, 2))


def conv_imap_auth_cont(rng):
    return ([imap_greeting(IMAP_PLAIN_CAPS),
             (C, crlf("a1 AUTHENTICATE PLAIN"), {"tag": "login"}),
             (S, crlf("+ ")), (C, crlf(imap_plain_ir())),
             imap_logged_in("a1")] + imap_mailbox(rng, 2))


def conv_imap_quotes(rng):
    """No TLS on this server and CRAM-MD5 only: no password on the wire. A
    fetched and an appended message quote protocol lines."""
    caps = DOVECOT_PRE + " AUTH=CRAM-MD5"
    body = mail_body(rng, 1, IMAP_QUOTES)[:-3]
    return ([imap_greeting(caps),
             (C, crlf("a1 AUTHENTICATE CRAM-MD5"), {"tag": "login"}),
             # "<1795894711.42424@imap.example.net>"; "bob " and its
             # HMAC-MD5 under IMAP_PASSWORD (RFC 2195)
             (S, crlf("+ PDE3OTU4OTQ3MTEuNDI0MjRAaW1hcC5leGFtcGxlLm5ldD4=")),
             (C, crlf("Ym9iIDE5ODkzMjZhNDUyNzQ3MTdkYWIxNmFhODAxYmMyYzI5")),
             imap_logged_in("a1"),
             (C, ("a2 APPEND Sent (\\Seen) {%d}\r\n" %
                  len(body)).encode("ascii")),
             (S, crlf("+ OK")), (C, body + b"\r\n", {"tag": "body"}),
             (S, crlf("a2 OK [APPENDUID 1795894700 2] Append completed."))] +
            imap_mailbox(rng, 3, IMAP_QUOTES))


def conv_imap_vanished(rng):
    """The same server, seen through a relay that deleted STARTTLS and
    LOGINDISABLED: the client logs in in the clear."""
    return ([imap_greeting(IMAP_PLAIN_CAPS)] + imap_login("a1") +
            imap_mailbox(rng, 2))


def imap_one(conv):
    """The generator of a capture of one IMAP session."""
    return lambda d, n: one(d, n, conv, sport=IMAP_PORT)


IMAP_NOTE = ("Dovecot on %s:143, a client from 192.0.2.10; cleartext "
             "logins use bob / %s." % (SERVER_IP, IMAP_PASSWORD))

IMAP_SCENARIOS = [
    ("imap-clean-starttls-tls12.pcap",
     imap_one(conv_imap_starttls),
     "IMAP: greeting with STARTTLS and LOGINDISABLED, CAPABILITY, STARTTLS "
     "answered OK, a TLS 1.2 handshake (" + CERT_NOTE + "). No event; "
     "outcome tls."),
    ("imap-clean-starttls-tls13.pcap",
     imap_one(lambda r: conv_imap_starttls(r, "1.3")),
     "IMAP: the same with a TLS 1.3 handshake. No event; outcome tls."),
    ("imap-clean-body-quotes.pcap",
     imap_one(conv_imap_quotes),
     "IMAP without TLS, AUTHENTICATE CRAM-MD5 (no password on the wire); "
     "an APPENDed and a FETCHed message quote greetings, capabilities with "
     "STARTTLS and XXXXXXXX, STARTTLS, LOGIN, PREAUTH and POP3 lines in "
     "literals. No event; outcome plaintext."),
    ("imap-clean-bye.pcap",
     imap_one(lambda r: [(S, crlf("* BYE Server shutting down."),
                              {"tag": "banner"})]),
     "IMAP: the server refuses service with a BYE greeting. No event; "
     "outcome incomplete."),
    ("imap-pos-capability-masked.pcap",
     imap_one(conv_imap_masked),
     "IMAP: STARTTLS in the greeting's capabilities overwritten with "
     "XXXXXXXX; the client logs in in the clear and fetches mail. Events "
     "capability_masked, cleartext_credentials; outcome stripped."),
    ("imap-pos-cmd-masked.pcap",
     imap_one(conv_imap_cmd_masked),
     "IMAP: STARTTLS offered; the client's a1 STARTTLS became a1 XXXXXXXX, "
     "answered BAD; the client logs out. Event command_masked; outcome "
     "stripped."),
    ("imap-pos-refused.pcap",
     imap_one(conv_imap_refused),
     "IMAP: STARTTLS offered, a1 STARTTLS answered a1 NO; the client logs "
     "out. Event starttls_refused; outcome refused."),
    ("imap-pos-plaintext-after-starttls.pcap",
     imap_one(conv_imap_plaintext_after),
     "IMAP: a1 OK to STARTTLS, then a plaintext LOGIN and mail. Events "
     "plaintext_after_starttls, cleartext_credentials; outcome stripped."),
    ("imap-pos-cmd-injection.pcap",
     imap_one(conv_imap_cmd_injection),
     "IMAP: a1 STARTTLS\\r\\na2 LOGIN bob ... in one client segment, OK, "
     "then TLS 1.2. Events starttls_injection, cleartext_credentials; "
     "outcome stripped."),
    ("imap-pos-resp-injection.pcap",
     imap_one(conv_imap_resp_injection),
     "IMAP: a1 OK Begin TLS...\\r\\n* CAPABILITY ... AUTH=PLAIN in one "
     "server segment, then TLS 1.2. Event starttls_injection; outcome "
     "stripped."),
    ("imap-pos-preauth.pcap",
     imap_one(conv_imap_preauth),
     "IMAP: a * PREAUTH greeting (STARTTLS impossible); the client reads "
     "mail. Event preauth_greeting."),
    ("imap-pos-logindisabled-login.pcap",
     imap_one(conv_imap_logindisabled),
     "IMAP: LOGINDISABLED and STARTTLS shown, the client sends LOGIN "
     "anyway; Dovecot answers * BAD [ALERT] ... and NO [PRIVACYREQUIRED]. "
     "Event cleartext_credentials (high); outcome plaintext_offered."),
    ("imap-pos-auth-plain-ir.pcap",
     imap_one(conv_imap_auth_ir),
     "IMAP without TLS: AUTHENTICATE PLAIN with an initial response "
     "(SASL-IR). Event cleartext_credentials (medium); outcome plaintext."),
    ("imap-pos-auth-plain-cont.pcap",
     imap_one(conv_imap_auth_cont),
     "IMAP without TLS: AUTHENTICATE PLAIN, the response after a + "
     "continuation. Event cleartext_credentials (medium); outcome "
     "plaintext."),
    ("imap-hist-starttls-vanished.pcap",
     gen_sequence([lambda r: conv_imap_starttls(r, "1.2"),
                   conv_imap_vanished], sport=IMAP_PORT),
     "IMAP, two sessions to one server 10 s apart: STARTTLS and TLS 1.2, "
     "then a greeting without STARTTLS and LOGINDISABLED and a cleartext "
     "LOGIN. Events starttls_vanished, cleartext_credentials (high); "
     "outcomes tls, stripped."),
]
IMAP_SCENARIOS = [(n, g, w + " " + IMAP_NOTE) for n, g, w in IMAP_SCENARIOS]


# --------------------------------------------------------------------------
# POP3 (port 110): Dovecot-like server, one conversation per file unless
# said. Credentials are the fixed user bob and password hunter2-PW, so a
# test can look for the password everywhere stripwatch writes.

POP3_PORT = 110
POP3_GREETING = "+OK Dovecot (Debian) ready."
POP3_CAPA = ["+OK", "CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING",
             "AUTH-RESP-CODE", "STLS", "USER", "SASL PLAIN LOGIN", "."]
POP3_CAPA_PLAIN = [l for l in POP3_CAPA if l != "STLS"]
POP3_STLS_OK = "+OK Begin TLS negotiation now."
POP3_USER, POP3_PASSWORD = "bob", "hunter2-PW"


def pop3_login():
    """USER/PASS in lock-step, as a client without TLS logs in."""
    return [(C, crlf("USER " + POP3_USER), {"tag": "user"}),
            (S, crlf("+OK")),
            (C, crlf("PASS " + POP3_PASSWORD)),
            (S, crlf("+OK Logged in."))]


def pop3_plain_response():
    """The SASL PLAIN response of bob (RFC 4616), base64."""
    return base64.b64encode(("\0%s\0%s" % (POP3_USER, POP3_PASSWORD))
                            .encode("ascii")).decode("ascii")


def pop3_mailbox(rng, extra=()):
    """STAT, RETR of one message, QUIT: what a client does after login."""
    body = mail_body(rng, 1, extra)
    return [(C, crlf("STAT")), (S, crlf("+OK 1 %d" % len(body))),
            (C, crlf("RETR 1")),
            (S, crlf("+OK %d octets" % len(body)) + body, {"tag": "body"}),
            (C, crlf("QUIT")), (S, crlf("+OK Logging out."))]


def pop3_open(capa):
    return [(S, crlf(POP3_GREETING), {"tag": "banner"}),
            (C, crlf("CAPA")), (S, crlf(*capa), {"tag": "capa"})]


def conv_pop3_stls(rng, version="1.2"):
    """CAPA offers STLS, the client upgrades, a TLS handshake follows."""
    return (pop3_open(POP3_CAPA) +
            [(C, crlf("STLS"), {"tag": "starttls"}), (S, crlf(POP3_STLS_OK))] +
            tls_tail(rng, version, cert_der()))


def conv_pop3_retr_quotes(rng):
    """No STLS on offer; APOP (a digest, no password) and a message that
    quotes POP3 lines, dot-stuffed where they start with a dot."""
    extra = ["A proxy rewrote our POP3 session. It said:", "",
             "+OK Dovecot (Debian) ready.", "STLS", "XXXX",
             "+OK Begin TLS negotiation now.", "USER bob", "PASS secret",
             "-ERR [AUTH] Authentication failed.", "..", "..XXXX", ""]
    return (pop3_open(POP3_CAPA_PLAIN) +
            [(C, crlf("APOP bob 7f3ad6cbd5d1e0e3a5f5e1c0b3b9a2d1")),
             (S, crlf("+OK Logged in."))] + pop3_mailbox(rng, extra))


def conv_pop3_pipelined(rng):
    """RFC 2449 pipelining: commands in one segment, replies in one."""
    body = mail_body(rng, 0)
    return (pop3_open(POP3_CAPA_PLAIN) +
            [(C, crlf("APOP bob 7f3ad6cbd5d1e0e3a5f5e1c0b3b9a2d1")),
             (S, crlf("+OK Logged in.")),
             (C, crlf("STAT", "LIST", "UIDL 1", "TOP 1 0", "RETR 1",
                      "DELE 1", "QUIT")),
             (S, crlf("+OK 1 %d" % len(body), "+OK 1 messages:",
                      "1 %d" % len(body), ".", "+OK 1 00000001ca5e1c0b",
                      "+OK") + body + crlf("+OK %d octets" % len(body)) +
              body + crlf("+OK Marked to be deleted.", "+OK Logging out, "
                          "messages deleted."))])


def conv_pop3_capa_masked(rng):
    """STLS masked to XXXX in the CAPA list; the client logs in in the
    clear."""
    capa = ["XXXX" if l == "STLS" else l for l in POP3_CAPA]
    return pop3_open(capa) + pop3_login() + pop3_mailbox(rng)


def conv_pop3_cmd_masked(rng):
    """STLS offered; the client's STLS became XXXX on the way."""
    return (pop3_open(POP3_CAPA) +
            [(C, crlf("XXXX"), {"tag": "starttls"}),
             (S, crlf("-ERR Unknown command: XXXX"))] + pop3_login() +
            pop3_mailbox(rng))


def conv_pop3_refused(rng):
    """STLS answered -ERR; the client gives up."""
    return (pop3_open(POP3_CAPA) +
            [(C, crlf("STLS"), {"tag": "starttls"}),
             (S, crlf("-ERR [SYS/TEMP] TLS initialization failed.")),
             (C, crlf("QUIT")), (S, crlf("+OK Logging out."))])


def conv_pop3_plaintext_after(rng):
    """+OK to STLS, then the client logs in in plaintext."""
    return (pop3_open(POP3_CAPA) +
            [(C, crlf("STLS"), {"tag": "starttls"}), (S, crlf(POP3_STLS_OK))] +
            pop3_login() + pop3_mailbox(rng))


def conv_pop3_cmd_injection(rng):
    """USER bob rides in the STLS segment; +OK, then TLS."""
    return (pop3_open(POP3_CAPA) +
            [(C, crlf("STLS", "USER " + POP3_USER), {"tag": "starttls"}),
             (S, crlf(POP3_STLS_OK))] + tls_tail(rng, "1.2", cert_der()))


def conv_pop3_resp_injection(rng):
    """A second status line rides behind the +OK to STLS."""
    return (pop3_open(POP3_CAPA) +
            [(C, crlf("STLS"), {"tag": "starttls"}),
             (S, crlf(POP3_STLS_OK, "+OK Logged in."))] +
            tls_tail(rng, "1.2", cert_der()))


def conv_pop3_auth_plain_ir(rng):
    """STLS offered, not used: AUTH PLAIN with an initial response."""
    blob = pop3_plain_response()
    return (pop3_open(POP3_CAPA) +
            [(C, crlf("AUTH PLAIN " + blob), {"tag": "user"}),
             (S, crlf("+OK Logged in."))] + pop3_mailbox(rng))


def conv_pop3_auth_plain_cont(rng):
    """No STLS on offer: AUTH PLAIN, "+ ", the response on its own line."""
    blob = pop3_plain_response()
    return (pop3_open(POP3_CAPA_PLAIN) +
            [(C, crlf("AUTH PLAIN")), (S, crlf("+ ")),
             (C, crlf(blob), {"tag": "user"}),
             (S, crlf("+OK Logged in."))] + pop3_mailbox(rng))


def conv_pop3_vanished(rng):
    """The server's STLS line deleted from CAPA; the client logs in."""
    return pop3_open(POP3_CAPA_PLAIN) + pop3_login() + pop3_mailbox(rng)


def pop3_one(outdir, name, conv):
    one(outdir, name, conv, sport=POP3_PORT)


POP3_SCENARIOS = [
    ("pop3-clean-stls.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_stls),
     "POP3 (port 110): CAPA with STLS, STLS, +OK, TLS 1.2 with certificate. "
     "No event; outcome tls, " + CERT_NOTE + "."),
    ("pop3-clean-stls-tls13.pcap",
     lambda d, n: pop3_one(d, n, lambda r: conv_pop3_stls(r, "1.3")),
     "POP3: as pop3-clean-stls with TLS 1.3. No event; outcome tls, "
     "TLS1.3."),
    ("pop3-clean-retr-quotes.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_retr_quotes),
     "POP3 without STLS; APOP login (a digest, no password); RETR of a "
     "message quoting +OK, STLS, XXXX, USER bob, PASS secret, -ERR and "
     "dot-stuffed lines. No event; outcome plaintext."),
    ("pop3-clean-pipelined.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_pipelined),
     "POP3 without STLS, APOP, then STAT, LIST, UIDL 1, TOP, RETR, DELE, "
     "QUIT in one segment and the replies (two listings, two messages) in "
     "one. No event; outcome plaintext."),
    ("pop3-pos-capa-masked.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_capa_masked),
     "POP3: STLS masked to XXXX in the CAPA list; USER bob / PASS in the "
     "clear. Events capability_masked, cleartext_credentials; outcome "
     "stripped."),
    ("pop3-pos-cmd-masked.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_cmd_masked),
     "POP3: STLS offered, the client's STLS became XXXX (-ERR), then "
     "USER/PASS. Events command_masked, cleartext_credentials; outcome "
     "stripped."),
    ("pop3-pos-refused.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_refused),
     "POP3: STLS offered and answered -ERR [SYS/TEMP]; the client quits. "
     "Event starttls_refused; outcome refused."),
    ("pop3-pos-plaintext-after-stls.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_plaintext_after),
     "POP3: +OK to STLS, then USER/PASS in plaintext. Events "
     "plaintext_after_starttls, cleartext_credentials; outcome stripped."),
    ("pop3-pos-cmd-injection.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_cmd_injection),
     "POP3: STLS\\r\\nUSER bob\\r\\n in one client segment, +OK, "
     "TLS 1.2. Event starttls_injection; outcome stripped."),
    ("pop3-pos-resp-injection.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_resp_injection),
     "POP3: +OK Begin TLS negotiation now.\\r\\n+OK Logged in.\\r\\n "
     "in one server segment, then TLS 1.2. Event starttls_injection; "
     "outcome stripped."),
    ("pop3-pos-auth-plain-ir.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_auth_plain_ir),
     "POP3: STLS offered, not used; AUTH PLAIN with an initial response. "
     "Event cleartext_credentials (high: STLS offered); outcome "
     "plaintext_offered."),
    ("pop3-pos-auth-plain-cont.pcap",
     lambda d, n: pop3_one(d, n, conv_pop3_auth_plain_cont),
     "POP3 without STLS: AUTH PLAIN, +, the response. Event "
     "cleartext_credentials (medium); outcome plaintext."),
    ("pop3-hist-vanished.pcap",
     gen_sequence([conv_pop3_stls, conv_pop3_vanished], POP3_PORT),
     "Two POP3 sessions to one server: an STLS upgrade (TLS 1.2), then a "
     "CAPA list without STLS and USER/PASS in the clear. Events "
     "starttls_vanished, cleartext_credentials (high: offered before) in "
     "the second; outcomes tls, stripped."),
]


def all_scenarios():
    return (SCENARIOS + encap_scenarios() + shape_scenarios() +
            evasion_scenarios() + BROKEN + FRAG_EVASIONS + IMAP_SCENARIOS +
            POP3_SCENARIOS)


README_HEAD = """\
Bundled captures for stripwatch, one SMTP conversation per file unless said.
All are synthetic and deterministic: made by `python3 tools/pcapgen.py pcaps`
(`make pcaps`) from scripted conversations (Python standard library only;
fixed timestamps from 2026-11-28T19:38:31Z, ISNs from a PRNG seeded with the
file name; the TLS 1.2 certificate is tools/pcapgen-cert.pem). Client
192.0.2.10 (client.example.org), server 198.51.100.25:25 unless said.
tests/pcap-cases holds the expectations each line states.

"""


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: pcapgen.py OUTDIR\n")
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    lines = []
    for name, fn, what in all_scenarios():
        fn(outdir, name)
        lines.append("%s: %s" % (name, what))
    with open(os.path.join(outdir, "README"), "w", encoding="ascii") as f:
        f.write(README_HEAD + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
