/*
 * x86 KVM PMU event filter: encoding for KVM_SET_PMU_EVENT_FILTER
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "pmu-filter.h"

/* Event select bits 7:0 stay in place, bits 11:8 move to 35:32. */
static uint64_t encode_select(uint16_t select)
{
    return (select & 0xff) | ((uint64_t)(select >> 8) << 32);
}

uint64_t kvm_x86_pmu_encode_event(const KVMPMUEvent *event)
{
    switch (event->format) {
    case KVM_PMU_EVENT_FORMAT_RAW:
        return event->code;
    case KVM_PMU_EVENT_FORMAT_X86_DEFAULT:
        return encode_select(event->x86_default.select) |
               (uint64_t)event->x86_default.umask << 8;
    case KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY:
        return KVM_PMU_ENCODE_MASKED_ENTRY(event->x86_masked.select,
                                           event->x86_masked.mask,
                                           event->x86_masked.match,
                                           event->x86_masked.exclude);
    default:
        g_assert_not_reached();
    }
}

/* The event select as the kernel reads it from the encoded event */
uint16_t kvm_x86_pmu_event_select(const KVMPMUEvent *event)
{
    uint64_t raw = kvm_x86_pmu_encode_event(event);

    return (raw & 0xff) | (((raw >> 32) & 0xf) << 8);
}

/*
 * KVM drops plain events with bits outside the event select and unit
 * mask instead of refusing them; refuse them here, or a deny-list
 * would silently lose entries.
 */
bool kvm_x86_pmu_filter_check(const KVMPMUFilter *filter, Error **errp)
{
    for (uint32_t i = 0; i < filter->nevents; i++) {
        const KVMPMUEvent *event = &filter->native_events[i];

        if (event->format == KVM_PMU_EVENT_FORMAT_RAW &&
            (event->code & ~KVM_X86_PMU_RAW_EVENT_MASK)) {
            error_setg(errp, "events[%u]: raw code 0x%" PRIx64 " has bits "
                       "outside event select and unit mask (0x%llx)",
                       i, event->code, KVM_X86_PMU_RAW_EVENT_MASK);
            return false;
        }
    }
    return true;
}

struct kvm_pmu_event_filter *kvm_x86_pmu_filter_encode(
    const KVMPMUFilter *filter)
{
    struct kvm_pmu_event_filter *kf;

    kf = g_malloc0(sizeof(*kf) + filter->nevents * sizeof(kf->events[0]));
    kf->action = filter->action == KVM_PMU_FILTER_ACTION_ALLOW ?
                 KVM_PMU_EVENT_ALLOW : KVM_PMU_EVENT_DENY;
    kf->nevents = filter->nevents;
    kf->fixed_counter_bitmap = filter->x86_fixed_counter_bitmap;
    kf->flags = filter->masked ? KVM_PMU_EVENT_FLAG_MASKED_EVENTS : 0;
    for (uint32_t i = 0; i < filter->nevents; i++) {
        kf->events[i] = kvm_x86_pmu_encode_event(&filter->native_events[i]);
    }
    return kf;
}
