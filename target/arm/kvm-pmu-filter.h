/*
 * Arm KVM PMU event filter
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef ARM_KVM_PMU_FILTER_H
#define ARM_KVM_PMU_FILTER_H

#include "system/kvm-pmu.h"

/* The highest event number of PMUv3 for Armv8.0, and of later versions */
#define KVM_ARM_PMU_EVENT_MAX_V8_0 0x3ff
#define KVM_ARM_PMU_EVENT_MAX 0xffff

/* Events base_event to base_event + nevents - 1, as KVM takes them */
typedef struct KVMArmPMUEventRange {
    uint16_t base_event;
    uint16_t nevents;
} KVMArmPMUEventRange;

bool kvm_arm_pmu_filter_check(const KVMPMUEvent *events, uint32_t nevents,
                              uint32_t x86_fixed_counter_bitmap,
                              uint16_t max_event, Error **errp);
KVMArmPMUEventRange *kvm_arm_pmu_filter_encode(KvmPmuFilterAction action,
                                               const KVMPMUEvent *events,
                                               uint32_t nevents,
                                               uint32_t *nranges);

#endif
