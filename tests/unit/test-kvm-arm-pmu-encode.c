/*
 * Unit tests for the Arm KVM PMU event filter encoder
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "target/arm/kvm-pmu-filter.h"

#define ALLOW KVM_PMU_FILTER_ACTION_ALLOW
#define DENY KVM_PMU_FILTER_ACTION_DENY

/* Raw events with the given event numbers */
static KVMPMUEvent *raw_events(const uint64_t *codes, uint32_t n)
{
    KVMPMUEvent *events = g_new0(KVMPMUEvent, n);

    for (uint32_t i = 0; i < n; i++) {
        events[i].format = KVM_PMU_EVENT_FORMAT_RAW;
        events[i].code = codes[i];
    }
    return events;
}

/* Encode @codes and compare with @expected, @nexpected ranges */
static void check_ranges(KvmPmuFilterAction action, const uint64_t *codes,
                         uint32_t n, const KVMArmPMUEventRange *expected,
                         uint32_t nexpected)
{
    g_autofree KVMPMUEvent *events = raw_events(codes, n);
    g_autofree KVMArmPMUEventRange *ranges = NULL;
    uint32_t nranges;

    g_assert_true(kvm_arm_pmu_filter_check(events, n, 0,
                                           KVM_ARM_PMU_EVENT_MAX,
                                           &error_abort));
    ranges = kvm_arm_pmu_filter_encode(action, events, n, &nranges);
    g_assert_cmpuint(nranges, ==, nexpected);
    for (uint32_t i = 0; i < nranges; i++) {
        g_assert_cmphex(ranges[i].base_event, ==, expected[i].base_event);
        g_assert_cmpuint(ranges[i].nevents, ==, expected[i].nevents);
    }
}

static void test_single(void)
{
    const uint64_t codes[] = { 0x11 };
    const KVMArmPMUEventRange expected[] = { { 0x11, 1 } };

    check_ranges(ALLOW, codes, 1, expected, 1);
    check_ranges(DENY, codes, 1, expected, 1);
}

/* An empty allow-list is one empty range; an empty deny-list is none. */
static void test_empty(void)
{
    const KVMArmPMUEventRange deny_all[] = { { 0, 0 } };

    check_ranges(ALLOW, NULL, 0, deny_all, 1);
    check_ranges(DENY, NULL, 0, NULL, 0);
}

static void test_duplicates(void)
{
    const uint64_t codes[] = { 0x8, 0x8, 0x8 };
    const KVMArmPMUEventRange expected[] = { { 0x8, 1 } };

    check_ranges(DENY, codes, ARRAY_SIZE(codes), expected, 1);
}

/* Unsorted, with neighbours and repeats inside a run */
static void test_adjacent_and_overlapping(void)
{
    const uint64_t codes[] = { 0x13, 0x11, 0x12, 0x11, 0x40, 0x3, 0x12,
                               0x41, 0x14, 0x2 };
    const KVMArmPMUEventRange expected[] = {
        { 0x2, 2 }, { 0x11, 4 }, { 0x40, 2 },
    };

    check_ranges(ALLOW, codes, ARRAY_SIZE(codes), expected,
                 ARRAY_SIZE(expected));
}

static void test_gaps(void)
{
    const uint64_t codes[] = { 0x0, 0x2, 0x4000, 0x4001, 0xfffe };
    const KVMArmPMUEventRange expected[] = {
        { 0x0, 1 }, { 0x2, 1 }, { 0x4000, 2 }, { 0xfffe, 1 },
    };

    check_ranges(DENY, codes, ARRAY_SIZE(codes), expected,
                 ARRAY_SIZE(expected));
}

static void test_max_event(void)
{
    const uint64_t codes[] = { 0xffff, 0xfffe };
    const KVMArmPMUEventRange expected[] = { { 0xfffe, 2 } };

    check_ranges(ALLOW, codes, ARRAY_SIZE(codes), expected, 1);
}

/* The most events a filter can list, all in one run */
static void test_max_events(void)
{
    uint64_t codes[KVM_PMU_FILTER_MAX_EVENTS];
    const KVMArmPMUEventRange expected[] = {
        { 0x100, KVM_PMU_FILTER_MAX_EVENTS },
    };

    for (int i = 0; i < KVM_PMU_FILTER_MAX_EVENTS; i++) {
        codes[i] = 0x100 + KVM_PMU_FILTER_MAX_EVENTS - 1 - i;
    }
    check_ranges(ALLOW, codes, KVM_PMU_FILTER_MAX_EVENTS, expected, 1);
}

static void check_refused(const KVMPMUEvent *events, uint32_t n,
                          uint32_t bitmap, uint16_t max_event,
                          const char *message)
{
    Error *err = NULL;

    g_assert_false(kvm_arm_pmu_filter_check(events, n, bitmap, max_event,
                                            &err));
    g_assert_cmpstr(error_get_pretty(err), ==, message);
    error_free(err);
}

static void test_check_event_number(void)
{
    const uint64_t codes[] = { 0x3ff, 0x400 };
    g_autofree KVMPMUEvent *events = raw_events(codes, 2);

    g_assert_true(kvm_arm_pmu_filter_check(events, 1, 0,
                                           KVM_ARM_PMU_EVENT_MAX_V8_0,
                                           &error_abort));
    check_refused(events, 2, 0, KVM_ARM_PMU_EVENT_MAX_V8_0,
                  "events[1]: event 0x400 is above 0x3ff, the highest "
                  "event number of the vCPUs' PMU");
    g_assert_true(kvm_arm_pmu_filter_check(events, 2, 0,
                                           KVM_ARM_PMU_EVENT_MAX,
                                           &error_abort));
    events[1].code = 0x10000;
    check_refused(events, 2, 0, KVM_ARM_PMU_EVENT_MAX,
                  "events[1]: event 0x10000 is above 0xffff, the highest "
                  "event number of the vCPUs' PMU");
}

static void test_check_x86_formats(void)
{
    const uint64_t codes[] = { 0x11, 0x8 };
    g_autofree KVMPMUEvent *events = raw_events(codes, 2);

    events[1].format = KVM_PMU_EVENT_FORMAT_X86_DEFAULT;
    check_refused(events, 2, 0, KVM_ARM_PMU_EVENT_MAX,
                  "events[1]: Arm has no x86-default events");
    events[1].format = KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY;
    check_refused(events, 2, 0, KVM_ARM_PMU_EVENT_MAX,
                  "events[1]: Arm has no x86-masked-entry events");
    check_refused(events, 1, 0x1, KVM_ARM_PMU_EVENT_MAX,
                  "Arm has no x86-fixed-counter");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm-arm-pmu-encode/single", test_single);
    g_test_add_func("/kvm-arm-pmu-encode/empty", test_empty);
    g_test_add_func("/kvm-arm-pmu-encode/duplicates", test_duplicates);
    g_test_add_func("/kvm-arm-pmu-encode/adjacent-and-overlapping",
                    test_adjacent_and_overlapping);
    g_test_add_func("/kvm-arm-pmu-encode/gaps", test_gaps);
    g_test_add_func("/kvm-arm-pmu-encode/max-event", test_max_event);
    g_test_add_func("/kvm-arm-pmu-encode/max-events", test_max_events);
    g_test_add_func("/kvm-arm-pmu-encode/check-event-number",
                    test_check_event_number);
    g_test_add_func("/kvm-arm-pmu-encode/check-x86-formats",
                    test_check_x86_formats);
    return g_test_run();
}
