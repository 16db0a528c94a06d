# SPDX-License-Identifier: GPL-2.0-or-later
"""Unit tests of pmu-policy on small tables in perf's format"""

import json
import os
import random
import subprocess
import tempfile
import unittest

import fixture
from common import TOOL
from pmupolicy import encode, explain, filterfile, perflist, policy, tables
from pmupolicy.errors import PolicyError


class Tables(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = fixture.make_tables()
        cls.dir = cls.tmp.name

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def model(self, name="testlake"):
        return tables.load_tables(self.dir, name)

    def resolve(self, action, *terms, model="testlake"):
        return policy.resolve(self.model(model), action, list(terms))

    def warnings(self, res):
        return "\n".join(res.warnings)


class Models(Tables):
    def test_by_name_and_cpuid(self):
        self.assertEqual(self.model().name, "testlake")
        self.assertEqual(self.model("GenuineIntel-6-8F").name, "testlake")
        self.assertEqual(self.model("GenuineIntel-6-8f-3").name, "testlake")
        self.assertEqual(self.model("GenuineIntel-6-55-4").name, "oldlake")
        self.assertEqual(self.model("GenuineIntel-6-55-B").name, "newlake")
        self.assertEqual(self.model("AuthenticAMD-25-11").vendor, "amd")

    def test_stepping_needed(self):
        with self.assertRaisesRegex(PolicyError, "oldlake, newlake by its "
                                    "stepping"):
            self.model("GenuineIntel-6-55")

    def test_unknown(self):
        with self.assertRaisesRegex(PolicyError, "unknown CPU model "
                                    "'testlak'; did you mean testlake"):
            self.model("testlak")
        with self.assertRaisesRegex(PolicyError, "no model .* matches CPU "
                                    "GenuineIntel-6-99"):
            self.model("GenuineIntel-6-99")

    def test_host(self):
        with tempfile.NamedTemporaryFile("w") as f:
            f.write("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family"
                    "\t: 6\nmodel\t\t: 143\nstepping\t: 8\n\n")
            f.flush()
            self.assertEqual(tables.host_cpuid(f.name), "GenuineIntel-6-8F-8")

    def test_events(self):
        m = self.model()
        self.assertEqual(m.by_name["INST_RETIRED.ANY"].fixed, 0)
        self.assertEqual(m.by_name["INST_RETIRED.ANY"].encodings, ())
        self.assertEqual(m.by_name["OCR.DEMAND_RFO.ANY_RESPONSE"].encodings,
                         ((0x2a, 1), (0x2b, 1)))
        self.assertIn("UNC_M_CAS_COUNT.RD", m.uncore)
        self.assertNotIn("UNC_M_CAS_COUNT.RD", m.by_name)
        zen = self.model("testzen")
        self.assertEqual(zen.by_name["IC_TAG_HIT_MISS.INSTRUCTION_CACHE_HIT"]
                         .encodings, ((0x18e, 7),))


class Resolve(Tables):
    def test_architectural_intel(self):
        res = self.resolve("allow", "architectural")
        self.assertEqual(res.encodings, {(0x3c, 0), (0xc0, 0), (0x3c, 1),
                                         (0xc4, 0), (0xc5, 0)})
        self.assertEqual(res.bitmap(), 0x7)
        self.assertIn("CYCLES_ACTIVE", res.events)
        self.assertEqual(res.warnings, [])

    def test_modifier_variants_share_their_base_event(self):
        res = self.resolve("allow", "CPU_CLK_UNHALTED.THREAD_P",
                           "BR_INST_RETIRED.*")
        self.assertEqual(res.warnings, [
            "0x3c/0x00: CYCLES_ACTIVE allowed too: it is an event the "
            "policy does not name, which shares this event select and unit "
            "mask with CPU_CLK_UNHALTED.THREAD_P; they differ in "
            "CounterMask, which KVM's filter does not compare"])

    def test_architectural_amd(self):
        res = self.resolve("allow", "architectural", model="testzen")
        flt = encode.build(res)
        self.assertFalse(flt.masked)
        self.assertEqual(flt.entries, [(0x76, 0), (0xc0, 0), (0xc2, 0),
                                       (0xc3, 0)])
        self.assertNotIn("x86-fixed-counter", encode.to_object(flt, "f0"))

    def test_wildcards_and_fixed_counters(self):
        res = self.resolve("allow", "inst_retired.*")
        self.assertEqual(res.encodings, {(0xc0, 0)})
        self.assertEqual(res.fixed, {0})

    def test_fixed_counter_3(self):
        res = self.resolve("allow", "TOPDOWN.SLOTS")
        self.assertEqual(res.fixed, set())
        self.assertIn("TOPDOWN.SLOTS: counts only on fixed counter 3",
                      self.warnings(res))

    def test_unknown_name(self):
        with self.assertRaisesRegex(PolicyError, "unknown event "
                                    "'LONGEST_LAT_CACHE.MIS'; did you mean "
                                    "LONGEST_LAT_CACHE.MISS"):
            self.resolve("deny", "LONGEST_LAT_CACHE.MIS")

    def test_uncore(self):
        res = self.resolve("deny", "UNC_M_*", "EXE.AMX_BUSY")
        self.assertEqual(res.encodings, {(0xb7, 2)})
        self.assertIn("uncore PMUs (iMC), which KVM does not give guests",
                      self.warnings(res))

    def test_offcore_deny_names_both_selects_and_the_rest(self):
        res = self.resolve("deny", "OCR.DEMAND_DATA_RD.*")
        self.assertEqual(res.encodings, {(0x2a, 1), (0x2b, 1)})
        w = self.warnings(res)
        self.assertIn("OCR.DEMAND_RFO.ANY_RESPONSE denied too", w)
        self.assertIn("offcore response MSR", w)
        self.assertIn("a deny-list lets the guest count every event", w)

    def test_msr_events_allowed(self):
        res = self.resolve("allow", "MEM_TRANS_RETIRED.*")
        self.assertIn("needs MSR 0x3f6 (load latency), which KVM does not "
                      "give guests", self.warnings(res))

    def test_topics_and_presets(self):
        res = self.resolve("deny", "cache", "memory", "offcore", "llc")
        self.assertIn((0x24, 0xe7), res.encodings)
        self.assertIn((0xd1, 0x20), res.encodings)
        self.assertNotIn((0xb7, 2), res.encodings)
        res = self.resolve("deny", "offcore", "llc", model="testzen")
        self.assertEqual(res.encodings, set())
        self.assertIn("preset offcore: testzen has none", self.warnings(res))

    def test_empty_allow_list(self):
        res = self.resolve("allow", "UNC_M_CAS_COUNT.RD")
        self.assertIn("the guest can count no event", self.warnings(res))


class Encode(Tables):
    def test_masked_where_shorter(self):
        flt = encode.build(self.resolve("deny", "L2_RQSTS.*", "llc"))
        self.assertTrue(flt.masked)
        self.assertEqual([(e.select, e.mask, e.match, e.exclude)
                          for e in flt.entries],
                         [(0x24, 0, 0, False), (0x2e, 0, 0, False)])
        plain = encode.build(self.resolve("deny", "L2_RQSTS.*"), "plain")
        self.assertEqual(len(plain.entries), 8)

    def test_allow_list_lists_only_named_unit_masks(self):
        res = self.resolve("allow", "L2_RQSTS.*")
        flt = encode.build(res, "masked")
        for u in range(256):
            self.assertEqual(explain.listed(flt, 0x24, u),
                             (0x24, u) in res.encodings, hex(u))

    def test_cover_is_exact(self):
        rng = random.Random(28)
        for _ in range(150):
            listed = {rng.randrange(256) for _ in range(rng.randrange(1, 90))}
            unlisted = {u for u in range(256) if u not in listed and
                        rng.random() < 0.5}
            entries = encode.select_entries(0x3c, encode.bits(listed),
                                            encode.bits(unlisted))
            flt = encode.Filter("allow", entries, True, None)
            for u in listed:
                self.assertTrue(explain.listed(flt, 0x3c, u))
            for u in unlisted:
                self.assertFalse(explain.listed(flt, 0x3c, u))

    def test_more_than_300(self):
        res = self.resolve("allow", "architectural")
        res.encodings = {(s, u) for s in range(0x40, 0x4a)
                         for u in range(0, 64, 2)}
        self.assertEqual(len(res.encodings), 320)
        flt = encode.build(res)
        self.assertTrue(flt.masked)
        self.assertEqual(len(flt.entries), 10)
        res.encodings = {(s, u) for s in range(0x40, 0x80)
                         for u in (0x11, 0x22, 0x44, 0x88, 0x99)}
        with self.assertRaisesRegex(PolicyError, "320 entries, more than "
                                    "the 300 that KVM takes"):
            encode.build(res)

    def test_outputs(self):
        flt = encode.build(self.resolve("deny", "LONGEST_LAT_CACHE.MISS",
                                        "CPU_CLK_UNHALTED.REF_TSC"))
        self.assertEqual(json.loads(encode.to_json(flt, "pf")), {
            "qom-type": "kvm-pmu-filter", "id": "pf", "action": "deny",
            "x86-fixed-counter": {"bitmap": "0x4"},
            "events": [{"format": "x86-default", "select": "0x2e",
                        "umask": "0x41"}]})
        self.assertEqual(encode.to_xml(flt), "<filter action='deny'>\n"
                         "  <fixedCounters bitmap='0x4'/>\n"
                         "  <event type='selectUmask' select='0x2e' "
                         "umask='0x41'/>\n</filter>")
        flt = encode.build(self.resolve("allow", "L2_RQSTS.U21"), "masked")
        self.assertIn("<event type='masked' select='0x24' mask='0xff' "
                      "match='0x21'/>", encode.to_xml(flt))


COVER_LETTER = ('{"qom-type":"kvm-pmu-filter","id":"f0","action":"allow",'
                '"x86-fixed-counter":{"bitmap":"0x0"},"events":['
                '{"format":"x86-masked-entry","select":"0xc4","mask":"0xff",'
                '"match":"0","exclude":true},{"format":"x86-masked-entry",'
                '"select":"0xc5","mask":"0xff","match":"0","exclude":true}]}')


class Explain(Tables):
    def explain(self, text, model="testlake"):
        return explain.Explanation(filterfile.parse(text), self.model(model))

    def test_allow_list_of_excludes_allows_nothing(self):
        exp = self.explain(COVER_LETTER)
        self.assertEqual(exp.names(explain.ALLOWED), [])
        self.assertIn("BR_INST_RETIRED.ALL_BRANCHES",
                      exp.names(explain.DENIED))

    def test_fixed_counters_by_the_bitmap(self):
        exp = self.explain('{"action":"deny","x86-fixed-counter":'
                           '{"bitmap":"0x1"},"events":[{"format":"raw",'
                           '"code":"0xc0"}]}')
        self.assertEqual(exp.names(explain.DENIED),
                         ["INST_RETIRED.ANY", "INST_RETIRED.ANY_P"])
        self.assertEqual(exp.names(explain.NEVER), ["TOPDOWN.SLOTS"])
        self.assertIn("CPU_CLK_UNHALTED.THREAD", exp.names(explain.ALLOWED))

    def test_masked_with_exclude_and_unnamed(self):
        exp = self.explain(
            "<filter action='allow'><fixedCounters bitmap='0x0'/>"
            "<event type='masked' select='0x2e' mask='0x00' match='0x00'/>"
            "<event type='masked' select='0x2e' mask='0xff' match='0x41' "
            "exclude='yes'/><event type='masked' select='0x99' mask='0xff' "
            "match='0x01'/></filter>")
        self.assertEqual(exp.names(explain.ALLOWED),
                         ["LONGEST_LAT_CACHE.REFERENCE"])
        text = exp.to_text()
        self.assertIn("The guest can count 1 of the", text)
        self.assertRegex(text, "\n  0x2e/0x4f +LONGEST_LAT_CACHE.REFERENCE\n")
        self.assertIn("Entries that name no event of testlake: 0x99/0x01",
                      text)

    def test_partly(self):
        exp = self.explain('{"action":"deny","events":[{"format":'
                           '"x86-default","select":"0x2a","umask":"0x1"}]}')
        self.assertEqual(exp.names(explain.PARTLY),
                         ["OCR.DEMAND_DATA_RD.ANY_RESPONSE",
                          "OCR.DEMAND_RFO.ANY_RESPONSE"])

    def test_other_vendor_refused(self):
        with self.assertRaisesRegex(PolicyError, "it is for Intel, not for "
                                    "testzen"):
            self.explain(COVER_LETTER.replace('"0x0"', '"0x7"'), "testzen")
        with self.assertRaisesRegex(PolicyError, "event select 0x18e, wider "
                                    "than Intel's 8 bits: it is for AMD"):
            self.explain('{"action":"allow","events":[{"format":"raw",'
                         '"code":"0x10000078e"}]}')

    def test_resolved_filter_explains_back(self):
        for terms in (["architectural"], ["cache", "memory"],
                      ["L2_RQSTS.U2*"]):
            for action in ("allow", "deny"):
                res = self.resolve(action, *terms)
                exp = self.explain(encode.to_json(encode.build(res), "f0"))
                side = explain.ALLOWED if action == "allow" else \
                    explain.DENIED
                named = {e.name for e in res.events.values()
                         if e.fixed is None or e.fixed < 3}
                self.assertLessEqual(named, set(exp.names(side)))


class FilterFiles(unittest.TestCase):
    def bad(self, text, message):
        with self.assertRaisesRegex(PolicyError, message):
            filterfile.parse(text)

    def test_forms(self):
        obj = {"action": "deny", "events": [{"format": "x86-default",
                                             "select": "0x2e",
                                             "umask": "0x4f"}]}
        for text in (json.dumps(obj),
                     json.dumps({"execute": "object-add", "arguments":
                                 dict(obj, **{"qom-type": "kvm-pmu-filter",
                                              "id": "f1"})}),
                     json.dumps(dict(obj, **{"x86-fixed-counter":
                                             {"bitmap": "0"}})),
                     "<filter action='deny'><event type='x86-default' "
                     "select='0x2e' umask='0x4f'/></filter>",
                     "<domain><features><pmu state='on'><filter action="
                     "'deny'><fixed-counters bitmap='0'/><event type="
                     "'selectUmask' select='46' umask='79'/></filter></pmu>"
                     "</features></domain>"):
            flt = filterfile.parse(text)
            self.assertEqual([(e.select, e.mask, e.match) for e in
                              flt.entries], [(0x2e, 0xff, 0x4f)], text)

    def test_malformed(self):
        self.bad('{"action": "deny", "events": [', "not valid JSON")
        self.bad('{"action": "deny", "action": "allow"}', "given twice")
        self.bad('{"action": "deny", "event": []}', "unexpected 'event'")
        self.bad('{"action": "deny", "events": [{"format": "raw", "code": '
                 '196}]}', "196 is not a number")
        self.bad('{"action": "deny", "events": [{"format": "raw", "code": '
                 '"010"}]}', "'010' is not a number")
        self.bad('{"action": "deny", "events": [{"format": "raw", "code": '
                 '"0x10000000000c4"}]}', "bits outside the event select")
        self.bad('{"action": "deny", "events": [{"format": '
                 '"x86-masked-entry", "select": "0x2e", "mask": "0x0f", '
                 '"match": "0x10"}]}', "match 0x10 has bits outside mask")
        self.bad('{"action": "deny", "events": [{"format": "raw", "code": '
                 '"1"}, {"format": "x86-masked-entry", "select": "1", '
                 '"mask": "0", "match": "0"}]}', "cannot be mixed")
        self.bad(json.dumps({"action": "deny", "events": [
            {"format": "raw", "code": "1"}] * 301}), "301 events")
        self.bad("<filter action='deny'><event type='raw' code='1'>",
                 "not well-formed XML")
        self.bad("<filter action='deny'><evnt type='raw' code='1'/>"
                 "</filter>", "expected <event")
        self.bad("<filter action='deny'><event type='masked' select='1' "
                 "mask='0' match='0' exclude='maybe'/></filter>",
                 "exclude must be yes or no")
        self.bad("<domain/>", "no <pmu><filter>")
        self.bad("allow 0xc4", "neither a JSON object nor XML")


class CommandLine(Tables):
    def run_tool(self, *args, stdin=None):
        return subprocess.run([TOOL] + list(args), input=stdin, text=True,
                              capture_output=True)

    def assert_one_error(self, run, message):
        self.assertEqual(run.returncode, 1)
        self.assertEqual(run.stdout, "")
        lines = run.stderr.splitlines()
        self.assertEqual(len(lines), 1, run.stderr)
        self.assertTrue(lines[0].startswith("pmu-policy: error: "))
        self.assertIn(message, lines[0])

    def test_bad_input_writes_nothing(self):
        out = os.path.join(self.dir, "out.json")
        cases = [(["resolve", "-m", "testlake", "deny", "LONGEST_LAT_CACHE."
                   "MIS"], None, "did you mean LONGEST_LAT_CACHE.MISS"),
                 (["resolve", "-m", "testlaek", "allow", "architectural"],
                  None, "unknown CPU model 'testlaek'"),
                 (["explain", "-m", "testlake", "-"], '{"action": "deny", ',
                  "not valid JSON"),
                 (["explain", "-m", "testlake", "-"],
                  "<filter action='deny'><event type='raw'", "not "
                  "well-formed XML")]
        for args, stdin, message in cases:
            run = self.run_tool(*args, "--tables", self.dir, *(
                ["-o", out] if args[0] == "resolve" else []), stdin=stdin)
            self.assert_one_error(run, message)
            self.assertFalse(os.path.exists(out))

    def test_output_file_and_warnings(self):
        out = os.path.join(self.dir, "out.xml")
        run = self.run_tool("resolve", "--tables", self.dir, "-m", "testlake",
                            "-f", "xml", "-o", out, "deny", "cache")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, "")
        self.assertIn("pmu-policy: warning: a deny-list lets", run.stderr)
        with open(out) as f:
            self.assertTrue(f.read().startswith("<filter action='deny'>"))
        os.unlink(out)

    def test_explain_text(self):
        run = self.run_tool("explain", "--tables", self.dir, "-m", "testlake",
                            "-", stdin=COVER_LETTER)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("Filter: allow-list of 2 masked entries, fixed-counter "
                      "bitmap 0x0", run.stdout)
        self.assertIn("The guest can count 0 of the 25 named events.",
                      run.stdout)

    def test_presets(self):
        run = self.run_tool("presets", "--tables", self.dir, "-m", "testzen")
        self.assertIn("  0x76/0x00         ls_not_halted_cyc", run.stdout)


class PerfList(Tables):
    def perf_list_model(self, tables_data, cpuid="GenuineIntel-6-8F"):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(fixture.perf_list(tables_data), f)
            f.flush()
            return perflist.load_perf_list(f.name, tables.VENDORS[
                cpuid.split("-")[0]], cpuid)

    def test_same_filter_as_the_tables(self):
        listed = self.perf_list_model(fixture.TESTLAKE)
        for terms in (["architectural"], ["L2_RQSTS.*", "llc"],
                      ["pipeline"]):
            want = self.resolve("allow", *terms)
            got = policy.resolve(listed, "allow", terms)
            self.assertEqual(got.encodings, want.encodings, terms)
        self.assertEqual(listed.by_name["CPU_CLK_UNHALTED.REF_TSC"].fixed, 2)

    def test_offcore_refused(self):
        listed = self.perf_list_model(fixture.TESTLAKE)
        with self.assertRaisesRegex(PolicyError, "only one of the event "
                                    "selects"):
            policy.resolve(listed, "deny", ["cache"])


if __name__ == "__main__":
    unittest.main()
