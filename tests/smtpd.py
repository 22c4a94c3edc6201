#!/usr/bin/env python3
"""smtpd.py: a small SMTP server for stripwatch's live tests.

It speaks just enough SMTP for swaks and for the sensor to see a whole
session: greeting, EHLO/HELO (offering PIPELINING and, unless told not to,
STARTTLS), STARTTLS with the certificate given on the command line,
MAIL/RCPT/DATA/RSET/NOOP/QUIT. Messages are read and thrown away.

    smtpd.py --cert C --key K [--host 127.0.0.1] [--port 0]
             [--port-file F] [--no-starttls] [--lifetime SECONDS]

With --port 0 the kernel picks a free port; the port bound is written to
--port-file (atomically: a temporary file renamed) so a test can wait for
it. The server exits by itself after --lifetime seconds, so a test that
forgets it cannot leave it running for ever.
"""

import argparse
import os
import socket
import socketserver
import ssl
import sys
import threading

# An SMTP command line is at most 512 octets (RFC 5321 4.5.3.1.4); a text
# line of a message at most 1000. Anything longer is cut at this many
# bytes and answered with an error, so a client cannot make us buffer it.
MAX_LINE = 1000
# A client silent this long is dropped: the tests finish in seconds.
IDLE_TIMEOUT = 60.0
# A message body larger than this is refused (552) instead of read on.
MAX_MESSAGE = 1 << 20


class Session:
    """One SMTP conversation on one connection."""

    def __init__(self, sock, server):
        self.sock = sock
        self.srv = server
        self.tls = False
        self.helo = None
        self.rfile = sock.makefile("rb")

    def send(self, text):
        self.sock.sendall(text.encode("ascii") + b"\r\n")

    def readline(self):
        """One line without its CRLF, None at EOF. Overlong: b"\x00"."""
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            # Skip to the end of the overlong line, bounded per read.
            while True:
                more = self.rfile.readline(MAX_LINE + 1)
                if not more or more.endswith(b"\n"):
                    break
            return b"\x00"
        return line.rstrip(b"\r\n")

    def run(self):
        self.send("220 %s ESMTP stripwatch-test" % self.srv.hostname)
        while True:
            line = self.readline()
            if line is None:
                return
            if line == b"\x00":
                self.send("500 5.5.2 Line too long")
                continue
            verb, _, arg = line.partition(b" ")
            handler = self.VERBS.get(verb.upper().decode("ascii", "replace"))
            if handler is None:
                self.send("502 5.5.2 Error: command not recognized")
                continue
            if handler(self, arg) is False:
                return

    def do_ehlo(self, arg):
        self.helo = arg
        lines = [self.srv.hostname, "PIPELINING", "SIZE %d" % MAX_MESSAGE,
                 "8BITMIME"]
        if self.srv.tls_ctx is not None and not self.tls:
            lines.append("STARTTLS")
        for text in lines[:-1]:
            self.send("250-" + text)
        self.send("250 " + lines[-1])

    def do_helo(self, arg):
        self.helo = arg
        self.send("250 %s" % self.srv.hostname)

    def do_starttls(self, arg):
        if self.srv.tls_ctx is None or self.tls:
            self.send("502 5.5.1 Error: command not implemented")
            return None
        if arg:
            self.send("501 5.5.4 Syntax: STARTTLS")
            return None
        self.send("220 2.0.0 Ready to start TLS")
        # Bytes pipelined after STARTTLS are dropped with the old reader
        # (RFC 3207 5: they must not be acted upon).
        self.rfile.close()
        try:
            self.sock = self.srv.tls_ctx.wrap_socket(self.sock,
                                                     server_side=True)
        except (ssl.SSLError, OSError) as e:
            print("smtpd: TLS handshake failed: %s" % e, file=sys.stderr)
            return False
        self.tls = True
        self.helo = None
        self.rfile = self.sock.makefile("rb")
        return None

    def do_mail(self, arg):
        self.send("250 2.1.0 Ok")

    def do_rcpt(self, arg):
        self.send("250 2.1.5 Ok")

    def do_data(self, arg):
        self.send("354 End data with <CR><LF>.<CR><LF>")
        size = 0
        while True:
            line = self.readline()
            if line is None:
                return False
            if line == b".":
                break
            size += len(line) + 2
        if size > MAX_MESSAGE:
            self.send("552 5.3.4 Message too big")
        else:
            self.send("250 2.0.0 Ok: queued as TEST%d" % size)
        return None

    def do_rset(self, arg):
        self.send("250 2.0.0 Ok")

    def do_noop(self, arg):
        self.send("250 2.0.0 Ok")

    def do_quit(self, arg):
        self.send("221 2.0.0 Bye")
        return False

    VERBS = {
        "EHLO": do_ehlo, "HELO": do_helo, "STARTTLS": do_starttls,
        "MAIL": do_mail, "RCPT": do_rcpt, "DATA": do_data,
        "RSET": do_rset, "NOOP": do_noop, "QUIT": do_quit,
    }


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(IDLE_TIMEOUT)
        s = Session(self.request, self.server)
        try:
            s.run()
        except (OSError, ssl.SSLError, UnicodeError) as e:
            print("smtpd: session ended: %s" % e, file=sys.stderr)
        finally:
            try:
                s.sock.close()
            except OSError:
                pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="test SMTP server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--hostname", default="mx.test.example")
    ap.add_argument("--lifetime", type=float, default=600.0)
    args = ap.parse_args()

    tls_ctx = None
    if not args.no_starttls:
        if not args.cert or not args.key:
            ap.error("--cert and --key are needed unless --no-starttls")
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.cert, args.key)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    Server.address_family = family
    srv = Server((args.host, args.port), Handler)
    srv.tls_ctx = tls_ctx
    srv.hostname = args.hostname
    port = srv.server_address[1]
    if args.port_file:
        write_port(args.port_file, port)
    print("smtpd: listening on %s port %d%s" %
          (args.host, port, " (no STARTTLS)" if tls_ctx is None else ""),
          file=sys.stderr, flush=True)
    timer = threading.Timer(args.lifetime, srv.shutdown)
    timer.daemon = True
    timer.start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
