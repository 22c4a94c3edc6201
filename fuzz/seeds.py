#!/usr/bin/env python3
"""seeds.py: build the libFuzzer seed corpora of stripwatch from captures.

    python3 fuzz/seeds.py OUTDIR CAPTURE...

Writes OUTDIR/{decode,stream,smtp,pcap}/, one seed per file named by its
SHA-1, in the input formats of fuzz/fuzz_*.c:
  pcap    whole capture files up to PCAP_MAX bytes, as they are;
  decode  single frames with the harness's link-type selector byte in front;
  stream  each TCP conversation as a fuzz_stream.c segment script;
  smtp    the same conversations as fuzz_stream.c -DFUZZ_SMTP_DIRECT scripts.
Standard library only; reads classic pcap (both byte orders, micro and nano)
and pcapng (SHB, IDB, EPB, SPB). Unreadable captures are skipped with a note.
Deterministic: the same captures give the same corpora.
"""
import hashlib
import os
import struct
import sys

PCAP_MAX = 128 * 1024      # larger captures are slow seeds; the fuzzer's -max_len
SCRIPT_MAX = 64 * 1024     # longest stream/smtp seed
FRAMES_PER_FILE = 64       # distinct frames taken from one capture for decode
MAX_SEGS = 400             # segments of one conversation in a stream seed

# Link types in the order of fuzz_decode.c's links[] table.
DECODE_LINKS = [0, 1, 12, 14, 108, 113, 228, 229, 276, 105]


def read_pcap(data):
    """Yield (linktype, frame) from a classic pcap or pcapng image."""
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    elif magic == b"\x0a\x0d\x0d\x0a":
        yield from read_pcapng(data)
        return
    else:
        return
    link = struct.unpack(end + "I", data[20:24])[0] & 0x0fffffff
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        off += 16
        if incl > len(data) - off:
            return
        yield link, data[off:off + incl]
        off += incl


