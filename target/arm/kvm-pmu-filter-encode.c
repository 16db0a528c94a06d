/*
 * Arm KVM PMU event filter: ranges for KVM_ARM_VCPU_PMU_V3_FILTER
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "kvm-pmu-filter.h"

/* Arm events are raw event numbers; the x86 formats mean nothing here. */
bool kvm_arm_pmu_filter_check(const KVMPMUEvent *events, uint32_t nevents,
                              uint32_t x86_fixed_counter_bitmap,
                              uint16_t max_event, Error **errp)
{
    ERRP_GUARD();

    for (uint32_t i = 0; i < nevents; i++) {
        if (events[i].format != KVM_PMU_EVENT_FORMAT_RAW) {
            error_setg(errp, "events[%u]: Arm has no %s events", i,
                       KvmPmuEventFormat_str(events[i].format));
            error_append_hint(errp, "On Arm, give each event as a raw "
                              "event number.\n");
            return false;
        }
        if (events[i].code > max_event) {
            error_setg(errp, "events[%u]: event 0x%" PRIx64 " is above "
                       "0x%x, the highest event number of the vCPUs' PMU",
                       i, events[i].code, max_event);
            return false;
        }
    }
    if (x86_fixed_counter_bitmap) {
        error_setg(errp, "Arm has no x86-fixed-counter");
        error_append_hint(errp, "On Arm, the cycle counter counts event "
                          "0x11 (CPU_CYCLES), and the filter decides about "
                          "it by that event.\n");
        return false;
    }
    return true;
}

static int compare_event_numbers(const void *a, const void *b)
{
    return *(const uint16_t *)a - *(const uint16_t *)b;
}

/*
 * The fewest ranges that cover the events, each to be set with the
 * filter's action.  KVM decides the default from the first range: if
 * it allows events, all others are denied.  An allow-list without
 * events is therefore one empty range, which denies every event.
 */
KVMArmPMUEventRange *kvm_arm_pmu_filter_encode(KvmPmuFilterAction action,
                                               const KVMPMUEvent *events,
                                               uint32_t nevents,
                                               uint32_t *nranges)
{
    g_autofree uint16_t *numbers = g_new(uint16_t, MAX(nevents, 1));
    KVMArmPMUEventRange *ranges = g_new0(KVMArmPMUEventRange,
                                         MAX(nevents, 1));
    KVMArmPMUEventRange *last = NULL;
    uint32_t n = 0;

    for (uint32_t i = 0; i < nevents; i++) {
        numbers[i] = events[i].code;
    }
    qsort(numbers, nevents, sizeof(numbers[0]), compare_event_numbers);
    for (uint32_t i = 0; i < nevents; i++) {
        uint32_t end = last ? last->base_event + last->nevents : 0;

        if (last && numbers[i] < end) {
            continue;
        }
        if (last && numbers[i] == end) {
            last->nevents++;
            continue;
        }
        last = &ranges[n++];
        *last = (KVMArmPMUEventRange) { .base_event = numbers[i],
                                        .nevents = 1 };
    }
    if (!n && action == KVM_PMU_FILTER_ACTION_ALLOW) {
        n = 1;
    }
    *nranges = n;
    return ranges;
}
