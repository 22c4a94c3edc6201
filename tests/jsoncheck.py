#!/usr/bin/env python3
"""jsoncheck: checks stripwatch's JSON lines.

    tests/jsoncheck.py FILE [--db DB]     (also imported by the test runners)

Every line of FILE must be one JSON object (python3's json module, strict:
no NaN, no duplicate keys) that validates against
doc/stripwatch.schema.json. With --db, the alerts and sessions must be the
events and sessions rows of that database, field for field (wire text byte
for byte), and name the sensor of its table sensor. Prints one problem per
line; exits 1 if there was any.

The validator here implements the part of JSON Schema (draft 2020-12) that
the schema uses and refuses any other keyword, so the schema cannot say
more than is checked. When the jsonschema package is importable, the schema
is also checked against the draft's metaschema and every object validated
by it too. Python 3 standard library otherwise.
"""

import json
import os
import re
import sqlite3
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(TOP, "doc", "stripwatch.schema.json")

ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment", "$defs"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and
    not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Validator:
    """The JSON Schema keywords stripwatch's schema uses, no others."""

    def __init__(self, schema):
        self.root = schema

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise ValueError("unsupported $ref %r" % ref)
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, v, s, path="$"):
        out = []
        for key, arg in s.items():
            if key in ANNOTATIONS:
                continue
            check = getattr(self, "k_" + key.lstrip("$"), None)
            if check is None:
                raise ValueError("schema keyword %r not supported" % key)
            out += check(v, arg, s, path)
        return out

    def k_ref(self, v, ref, s, path):
        return self.errors(v, self.resolve(ref), path)

    def k_type(self, v, t, s, path):
        ts = t if isinstance(t, list) else [t]
        if any(TYPES[x](v) for x in ts):
            return []
        return ["%s: %r is not of type %s" % (path, v, "/".join(ts))]

    def k_minimum(self, v, m, s, path):
        if TYPES["number"](v) and v < m:
            return ["%s: %r < minimum %r" % (path, v, m)]
        return []

    def k_maximum(self, v, m, s, path):
        if TYPES["number"](v) and v > m:
            return ["%s: %r > maximum %r" % (path, v, m)]
        return []

    def k_const(self, v, c, s, path):
        return [] if v == c and type(v) is type(c) else \
            ["%s: %r is not %r" % (path, v, c)]

    def k_enum(self, v, e, s, path):
        return [] if any(v == x and type(v) is type(x) for x in e) else \
            ["%s: %r not one of %s" % (path, v, e)]

    def k_pattern(self, v, p, s, path):
        if isinstance(v, str) and not re.search(p, v):
            return ["%s: %r does not match %s" % (path, v[:80], p)]
        return []

    def k_maxLength(self, v, n, s, path):
        if isinstance(v, str) and len(v) > n:
            return ["%s: longer than %d" % (path, n)]
        return []

    def k_required(self, v, req, s, path):
        if not isinstance(v, dict):
            return []
        return ["%s: %s missing" % (path, k) for k in req if k not in v]

    def k_properties(self, v, props, s, path):
        if not isinstance(v, dict):
            return []
        out = []
        for k, x in v.items():
            if k in props:
                out += self.errors(x, props[k], "%s.%s" % (path, k))
        return out

    def k_additionalProperties(self, v, extra, s, path):
        """Members not in properties: refused (false) or validated."""
        if not isinstance(v, dict):
            return []
        out = []
        for k, x in v.items():
            if k in s.get("properties", {}):
                continue
            if extra is False:
                out.append("%s: unexpected member %r" % (path, k))
            elif isinstance(extra, dict):
                out += self.errors(x, extra, "%s.%s" % (path, k))
        return out

    def k_items(self, v, item, s, path):
        if not isinstance(v, list):
            return []
        out = []
        for i, x in enumerate(v):
            out += self.errors(x, item, "%s[%d]" % (path, i))
        return out

    def k_oneOf(self, v, alts, s, path):
        results = [self.errors(v, a, path) for a in alts]
        ok = sum(1 for r in results if not r)
        if ok == 1:
            return []
        if ok > 1:
            return ["%s: matches %d of oneOf" % (path, ok)]
        return min(results, key=len)


def load_schema():
    with open(SCHEMA, encoding="utf-8") as f:
        return json.load(f)


