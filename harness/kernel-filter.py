#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a C program that runs Linux's own PMU event filter code.

From a linux source tree (harness/fetch-linux.sh), take by name the
functions with which KVM checks and prepares a filter that
KVM_SET_PMU_EVENT_FILTER hands it, and decides whether a counter may
count an event, with the definitions they use; add a minimal harness of
ours (types, sort, bsearch, the few structure fields used) and a main()
that answers queries on stdin.  Nothing of the kernel is kept in the
repository.  A function or definition that disappears or changes shape
stops this script, or the compiler, with its name.

Queries, one per line, answered one line each:
  vendor intel|amd    use that vendor module's event select mask
  filter HEX          KVM_SET_PMU_EVENT_FILTER with these bytes: "RET"
  gp SELECT           for umask 0..255 of this select: 256 of 0 or 1
  fixed N             whether fixed counter N may count: 0 or 1
  reset               remove the filter
"""

import re
import sys

# Decision functions of arch/x86/kvm/pmu.c, by name; the last is the one
# that decides about one counter, named so in 7.x and 6.x
FUNCTIONS = ["filter_cmp", "filter_sort_cmp", "filter_event_cmp",
             "find_filter_index", "is_filter_entry_match",
             "filter_contains_match", "is_gp_event_allowed",
             "is_fixed_event_allowed"]
DECIDE = ["pmc_is_event_allowed", "check_pmu_event_filter"]
PREPARE = ["is_masked_filter_valid", "convert_to_masked_filter",
           "prepare_filter_lists", "kvm_vm_ioctl_set_pmu_event_filter"]

HARNESS = r"""
/* The harness: what the kernel code uses, reduced to what it needs */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;

#define __user
#define __initdata
#define __counted_by(member)
#define __DECLARE_FLEX_ARRAY(type, name) type name[]
#define _BITUL(x) (1UL << (x))
#define _BITULL(x) (1ULL << (x))
#define __GENMASK_ULL(h, l) (((~0ULL) << (l)) & (~0ULL >> (63 - (h))))
#define BUILD_BUG_ON(condition) do { } while (0)
#define GFP_KERNEL_ACCOUNT 0
#define kzalloc(size, gfp) calloc(1, (size))
#define kfree(p) free(p)
#define struct_size(p, member, n) \
    (sizeof(*(p)) + (size_t)(n) * sizeof((p)->member[0]))
#define flex_array_size(p, member, n) ((size_t)(n) * sizeof((p)->member[0]))
#define sort(base, num, size, cmp, swap) qsort((base), (num), (size), (cmp))
#define test_bit(nr, addr) \
    ((((const unsigned long *)(addr))[(nr) / 64] >> ((nr) % 64)) & 1)

static inline unsigned long copy_from_user(void *to, const void *from,
                                           unsigned long n)
{
    memcpy(to, from, n);
    return 0;
}

struct mutex { int unused; };
#define mutex_lock(m) ((void)(m))
#define mutex_unlock(m) ((void)(m))
#define mutex_is_locked(m) 1
#define lockdep_assert_held(l) ((void)(l))
#define rcu_replace_pointer(rcu_ptr, ptr, c) \
    ({ __typeof__(ptr) __old = (rcu_ptr); (rcu_ptr) = (ptr); __old; })
#define srcu_dereference(p, ss) (p)
#define synchronize_srcu_expedited(ss) ((void)(ss))

struct kvm_x86_pmu_event_filter;
struct kvm {
    struct mutex lock;
    int srcu;
    struct {
        struct kvm_x86_pmu_event_filter *pmu_event_filter;
    } arch;
};
struct kvm_pmu { u64 __reprogram_pmi; };
struct kvm_vcpu {
    struct kvm *kvm;
    struct kvm_pmu pmu;
};
/* The filter's VM has no vCPUs to kick */
#define kvm_for_each_vcpu(i, vcpu, kvm) \
    for ((i) = 0, (vcpu) = NULL; (vcpu); (i)++)
#define vcpu_to_pmu(vcpu) (&(vcpu)->pmu)
#define atomic64_set(p, v) ((void)(p))
#define KVM_REQ_PMU 0
#define kvm_make_all_cpus_request(kvm, req) ((void)(kvm))

