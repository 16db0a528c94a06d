/*
 * x86 KVM PMU event filter: the accelerator's pmu-filter property and
 * KVM_SET_PMU_EVENT_FILTER
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "hw/core/cpu.h"
#include "system/system.h"
#include "system/kvm_int.h"
#include "cpu.h"
#include "host-cpu.h"
#include "kvm_i386.h"
#include "pmu-filter.h"
#include "trace.h"

static bool host_is_intel(void)
{
    char vendor[CPUID_VENDOR_SZ + 1];

    host_cpu_vendor_fms(vendor, NULL, NULL, NULL);
    return g_str_equal(vendor, CPUID_VENDOR_INTEL);
}

static bool host_kvm_has_pmu(KVMState *s)
{
    g_autofree char *enable_pmu = NULL;

    if (g_file_get_contents("/sys/module/kvm/parameters/enable_pmu",
                            &enable_pmu, NULL, NULL) &&
        enable_pmu[0] == 'N') {
        return false;
    }
    return !host_is_intel() ||
           (kvm_arch_get_supported_cpuid(s, 0xa, 0, R_EAX) & 0xff) != 0;
}

static void warn_filter_without_effect(KVMState *s, const char *id)
{
    if (!host_kvm_has_pmu(s)) {
        warn_report("pmu-filter: KVM gives guests no PMU on this host; "
                    "filter '%s' is installed but has no effect", id);
    } else if (first_cpu && !X86_CPU(first_cpu)->enable_pmu) {
        warn_report("pmu-filter: the guest CPU has no PMU (pmu=off); "
                    "filter '%s' is installed but has no effect", id);
    }
}

static void warn_surprises(const KVMPMUFilter *filter, const char *id)
{
    if (filter->action == KVM_PMU_FILTER_ACTION_ALLOW &&
        !filter->x86_fixed_counter) {
        warn_report("pmu-filter: allow-list '%s' has no x86-fixed-counter, "
                    "so the guest can use no fixed counter", id);
    }
    if (filter->masked || !host_is_intel()) {
        return;
    }
    for (uint32_t i = 0; i < filter->nevents; i++) {
        uint16_t select = kvm_x86_pmu_event_select(&filter->native_events[i]);

        if (select & KVM_X86_PMU_SELECT_HIGH) {
            warn_report("pmu-filter: '%s' events[%u]: KVM drops events with "
                        "select bits 11:8 (0x%x) on Intel, where no event "
                        "has them", id, i, select);
            return;
        }
    }
}

static void trace_filter(const char *id, struct kvm_pmu_event_filter *kf)
{
    trace_kvm_x86_pmu_filter_install(id, kf->action, kf->flags, kf->nevents,
                                     kf->fixed_counter_bitmap);
    for (uint32_t i = 0; i < kf->nevents; i++) {
        trace_kvm_x86_pmu_filter_event(i, kf->events[i]);
    }
}

static bool kvm_x86_pmu_filter_install(KVMState *s, Error **errp)
{
    ERRP_GUARD();
    const char *id = s->pmu_filter;
    KVMPMUFilter *filter = kvm_pmu_filter_claim(id, errp);
    g_autofree struct kvm_pmu_event_filter *kf = NULL;
    int ret;

    if (!filter) {
        error_prepend(errp, "pmu-filter: ");
        return false;
    }
    if (kvm_vm_check_extension(s, KVM_CAP_PMU_EVENT_FILTER) <= 0) {
        error_setg(errp, "pmu-filter: KVM does not support PMU event filters "
                   "(KVM_CAP_PMU_EVENT_FILTER)");
        return false;
    }
    if (filter->masked &&
        kvm_vm_check_extension(s, KVM_CAP_PMU_EVENT_MASKED_EVENTS) <= 0) {
        error_setg(errp, "pmu-filter: KVM does not support x86-masked-entry "
                   "events (KVM_CAP_PMU_EVENT_MASKED_EVENTS)");
        return false;
    }

    if (!kvm_x86_pmu_filter_check(filter, errp)) {
        error_prepend(errp, "pmu-filter: '%s' ", id);
        return false;
    }

    kf = kvm_x86_pmu_filter_encode(filter);
    trace_filter(id, kf);
    ret = kvm_vm_ioctl(s, KVM_SET_PMU_EVENT_FILTER, kf);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "pmu-filter: KVM refused filter '%s'%s",
                         id, ret == -EINVAL && filter->masked && host_is_intel()
                         ? " (on Intel, x86-masked-entry selects must be at "
                           "most 0xff)" : "");
        return false;
    }
    warn_surprises(filter, id);
    warn_filter_without_effect(s, id);
    return true;
}

/*
 * Install the filter once the machine is complete: with --preconfig,
 * the object may be created over QMP after the accelerator starts.
 * The guest has run no instruction yet.
 */
static void kvm_x86_pmu_filter_machine_done(Notifier *n, void *unused)
{
    kvm_x86_pmu_filter_install(kvm_state, &error_fatal);
}

static Notifier pmu_filter_machine_done = {
    .notify = kvm_x86_pmu_filter_machine_done,
};

void kvm_x86_pmu_filter_init(KVMState *s)
{
    if (s->pmu_filter) {
        qemu_add_machine_init_done_notifier(&pmu_filter_machine_done);
    }
}

static char *kvm_x86_get_pmu_filter(Object *obj, Error **errp)
{
    return g_strdup(KVM_STATE(obj)->pmu_filter ?: "");
}

static void kvm_x86_set_pmu_filter(Object *obj, const char *value,
                                   Error **errp)
{
    KVMState *s = KVM_STATE(obj);

    if (s->fd != -1) {
        error_setg(errp, "cannot set pmu-filter after the accelerator "
                   "has been initialized");
        return;
    }
    if (s->pmu_filter && !g_str_equal(s->pmu_filter, value)) {
        error_setg(errp, "pmu-filter is already set to '%s'", s->pmu_filter);
        return;
    }
    g_free(s->pmu_filter);
    s->pmu_filter = g_strdup(value);
}

void kvm_x86_pmu_filter_class_init(ObjectClass *oc)
{
    object_class_property_add_str(oc, "pmu-filter", kvm_x86_get_pmu_filter,
                                  kvm_x86_set_pmu_filter);
    object_class_property_set_description(oc, "pmu-filter",
        "ID of the kvm-pmu-filter object restricting the PMU events "
        "guests can count");
}
