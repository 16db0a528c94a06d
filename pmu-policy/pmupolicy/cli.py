# SPDX-License-Identifier: GPL-2.0-or-later
"""The command line: resolve, explain, presets, models."""

import argparse
import os
import sys
import tempfile

from . import encode, explain, filterfile, perflist, policy, tables
from .errors import PolicyError

PROG = "pmu-policy"


def model_options(parser):
    parser.add_argument("--model", "-m", default="host",
                        help="perf's model name (sapphirerapids), a CPU "
                             "id as in perf's mapfile.csv (GenuineIntel-6-"
                             "8F), or host (default)")
    parser.add_argument("--tables", metavar="DIR",
                        help="perf's x86 event tables, tools/perf/pmu-"
                             "events/arch/x86 of a Linux tree (default: "
                             "$PMU_POLICY_TABLES, or the copy that "
                             "harness/fetch-linux.sh unpacked)")
    parser.add_argument("--perf-list", metavar="FILE",
                        help="the output of `perf list -j` on the host, "
                             "instead of the tables; --model is then host "
                             "or the host's CPU id")


def output_options(parser):
    parser.add_argument("--format", "-f", choices=("json", "xml", "both"),
                        default="json",
                        help="the kvm-pmu-filter object for -object and "
                             "object-add, libvirt's <filter> element, or "
                             "both (default: json)")
    parser.add_argument("--id", default="f0",
                        help="the object's id (default: f0)")
    parser.add_argument("--entries", choices=("auto", "plain", "masked"),
                        default="auto",
                        help="masked entries where they are fewer or the "
                             "plain list exceeds KVM's 300 (auto, the "
                             "default), or always one kind")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the filter to FILE instead of stdout")


def parser():
    top = argparse.ArgumentParser(
        prog=PROG, description="KVM PMU event filters for a CPU model from "
        "Linux perf's event names, topics and presets")
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("resolve", help="a policy -> a filter")
    model_options(p)
    output_options(p)
    p.add_argument("action", choices=("allow", "deny"))
    p.add_argument("terms", nargs="+", metavar="EVENT|TOPIC|PRESET",
                   help="perf event names, with shell wildcards "
                        "(INST_RETIRED.*), perf topics (cache, memory...) "
                        "or presets (see presets)")
    p = sub.add_parser("explain", help="a filter -> what it allows")
    model_options(p)
    p.add_argument("filter", metavar="FILE",
                   help="the filter: a kvm-pmu-filter JSON object (or "
                        "object-add, or qom-get's properties) or libvirt "
                        "XML (<filter> or a domain); - for stdin")
    p.add_argument("--all", action="store_true",
                   help="list the events of both sides")
    p.add_argument("--json", action="store_true",
                   help="print the event names of each side as JSON")
    p = sub.add_parser("presets", help="the presets, and their events")
    p.add_argument("--model", "-m", help="list each preset's events for "
                   "this model")
    p.add_argument("--tables", metavar="DIR")
    p.add_argument("--perf-list", metavar="FILE")
    p = sub.add_parser("models", help="the models of perf's tables")
    p.add_argument("--tables", metavar="DIR")
    return top


def tables_dir(args):
    path = args.tables or os.environ.get("PMU_POLICY_TABLES") or \
        tables.default_tables()
    if not path:
        raise PolicyError("no event tables: give --tables DIR (Linux's "
                          "tools/perf/pmu-events/arch/x86), --perf-list "
                          "FILE (perf list -j), or run harness/"
                          "fetch-linux.sh")
    return path


def load_model(args):
    if args.perf_list:
        cpuid = tables.host_cpuid() if args.model == "host" else args.model
        if not tables.CPUID.match(cpuid):
            raise PolicyError("with --perf-list, --model is host or the "
                              "host's CPU id (GenuineIntel-6-8F), not '%s'"
                              % args.model)
        vendor = tables.VENDORS[cpuid.split("-")[0]]
        return perflist.load_perf_list(args.perf_list, vendor, cpuid)
    return tables.load_tables(tables_dir(args), args.model)


def write(text, path):
    """@text to @path, whole or not at all, or to stdout"""
    if not path:
        sys.stdout.write(text + "\n")
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pmu-policy.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise PolicyError("cannot write %s: %s" % (path, e.strerror))


def warn(message):
    print("%s: warning: %s" % (PROG, message), file=sys.stderr)


def cmd_resolve(args):
    model = load_model(args)
    res = policy.resolve(model, args.action, args.terms)
    flt = encode.build(res, args.entries)
    text = []
    if args.format in ("json", "both"):
        text.append(encode.to_json(flt, args.id))
    if args.format in ("xml", "both"):
        text.append(encode.to_xml(flt))
    for w in res.warnings:
        warn(w)
    write("\n".join(text), args.output)


def read_filter(path):
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError("cannot read the filter %s: %s" % (path, e))


def cmd_explain(args):
    flt = filterfile.parse(read_filter(args.filter))
    model = load_model(args)
    exp = explain.Explanation(flt, model)
    print(exp.to_json() if args.json else exp.to_text(args.all))


def cmd_presets(args):
    model = load_model(args) if args.model else None
    for name, text in sorted(policy.PRESETS.items()):
        print("%-14s %s" % (name, text))
        if model:
            events, encodings, fixed = policy.preset_events(model, name)
            for ev in sorted(events, key=lambda e: e.name):
                print("  %-17s %s" % (explain.encoding_text(ev), ev.name))
            named = {enc for ev in events for enc in ev.encodings}
            for enc in sorted(set(encodings) - named):
                print("  %#x/0x%02x         (no event of %s has it)"
                      % (enc + (model.name,)))


def cmd_models(args):
    for pattern, name, vendor in tables.read_mapfile(tables_dir(args)):
        print("%-18s %-6s %s" % (name, vendor, pattern))


COMMANDS = {"resolve": cmd_resolve, "explain": cmd_explain,
            "presets": cmd_presets, "models": cmd_models}


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
        sys.stdout.flush()
    except PolicyError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
