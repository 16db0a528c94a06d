/*
 * Unit tests for the x86 KVM PMU event filter encoder
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "target/i386/kvm/pmu-filter.h"

static KVMPMUEvent raw(uint64_t code)
{
    return (KVMPMUEvent) {
        .format = KVM_PMU_EVENT_FORMAT_RAW,
        .code = code,
    };
}

static KVMPMUEvent x86_default(uint16_t select, uint8_t umask)
{
    return (KVMPMUEvent) {
        .format = KVM_PMU_EVENT_FORMAT_X86_DEFAULT,
        .x86_default = { .select = select, .umask = umask },
    };
}

static KVMPMUEvent masked(uint16_t select, uint8_t mask, uint8_t match,
                          bool exclude)
{
    return (KVMPMUEvent) {
        .format = KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY,
        .x86_masked = { .select = select, .mask = mask, .match = match,
                        .exclude = exclude },
    };
}

typedef struct EncodeCase {
    KVMPMUEvent event;
    uint64_t encoded;
} EncodeCase;

static void test_encode_events(void)
{
    /* expected values computed by hand from the kernel's layouts */
    const EncodeCase cases[] = {
        { raw(0xc4), 0xc4 },
        { raw(0xffffffffffffffffULL), 0xffffffffffffffffULL },
        { raw(0x0000000f000001c0ULL), 0x0000000f000001c0ULL },
        { x86_default(0xc4, 0x00), 0x00c4 },
        { x86_default(0x3c, 0x01), 0x013c },
        { x86_default(0x2e, 0x4f), 0x4f2e },
        { x86_default(0xff, 0xff), 0xffff },
        /* AMD: select bits 11:8 go to bits 35:32 */
        { x86_default(0x1c0, 0x00), 0x00000001000000c0ULL },
        { x86_default(0xfff, 0xff), 0x0000000f0000ffffULL },
        { x86_default(0x100, 0x01), 0x0000000100000100ULL },
        /*
         * masked: select 7:0, match 15:8, select 11:8 in 35:32,
         * exclude 55, mask 63:56
         */
        { masked(0xc4, 0xff, 0x00, true), 0xff800000000000c4ULL },
        { masked(0xc5, 0xff, 0x00, false), 0xff000000000000c5ULL },
        { masked(0x2e, 0x0f, 0x01, false), 0x0f0000000000012eULL },
        { masked(0xfff, 0x00, 0xff, true), 0x0080000f0000ffffULL },
        { masked(0x000, 0x00, 0x00, false), 0 },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_test_message("case %zu", i);
        g_assert_cmphex(kvm_x86_pmu_encode_event(&cases[i].event), ==,
                        cases[i].encoded);
    }
}

static void test_encode_filter(void)
{
    KVMPMUEvent events[] = {
        raw(0xc4), x86_default(0x3c, 0x01), x86_default(0x1c0, 0x02),
    };
    g_autofree struct kvm_pmu_event_filter *kf =
        kvm_x86_pmu_filter_encode(KVM_PMU_FILTER_ACTION_DENY, events,
                                  ARRAY_SIZE(events), 0x5);
    const uint32_t header[8] = { 1, 3, 0x5, 0, 0, 0, 0, 0 };

    /* the header as the kernel reads it: action, nevents, bitmap, flags */
    g_assert_cmpmem(kf, sizeof(header), header, sizeof(header));
    g_assert_cmphex(kf->events[0], ==, 0xc4);
    g_assert_cmphex(kf->events[1], ==, 0x013c);
    g_assert_cmphex(kf->events[2], ==, 0x00000001000002c0ULL);
}

static void test_encode_masked_filter(void)
{
    KVMPMUEvent events[] = {
        masked(0xc4, 0xff, 0x00, true), masked(0xc5, 0x01, 0x01, false),
    };
    g_autofree struct kvm_pmu_event_filter *kf =
        kvm_x86_pmu_filter_encode(KVM_PMU_FILTER_ACTION_ALLOW, events,
                                  ARRAY_SIZE(events), 0);

    g_assert_cmpuint(kf->action, ==, 0);
    g_assert_cmpuint(kf->nevents, ==, 2);
    g_assert_cmphex(kf->fixed_counter_bitmap, ==, 0);
    g_assert_cmphex(kf->flags, ==, 1);
    g_assert_cmphex(kf->events[0], ==, 0xff800000000000c4ULL);
    g_assert_cmphex(kf->events[1], ==, 0x01000000000001c5ULL);
}

