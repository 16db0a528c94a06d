# SPDX-License-Identifier: GPL-2.0-or-later
"""Read a filter as QEMU takes it (a kvm-pmu-filter object, also inside
an object-add command, or the properties that qom-get returns) or as
libvirt's domain XML has it (a <filter> element, also inside a domain),
checked as strictly as QEMU and libvirt check it."""

import json
import re
import xml.etree.ElementTree as ET

from .encode import KVM_MAX_EVENTS, Entry, Filter
from .errors import PolicyError

QEMU_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)$")
OBJECT_KEYS = {"qom-type", "id", "action", "events", "x86-fixed-counter"}
EVENT_KEYS = {"raw": {"code"}, "x86-default": {"select", "umask"},
              "x86-masked-entry": {"select", "mask", "match", "exclude"}}
# libvirt's element and type names, and those before the rename
XML_FIXED = ("fixedCounters", "fixed-counters")
XML_TYPES = {"raw": "raw", "selectUmask": "x86-default",
             "x86-default": "x86-default", "masked": "x86-masked-entry",
             "x86-masked-entry": "x86-masked-entry"}
XML_ATTRS = {"raw": {"type", "code"},
             "x86-default": {"type", "select", "umask"},
             "x86-masked-entry": {"type", "select", "mask", "match",
                                  "exclude"}}


def value(text, what, bits):
    """A number as QEMU and libvirt write them: 0x hexadecimal or
    decimal without leading zeros, within @bits"""
    if not isinstance(text, str) or not QEMU_NUMBER.match(text):
        raise PolicyError("%s: %r is not a number (0x hexadecimal or "
                          "decimal, as a string)" % (what, text))
    n = int(text, 16) if text[:2].lower() == "0x" else int(text)
    if n >> bits:
        raise PolicyError("%s: %s is wider than %d bits" % (what, text, bits))
    return n


def raw_entry(code, what):
    n = value(code, what + ".code", 64)
    if n & ~0xf0000ffff:
        raise PolicyError("%s.code: %s has bits outside the event select "
                          "and unit mask" % (what, code))
    return Entry((n & 0xff) | (n >> 32 & 0xf) << 8, 0xff, n >> 8 & 0xff)


def event_entry(fmt, fields, what):
    """An Entry for one event given as strings in @fields"""
    if fmt == "raw":
        return raw_entry(fields["code"], what)
    select = value(fields["select"], what + ".select", 12)
    if fmt == "x86-default":
        return Entry(select, 0xff, value(fields["umask"], what + ".umask", 8))
    entry = Entry(select, value(fields["mask"], what + ".mask", 8),
                  value(fields["match"], what + ".match", 8),
                  fields.get("exclude", False))
    if entry.match & ~entry.mask:
        raise PolicyError("%s: match %#x has bits outside mask %#x"
                          % (what, entry.match, entry.mask))
    return entry


def check_fields(fields, allowed, required, what):
    extra = sorted(set(fields) - allowed)
    if extra:
        raise PolicyError("%s: unexpected '%s'" % (what, extra[0]))
    missing = sorted(required - set(fields))
    if missing:
        raise PolicyError("%s: '%s' is missing" % (what, missing[0]))


def make_filter(action, events, bitmap, what):
    """A Filter from (format, fields) pairs, with QEMU's checks"""
    if action not in ("allow", "deny"):
        raise PolicyError("%s: action must be allow or deny, not %r"
                          % (what, action))
    if len(events) > KVM_MAX_EVENTS:
        raise PolicyError("%s: %d events, more than the %d that KVM takes"
                          % (what, len(events), KVM_MAX_EVENTS))
    formats = {fmt for fmt, _ in events}
    masked = "x86-masked-entry" in formats
    if masked and len(formats) > 1:
        raise PolicyError("%s: masked entries cannot be mixed with other "
                          "formats" % what)
    entries = [event_entry(fmt, fields, "%s.events[%d]" % (what, i))
               for i, (fmt, fields) in enumerate(events)]
    return Filter(action, entries, masked, bitmap)


