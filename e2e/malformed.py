# SPDX-License-Identifier: GPL-2.0-or-later
"""Malformed kvm-pmu-filter objects: each must be refused with one error
line, by -object and by QMP object-add alike.  Each case is (name, the
object as JSON bytes, a part of the expected error message)."""

import json


def obj(**props):
    """A filter object with id f0 and action deny, changed by props."""
    base = {"qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny"}
    base.update(props)
    return {k: v for k, v in base.items() if v is not None}


def raw(code):
    return {"format": "raw", "code": code}


def masked(select="0xc4", mask="0xff", match="0x00", exclude=False):
    return {"format": "x86-masked-entry", "select": select, "mask": mask,
            "match": match, "exclude": exclude}


def nested(depth):
    return b'{"qom-type":"kvm-pmu-filter","id":"f0","action":"deny",' \
           b'"events":' + b"[" * depth + b"]" * depth + b"}"


FILTER_HEAD = b'{"qom-type":"kvm-pmu-filter","id":"f0","action":"deny",'

CASES = [
    ("no action", obj(action=None), "'action' is missing"),
    ("action is a number", obj(action=1), "action"),
    ("unknown action", obj(action="permit"), "permit"),
    ("events is a string", obj(events="0xc4"), "events"),
    ("events holds numbers", obj(events=[196]), "events"),
    ("events is null", obj(events=None) | {"events": None}, "events"),
    ("event without format", obj(events=[{"code": "0xc4"}]), "format"),
    ("unknown format", obj(events=[{"format": "intel", "code": "0xc4"}]),
     "intel"),
    ("raw without code", obj(events=[{"format": "raw"}]), "code"),
    ("code is a number", obj(events=[raw(196)]), "code"),
    ("empty code", obj(events=[raw("")]), "is not a number"),
    ("bare 0x", obj(events=[raw("0x")]), "is not a number"),
    ("negative code", obj(events=[raw("-1")]), "is not a number"),
    ("code over 64 bits", obj(events=[raw("0x10000000000000000")]),
     "is larger than"),
    ("decimal over 64 bits", obj(events=[raw("18446744073709551616")]),
     "is larger than"),
    ("space in code", obj(events=[raw(" 0xc4")]), "is not a number"),
    ("leading-zero decimal", obj(events=[raw("010")]), "has a leading zero"),
    ("4 KiB code", obj(events=[raw("7" * 4096)]), "is larger than"),
    ("4 KiB of hex junk", obj(events=[raw("0x" + "g" * 4096)]),
     "is not a number"),
    ("select over 12 bits",
     obj(events=[{"format": "x86-default", "select": "0x1000",
                  "umask": "0"}]), "is larger than"),
    ("umask over 8 bits",
     obj(events=[{"format": "x86-default", "select": "0xc4",
                  "umask": "0x100"}]), "is larger than"),
    ("mask over 8 bits", obj(events=[masked(mask="0x100")]), "is larger than"),
    ("match over 8 bits", obj(events=[masked(match="256")]), "is larger than"),
    ("match outside mask", obj(events=[masked(mask="0x0f", match="0x1f")]),
     "has bits outside mask"),
    ("exclude is a string", obj(events=[masked(exclude="yes")]), "exclude"),
    ("masked without match",
     obj(events=[{k: v for k, v in masked().items() if k != "match"}]),
     "match"),
    ("masked mixed with raw", obj(events=[masked(), raw("0xc4")]),
     "cannot be mixed"),
    ("301 events", obj(events=[raw(hex(0x100 + i)) for i in range(301)]),
     "at most 300 allowed"),
    ("3500 events", obj(events=[raw("0xc4")] * 3500), "at most 300 allowed"),
    ("unknown property", obj(foo="bar"), "foo"),
    ("unknown event field", obj(events=[raw("0xc4") | {"flags": "0"}]),
     "flags"),
    ("bitmap over 32 bits",
     obj(**{"x86-fixed-counter": {"bitmap": "0x100000000"}}), "is larger than"),
    ("fixed counter is a string", obj(**{"x86-fixed-counter": "0x7"}),
     "x86-fixed-counter"),
    ("fixed counter without bitmap", obj(**{"x86-fixed-counter": {}}),
     "bitmap"),
    ("no id", obj(id=None), "'id' is missing"),
    ("duplicate event key",
     FILTER_HEAD + b'"events":[{"format":"raw","code":"0xc4","code":"0xc5"}]}',
     "uplicate"),
    ("duplicate property",
     FILTER_HEAD + b'"action":"allow"}', "uplicate"),
    ("deep nesting", nested(2000), ""),
    ("nesting in an event",
     FILTER_HEAD + b'"events":[{"format":"raw","code":' + b"[" * 100 +
     b"]" * 100 + b"}]}", "code"),
    ("non-UTF-8 code", FILTER_HEAD + b'"events":[{"format":"raw",'
     b'"code":"\xff\xfe0xc4"}]}', ""),
    ("NUL in code", FILTER_HEAD + b'"events":[{"format":"raw",'
     b'"code":"0xc4\\u0000"}]}', ""),
    ("truncated", FILTER_HEAD + b'"events":[{"format":"raw"', ""),
]


def as_bytes(value):
    if isinstance(value, bytes):
        return value
    return json.dumps(value, separators=(",", ":")).encode()


def corpus():
    """(name, JSON bytes, expected message part) for every case."""
    return [(name, as_bytes(value), msg) for name, value, msg in CASES]
