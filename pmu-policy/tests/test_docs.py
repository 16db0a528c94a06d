# SPDX-License-Identifier: GPL-2.0-or-later
"""Every x86 filter example of README.md and the QEMU manual's page says
which CPU models it is for, and each of its entries names an event of
perf's tables for each of those models.  An example is for the models
of a "(models: NAME, ...)" in the text between the previous example and
itself, or else for those of the last "(default models: NAME, ...)"
above it; NAME is a perf model name, or Intel or AMD for every model of
that vendor."""

import json
import os
import re
import unittest

from common import TOP, tables_or_skip
from pmupolicy import explain, filterfile, tables
from pmupolicy.errors import PolicyError

DOCS = ["README.md", "docs/system/kvm-pmu-filter.rst"]
MODELS = re.compile(r"\(models:\s+([a-zA-Z][^)]*)\)")
DEFAULT_MODELS = re.compile(r"\(default\s+models:\s+([a-zA-Z][^)]*)\)")
XML_FILTER = re.compile(r"<filter action=.*?</filter>", re.S)


def json_end(text, start):
    """The end of the JSON object that starts at @start, or None"""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            in_string = not (c == '"' and not escaped)
            escaped = c == "\\" and not escaped
        elif c == '"':
            in_string = True
        elif c in "{}":
            depth += 1 if c == "{" else -1
            if depth == 0:
                return i + 1
    return None


def json_filters(text):
    """(start, end, text) of every kvm-pmu-filter object in @text"""
    for m in re.finditer(r"\{", text):
        end = json_end(text, m.start())
        if end is None:
            continue
        try:
            obj = json.loads(text[m.start():end])
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("qom-type") == "kvm-pmu-filter":
            yield m.start(), end, text[m.start():end]


def is_arm(text, start):
    """Whether the block that holds @start is an Arm example"""
    block = max(text.rfind("\n\n", 0, start), 0)
    return "aarch64" in text[block:start]


def examples(text):
    """(line, models text or None, filter text) of each x86 example"""
    found = [(s, e, t) for s, e, t in json_filters(text)
             if not is_arm(text, s)]
    found += [(m.start(), m.end(), m.group())
              for m in XML_FILTER.finditer(text)]
    previous = 0
    for start, end, body in sorted(found):
        marks = (MODELS.findall(text, previous, start) or
                 DEFAULT_MODELS.findall(text, 0, start))
        yield (text.count("\n", 0, start) + 1,
               marks[-1] if marks else None, body)
        previous = end


def model_names(words, entries):
    out = []
    for word in (w.strip() for w in words.split(",")):
        vendor = {"intel": "intel", "amd": "amd"}.get(word.lower())
        out += [n for _, n, v in entries if v == vendor] if vendor else [word]
    return list(dict.fromkeys(out))


def entry_problems(flt, model):
    """Why @flt's entries do not fit @model, as sentences"""
    try:
        explain.check_vendor(flt, model)
    except PolicyError as e:
        return [str(e)]
    named = {enc for ev in model.events for enc in ev.encodings}
    out = ["%s names no event of %s" % (explain.entry_text(e), model.name)
           for e in flt.entries
           if not any(s == e.select and e.matches(u) for s, u in named)]
    if model.vendor == "intel" and flt.bitmap >> 3:
        out.append("fixed-counter bitmap %#x: KVM gives guests 3" % flt.bitmap)
    return out


def check_file(path, tables_dir, load):
    """The problems of the examples in @path, and how many were checked"""
    with open(os.path.join(TOP, path)) as f:
        text = f.read()
    entries = tables.read_mapfile(tables_dir)
    problems, checked = [], 0
    for line, marks, body in examples(text):
        where = "%s:%d" % (path, line)
        if marks is None:
            problems.append("%s: x86 example without (models: ...)" % where)
            continue
        try:
            flt = filterfile.parse(body)
        except PolicyError as e:
            problems.append("%s: %s" % (where, e))
            continue
        for name in model_names(marks, entries):
            try:
                model = load(name)
            except PolicyError as e:
                problems.append("%s: %s" % (where, e))
                continue
            checked += 1
            problems += ["%s: %s" % (where, p)
                         for p in entry_problems(flt, model)]
    return problems, checked


class DocsExamples(unittest.TestCase):
    def setUp(self):
        self.tables = tables_or_skip(self)
        self.cache = {}

    def load(self, name):
        if name not in self.cache:
            self.cache[name] = tables.load_tables(self.tables, name)
        return self.cache[name]

    def test_examples_name_their_models_and_fit_them(self):
        problems, total = [], 0
        for path in DOCS:
            found, checked = check_file(path, self.tables, self.load)
            problems += found
            total += checked
        print("\ndocs examples: %d example-model checks, %d problems"
              % (total, len(problems)))
        for p in problems:
            print("  " + p)
        self.assertEqual(problems, [])

    def test_offcore_encoding_of_older_intel_is_caught(self):
        """The old offcore example, 0xb7/0xbb unit mask 0x01, fits
        Skylake-X and not Sapphire Rapids"""
        flt = filterfile.parse(json.dumps({
            "action": "deny", "events": [
                {"format": "x86-default", "select": "0xb7", "umask": "0x01"},
                {"format": "x86-default", "select": "0xbb",
                 "umask": "0x01"}]}))
        self.assertEqual(entry_problems(flt, self.load("skylakex")), [])
        self.assertEqual(entry_problems(flt, self.load("sapphirerapids")),
                         ["0xb7/0x01 names no event of sapphirerapids",
                          "0xbb/0x01 names no event of sapphirerapids"])

    def test_markers(self):
        example = ('::\n\n  {"qom-type": "kvm-pmu-filter", '
                   '"action": "deny"}\n\n')
        text = ("Intro (models: skylakex)" + example + "No marker" + example)
        self.assertEqual([(line, marks) for line, marks, _ in examples(text)],
                         [(3, "skylakex"), (7, None)])
        text = ("(default models: icelakex) A" + example +
                "B (models: amdzen4)" + example + "C" + example)
        self.assertEqual([marks for _, marks, _ in examples(text)],
                         ["icelakex", "amdzen4", "icelakex"])

    def test_arm_examples_are_not_x86(self):
        text = ('  $ qemu-system-aarch64 \\\n    -object \'{"qom-type": '
                '"kvm-pmu-filter", "action": "deny"}\'\n')
        self.assertEqual(list(examples(text)), [])


if __name__ == "__main__":
    unittest.main()