def read_pcapng(data):
    links = []
    end = "<"
    off = 0
    while off + 12 <= len(data):
        btype = data[off:off + 4]
        if btype == b"\x0a\x0d\x0d\x0a":
            bom = data[off + 8:off + 12]
            end = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(end + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            return
        body = data[off + 8:off + blen - 4]
        t = struct.unpack(end + "I", data[off:off + 4])[0]
        if t == 1 and len(body) >= 2:
            links.append(struct.unpack(end + "H", body[:2])[0])
        elif t == 6 and len(body) >= 20:
            ifc, _, _, cap, _ = struct.unpack(end + "IIIII", body[:20])
            if ifc < len(links) and cap <= len(body) - 20:
                yield links[ifc], body[20:20 + cap]
        elif t == 3 and len(body) >= 4 and links:
            orig = struct.unpack(end + "I", body[:4])[0]
            yield links[0], body[4:4 + min(orig, len(body) - 4)]
        off += blen


def ip_start(link, f):
    """Offset of the IP header in frame f, or None."""
    if link == 1:
        if len(f) < 14:
            return None
        off, et = 14, struct.unpack(">H", f[12:14])[0]
        while et in (0x8100, 0x88a8, 0x9100) and len(f) >= off + 4:
            et = struct.unpack(">H", f[off + 2:off + 4])[0]
            off += 4
        return off if et in (0x0800, 0x86dd) else None
    if link in (0, 108):
        return 4
    if link in (12, 14, 228, 229):
        return 0
    if link == 113:
        return 16
    if link == 276:
        return 20
    return None


def tcp_of(link, f):
    """(src, dst, sport, dport, seq, flags, payload) of a TCP frame."""
    off = ip_start(link, f)
    if off is None or len(f) < off + 20:
        return None
    v = f[off] >> 4
    if v == 4:
        ihl = (f[off] & 15) * 4
        if f[off + 9] != 6 or ihl < 20:
            return None
        if struct.unpack(">H", f[off + 6:off + 8])[0] & 0x3fff:
            return None                     # fragment
        tot = struct.unpack(">H", f[off + 2:off + 4])[0]
        src, dst = f[off + 12:off + 16], f[off + 16:off + 20]
        t = off + ihl
        ipend = min(len(f), off + tot)
    elif v == 6:
        if len(f) < off + 40 or f[off + 6] != 6:
            return None
        plen = struct.unpack(">H", f[off + 4:off + 6])[0]
        src, dst = f[off + 8:off + 24], f[off + 24:off + 40]
        t = off + 40
        ipend = min(len(f), t + plen)
    else:
        return None
    if ipend < t + 20:
        return None
    sport, dport, seq = struct.unpack(">HHI", f[t:t + 8])
    doff = (f[t + 12] >> 4) * 4
    if doff < 20 or t + doff > ipend:
        return None
    return src, dst, sport, dport, seq, f[t + 13], f[t + doff:ipend]


SERVER_PORTS = (25, 587, 2525, 465, 110, 143)


def conversations(frames):
    """Group TCP frames into conversations: [(server port,
    [(dir, seq, flags, payload)])]."""
    convs = {}
    order = []
    for link, f in frames:
        t = tcp_of(link, f)
        if t is None:
            continue
        src, dst, sp, dp, seq, fl, pl = t
        if dp in SERVER_PORTS or (sp not in SERVER_PORTS and dp < sp):
            key, d = (src, sp, dst, dp), 0
        else:
            key, d = (dst, dp, src, sp), 1
        if key not in convs:
            convs[key] = []
            order.append(key)
        convs[key].append((d, seq, fl, pl))
    return [(k[3], convs[k]) for k in order]


# fuzz_stream.c header bits 6-7: the protocol a server port suggests.
PROTO_BITS = {143: 0x40, 110: 0x80}


def stream_script(segs, header=0):
    """fuzz_stream.c script reproducing the conversation's sequence steps."""
    out = bytearray([header])
    nxt = [None, None]
    for d, seq, fl, pl in segs[:MAX_SEGS]:
        ctl = d | (0x02 if fl & 1 else 0) | (0x04 if fl & 2 else 0)
        ctl |= (0x08 if fl & 4 else 0) | (0 if fl & 0x10 else 0x10)
        aux = 0
        if nxt[d] is not None:
            diff = (seq - nxt[d]) & 0xffffffff
            if 0 < diff < 256:
                ctl, aux = ctl | 0x20, diff
            elif 0 < (-diff) & 0xffffffff < 256:
                ctl, aux = ctl | 0x40, (-diff) & 0xffffffff
        nxt[d] = (seq + len(pl) + (1 if fl & 3 else 0)) & 0xffffffff
        pl = pl[:65535]
        out += bytes([ctl, aux]) + struct.pack("<H", len(pl)) + pl
        if len(out) > SCRIPT_MAX:
            break
    return bytes(out)


def smtp_script(segs, header=0):
    """Payloads in sequence order per direction, for the direct variant."""
    out = bytearray([header])
    seen = [set(), set()]
    for d, seq, fl, pl in segs[:MAX_SEGS]:
        if not pl or seq in seen[d]:
            continue                        # retransmission
        seen[d].add(seq)
        pl = pl[:65535]
        out += bytes([d, 0]) + struct.pack("<H", len(pl)) + pl
        if len(out) > SCRIPT_MAX:
            break
    return bytes(out)


def put(outdir, kind, blob):
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join(outdir, kind, name), "wb") as fp:
        fp.write(blob)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: seeds.py OUTDIR CAPTURE...")
    outdir = sys.argv[1]
    for kind in ("decode", "stream", "smtp", "pcap"):
        os.makedirs(os.path.join(outdir, kind), exist_ok=True)
    for path in sorted(sys.argv[2:]):
        try:
            with open(path, "rb") as fp:
                data = fp.read()
            frames = list(read_pcap(data))
        except (OSError, struct.error) as e:
            print("seeds.py: skip %s: %s" % (path, e), file=sys.stderr)
            continue
        if len(data) <= PCAP_MAX:
            put(outdir, "pcap", data)
        seen = set()
        for link, f in frames:
            if len(seen) >= FRAMES_PER_FILE:
                break
            if link not in DECODE_LINKS:
                continue
            blob = bytes([DECODE_LINKS.index(link)]) + f
            shape = (link, len(f) // 64, f[:1])
            if shape in seen:
                continue
            seen.add(shape)
            put(outdir, "decode", blob)
        for port, segs in conversations(frames):
            if any(s[3] for s in segs):
                header = PROTO_BITS.get(port, 0)
                script = stream_script(segs, header)
                put(outdir, "stream", script)
                # the same with TCP options (scaling, timestamps) and
                # some bad checksums: lib/tcp.c's paths
                put(outdir, "stream", bytes([header | 0x30]) + script[1:])
                put(outdir, "smtp", smtp_script(segs, header))


if __name__ == "__main__":
    main()
