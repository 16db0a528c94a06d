/*
 * x86 KVM PMU event filter: encoding for KVM_SET_PMU_EVENT_FILTER
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "pmu-filter.h"

/* Event select bits 7:0 stay in place, bits 11:8 move to 35:32. */
static uint64_t encode_select(uint16_t select)
{
    return (select & 0xff) | ((uint64_t)(select >> 8) << 32);
}

static uint16_t decode_select(uint64_t event)
{
    return (event & 0xff) | (((event >> 32) & 0xf) << 8);
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

static uint16_t event_select(const KVMPMUEvent *event)
{
    switch (event->format) {
    case KVM_PMU_EVENT_FORMAT_RAW:
        return decode_select(event->code);
    case KVM_PMU_EVENT_FORMAT_X86_DEFAULT:
        return event->x86_default.select;
    case KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY:
        return event->x86_masked.select;
    default:
        g_assert_not_reached();
    }
}

/*
 * Refuse what KVM would not take as written.  It silently drops plain
 * events with bits it does not compare, so that a deny-list would lose
 * them: bits outside event select and unit mask, and the event select
 * bits above the @select_bits that the host's KVM compares.  It refuses
 * masked entries with such select bits.
 */
bool kvm_x86_pmu_filter_check(const KVMPMUEvent *events, uint32_t nevents,
                              unsigned int select_bits, Error **errp)
{
    for (uint32_t i = 0; i < nevents; i++) {
        const KVMPMUEvent *event = &events[i];

        if (event->format == KVM_PMU_EVENT_FORMAT_RAW &&
            (event->code & ~KVM_X86_PMU_RAW_EVENT_MASK)) {
            error_setg(errp, "events[%u]: code 0x%" PRIx64 " has bits "
                       "outside event select and unit mask (0x%llx)",
                       i, event->code, KVM_X86_PMU_RAW_EVENT_MASK);
            return false;
        }
        if (event_select(event) >> select_bits) {
            error_setg(errp, "events[%u]: event select 0x%x is wider than "
                       "the %u bits that KVM compares on this host",
                       i, event_select(event), select_bits);
            return false;
        }
    }
    return true;
}

struct kvm_pmu_event_filter *kvm_x86_pmu_filter_encode(
    KvmPmuFilterAction action, const KVMPMUEvent *events, uint32_t nevents,
    uint32_t fixed_counter_bitmap)
{
    struct kvm_pmu_event_filter *kf;
    bool masked = nevents &&
        events[0].format == KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY;

    kf = g_malloc0(sizeof(*kf) + nevents * sizeof(kf->events[0]));
    kf->action = action == KVM_PMU_FILTER_ACTION_ALLOW ?
                 KVM_PMU_EVENT_ALLOW : KVM_PMU_EVENT_DENY;
    kf->nevents = nevents;
    kf->fixed_counter_bitmap = fixed_counter_bitmap;
    kf->flags = masked ? KVM_PMU_EVENT_FLAG_MASKED_EVENTS : 0;
    for (uint32_t i = 0; i < nevents; i++) {
        kf->events[i] = kvm_x86_pmu_encode_event(&events[i]);
    }
    return kf;
}

static bool is_exclude(const struct kvm_pmu_event_filter *kf, uint64_t entry)
{
    return (kf->flags & KVM_PMU_EVENT_FLAG_MASKED_EVENTS) &&
           (entry & KVM_PMU_MASKED_ENTRY_EXCLUDE);
}

/*
 * Whether KVM applies the action of @kf to the general-purpose counter
 * event @select/@umask: an entry that includes it matches, and no entry
 * that excludes it does.  Plain events are masked entries that compare
 * all unit mask bits.
 */
bool kvm_x86_pmu_filter_lists(const struct kvm_pmu_event_filter *kf,
                              uint16_t select, uint8_t umask)
{
    bool masked = kf->flags & KVM_PMU_EVENT_FLAG_MASKED_EVENTS;
    bool included = false;

    for (uint32_t i = 0; i < kf->nevents; i++) {
        uint64_t entry = kf->events[i];
        uint8_t mask = masked ? entry >> 56 : 0xff;
        uint8_t match = entry >> 8;

        if (decode_select(entry) != select || (umask & mask) != match) {
            continue;
        }
        if (is_exclude(kf, entry)) {
            return false;
        }
        included = true;
    }
    return included;
}

/*
 * Whether @kf has entries, all of which exclude events: it then lists
 * no event at all, since only an entry that includes an event lists it.
 */
bool kvm_x86_pmu_filter_only_excludes(const struct kvm_pmu_event_filter *kf)
{
    for (uint32_t i = 0; i < kf->nevents; i++) {
        if (!is_exclude(kf, kf->events[i])) {
            return false;
        }
    }
    return kf->nevents;
}

/* The architectural events, by their bit in CPUID leaf 0xA's EBX */
static const struct {
    uint8_t select;
    uint8_t umask;
} arch_events[] = {
    { 0x3c, 0x00 },     /* core cycles */
    { 0xc0, 0x00 },     /* instructions retired */
    { 0x3c, 0x01 },     /* reference cycles */
    { 0x2e, 0x4f },     /* last level cache references */
    { 0x2e, 0x41 },     /* last level cache misses */
    { 0xc4, 0x00 },     /* branch instructions retired */
    { 0xc5, 0x00 },     /* branch misses retired */
    { 0xa4, 0x01 },     /* topdown slots */
    { 0xa4, 0x02 },     /* topdown backend bound */
    { 0x73, 0x00 },     /* topdown bad speculation */
    { 0x9c, 0x01 },     /* topdown frontend bound */
    { 0xc2, 0x02 },     /* topdown retiring */
    { 0xe4, 0x01 },     /* LBR inserts */
};

static bool allows_event(const struct kvm_pmu_event_filter *kf,
                         uint8_t select, uint8_t umask)
{
    return kvm_x86_pmu_filter_lists(kf, select, umask) ==
           (kf->action == KVM_PMU_EVENT_ALLOW);
}

/* The fixed counters that @kf lets count, as a bitmap */
uint32_t kvm_x86_pmu_filter_fixed_counters(
    const struct kvm_pmu_event_filter *kf)
{
    return kf->action == KVM_PMU_EVENT_ALLOW ? kf->fixed_counter_bitmap
                                             : ~kf->fixed_counter_bitmap;
}

/*
 * The fixed counters that @leaf offers, as a bitmap: those below the
 * count in EDX[4:0] and those that ECX lists (version 5 and later).
 */
uint32_t kvm_x86_pmu_leaf_fixed_counters(const X86PMULeaf *leaf)
{
    unsigned int count = leaf->edx & 0x1f;

    if ((leaf->eax & 0xff) < 2) {
        return 0;
    }
    return leaf->ecx | (BIT(count) - 1);
}

/*
 * Adjust @leaf, CPUID leaf 0xA as KVM reports it, so that it offers the
 * guest nothing that @kf denies.  EBX marks unavailable each
 * architectural event that @kf denies, as KVM judges it by event select
 * and unit mask, and each one that QEMU does not know, up to EAX's
 * length of EBX.  EDX[4:0] counts the fixed counters from counter 0 up
 * to the first one that @kf denies, and ECX loses those that it denies.
 */
void kvm_x86_pmu_filter_hide(const struct kvm_pmu_event_filter *kf,
                             X86PMULeaf *leaf)
{
    unsigned int nr_events = MIN(leaf->eax >> 24, 32);
    unsigned int nr_fixed = leaf->edx & 0x1f;
    uint32_t fixed = kvm_x86_pmu_filter_fixed_counters(kf);
    unsigned int allowed = 0;

    for (unsigned int i = 0; i < nr_events; i++) {
        if (i >= ARRAY_SIZE(arch_events) ||
            !allows_event(kf, arch_events[i].select, arch_events[i].umask)) {
            leaf->ebx |= BIT(i);
        }
    }
    if ((leaf->eax & 0xff) < 2) {
        return;
    }
    while (allowed < nr_fixed && (fixed & BIT(allowed))) {
        allowed++;
    }
    leaf->edx = (leaf->edx & ~0x1f) | allowed;
    leaf->ecx &= fixed;
}
