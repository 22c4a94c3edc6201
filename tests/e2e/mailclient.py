#!/usr/bin/env python3
"""mailclient.py: the mail reader of tests/live-dovecot.sh, python3's own
imaplib and poplib driven the way a mail client is, from a fixed client
port so that each session's row can be told apart.

    mailclient.py imap|pop3 ACTION HOST PORT SPORT USER PASSWORD CAFILE

ACTION is what the client does:
  login     STARTTLS (IMAP) or STLS (POP3) when the server offers it, a
            plaintext login when it does not (the fallback the stripping
            relay counts on): IMAP AUTHENTICATE PLAIN where offered, else
            LOGIN; POP3 USER and PASS. Then the one message is read and
            compared with the one delivered (it quotes protocol lines)
  refused   asks for STARTTLS/STLS, expects it refused, logs out without
            a password
  preauth   (IMAP) expects a PREAUTH greeting, sends NOOP, logs out
  ignore    (IMAP) expects LOGINDISABLED, sends LOGIN anyway, expects it
            refused

The password is read from the command line and goes to the server only;
nothing here prints it. Prints one line per step and, last, "result: ..."
(tls, cleartext, refused, preauth, rejected); exits 0 when the session
went as the action expects, 1 otherwise. Every socket operation times out
after TIMEOUT seconds.
"""
import imaplib
import poplib
import socket
import ssl
import sys

TIMEOUT = 10
# The message tests/live-dovecot.sh delivers quotes these lines; each must
# come back as it was sent, so no relay or server rewrote body text.
QUOTED = [
    b"* CAPABILITY IMAP4rev1 STARTTLS",
    b"a1 LOGIN bob secret",
    b"+OK",
    b"STLS",
    b"USER bob",
    b"..",
    b".",
]


def tls_context(cafile):
    """Trust the test certificate alone; the test connects by address, so
    the name is not checked."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx


class FromPort:
    """A client connecting from a fixed port, every operation timed."""

    def __init__(self, host, port, sport):
        self.sport = sport
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=("", self.sport))


class IMAP(FromPort, imaplib.IMAP4):
    """The IMAP side of what a reader does."""
    starttls_verb = "STARTTLS"
    refusal = imaplib.IMAP4.error

    def caps(self):
        return self.capabilities

    def tls(self, ctx):
        self.starttls(ctx)

    def sign_in(self, user, password):
        """SASL PLAIN where offered (what a client prefers), else LOGIN."""
        if "AUTH=PLAIN" in self.capabilities:
            blob = b"\0" + user.encode() + b"\0" + password.encode()
            self.authenticate("PLAIN", lambda _: blob)
            return "AUTHENTICATE PLAIN"
        self.login(user, password)
        return "LOGIN"

    def message(self):
        self.select("INBOX", readonly=True)
        typ, data = self.fetch("1", "(BODY.PEEK[])")
        if typ != "OK" or not isinstance(data[0], tuple):
            return []
        return data[0][1].split(b"\r\n")

    def bye(self):
        self.logout()


class POP3(FromPort, poplib.POP3):
    """The POP3 side of what a reader does."""
    starttls_verb = "STLS"
    refusal = poplib.error_proto

    def caps(self):
        return list(self.capa())

    def tls(self, ctx):
        self.stls(ctx)

    def sign_in(self, user, password):
        self.user(user)
        self.pass_(password)
        return "USER/PASS"

    def message(self):
        return self.retr(1)[1]

    def bye(self):
        self.quit()


def say(*words):
    print(*words, flush=True)


def check_body(lines):
    """1 if every quoted line came back as a line of the message."""
    missing = [q for q in QUOTED if q not in lines]
    if missing:
        say("body: missing", missing)
        return 0
    say("body: all", len(QUOTED), "quoted lines intact")
    return 1


def login(m, user, password, cafile):
    caps = m.caps()
    say("capabilities:", " ".join(caps))
    if m.starttls_verb in caps:
        m.tls(tls_context(cafile))
        result = "tls"
    else:
        result = "cleartext"
    say("logged in:", m.sign_in(user, password))
    ok = check_body(m.message())
    m.bye()
    say("result:", result)
    return ok


def refused(m, user, password, cafile):
    if m.starttls_verb not in m.caps():
        say("no", m.starttls_verb, "offered")
        return 0
    try:
        m.tls(tls_context(cafile))
    except m.refusal as e:
        say(m.starttls_verb, "refused:", e)
        m.bye()
        say("result: refused")
        return 1
    say(m.starttls_verb, "accepted")
    m.bye()
    return 0


def preauth(m, user, password, cafile):
    say("state:", m.state)
    if m.state != "AUTH":
        return 0
    m.noop()
    m.bye()
    say("result: preauth")
    return 1


def ignore(m, user, password, cafile):
    say("capabilities:", " ".join(m.caps()))
    if "LOGINDISABLED" not in m.caps():
        return 0
    try:
        m.login(user, password)
    except m.refusal as e:
        say("LOGIN rejected:", e)
        m.bye()
        say("result: rejected")
        return 1
    say("LOGIN accepted despite LOGINDISABLED")
    return 0


ACTIONS = {
    ("imap", "login"): (IMAP, login),
    ("imap", "refused"): (IMAP, refused),
    ("imap", "preauth"): (IMAP, preauth),
    ("imap", "ignore"): (IMAP, ignore),
    ("pop3", "login"): (POP3, login),
    ("pop3", "refused"): (POP3, refused),
}


def main(argv):
    if len(argv) != 9 or (argv[1], argv[2]) not in ACTIONS:
        print(__doc__, file=sys.stderr)
        return 2
    proto, action, host, port, sport, user, password, cafile = argv[1:]
    cls, run = ACTIONS[(proto, action)]
    try:
        session = cls(host, int(port), int(sport))
        say("greeting:", session.welcome.decode("ascii", "replace"))
        return 0 if run(session, user, password, cafile) else 1
    except (OSError, EOFError, imaplib.IMAP4.error,
            poplib.error_proto) as e:
        say("error:", type(e).__name__, e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
