/*
 * KVM PMU event filter object
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_KVM_PMU_H
#define SYSTEM_KVM_PMU_H

#include "qapi/qapi-types-kvm.h"
#include "qom/object.h"

#define TYPE_KVM_PMU_FILTER "kvm-pmu-filter"
OBJECT_DECLARE_SIMPLE_TYPE(KVMPMUFilter, KVM_PMU_FILTER)

/* The most events a filter can list; KVM refuses more. */
#define KVM_PMU_FILTER_MAX_EVENTS 300

#define KVM_PMU_X86_SELECT_MAX 0xfff
#define KVM_PMU_X86_UMASK_MAX 0xff

/* An event of a filter, converted from the strings the user gave. */
typedef struct KVMPMUEvent {
    KvmPmuEventFormat format;
    union {
        uint64_t code;              /* KVM_PMU_EVENT_FORMAT_RAW */
        struct {
            uint16_t select;
            uint8_t umask;
        } x86_default;
        struct {
            uint16_t select;
            uint8_t mask;
            uint8_t match;
            bool exclude;
        } x86_masked;
    };
} KVMPMUEvent;

struct KVMPMUFilter {
    Object parent_obj;

    /* The configuration as written, returned by qom-get */
    KvmPmuFilterAction action;
    KvmPmuFilterEventList *events;
    KvmPmuX86FixedCounter *x86_fixed_counter;

    /* The same, converted; valid once the object is complete */
    bool complete;
    uint32_t nevents;
    KVMPMUEvent *native_events;
    bool masked;
    uint32_t x86_fixed_counter_bitmap;

    /* Set once an accelerator installed the filter */
    bool in_use;
};

bool kvm_pmu_parse_value(const char *str, uint64_t max, uint64_t *value,
                         Error **errp);

KVMPMUFilter *kvm_pmu_filter_claim(const char *id, Error **errp);

#endif
