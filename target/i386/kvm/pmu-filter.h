/*
 * x86 KVM PMU event filter
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_KVM_PMU_FILTER_H
#define I386_KVM_PMU_FILTER_H

#include <linux/kvm.h>
#include "system/kvm.h"
#include "system/kvm-pmu.h"

/* Bits 11:8 of an event select; Intel PMUs have 8-bit selects. */
#define KVM_X86_PMU_SELECT_HIGH 0xf00

/* The bits of a plain event that KVM compares: event select and umask */
#define KVM_X86_PMU_RAW_EVENT_MASK 0x0000000f0000ffffULL

uint64_t kvm_x86_pmu_encode_event(const KVMPMUEvent *event);
uint16_t kvm_x86_pmu_event_select(const KVMPMUEvent *event);
bool kvm_x86_pmu_filter_check(const KVMPMUFilter *filter, Error **errp);
struct kvm_pmu_event_filter *kvm_x86_pmu_filter_encode(
    const KVMPMUFilter *filter);

void kvm_x86_pmu_filter_class_init(ObjectClass *oc);
void kvm_x86_pmu_filter_init(KVMState *s);

#endif