static void test_encode_empty_allow(void)
{
    g_autofree struct kvm_pmu_event_filter *kf =
        kvm_x86_pmu_filter_encode(KVM_PMU_FILTER_ACTION_ALLOW, NULL, 0,
                                  UINT32_MAX);
    const uint32_t header[8] = { 0, 0, UINT32_MAX, 0, 0, 0, 0, 0 };

    g_assert_cmpmem(kf, sizeof(header), header, sizeof(header));
}

static void test_encode_max_events(void)
{
    g_autofree KVMPMUEvent *events =
        g_new(KVMPMUEvent, KVM_PMU_FILTER_MAX_EVENTS);
    g_autofree struct kvm_pmu_event_filter *kf = NULL;

    for (int i = 0; i < KVM_PMU_FILTER_MAX_EVENTS; i++) {
        events[i] = x86_default(i & 0xfff, i >> 8);
    }
    kf = kvm_x86_pmu_filter_encode(KVM_PMU_FILTER_ACTION_DENY, events,
                                   KVM_PMU_FILTER_MAX_EVENTS, 0);
    g_assert_cmpuint(kf->nevents, ==, 300);
    g_assert_cmphex(kf->events[0], ==, 0);
    g_assert_cmphex(kf->events[299], ==, 0x000000010000012bULL);
}

#define INTEL KVM_X86_PMU_SELECT_BITS_INTEL
#define AMD KVM_X86_PMU_SELECT_BITS_AMD

static void test_check_raw_bits(void)
{
    const uint64_t good[] = { 0, 0xc4, 0xffff, 0x0000000f0000ffffULL };
    const uint64_t bad[] = {
        0x5300c4,                   /* perf's USR|OS|EN bits */
        0x10000, 0x80000000, 0x1000000000ULL, 0x8000000000000000ULL,
    };
    Error *err = NULL;

    for (int i = 0; i < ARRAY_SIZE(good); i++) {
        KVMPMUEvent event = raw(good[i]);

        g_assert_true(kvm_x86_pmu_filter_check(&event, 1, AMD,
                                               &error_abort));
    }
    for (int i = 0; i < ARRAY_SIZE(bad); i++) {
        KVMPMUEvent events[] = { raw(0xc4), raw(bad[i]) };

        g_assert_false(kvm_x86_pmu_filter_check(events, 2, AMD, &err));
        g_assert_nonnull(strstr(error_get_pretty(err), "events[1]: code"));
        error_free(err);
        err = NULL;
    }
}

typedef struct SelectCase {
    KVMPMUEvent event;
    uint16_t select;
} SelectCase;

/*
 * With 8 select bits, KVM drops plain events with select bits 11:8 and
 * refuses such masked entries; every format is refused alike, naming
 * the event.
 */