enum { KVM_PMC_GP, KVM_PMC_FIXED };
struct kvm_pmc {
    int type;
    int idx;
    u64 eventsel;
    struct kvm_vcpu *vcpu;
};

static inline bool pmc_is_gp(struct kvm_pmc *pmc)
{
    return pmc->type == KVM_PMC_GP;
}

static struct { u64 EVENTSEL_EVENT; } kvm_pmu_ops;
"""

MAIN = r"""
/* Our main: queries on stdin, one answer per line */
static struct kvm vm;
static struct kvm_vcpu vcpu = { .kvm = &vm };

static bool counts(int type, int idx, u64 eventsel)
{
    struct kvm_pmc pmc = { .type = type, .idx = idx, .eventsel = eventsel,
                           .vcpu = &vcpu };

    return DECIDE(&pmc);
}

static int set_filter(const char *hex)
{
    size_t n = strlen(hex) / 2;
    u64 *buf = calloc(n / 8 + 1, 8);
    int ret;

    for (size_t i = 0; i < n; i++) {
        unsigned int byte;

        sscanf(hex + 2 * i, "%2x", &byte);
        ((u8 *)buf)[i] = byte;
    }
    ret = kvm_vm_ioctl_set_pmu_event_filter(&vm, buf);
    free(buf);
    return ret;
}

