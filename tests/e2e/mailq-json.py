#!/usr/bin/python3
"""mailq-json.py - checks `outbox -bp --json` output against the schema of
doc/mailq-json.md: exact key sets, types and enumerations.

    mailq-json.py FILE

Prints one line per message ("ID QUEUE STATE REASON RCPT=STATUS,...") and
exits 0 when FILE conforms; else prints what is wrong on standard error
and exits 1.  Only the json module: no third-party schema library.
"""
import json
import re
import sys

REASONS = {"connect-failed", "temporary-reject", "local-error", "auth-failed",
           "config", "rejected", "recipients-rejected", "bad-message",
           "internal-error", "expired", "no-account", "damaged",
           "unsafe-state", "other"}
STR, INT, BOOL, OPT_STR, LIST = "string", "integer", "boolean", "string|null", "array"
MESSAGE = {"id": STR, "queue": STR, "state": STR, "created": INT, "size": INT,
           "account": OPT_STR, "from": OPT_STR, "subject": OPT_STR,
           "recipients": LIST, "attempts": INT, "next_attempt": INT,
           "reason": OPT_STR, "last_reply": OPT_STR, "uncertain": BOOL}
RECIPIENT = {"addr": STR, "status": STR, "reply": OPT_STR}
ENUMS = {"queue": {"msg", "failed"},
         "state": {"queued", "retrying", "held", "failed", "damaged"},
         "status": {"pending", "delivered", "failed"}}
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
errors = []


def typed(value, kind):
    if kind == STR:
        return isinstance(value, str)
    if kind == OPT_STR:
        return value is None or isinstance(value, str)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == BOOL:
        return isinstance(value, bool)
    return isinstance(value, list)


def check(obj, schema, where):
    if not isinstance(obj, dict) or set(obj) != set(schema):
        errors.append("%s: keys %s, want %s" % (where, sorted(obj) if isinstance(obj, dict)
                                                 else type(obj).__name__, sorted(schema)))
        return False
    for key, kind in schema.items():
        value = obj[key]
        if not typed(value, kind):
            errors.append("%s.%s: %r is not %s" % (where, key, value, kind))
        elif key in ENUMS and value not in ENUMS[key]:
            errors.append("%s.%s: %r is not one of %s" % (where, key, value, sorted(ENUMS[key])))
        elif isinstance(value, str) and CONTROL.search(value):
            errors.append("%s.%s: a control character in %r" % (where, key, value))
    return True


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        top = json.load(f)
    lines = []
    if not check(top, {"version": INT, "messages": LIST}, "top") or top["version"] != 1:
        errors.append("top: not {version: 1, messages: [...]}")
    else:
        for i, m in enumerate(top["messages"]):
            where = "messages[%d]" % i
            if not check(m, MESSAGE, where):
                continue
            if not re.fullmatch("[0-9a-f]{23}", m["id"]):
                errors.append("%s.id: %r" % (where, m["id"]))
            if m["reason"] is not None and m["reason"] not in REASONS:
                errors.append("%s.reason: %r is not a reason code" % (where, m["reason"]))
            for k, r in enumerate(m["recipients"]):
                check(r, RECIPIENT, "%s.recipients[%d]" % (where, k))
            lines.append("%s %s %s %s %s" % (
                m["id"], m["queue"], m["state"], m["reason"],
                ",".join("%s=%s" % (r.get("addr"), r.get("status"))
                         for r in m["recipients"] if isinstance(r, dict))))
    for e in errors:
        print(e, file=sys.stderr)
    print("\n".join(lines))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
