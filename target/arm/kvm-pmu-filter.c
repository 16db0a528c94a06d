/*
 * Arm KVM PMU event filter: KVM_ARM_VCPU_PMU_V3_FILTER
 *
 * KVM on Arm takes the filter as ranges of event numbers through a vCPU
 * device attribute, although it applies to the whole VM, and only
 * until that vCPU's PMU is created.  So the filter is set on each vCPU
 * just before kvm_arm_pmu_init() creates its PMU, and checked to be on
 * all of them once the machine is complete.  It cannot change
 * afterwards.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/core/cpu.h"
#include "hw/qdev-core.h"
#include "system/kvm_int.h"
#include "cpu.h"
#include "cpu-features.h"
#include "kvm_arm.h"
#include "kvm-pmu-filter.h"
#include "trace.h"

static uint16_t kvm_arm_pmu_max_event(ARMCPU *cpu)
{
    return cpu_isar_feature(any_pmuv3p1, cpu) ? KVM_ARM_PMU_EVENT_MAX
                                              : KVM_ARM_PMU_EVENT_MAX_V8_0;
}

static bool kvm_arm_pmu_filter_supported(ARMCPU *cpu, Error **errp)
{
    struct kvm_device_attr attr = {
        .group = KVM_ARM_VCPU_PMU_V3_CTRL,
        .attr = KVM_ARM_VCPU_PMU_V3_FILTER,
    };

    if (kvm_vcpu_ioctl(CPU(cpu), KVM_HAS_DEVICE_ATTR, &attr)) {
        error_setg(errp, "KVM does not support PMU event filters");
        return false;
    }
    return true;
}

static bool kvm_arm_pmu_filter_set_range(ARMCPU *cpu,
                                         const KVMArmPMUEventRange *range,
                                         KvmPmuFilterAction action,
                                         Error **errp)
{
    struct kvm_pmu_event_filter kf = {
        .base_event = range->base_event,
        .nevents = range->nevents,
        .action = action == KVM_PMU_FILTER_ACTION_ALLOW ?
                  KVM_PMU_EVENT_ALLOW : KVM_PMU_EVENT_DENY,
    };
    struct kvm_device_attr attr = {
        .group = KVM_ARM_VCPU_PMU_V3_CTRL,
        .attr = KVM_ARM_VCPU_PMU_V3_FILTER,
        .addr = (uintptr_t)&kf,
    };
    int ret;

    trace_kvm_arm_pmu_filter_range(CPU(cpu)->cpu_index, kf.base_event,
                                   kf.nevents, kf.action);
    ret = kvm_vcpu_ioctl(CPU(cpu), KVM_SET_DEVICE_ATTR, &attr);
    if (ret < 0 && !kf.nevents) {
        error_setg_errno(errp, -ret, "KVM refused an allow-list without "
                         "events");
        return false;
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "KVM refused events 0x%x to 0x%x",
                         kf.base_event, kf.base_event + kf.nevents - 1);
        return false;
    }
    return true;
}

static bool kvm_arm_pmu_filter_set_ranges(ARMCPU *cpu, KVMPMUFilter *filter,
                                          Error **errp)
{
    const KVMPMUEvent *events;
    g_autofree KVMArmPMUEventRange *ranges = NULL;
    KvmPmuFilterAction action = kvm_pmu_filter_get_action(filter);
    uint32_t nevents, nranges;

    events = kvm_pmu_filter_get_events(filter, &nevents);
    if (!kvm_arm_pmu_filter_check(
            events, nevents,
            kvm_pmu_filter_get_x86_fixed_counter_bitmap(filter),
            kvm_arm_pmu_max_event(cpu), errp) ||
        !kvm_arm_pmu_filter_supported(cpu, errp)) {
        return false;
    }
    ranges = kvm_arm_pmu_filter_encode(action, events, nevents, &nranges);
    trace_kvm_arm_pmu_filter_set(CPU(cpu)->cpu_index,
                                 kvm_pmu_filter_get_id(filter), action,
                                 nranges);
    for (uint32_t i = 0; i < nranges; i++) {
        if (!kvm_arm_pmu_filter_set_range(cpu, &ranges[i], action, errp)) {
            return false;
        }
    }
    return true;
}

/*
 * Give KVM the VM's filter for @cpu, before its PMU is created.  This
 * runs while the board creates the vCPUs, where an error cannot stop
 * QEMU yet; the first error is kept, and kvm_arch_pmu_filter_install()
 * reports it before any vCPU runs.  A vCPU created later gets the
 * filter that KVM holds for the whole VM.
 */
void kvm_arm_pmu_filter_set(ARMCPU *cpu)
{
    KVMState *s = kvm_state;

    if (!s->pmu_filter || s->pmu_filter_error ||
        phase_check(PHASE_MACHINE_READY)) {
        return;
    }
    if (!kvm_arm_pmu_filter_set_ranges(cpu, s->pmu_filter,
                                       &s->pmu_filter_error)) {
        error_prepend(&s->pmu_filter_error, "PMU event filter '%s': ",
                      kvm_pmu_filter_get_id(s->pmu_filter));
        return;
    }
    s->pmu_filter_vcpus++;
}

/* Called when the machine is complete: the filter must be on every vCPU */
bool kvm_arch_pmu_filter_install(KVMState *s, KVMPMUFilter *filter,
                                 Error **errp)
{
    ERRP_GUARD();
    CPUState *cs;
    unsigned int vcpus = 0;

    if (phase_check(PHASE_MACHINE_READY)) {
        error_setg(errp, "cannot change the PMU event filter of this VM");
        error_append_hint(errp, "On Arm, KVM fixes the filter when QEMU "
                          "creates the vCPUs' PMUs, before the guest "
                          "starts.\n");
        return false;
    }
    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);

        if (!cpu->has_pmu) {
            error_setg(errp, "PMU event filter '%s' cannot be installed: "
                       "vCPU %d has no PMU", kvm_pmu_filter_get_id(filter),
                       cs->cpu_index);
            error_append_hint(errp, "KVM on Arm keeps the filter with the "
                              "vCPUs' PMUs; give the vCPUs a PMU with "
                              "pmu=on.\n");
            return false;
        }
        vcpus++;
    }
    if (s->pmu_filter_error) {
        error_propagate(errp, s->pmu_filter_error);
        s->pmu_filter_error = NULL;
        return false;
    }
    if (s->pmu_filter_vcpus != vcpus) {
        error_setg(errp, "PMU event filter '%s' cannot be installed on this "
                   "machine", kvm_pmu_filter_get_id(filter));
        error_append_hint(errp, "The machine creates the PMUs of its vCPUs "
                          "without giving QEMU a chance to set the "
                          "filter.\n");
        return false;
    }
    return true;
}
