/*
 * KVM PMU event filter object
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_KVM_PMU_H
#define SYSTEM_KVM_PMU_H

#include "qapi/qapi-types-kvm.h"
#include "qom/object.h"
#include "system/kvm.h"

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

bool kvm_pmu_parse_value(const char *str, uint64_t max, uint64_t *value,
                         Error **errp);

/* The kvm-pmu-filter object with ID @id */
KVMPMUFilter *kvm_pmu_filter_find(const char *id, Error **errp);
const char *kvm_pmu_filter_get_id(KVMPMUFilter *filter);

/*
 * A filter cannot change once it is created.  An accelerator claims
 * the filter it is to install; a claimed filter cannot be deleted until
 * the accelerator releases it.
 */
void kvm_pmu_filter_claim(KVMPMUFilter *filter);
void kvm_pmu_filter_release(KVMPMUFilter *filter);

KvmPmuFilterAction kvm_pmu_filter_get_action(KVMPMUFilter *filter);
/* The *@nevents events in native form, as the filter keeps them */
const KVMPMUEvent *kvm_pmu_filter_get_events(KVMPMUFilter *filter,
                                             uint32_t *nevents);
uint32_t kvm_pmu_filter_get_x86_fixed_counter_bitmap(KVMPMUFilter *filter);

/**
 * kvm_arch_pmu_filter_install:
 * @s: the KVM state
 * @filter: the PMU event filter
 * @errp: pointer to a NULL-initialized error object
 *
 * Make @filter the PMU event filter of the VM, in place of the one it
 * had, if any.  Called when the machine is complete, before any vCPU
 * runs, and by set-kvm-pmu-filter, while vCPUs may run; a target whose
 * filter cannot change once the machine is ready fails then.  Targets
 * whose KVM has no PMU event filters get the stub, which fails.
 *
 * Returns: true on success; false, with @errp set, if the filter
 * cannot be installed as it is, in which case the VM keeps the filter
 * it had, or, if it had none, may be left with one that filters
 * nothing.
 */
bool kvm_arch_pmu_filter_install(KVMState *s, KVMPMUFilter *filter,
                                 Error **errp);

#endif
