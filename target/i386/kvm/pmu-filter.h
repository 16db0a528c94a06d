/*
 * x86 KVM PMU event filter
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef I386_KVM_PMU_FILTER_H
#define I386_KVM_PMU_FILTER_H

#include <linux/kvm.h>
#include "system/kvm-pmu.h"

/* The bits of a plain event that KVM can compare: event select, umask */
#define KVM_X86_PMU_RAW_EVENT_MASK 0x0000000f0000ffffULL

/* How many event select bits KVM compares: 8 for kvm_intel, 12 kvm_amd */
#define KVM_X86_PMU_SELECT_BITS_INTEL 8
#define KVM_X86_PMU_SELECT_BITS_AMD 12

uint64_t kvm_x86_pmu_encode_event(const KVMPMUEvent *event);
bool kvm_x86_pmu_filter_check(const KVMPMUEvent *events, uint32_t nevents,
                              unsigned int select_bits, Error **errp);
struct kvm_pmu_event_filter *kvm_x86_pmu_filter_encode(
    KvmPmuFilterAction action, const KVMPMUEvent *events, uint32_t nevents,
    uint32_t fixed_counter_bitmap);
bool kvm_x86_pmu_filter_lists(const struct kvm_pmu_event_filter *kf,
                              uint16_t select, uint8_t umask);
bool kvm_x86_pmu_filter_only_excludes(const struct kvm_pmu_event_filter *kf);

/* CPUID leaf 0xA: Intel's architectural PMU */
typedef struct X86PMULeaf {
    uint32_t eax, ebx, ecx, edx;
} X86PMULeaf;

/* CPUID leaf 0xA as KVM reports it, and as the vCPUs of a VM got it */
typedef struct X86PMULeaves {
    X86PMULeaf kvm;
    X86PMULeaf vcpus;
} X86PMULeaves;

void kvm_x86_pmu_filter_hide(const struct kvm_pmu_event_filter *kf,
                             X86PMULeaf *leaf);
uint32_t kvm_x86_pmu_filter_fixed_counters(
    const struct kvm_pmu_event_filter *kf);
uint32_t kvm_x86_pmu_leaf_fixed_counters(const X86PMULeaf *leaf);

#endif
