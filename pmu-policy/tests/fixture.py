# SPDX-License-Identifier: GPL-2.0-or-later
"""Small event tables in perf's format, written to a temporary directory:
an Intel model (testlake) and an AMD one (testzen) with the kinds of
events the tool must tell apart."""

import json
import os
import tempfile

MAPFILE = """Family-model,Version,Filename,EventType
GenuineIntel-6-8F,v1,testlake,core
GenuineIntel-6-55-[01234],v1,oldlake,core
GenuineIntel-6-55-[56789ABCDEF],v1,newlake,core
AuthenticAMD-25-[[:xdigit:]]+,v1,testzen,core
"""


def ev(name, code=None, umask=None, **more):
    out = {"EventName": name, "BriefDescription": name}
    if code is not None:
        out["EventCode"] = code
    if umask is not None:
        out["UMask"] = umask
    out.update(more)
    return out


def fixed(name, index, umask):
    return ev(name, umask=umask, Counter="Fixed counter %d" % index)


OFFCORE = {"MSRIndex": "0x1a6,0x1a7", "MSRValue": "0x10001"}
TESTLAKE = {
    "pipeline.json": [
        fixed("INST_RETIRED.ANY", 0, "0x1"),
        fixed("CPU_CLK_UNHALTED.THREAD", 1, "0x2"),
        fixed("CPU_CLK_UNHALTED.REF_TSC", 2, "0x3"),
        fixed("TOPDOWN.SLOTS", 3, "0x4"),
        ev("INST_RETIRED.ANY_P", "0xc0", "0x0"),
        ev("CPU_CLK_UNHALTED.THREAD_P", "0x3c", "0x0"),
        ev("CPU_CLK_UNHALTED.REF_TSC_P", "0x3c", "0x1"),
        ev("CYCLES_ACTIVE", "0x3c", "0x0", CounterMask="1"),
        ev("BR_INST_RETIRED.ALL_BRANCHES", "0xc4", "0x0"),
        ev("BR_MISP_RETIRED.ALL_BRANCHES", "0xc5", "0x0"),
        ev("BR_OLD_NAME", "0xc4", "0x0", Deprecated="1"),
    ],
    "cache.json": [
        ev("LONGEST_LAT_CACHE.MISS", "0x2e", "0x41"),
        ev("LONGEST_LAT_CACHE.REFERENCE", "0x2e", "0x4f"),
        ev("OCR.DEMAND_DATA_RD.ANY_RESPONSE", "0x2A,0x2B", "0x1",
           **OFFCORE),
    ] + [ev("L2_RQSTS.U%02X" % u, "0x24", "0x%02x" % u)
         for u in (0x21, 0x22, 0x24, 0x27, 0x3f, 0xc1, 0xc2, 0xe7)],
    "memory.json": [
        ev("OCR.DEMAND_RFO.ANY_RESPONSE", "0x2A,0x2B", "0x1", **OFFCORE),
        ev("MEM_LOAD_RETIRED.L3_MISS", "0xd1", "0x20"),
        ev("MEM_TRANS_RETIRED.LOAD_LATENCY_GT_4", "0xcd", "0x1",
           MSRIndex="0x3F6", MSRValue="0x4"),
    ],
    "other.json": [ev("EXE.AMX_BUSY", "0xb7", "0x2")],
    "uncore-memory.json": [ev("UNC_M_CAS_COUNT.RD", "0x04", "0x03",
                              Unit="iMC")],
    "metricgroups.json": {"Group": "a group"},
}
TESTZEN = {
    "core.json": [ev("ls_not_halted_cyc", "0x76"),
                  ev("ex_ret_instr", "0xc0"),
                  ev("ex_ret_brn", "0xc2"),
                  ev("ex_ret_brn_misp", "0xc3")],
    "cache.json": [ev("ic_tag_hit_miss.instruction_cache_hit", "0x18e",
                      "0x07"),
                   ev("ic_tag_hit_miss.instruction_cache_miss", "0x18e",
                      "0x18")],
    "memory.json": [ev("ls_dispatch.ld_dispatch", "0x29", "0x01"),
                    ev("ls_dispatch.store_dispatch", "0x29", "0x02")],
    "l3-cache.json": [ev("l3_lookup_state.all_coherent_accesses_to_l3",
                         "0x04", "0xff", Unit="L3PMC")],
}


def write_model(top, name, tables):
    os.makedirs(os.path.join(top, name))
    for file, entries in tables.items():
        with open(os.path.join(top, name, file), "w") as f:
            json.dump(entries, f)


def make_tables():
    """A TemporaryDirectory holding the tables"""
    tmp = tempfile.TemporaryDirectory(prefix="pmu-policy-")
    with open(os.path.join(tmp.name, "mapfile.csv"), "w") as f:
        f.write(MAPFILE)
    write_model(tmp.name, "testlake", TESTLAKE)
    write_model(tmp.name, "testzen", TESTZEN)
    for name in ("oldlake", "newlake"):
        write_model(tmp.name, name, {"pipeline.json": TESTLAKE[
            "pipeline.json"]})
    return tmp


def perf_list(tables):
    """@tables as `perf list -j` prints them: perf's event string, with
    the first event select only, lower-case names, topics with spaces"""
    out = []
    for file, entries in tables.items():
        for e in entries if isinstance(entries, list) else []:
            out.append(perf_list_entry(e, file[:-len(".json")]))
    return out


def perf_list_entry(e, topic):
    code = int(e.get("EventCode", "0").split(",")[0], 16)
    terms = ["event=%#x" % code]
    if "UMask" in e and int(e["UMask"], 16):
        terms.append("umask=%#x" % int(e["UMask"], 16))
    if "CounterMask" in e:
        terms.append("cmask=" + e["CounterMask"])
    if e.get("MSRIndex", "").startswith("0x1a6"):
        terms.append("offcore_rsp=" + e["MSRValue"])
    unit = "cpu" if "Unit" not in e else "uncore_" + e["Unit"].lower()
    if e["EventName"] in ("INST_RETIRED.ANY", "CPU_CLK_UNHALTED.THREAD"):
        terms = ["event=%s" % ("0xc0" if "INST" in e["EventName"]
                               else "0x3c")]
    return {"Unit": unit, "Topic": topic.replace("-", " "),
            "EventName": e["EventName"].lower(),
            "EventType": "Kernel PMU event",
            "BriefDescription": e["BriefDescription"],
            "Encoding": "%s/%s/" % (unit, ",".join(terms))}