static void test_check_select_bits(void)
{
    const SelectCase wide[] = {
        { raw(0x1000000c4ULL), 0x1c4 },
        { raw(0xf000000ffULL), 0xfff },
        { x86_default(0x1c2, 0x00), 0x1c2 },
        { x86_default(0x100, 0xff), 0x100 },
        { masked(0x1c4, 0xff, 0x00, false), 0x1c4 },
        { masked(0x1c4, 0xff, 0x00, true), 0x1c4 },
    };
    const KVMPMUEvent narrow[] = {
        raw(0xffff), x86_default(0xff, 0xff), masked(0xff, 0xff, 0x00, true),
    };
    Error *err = NULL;

    for (int i = 0; i < ARRAY_SIZE(wide); i++) {
        KVMPMUEvent events[] = { raw(0xc4), wide[i].event };
        g_autofree char *want = g_strdup_printf(
            "events[1]: event select 0x%x is wider than the 8 bits that "
            "KVM compares on this host", wide[i].select);

        g_assert_true(kvm_x86_pmu_filter_check(events, 2, AMD,
                                               &error_abort));
        g_assert_false(kvm_x86_pmu_filter_check(events, 2, INTEL, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, want);
        error_free(err);
        err = NULL;
    }
    g_assert_true(kvm_x86_pmu_filter_check(narrow, ARRAY_SIZE(narrow), INTEL,
                                           &error_abort));
}

/* A filter of @nevents @events, and what a test expects of it */
typedef struct FilterCase {
    const char *what;
    KVMPMUEvent events[3];
    uint32_t nevents;
    bool expect;
} FilterCase;

static void test_lists(void)
{
    /* does the filter list event 0xc0, umask 0x00 (instructions)? */
    const FilterCase cases[] = {
        { "empty", { }, 0, false },
        { "raw", { raw(0xc0) }, 1, true },
        { "raw, other umask", { raw(0x01c0) }, 1, false },
        { "default", { x86_default(0x3c, 0), x86_default(0xc0, 0) }, 2, true },
        { "select 11:8", { x86_default(0x1c0, 0) }, 1, false },
        { "masked all", { masked(0xc0, 0x00, 0x00, false) }, 1, true },
        { "masked match", { masked(0xc0, 0x01, 0x00, false) }, 1, true },
        { "masked no match", { masked(0xc0, 0x01, 0x01, false) }, 1, false },
        { "masked excluded", { masked(0xc0, 0x00, 0x00, false),
                               masked(0xc0, 0xff, 0x00, true) }, 2, false },
        { "exclude other umask", { masked(0xc0, 0x00, 0x00, false),
                                   masked(0xc0, 0xff, 0x01, true) }, 2, true },
        { "exclude only", { masked(0xc0, 0x00, 0x00, true) }, 1, false },
        { "other select", { masked(0xc4, 0x00, 0x00, false) }, 1, false },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree struct kvm_pmu_event_filter *kf =
            kvm_x86_pmu_filter_encode(KVM_PMU_FILTER_ACTION_DENY,
                                      cases[i].events, cases[i].nevents, 0);

        g_test_message("%s", cases[i].what);
        g_assert_cmpint(kvm_x86_pmu_filter_lists(kf, 0xc0, 0x00), ==,
                        cases[i].expect);
    }
}

/* An allow-list of masked entries that all exclude allows no event */
static void test_only_excludes(void)
{
    const FilterCase cases[] = {
        { "empty", { }, 0, false },
        { "plain", { raw(0xc4) }, 1, false },
        { "one exclude", { masked(0xc4, 0xff, 0x00, true) }, 1, true },
        { "two excludes", { masked(0xc4, 0xff, 0x00, true),
                            masked(0xc5, 0xff, 0x00, true) }, 2, true },
        { "an include", { masked(0xc4, 0xff, 0x00, true),
                          masked(0xc5, 0x00, 0x00, false) }, 2, false },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree struct kvm_pmu_event_filter *kf =
            kvm_x86_pmu_filter_encode(KVM_PMU_FILTER_ACTION_ALLOW,
                                      cases[i].events, cases[i].nevents, 0);

        g_test_message("%s", cases[i].what);
        g_assert_cmpint(kvm_x86_pmu_filter_only_excludes(kf), ==,
                        cases[i].expect);
    }
}

/*
 * CPUID leaf 0xA of a host whose KVM reports version 2, 8 counters of
 * 48 bits, 7 architectural events and 3 fixed counters of 48 bits
 */
#define LEAF_EAX(version, nr_events) ((nr_events) << 24 | 48 << 16 | \
                                      8 << 8 | (version))
#define LEAF_EDX(nr_fixed) (48 << 5 | (nr_fixed))
#define KVM_LEAF { LEAF_EAX(2, 7), 0, 0, LEAF_EDX(3) }

typedef struct HideCase {
    const char *what;
    KvmPmuFilterAction action;
    KVMPMUEvent events[3];
    uint32_t nevents;
    uint32_t fixed_counter_bitmap;
    X86PMULeaf kvm;
    X86PMULeaf guest;
} HideCase;

#define ALLOW KVM_PMU_FILTER_ACTION_ALLOW
#define DENY KVM_PMU_FILTER_ACTION_DENY