def _no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in %s" % keys)
    return dict(pairs)


def _no_constant(name):
    raise ValueError("non-standard number %s" % name)


def parse_lines(data, schema):
    """(objects, problems) for the bytes of a JSON lines file."""
    problems, objs = [], []
    v = Validator(schema)
    other = None
    try:
        import jsonschema
        jsonschema.Draft202012Validator.check_schema(schema)
        other = jsonschema.Draft202012Validator(schema)
    except ImportError:
        pass
    if data and not data.endswith(b"\n"):
        problems.append("last line has no newline (cut)")
    for n, raw in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            text = raw.decode("utf-8", "strict")
            o = json.loads(text, object_pairs_hook=_no_dupes,
                           parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError) as e:
            problems.append("line %d does not parse: %s: %r" %
                            (n, e, raw[:120]))
            continue
        errs = v.errors(o, schema)
        if other is not None:
            errs += ["(jsonschema) " + e.message[:160] for e in
                     other.iter_errors(o)][:3]
        if errs:
            problems.append("line %d: %s" % (n, "; ".join(errs[:3])))
        objs.append(o)
    return objs, problems


def compare_db(objs, db, problems):
    """Alerts and sessions of objs against the events and sessions rows."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        sessions = [dict(r) for r in con.execute(
            "SELECT * FROM sessions ORDER BY id")]
        events = [dict(r) for r in con.execute(
            "SELECT * FROM events ORDER BY id")]
        name = con.execute("SELECT name FROM sensor").fetchone()
    finally:
        con.close()
    name = name[0] if name else None
    for o in objs:
        if o.get("sensor") != name:
            problems.append("%s names sensor %r, database %r" % (
                o.get("event_type"), o.get("sensor"), name))
            break
    want = sorted((e["ts"], e["session_id"], e["kind"], e["severity"],
                   e["client_ip"], e["client_port"], e["server_ip"],
                   e["server_port"], e["evidence"]) for e in events)
    got = sorted((o["timestamp"], o["session_id"], o["kind"], o["severity"],
                  o["src_ip"], o["src_port"], o["dest_ip"], o["dest_port"],
                  o["evidence"]) for o in objs
                 if o.get("event_type") == "alert")
    if got != want:
        problems.append("JSON alerts != events rows: %d vs %d; first "
                        "differing %r" % (len(got), len(want), next(
                            (g for g in got if g not in want),
                            next((w for w in want if w not in got), None))))
    want = sorted(tuple(s[c] for c in (
        "id", "start_ts", "end_ts", "client_ip", "client_port", "server_ip",
        "server_port", "helo", "banner", "starttls_offered",
        "starttls_requested", "starttls_reply", "tls_established", "outcome",
        "tls_version", "tls_cipher", "tls_sni", "cert_sha256", "gaps",
        "events", "close_reason", "protocol", "resumed", "source"))
        for s in sessions)
    got = []
    for o in objs:
        if o.get("event_type") != "session":
            continue
        t = o["tls"]
        got.append((o["session_id"], o["start_ts"], o["end_ts"],
                    o["src_ip"], o["src_port"], o["dest_ip"],
                    o["dest_port"], o["helo"], o["banner"],
                    int(o["starttls_offered"]),
                    int(o["starttls_requested"]), o["starttls_reply"],
                    int(t["established"]), o["outcome"], t["version"],
                    t["cipher"], t["sni"], t["cert_sha256"], o["gaps"],
                    o["events"], o["close_reason"], o["protocol"],
                    o["resumed"], o["source"]))
        if o["timestamp"] != o["end_ts"]:
            problems.append("session %s timestamp is not its end_ts" %
                            o["session_id"])
    got.sort(key=repr)
    want.sort(key=repr)
    if got != want:
        problems.append("JSON sessions != sessions rows: %d vs %d; first "
                        "differing %r" % (len(got), len(want), next(
                            (g for g in got if g not in want),
                            next((w for w in want if w not in got), None))))


def check(path, db=None):
    with open(path, "rb") as f:
        data = f.read()
    objs, problems = parse_lines(data, load_schema())
    if db is not None:
        compare_db(objs, db, problems)
    return objs, problems


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--db"):
        sys.stderr.write("usage: jsoncheck.py FILE [--db DB]\n")
        return 2
    _, problems = check(argv[1], argv[3] if len(argv) == 4 else None)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
