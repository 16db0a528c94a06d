/*
 * PMU event filters asked of the accelerator
 *
 * A PMU event filter is a security boundary: whichever option asked for
 * one, the accelerator in use must install it, or QEMU must not start
 * the guest.  Options that QEMU would otherwise ignore (a later -accel,
 * a -global for an accelerator that is not in use) count too.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/accel.h"
#include "qemu/config-file.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "hw/qdev-properties.h"
#include "system/kvm-pmu.h"

#define PMU_FILTER_PROP "pmu-filter"

/* The accelerator in use, as -accel names it */
static char *accel_name(void)
{
    const char *type = object_get_typename(OBJECT(current_accel()));

    return g_strndup(type, strlen(type) - strlen(ACCEL_CLASS_SUFFIX));
}

char *accel_get_pmu_filter(void)
{
    Object *accel = OBJECT(current_accel());
    g_autofree char *id = NULL;

    if (!object_property_find(accel, PMU_FILTER_PROP)) {
        return NULL;
    }
    id = object_property_get_str(accel, PMU_FILTER_PROP, &error_abort);
    return *id ? g_steal_pointer(&id) : NULL;
}

static int check_accel_opts(void *opaque, QemuOpts *opts, Error **errp)
{
    ERRP_GUARD();
    const char *installed = opaque;
    const char *id = qemu_opt_get(opts, PMU_FILTER_PROP);

    if (id && g_strcmp0(id, installed)) {
        g_autofree char *accel = accel_name();

        error_setg(errp, "PMU event filter '%s' would not be installed: "
                   "QEMU uses the first -accel option that works, '%s'",
                   id, accel);
        error_append_hint(errp, "Give pmu-filter in that -accel option, "
                          "or as -global kvm-accel.pmu-filter=%s.\n", id);
        return -1;
    }
    return 0;
}

static void check_globals(const char *installed)
{
    GPtrArray *props = global_props();

    for (int i = 0; i < props->len; i++) {
        GlobalProperty *p = g_ptr_array_index(props, i);
        ObjectClass *oc = object_class_by_name(p->driver);

        if (g_str_equal(p->property, PMU_FILTER_PROP) &&
            object_class_dynamic_cast(oc, TYPE_ACCEL) &&
            g_strcmp0(p->value, installed)) {
            g_autofree char *accel = accel_name();

            error_report("-global %s.%s=%s: PMU event filter '%s' would not "
                         "be installed by accelerator '%s'", p->driver,
                         p->property, p->value, p->value, accel);
            exit(1);
        }
    }
}

static int find_filter(Object *obj, void *opaque)
{
    const char **id = opaque;

    if (object_dynamic_cast(obj, TYPE_KVM_PMU_FILTER)) {
        *id = object_get_canonical_path_component(obj);
        return 1;
    }
    return 0;
}

/* A filter object that an accelerator able to install it leaves unused */
static void check_objects(const char *installed)
{
    g_autofree char *accel = NULL;
    const char *id = NULL;

    if (installed ||
        !object_property_find(OBJECT(current_accel()), PMU_FILTER_PROP) ||
        !object_child_foreach(object_get_objects_root(), find_filter, &id)) {
        return;
    }
    accel = accel_name();
    error_report("PMU event filter '%s' would not be installed: no "
                 "pmu-filter names it", id);
    error_printf("Name it with -accel %s,pmu-filter=%s, or delete it.\n",
                 accel, id);
    exit(1);
}

void accel_pmu_filter_check(void)
{
    g_autofree char *installed = accel_get_pmu_filter();

    qemu_opts_foreach(qemu_find_opts("accel"), check_accel_opts, installed,
                      &error_fatal);
    check_globals(installed);
    check_objects(installed);
}
