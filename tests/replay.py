#!/usr/bin/env python3
"""replay.py: send the frames of a classic pcap file (Ethernet), in file
order, onto a network interface through an AF_PACKET socket: a
deterministic replay for the live tests, needing nothing but Python.

    tests/replay.py IFACE FILE

Frames go out in bursts of BURST with a pause between them, slower than a
veth's receive backlog drains, so nothing is dropped for want of room.
Prints the number of frames sent. Needs root (CAP_NET_RAW).
"""

import socket
import struct
import sys
import time

BURST = 32              # frames sent back to back
PAUSE_S = 0.002         # between bursts: about 16,000 frames/s at most


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise SystemExit("replay.py: %s: not a little-endian pcap" % path)
    if struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit("replay.py: %s: not Ethernet" % path)
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: replay.py IFACE FILE\n")
        return 2
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((argv[1], 0))
    n = 0
    for frame in frames(argv[2]):
        s.send(frame)
        n += 1
        if n % BURST == 0:
            time.sleep(PAUSE_S)
    s.close()
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