int main(void)
{
    static char line[1 << 16];
    char word[16];
    unsigned long long n;

    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (!strcmp(line, "vendor intel")) {
            kvm_pmu_ops.EVENTSEL_EVENT = INTEL_EVENTSEL_EVENT;
            puts("ok");
        } else if (!strcmp(line, "vendor amd")) {
            kvm_pmu_ops.EVENTSEL_EVENT = AMD_EVENTSEL_EVENT;
            puts("ok");
        } else if (!strncmp(line, "filter ", 7)) {
            printf("%d\n", set_filter(line + 7));
        } else if (!strcmp(line, "reset")) {
            free(vm.arch.pmu_event_filter);
            vm.arch.pmu_event_filter = NULL;
            puts("ok");
        } else if (sscanf(line, "%15s %lli", word, &n) == 2 &&
                   !strcmp(word, "gp")) {
            /* the guest's enable, user and OS bits do not matter */
            u64 select = (n & 0xff) | ((n >> 8) & 0xf) << 32 | 0x530000;

            for (u64 umask = 0; umask < 256; umask++) {
                putchar('0' + counts(KVM_PMC_GP, 0, select | umask << 8));
            }
            putchar('\n');
        } else if (sscanf(line, "%15s %lli", word, &n) == 2 &&
                   !strcmp(word, "fixed")) {
            printf("%d\n", counts(KVM_PMC_FIXED,
                                  KVM_FIXED_PMC_BASE_IDX + (int)n, 0));
        } else {
            printf("? %s\n", line);
        }
        fflush(stdout);
    }
    return 0;
}
"""


def fail(what):
    sys.exit("kernel-filter.py: %s" % what)


def read(tree, path):
    try:
        with open("%s/%s" % (tree, path)) as f:
            return f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (path, e))


def function(src, name, path):
    """The definition of function @name, from its line to its brace."""
    m = re.search(r"^(?:static\s+)?(?:inline\s+)?[a-z_][\w \t\*]*?\b%s\("
                  % re.escape(name), src, re.M)
    if not m:
        fail("no function %s() in %s" % (name, path))
    start = m.start()
    body = src.index("{", src.index(")", m.end()))
    if ";" in src[m.end():body]:
        fail("%s() in %s is a declaration, not a definition" % (name, path))
    depth = 0
    for i in range(body, len(src)):
        depth += {"{": 1, "}": -1}.get(src[i], 0)
        if depth == 0:
            return src[start:i + 1] + "\n"
    fail("%s() in %s does not end" % (name, path))


def struct(src, name, path):
    m = re.search(r"^struct %s \{.*?^\};\n" % re.escape(name), src, re.M | re.S)
    if not m:
        fail("no struct %s in %s" % (name, path))
    return m.group(0)


def define(src, name, path):
    m = re.search(r"^#define %s\b.*?(?<!\\)\n" % re.escape(name), src,
                  re.M | re.S)
    if not m:
        fail("no #define %s in %s" % (name, path))
    return m.group(0)


def ops_field(src, field, path):
    m = re.search(r"\.%s\s*=\s*([^,\n]+)," % field, src)
    if not m:
        fail("no .%s in the kvm_pmu_ops of %s" % (field, path))
    return m.group(1).strip()


def main():
    tree, out = sys.argv[1], sys.argv[2]
    uapi = read(tree, "arch/x86/include/uapi/asm/kvm.h")
    perf = read(tree, "arch/x86/include/asm/perf_event.h")
    host = read(tree, "arch/x86/include/asm/kvm_host.h")
    pmu_h = read(tree, "arch/x86/kvm/pmu.h")
    pmu_c = read(tree, "arch/x86/kvm/pmu.c")
    intel = read(tree, "arch/x86/kvm/vmx/pmu_intel.c")
    amd = read(tree, "arch/x86/kvm/svm/pmu.c")

    parts = ["/* Generated by harness/kernel-filter.py from Linux %s */\n"
             % read(tree, "VERSION").strip(), HARNESS,
             "\n/* From arch/x86/include/uapi/asm/kvm.h */\n",
             struct(uapi, "kvm_pmu_event_filter", "uapi/asm/kvm.h")]
    for name in ["KVM_PMU_EVENT_ALLOW", "KVM_PMU_EVENT_DENY",
                 "KVM_PMU_EVENT_FLAG_MASKED_EVENTS",
                 "KVM_PMU_EVENT_FLAGS_VALID_MASK",
                 "KVM_PMU_ENCODE_MASKED_ENTRY",
                 "KVM_PMU_MASKED_ENTRY_EVENT_SELECT",
                 "KVM_PMU_MASKED_ENTRY_UMASK_MASK",
                 "KVM_PMU_MASKED_ENTRY_UMASK_MATCH",
                 "KVM_PMU_MASKED_ENTRY_EXCLUDE",
                 "KVM_PMU_MASKED_ENTRY_UMASK_MASK_SHIFT"]:
        parts.append(define(uapi, name, "uapi/asm/kvm.h"))
    parts.append("\n/* From arch/x86/include/asm/perf_event.h */\n")
    for name in ["INTEL_PMC_IDX_FIXED", "ARCH_PERFMON_EVENTSEL_EVENT",
                 "ARCH_PERFMON_EVENTSEL_UMASK", "AMD64_EVENTSEL_EVENT"]:
        parts.append(define(perf, name, "asm/perf_event.h"))
    parts.append("\n/* From arch/x86/include/asm/kvm_host.h, kvm/pmu.h */\n")
    parts.append(struct(host, "kvm_x86_pmu_event_filter", "asm/kvm_host.h"))
    parts.append(define(pmu_h, "KVM_FIXED_PMC_BASE_IDX", "kvm/pmu.h"))
    parts.append("\n/* The vendor modules' event select masks */\n")
    parts.append("#define INTEL_EVENTSEL_EVENT (%s)\n" %
                 ops_field(intel, "EVENTSEL_EVENT", "vmx/pmu_intel.c"))
    parts.append("#define AMD_EVENTSEL_EVENT (%s)\n" %
                 ops_field(amd, "EVENTSEL_EVENT", "svm/pmu.c"))
    parts.append("\n/* From arch/x86/kvm/pmu.c */\n")
    parts.append(define(pmu_c, "KVM_PMU_EVENT_FILTER_MAX_EVENTS", "kvm/pmu.c"))
    for name in FUNCTIONS:
        parts.append(function(pmu_c, name, "kvm/pmu.c"))
    decide = [name for name in DECIDE if re.search(
        r"^static bool %s\(struct kvm_pmc \*pmc\)" % name, pmu_c, re.M)]
    if not decide:
        fail("kvm/pmu.c has none of %s(struct kvm_pmc *pmc)" %
             "(), ".join(DECIDE))
    parts.append(function(pmu_c, decide[0], "kvm/pmu.c"))
    parts.append("#define DECIDE %s\n" % decide[0])
    for name in PREPARE:
        parts.append(function(pmu_c, name, "kvm/pmu.c"))
    parts.append(MAIN)
    with open(out, "w") as f:
        f.write("".join(parts))


if __name__ == "__main__":
    main()
