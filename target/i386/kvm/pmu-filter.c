/*
 * x86 KVM PMU event filter: KVM_SET_PMU_EVENT_FILTER
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "hw/core/cpu.h"
#include "system/kvm_int.h"
#include "cpu.h"
#include "host-cpu.h"
#include "kvm_i386.h"
#include "tdx.h"
#include "pmu-filter.h"
#include "trace.h"

/* Events that Intel's fixed counters count, by counter index */
static const struct {
    uint8_t select;
    uint8_t umask;
    const char *name;
} fixed_counter_events[] = {
    { 0xc0, 0x00, "instructions retired" },
    { 0x3c, 0x00, "core cycles" },
};

/*
 * KVM filters general-purpose and fixed counters separately, so a
 * filter that lists instructions retired but not fixed counter 0
 * leaves the guest a second way to count them (deny), or breaks
 * software that counts them on the fixed counter (allow).
 */
static void warn_fixed_counter_mismatch(const char *id,
                                        const struct kvm_pmu_event_filter *kf)
{
    const char *verb = kf->action == KVM_PMU_EVENT_ALLOW ? "allows" : "denies";

    for (int i = 0; i < ARRAY_SIZE(fixed_counter_events); i++) {
        if (kvm_x86_pmu_filter_lists(kf, fixed_counter_events[i].select,
                                     fixed_counter_events[i].umask) &&
            !(kf->fixed_counter_bitmap & BIT(i))) {
            warn_report("PMU event filter '%s' %s event 0x%02x (%s) but not "
                        "fixed counter %d, which counts the same event",
                        id, verb, fixed_counter_events[i].select,
                        fixed_counter_events[i].name, i);
        }
    }
}

/* Whether KVM gives guests a PMU at all (its enable_pmu parameter) */
static bool kvm_x86_guests_have_pmu(KVMState *s)
{
    if (kvm_check_extension(s, KVM_CAP_PMU_CAPABILITY)) {
        return true;
    }
    if (is_host_cpu_intel()) {
        return kvm_arch_get_supported_cpuid(s, 0xa, 0, R_EAX) & 0xff;
    }
    return kvm_arch_get_supported_cpuid(s, 0x80000001, 0, R_ECX) &
           CPUID_EXT3_PERFCORE;
}

static void trace_filter(KVMState *s, const char *id,
                         const struct kvm_pmu_event_filter *kf)
{
    trace_kvm_x86_pmu_filter_install(id, kf->action, kf->flags, kf->nevents,
                                     kf->fixed_counter_bitmap);
    for (uint32_t i = 0; i < kf->nevents; i++) {
        trace_kvm_x86_pmu_filter_event(i, kf->events[i]);
    }
    if (!trace_event_get_state_backends(TRACE_KVM_X86_PMU_FILTER_NO_PMU)) {
        return;
    }
    if (!kvm_x86_guests_have_pmu(s)) {
        trace_kvm_x86_pmu_filter_no_pmu(id, "KVM gives guests no PMU");
    } else if (first_cpu && !X86_CPU(first_cpu)->enable_pmu) {
        trace_kvm_x86_pmu_filter_no_pmu(id, "the guest CPU has pmu=off");
    }
}

static bool kvm_x86_pmu_filter_supported(KVMState *s, bool masked,
                                         Error **errp)
{
    ERRP_GUARD();

    if (is_tdx_vm()) {
        error_setg(errp, "KVM does not filter the PMU events of TDX guests");
        error_append_hint(errp, "The TDX module, not KVM, gives TDX guests "
                          "their PMU.\n");
        return false;
    }
    if (kvm_vm_check_extension(s, KVM_CAP_PMU_EVENT_FILTER) <= 0) {
        error_setg(errp, "KVM does not support PMU event filters");
        return false;
    }
    if (masked &&
        kvm_vm_check_extension(s, KVM_CAP_PMU_EVENT_MASKED_EVENTS) <= 0) {
        error_setg(errp, "KVM does not support x86-masked-entry events");
        return false;
    }
    return true;
}

/* Check and encode @filter, then hand it to KVM with one ioctl */
static bool kvm_x86_pmu_filter_install(KVMState *s, const char *id,
                                       KVMPMUFilter *filter, Error **errp)
{
    ERRP_GUARD();
    g_autofree KVMPMUEvent *events = NULL;
    g_autofree struct kvm_pmu_event_filter *kf = NULL;
    bool intel = is_host_cpu_intel();
    uint32_t nevents, bitmap;
    int ret;

    events = kvm_pmu_filter_get_events(filter, &nevents);
    if (!kvm_x86_pmu_filter_check(events, nevents, intel, errp)) {
        error_prepend(errp, "PMU event filter '%s': ", id);
        return false;
    }
    bitmap = kvm_pmu_filter_get_x86_fixed_counter_bitmap(filter);
    kf = kvm_x86_pmu_filter_encode(kvm_pmu_filter_get_action(filter),
                                   events, nevents, bitmap);
    if (!kvm_x86_pmu_filter_supported(s, kf->flags, errp)) {
        return false;
    }
    trace_filter(s, id, kf);
    ret = kvm_vm_ioctl(s, KVM_SET_PMU_EVENT_FILTER, kf);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "KVM refused PMU event filter '%s'", id);
        return false;
    }
    if (intel) {
        warn_fixed_counter_mismatch(id, kf);
    }
    return true;
}

static const KVMPMUFilterOps kvm_x86_pmu_filter_ops = {
    .install = kvm_x86_pmu_filter_install,
};

void kvm_x86_pmu_filter_register(void)
{
    kvm_pmu_filter_register_ops(&kvm_x86_pmu_filter_ops);
}
