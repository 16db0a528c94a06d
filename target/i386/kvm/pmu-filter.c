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
#include "migration/misc.h"
#include "system/system.h"
#include "system/kvm_int.h"
#include "cpu.h"
#include "host-cpu.h"
#include "kvm_i386.h"
#include "tdx.h"
#include "pmu-filter.h"
#include "trace.h"

/* The filter KVM has, once the machine is ready */
static KVMPMUFilter *installed;

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

/*
 * Install filter @id in place of the one installed, if any: check and
 * encode it first, then hand it to KVM with one ioctl.  If KVM refuses
 * it, the filter installed before stays.
 */
static bool kvm_x86_pmu_filter_install(KVMState *s, const char *id,
                                       Error **errp)
{
    ERRP_GUARD();
    KVMPMUFilter *filter = kvm_pmu_filter_find(id, errp);
    g_autofree KVMPMUEvent *events = NULL;
    g_autofree struct kvm_pmu_event_filter *kf = NULL;
    bool intel = is_host_cpu_intel();
    uint32_t nevents, bitmap;
    int ret;

    if (!filter) {
        return false;
    }
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
    if (installed) {
        kvm_pmu_filter_release(installed);
    }
    kvm_pmu_filter_claim(filter);
    installed = filter;
    if (intel) {
        warn_fixed_counter_mismatch(id, kf);
    }
    return true;
}

/*
 * Install the filter once the machine is complete: with --preconfig,
 * the object may be created over QMP after the accelerator starts.
 * The guest has run no instruction yet.  Errors point at the option
 * that named the filter.
 */
static void kvm_x86_pmu_filter_machine_done(Notifier *n, void *unused)
{
    KVMState *s = kvm_state;
    Error *err = NULL;

    if (!kvm_x86_pmu_filter_install(s, s->pmu_filter, &err)) {
        loc_push_restore(&s->pmu_filter_loc);
        error_report_err(err);
        exit(1);
    }
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

/*
 * Switch the filter of a running or paused VM.  vCPUs are not paused:
 * KVM gives each the new filter on its next entry to the guest and
 * reprograms its counters.
 */
static void kvm_x86_pmu_filter_switch(KVMState *s, const char *id,
                                      Error **errp)
{
    const char *old = s->pmu_filter ?: "";

    if (g_str_equal(old, id)) {
        return;
    }
    if (migration_is_running()) {
        error_setg(errp, "cannot change the PMU event filter while the VM "
                   "migrates");
        return;
    }
    if (!kvm_x86_pmu_filter_install(s, id, errp)) {
        trace_kvm_x86_pmu_filter_switch(old, id, "refused");
        return;
    }
    trace_kvm_x86_pmu_filter_switch(old, id, "installed");
    g_free(s->pmu_filter);
    s->pmu_filter = g_strdup(id);
}

static void kvm_x86_set_pmu_filter(Object *obj, const char *value,
                                   Error **errp)
{
    ERRP_GUARD();
    KVMState *s = KVM_STATE(obj);

    if (!*value) {
        error_setg(errp, "pmu-filter must not be empty");
        error_append_hint(errp, "Give the ID of a kvm-pmu-filter object.\n");
        return;
    }
    if (phase_check(PHASE_MACHINE_READY)) {
        kvm_x86_pmu_filter_switch(s, value, errp);
        return;
    }
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
    loc_save(&s->pmu_filter_loc);
}

void kvm_x86_pmu_filter_class_init(ObjectClass *oc)
{
    object_class_property_add_str(oc, "pmu-filter", kvm_x86_get_pmu_filter,
                                  kvm_x86_set_pmu_filter);
    object_class_property_set_description(oc, "pmu-filter",
        "ID of the kvm-pmu-filter object restricting the PMU events "
        "guests can count");
}