def from_object(obj, what="filter"):
    """A Filter from a kvm-pmu-filter object, or what wraps one"""
    if not isinstance(obj, dict):
        raise PolicyError("%s: not a JSON object" % what)
    for key in ("arguments", "return"):
        if key in obj and len(obj) <= 2 and isinstance(obj[key], dict):
            return from_object(obj[key], what)
    check_fields(obj, OBJECT_KEYS, {"action"}, what)
    if obj.get("qom-type", "kvm-pmu-filter") != "kvm-pmu-filter":
        raise PolicyError("%s: not a kvm-pmu-filter but a %s"
                          % (what, obj["qom-type"]))
    events = obj.get("events", [])
    if not isinstance(events, list):
        raise PolicyError("%s: events is not a list" % what)
    fixed = obj.get("x86-fixed-counter", {"bitmap": "0"})
    if not isinstance(fixed, dict):
        raise PolicyError("%s: x86-fixed-counter is not an object" % what)
    check_fields(fixed, {"bitmap"}, {"bitmap"}, what + ".x86-fixed-counter")
    bitmap = value(fixed["bitmap"], what + ".x86-fixed-counter.bitmap", 32)
    return make_filter(obj["action"], [json_fields(ev, "%s.events[%d]"
                                                   % (what, i))
                                       for i, ev in enumerate(events)],
                       bitmap, what)


def json_fields(ev, what):
    if not isinstance(ev, dict) or ev.get("format") not in EVENT_KEYS:
        raise PolicyError("%s: format must be one of %s" % (
            what, ", ".join(sorted(EVENT_KEYS))))
    fmt = ev["format"]
    fields = {k: v for k, v in ev.items() if k != "format"}
    required = EVENT_KEYS[fmt] - {"exclude"}
    check_fields(fields, EVENT_KEYS[fmt], required, what)
    if not isinstance(fields.get("exclude", False), bool):
        raise PolicyError("%s: exclude must be true or false" % what)
    return fmt, fields


def xml_filter(root):
    """The <filter> element of @root: itself, or the one in its <pmu>"""
    if root.tag == "filter":
        return root
    found = root.findall(".//pmu/filter")
    if len(found) != 1:
        raise PolicyError("the XML has %s <pmu><filter> element"
                          % ("no" if not found else "more than one"))
    return found[0]


def xml_event(elem, what):
    kind = XML_TYPES.get(elem.get("type"))
    if elem.tag != "event" or kind is None:
        raise PolicyError("%s: expected <event type='raw|selectUmask|"
                          "masked'>, got <%s type=%r>"
                          % (what, elem.tag, elem.get("type")))
    fields = dict(elem.attrib)
    check_fields(fields, XML_ATTRS[kind],
                 XML_ATTRS[kind] - {"exclude"}, what)
    fields.pop("type")
    if "exclude" in fields:
        if fields["exclude"] not in ("yes", "no"):
            raise PolicyError("%s: exclude must be yes or no" % what)
        fields["exclude"] = fields["exclude"] == "yes"
    return kind, fields


def from_xml(text):
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise PolicyError("the filter is not well-formed XML: %s" % e)
    flt = xml_filter(root)
    check_fields(flt.attrib, {"action"}, {"action"}, "<filter>")
    bitmap = 0
    events = []
    for i, child in enumerate(flt):
        what = "<filter> child %d" % (i + 1)
        if child.tag in XML_FIXED:
            check_fields(child.attrib, {"bitmap"}, {"bitmap"}, what)
            bitmap = value(child.get("bitmap"), what + " bitmap", 32)
        else:
            events.append(xml_event(child, what))
    return make_filter(flt.get("action"), events, bitmap, "<filter>")


def parse(text):
    """A Filter from the text of a JSON object or an XML document"""
    start = text.lstrip()[:1]
    if start == "<":
        return from_xml(text)
    if start != "{":
        raise PolicyError("the filter is neither a JSON object nor XML")
    try:
        obj = json.loads(text, object_pairs_hook=unique_keys)
    except ValueError as e:
        raise PolicyError("the filter is not valid JSON: %s" % e)
    return from_object(obj)


def unique_keys(pairs):
    keys = [k for k, _ in pairs]
    for k in keys:
        if keys.count(k) > 1:
            raise ValueError("key '%s' is given twice" % k)
    return dict(pairs)