static void test_hide(void)
{
    const HideCase cases[] = {
        { "no event denied", DENY, { }, 0, 0, KVM_LEAF, KVM_LEAF },
        { "architectural allow-list", ALLOW,
          { x86_default(0x3c, 0x00), x86_default(0xc0, 0x00),
            x86_default(0x3c, 0x01) }, 3, 0x7,
          KVM_LEAF, { LEAF_EAX(2, 7), 0x78, 0, LEAF_EDX(3) } },
        { "LLC deny-list", DENY, { masked(0x2e, 0x00, 0x00, false) }, 1, 0,
          KVM_LEAF, { LEAF_EAX(2, 7), 0x18, 0, LEAF_EDX(3) } },
        { "LLC deny-list but misses", DENY,
          { masked(0x2e, 0x00, 0x00, false), masked(0x2e, 0xff, 0x41, true) },
          2, 0, KVM_LEAF, { LEAF_EAX(2, 7), 0x08, 0, LEAF_EDX(3) } },
        { "raw deny-list", DENY, { raw(0xc5), raw(0x013c) }, 2, 0,
          KVM_LEAF, { LEAF_EAX(2, 7), 0x44, 0, LEAF_EDX(3) } },
        { "raw allow-list of branches", ALLOW, { raw(0xc4) }, 1, 0,
          KVM_LEAF, { LEAF_EAX(2, 7), 0x5f, 0, LEAF_EDX(0) } },
        { "allow-list of excludes", ALLOW,
          { masked(0xc4, 0xff, 0x00, true), masked(0xc5, 0xff, 0x00, true) },
          2, 0, KVM_LEAF, { LEAF_EAX(2, 7), 0x7f, 0, LEAF_EDX(0) } },
        { "other umask", DENY, { x86_default(0xc0, 0x01) }, 1, 0,
          KVM_LEAF, KVM_LEAF },
        { "fixed counter 1 denied", DENY, { }, 0, 0x2,
          KVM_LEAF, { LEAF_EAX(2, 7), 0, 0, LEAF_EDX(1) } },
        { "fixed counter 1 not allowed", ALLOW,
          { masked(0x00, 0x00, 0x00, false) }, 1, 0x5,
          KVM_LEAF, { LEAF_EAX(2, 7), 0x7f, 0, LEAF_EDX(1) } },
        { "KVM's unavailable events stay", DENY, { }, 0, 0,
          { LEAF_EAX(2, 7), 0x41, 0, LEAF_EDX(3) },
          { LEAF_EAX(2, 7), 0x41, 0, LEAF_EDX(3) } },
        { "topdown slots", ALLOW, { x86_default(0xc0, 0x00) }, 1, 0x1,
          { LEAF_EAX(2, 8), 0, 0, LEAF_EDX(4) },
          { LEAF_EAX(2, 8), 0xfd, 0, LEAF_EDX(1) } },
        { "topdown and LBR events", DENY,
          { x86_default(0xa4, 0x02), x86_default(0xe4, 0x01) }, 2, 0,
          { LEAF_EAX(2, 13), 0, 0, LEAF_EDX(3) },
          { LEAF_EAX(2, 13), 0x1100, 0, LEAF_EDX(3) } },
        { "events QEMU does not know", DENY, { }, 0, 0,
          { LEAF_EAX(2, 15), 0, 0, LEAF_EDX(3) },
          { LEAF_EAX(2, 15), 0x6000, 0, LEAF_EDX(3) } },
        { "version 1 has no fixed counters", ALLOW, { raw(0xc0) }, 1, 0,
          { LEAF_EAX(1, 7), 0, 0, 0 }, { LEAF_EAX(1, 7), 0x7d, 0, 0 } },
        { "fixed counter bitmap in ECX", DENY, { }, 0, 0x12,
          { LEAF_EAX(5, 7), 0, 0x3f, LEAF_EDX(4) },
          { LEAF_EAX(5, 7), 0, 0x2d, LEAF_EDX(1) } },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const HideCase *c = &cases[i];
        g_autofree struct kvm_pmu_event_filter *kf =
            kvm_x86_pmu_filter_encode(c->action, c->events, c->nevents,
                                      c->fixed_counter_bitmap);
        X86PMULeaf leaf = c->kvm;

        g_test_message("%s", c->what);
        kvm_x86_pmu_filter_hide(kf, &leaf);
        g_assert_cmphex(leaf.eax, ==, c->guest.eax);
        g_assert_cmphex(leaf.ebx, ==, c->guest.ebx);
        g_assert_cmphex(leaf.ecx, ==, c->guest.ecx);
        g_assert_cmphex(leaf.edx, ==, c->guest.edx);
    }
}

