/*
 * KVM PMU event filter: the accelerator's pmu-filter property
 *
 * The KVM accelerator installs the kvm-pmu-filter object that its
 * pmu-filter property names.  How a filter reaches KVM is up to the
 * target, through the KVMPMUFilterOps it registers; on a target that
 * registers none, the property refuses every value.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "hw/qdev-core.h"
#include "migration/misc.h"
#include "system/system.h"
#include "system/kvm_int.h"
#include "system/kvm-pmu.h"
#include "trace.h"

static const KVMPMUFilterOps *pmu_filter_ops;

/* The filter KVM has, once the machine is ready */
static KVMPMUFilter *installed;

void kvm_pmu_filter_register_ops(const KVMPMUFilterOps *ops)
{
    pmu_filter_ops = ops;
}

void kvm_pmu_filter_exit(KVMState *s, Error *err)
{
    loc_push_restore(&s->pmu_filter_loc);
    error_report_err(err);
    exit(1);
}

/*
 * Make filter @id the one KVM has.  If the target refuses it, the
 * filter installed before stays.
 */
static bool kvm_pmu_filter_install(KVMState *s, const char *id, Error **errp)
{
    KVMPMUFilter *filter = kvm_pmu_filter_find(id, errp);

    if (!filter || !pmu_filter_ops->install(s, id, filter, errp)) {
        return false;
    }
    if (installed) {
        kvm_pmu_filter_release(installed);
    }
    kvm_pmu_filter_claim(filter);
    installed = filter;
    return true;
}

/*
 * With --preconfig, the object may be created over QMP after the
 * accelerator starts, so the filter is installed once the machine is
 * complete, before the guest runs any instruction.  Errors point at
 * the option that named the filter.
 */
static void kvm_pmu_filter_machine_done(Notifier *n, void *unused)
{
    KVMState *s = kvm_state;
    Error *err = NULL;

    if (!kvm_pmu_filter_install(s, s->pmu_filter, &err)) {
        kvm_pmu_filter_exit(s, err);
    }
}

static Notifier pmu_filter_machine_done = {
    .notify = kvm_pmu_filter_machine_done,
};

void kvm_pmu_filter_init(KVMState *s)
{
    if (s->pmu_filter) {
        qemu_add_machine_init_done_notifier(&pmu_filter_machine_done);
    }
}

/*
 * Switch the filter of a running or paused VM, where the target lets
 * it change.  vCPUs are not paused: KVM gives each the new filter on
 * its next entry to the guest.
 */
static void kvm_pmu_filter_switch(KVMState *s, const char *id, Error **errp)
{
    ERRP_GUARD();
    const char *old = s->pmu_filter ?: "";

    if (g_str_equal(old, id)) {
        return;
    }
    if (pmu_filter_ops->fixed_at_start) {
        error_setg(errp, "cannot change the PMU event filter of this VM");
        error_append_hint(errp, "%s\n", pmu_filter_ops->fixed_at_start);
        return;
    }
    if (migration_is_running()) {
        error_setg(errp, "cannot change the PMU event filter while the VM "
                   "migrates");
        return;
    }
    if (!kvm_pmu_filter_install(s, id, errp)) {
        trace_kvm_pmu_filter_switch(old, id, "refused");
        return;
    }
    trace_kvm_pmu_filter_switch(old, id, "installed");
    g_free(s->pmu_filter);
    s->pmu_filter = g_strdup(id);
}

static char *kvm_get_pmu_filter(Object *obj, Error **errp)
{
    return g_strdup(KVM_STATE(obj)->pmu_filter ?: "");
}

static void kvm_set_pmu_filter(Object *obj, const char *value, Error **errp)
{
    ERRP_GUARD();
    KVMState *s = KVM_STATE(obj);

    if (!pmu_filter_ops) {
        error_setg(errp, "KVM has no PMU event filters for this target");
        return;
    }
    if (!*value) {
        error_setg(errp, "pmu-filter must not be empty");
        error_append_hint(errp, "Give the ID of a kvm-pmu-filter object.\n");
        return;
    }
    if (phase_check(PHASE_MACHINE_READY)) {
        kvm_pmu_filter_switch(s, value, errp);
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

void kvm_pmu_filter_class_init(ObjectClass *oc)
{
    object_class_property_add_str(oc, "pmu-filter", kvm_get_pmu_filter,
                                  kvm_set_pmu_filter);
    object_class_property_set_description(oc, "pmu-filter",
        "ID of the kvm-pmu-filter object restricting the PMU events "
        "guests can count");
}