/* Each architectural event, alone in a filter of each format */
static void test_hide_each_event(void)
{
    static const struct {
        uint8_t select, umask;
    } arch[] = {
        { 0x3c, 0x00 }, { 0xc0, 0x00 }, { 0x3c, 0x01 }, { 0x2e, 0x4f },
        { 0x2e, 0x41 }, { 0xc4, 0x00 }, { 0xc5, 0x00 }, { 0xa4, 0x01 },
        { 0xa4, 0x02 }, { 0x73, 0x00 }, { 0x9c, 0x01 }, { 0xc2, 0x02 },
        { 0xe4, 0x01 },
    };
    const X86PMULeaf kvm = { LEAF_EAX(2, 13), 0, 0, LEAF_EDX(3) };

    for (size_t i = 0; i < ARRAY_SIZE(arch); i++) {
        const KVMPMUEvent formats[] = {
            raw(arch[i].select | arch[i].umask << 8),
            x86_default(arch[i].select, arch[i].umask),
            masked(arch[i].select, 0xff, arch[i].umask, false),
        };

        for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
            g_autofree struct kvm_pmu_event_filter *deny =
                kvm_x86_pmu_filter_encode(DENY, &formats[f], 1, 0);
            g_autofree struct kvm_pmu_event_filter *allow =
                kvm_x86_pmu_filter_encode(ALLOW, &formats[f], 1, 0x7);
            X86PMULeaf denied = kvm, allowed = kvm;

            g_test_message("event %zu, format %zu", i, f);
            kvm_x86_pmu_filter_hide(deny, &denied);
            kvm_x86_pmu_filter_hide(allow, &allowed);
            g_assert_cmphex(denied.ebx, ==, BIT(i));
            g_assert_cmphex(allowed.ebx, ==, 0x1fff & ~BIT(i));
            g_assert_cmphex(denied.edx, ==, kvm.edx);
            g_assert_cmphex(allowed.edx, ==, kvm.edx);
        }
    }
}

static void test_leaf_fixed_counters(void)
{
    const X86PMULeaf v1 = { LEAF_EAX(1, 7), 0, 0x3, LEAF_EDX(3) };
    const X86PMULeaf v2 = KVM_LEAF;
    const X86PMULeaf none = { LEAF_EAX(2, 7), 0, 0, LEAF_EDX(0) };
    const X86PMULeaf v5 = { LEAF_EAX(5, 7), 0, 0x24, LEAF_EDX(1) };

    g_assert_cmphex(kvm_x86_pmu_leaf_fixed_counters(&v1), ==, 0);
    g_assert_cmphex(kvm_x86_pmu_leaf_fixed_counters(&v2), ==, 0x7);
    g_assert_cmphex(kvm_x86_pmu_leaf_fixed_counters(&none), ==, 0);
    g_assert_cmphex(kvm_x86_pmu_leaf_fixed_counters(&v5), ==, 0x25);
}

static void test_filter_fixed_counters(void)
{
    g_autofree struct kvm_pmu_event_filter *allow =
        kvm_x86_pmu_filter_encode(ALLOW, NULL, 0, 0x5);
    g_autofree struct kvm_pmu_event_filter *deny =
        kvm_x86_pmu_filter_encode(DENY, NULL, 0, 0x5);

    g_assert_cmphex(kvm_x86_pmu_filter_fixed_counters(allow), ==, 0x5);
    g_assert_cmphex(kvm_x86_pmu_filter_fixed_counters(deny), ==, 0xfffffffa);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm-x86-pmu-encode/events", test_encode_events);
    g_test_add_func("/kvm-x86-pmu-encode/filter", test_encode_filter);
    g_test_add_func("/kvm-x86-pmu-encode/masked-filter",
                    test_encode_masked_filter);
    g_test_add_func("/kvm-x86-pmu-encode/empty-allow",
                    test_encode_empty_allow);
    g_test_add_func("/kvm-x86-pmu-encode/max-events", test_encode_max_events);
    g_test_add_func("/kvm-x86-pmu-encode/check-raw-bits",
                    test_check_raw_bits);
    g_test_add_func("/kvm-x86-pmu-encode/check-select-bits",
                    test_check_select_bits);
    g_test_add_func("/kvm-x86-pmu-encode/lists", test_lists);
    g_test_add_func("/kvm-x86-pmu-encode/only-excludes",
                    test_only_excludes);
    g_test_add_func("/kvm-x86-pmu-encode/hide", test_hide);
    g_test_add_func("/kvm-x86-pmu-encode/hide-each-event",
                    test_hide_each_event);
    g_test_add_func("/kvm-x86-pmu-encode/leaf-fixed-counters",
                    test_leaf_fixed_counters);
    g_test_add_func("/kvm-x86-pmu-encode/filter-fixed-counters",
                    test_filter_fixed_counters);
    return g_test_run();
}
