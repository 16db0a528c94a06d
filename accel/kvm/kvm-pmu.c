/*
 * KVM PMU event filter object
 *
 * Turns the filter the user wrote, where numbers are strings, into
 * native events that an accelerator can encode for its kernel.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-visit-kvm.h"
#include "qom/object_interfaces.h"
#include "system/kvm-pmu.h"

/* Longest part of a bad value quoted in an error message */
#define QUOTE_MAX 32

static void error_bad_value(Error **errp, const char *str, const char *why)
{
    error_setg(errp, "'%.*s%s' %s", QUOTE_MAX, str,
               strlen(str) > QUOTE_MAX ? "..." : "", why);
}

/*
 * Parse @str, a "0x"-prefixed hexadecimal or a plain decimal number
 * without sign, spaces or leading zeros, no larger than @max.
 */
bool kvm_pmu_parse_value(const char *str, uint64_t max, uint64_t *value,
                         Error **errp)
{
    const char *p = str;
    unsigned base = 10;
    bool overflow = false;
    uint64_t v = 0;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && p[1]) {
        error_bad_value(errp, str, "is ambiguous: a decimal number cannot "
                        "start with 0 (write hexadecimal with 0x)");
        return false;
    }
    if (!*p) {
        error_bad_value(errp, str, "is not a decimal or 0x-prefixed "
                        "hexadecimal number");
        return false;
    }
    for (; *p; p++) {
        int digit = g_ascii_xdigit_value(*p);

        if (digit < 0 || digit >= base) {
            error_bad_value(errp, str, "is not a decimal or 0x-prefixed "
                            "hexadecimal number");
            return false;
        }
        overflow |= v > (UINT64_MAX - digit) / base;
        v = v * base + digit;
    }
    if (overflow || v > max) {
        g_autofree char *why =
            g_strdup_printf("is out of range (at most 0x%" PRIx64 ")", max);

        error_bad_value(errp, str, why);
        return false;
    }
    *value = v;
    return true;
}

static bool parse_event_field(unsigned index, const char *field,
                              const char *str, uint64_t max,
                              uint64_t *value, Error **errp)
{
    ERRP_GUARD();

    if (!kvm_pmu_parse_value(str, max, value, errp)) {
        error_prepend(errp, "events[%u].%s: ", index, field);
        return false;
    }
    return true;
}

static bool convert_event(const KvmPmuFilterEvent *in, unsigned index,
                          KVMPMUEvent *out, Error **errp)
{
    uint64_t select, umask, mask, match;

    out->format = in->format;
    switch (in->format) {
    case KVM_PMU_EVENT_FORMAT_RAW:
        return parse_event_field(index, "code", in->u.raw.code, UINT64_MAX,
                                 &out->code, errp);
    case KVM_PMU_EVENT_FORMAT_X86_DEFAULT:
        if (!parse_event_field(index, "select", in->u.x86_default.select,
                               KVM_PMU_X86_SELECT_MAX, &select, errp) ||
            !parse_event_field(index, "umask", in->u.x86_default.umask,
                               KVM_PMU_X86_UMASK_MAX, &umask, errp)) {
            return false;
        }
        out->x86_default.select = select;
        out->x86_default.umask = umask;
        return true;
    case KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY:
        if (!parse_event_field(index, "select", in->u.x86_masked_entry.select,
                               KVM_PMU_X86_SELECT_MAX, &select, errp) ||
            !parse_event_field(index, "mask", in->u.x86_masked_entry.mask,
                               KVM_PMU_X86_UMASK_MAX, &mask, errp) ||
            !parse_event_field(index, "match", in->u.x86_masked_entry.match,
                               KVM_PMU_X86_UMASK_MAX, &match, errp)) {
            return false;
        }
        out->x86_masked.select = select;
        out->x86_masked.mask = mask;
        out->x86_masked.match = match;
        out->x86_masked.exclude = in->u.x86_masked_entry.exclude;
        return true;
    default:
        g_assert_not_reached();
    }
}

static bool is_masked(const KVMPMUEvent *event)
{
    return event->format == KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY;
}

/*
 * Convert and check the configuration as a whole; change the native
 * filter only if all of it is valid.
 */
static bool kvm_pmu_filter_convert(KVMPMUFilter *filter, Error **errp)
{
    ERRP_GUARD();
    size_t nevents = QAPI_LIST_LENGTH(filter->events);
    g_autofree KVMPMUEvent *events = NULL;
    uint64_t bitmap = 0;
    KvmPmuFilterEventList *node;
    unsigned i = 0;

    if (nevents > KVM_PMU_FILTER_MAX_EVENTS) {
        error_setg(errp, "events: %zu events listed, at most %d are allowed",
                   nevents, KVM_PMU_FILTER_MAX_EVENTS);
        return false;
    }
    events = g_new0(KVMPMUEvent, nevents);
    for (node = filter->events; node; node = node->next, i++) {
        if (!convert_event(node->value, i, &events[i], errp)) {
            return false;
        }
        if (is_masked(&events[i]) != is_masked(&events[0])) {
            error_setg(errp, "events[%u]: x86-masked-entry events cannot be "
                       "mixed with events of other formats", i);
            return false;
        }
    }
    if (filter->x86_fixed_counter &&
        !kvm_pmu_parse_value(filter->x86_fixed_counter->bitmap, UINT32_MAX,
                             &bitmap, errp)) {
        error_prepend(errp, "x86-fixed-counter.bitmap: ");
        return false;
    }

    g_free(filter->native_events);
    filter->native_events = g_steal_pointer(&events);
    filter->nevents = nevents;
    filter->masked = nevents && is_masked(&filter->native_events[0]);
    filter->x86_fixed_counter_bitmap = bitmap;
    return true;
}

static bool kvm_pmu_filter_check_unused(KVMPMUFilter *filter,
                                        const char *name, Error **errp)
{
    if (filter->in_use) {
        error_setg(errp, "cannot change '%s' of a PMU filter in use", name);
        return false;
    }
    return true;
}

static int kvm_pmu_filter_get_action(Object *obj, Error **errp)
{
    return KVM_PMU_FILTER(obj)->action;
}

static void kvm_pmu_filter_set_action(Object *obj, int value, Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);

    if (kvm_pmu_filter_check_unused(filter, "action", errp)) {
        filter->action = value;
    }
}

static void kvm_pmu_filter_get_events(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);

    visit_type_KvmPmuFilterEventList(v, name, &filter->events, errp);
}

static void kvm_pmu_filter_set_events(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);
    KvmPmuFilterEventList *events = NULL, *old;

    if (!kvm_pmu_filter_check_unused(filter, name, errp) ||
        !visit_type_KvmPmuFilterEventList(v, name, &events, errp)) {
        return;
    }
    old = filter->events;
    filter->events = events;
    if (filter->complete && !kvm_pmu_filter_convert(filter, errp)) {
        filter->events = old;
        old = events;
    }
    qapi_free_KvmPmuFilterEventList(old);
}

static void kvm_pmu_filter_get_x86_fixed_counter(Object *obj, Visitor *v,
                                                 const char *name,
                                                 void *opaque, Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);

    if (!filter->x86_fixed_counter) {
        error_setg(errp, "'%s' is not set", name);
        return;
    }
    visit_type_KvmPmuX86FixedCounter(v, name, &filter->x86_fixed_counter,
                                     errp);
}

static void kvm_pmu_filter_set_x86_fixed_counter(Object *obj, Visitor *v,
                                                 const char *name,
                                                 void *opaque, Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);
    KvmPmuX86FixedCounter *counter = NULL, *old;

    if (!kvm_pmu_filter_check_unused(filter, name, errp) ||
        !visit_type_KvmPmuX86FixedCounter(v, name, &counter, errp)) {
        return;
    }
    old = filter->x86_fixed_counter;
    filter->x86_fixed_counter = counter;
    if (filter->complete && !kvm_pmu_filter_convert(filter, errp)) {
        filter->x86_fixed_counter = old;
        old = counter;
    }
    qapi_free_KvmPmuX86FixedCounter(old);
}

static void kvm_pmu_filter_complete(UserCreatable *uc, Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(uc);

    filter->complete = kvm_pmu_filter_convert(filter, errp);
}

static bool kvm_pmu_filter_can_be_deleted(UserCreatable *uc)
{
    return !KVM_PMU_FILTER(uc)->in_use;
}

KVMPMUFilter *kvm_pmu_filter_claim(const char *id, Error **errp)
{
    Object *obj = object_resolve_path_component(object_get_objects_root(),
                                                id);
    KVMPMUFilter *filter;

    if (!obj) {
        error_setg(errp, "there is no object with ID '%s'", id);
        return NULL;
    }
    filter = (KVMPMUFilter *)object_dynamic_cast(obj, TYPE_KVM_PMU_FILTER);
    if (!filter) {
        error_setg(errp, "object '%s' is not a " TYPE_KVM_PMU_FILTER, id);
        return NULL;
    }
    assert(filter->complete);
    filter->in_use = true;
    return filter;
}

static void kvm_pmu_filter_finalize(Object *obj)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);

    qapi_free_KvmPmuFilterEventList(filter->events);
    qapi_free_KvmPmuX86FixedCounter(filter->x86_fixed_counter);
    g_free(filter->native_events);
}

static void kvm_pmu_filter_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = kvm_pmu_filter_complete;
    ucc->can_be_deleted = kvm_pmu_filter_can_be_deleted;

    object_class_property_add_enum(oc, "action", "KvmPmuFilterAction",
                                   &KvmPmuFilterAction_lookup,
                                   kvm_pmu_filter_get_action,
                                   kvm_pmu_filter_set_action);
    object_class_property_set_description(oc, "action",
        "Whether the guest can count only the listed events (allow) "
        "or all but them (deny)");
    object_class_property_add(oc, "events", "KvmPmuFilterEvent",
                              kvm_pmu_filter_get_events,
                              kvm_pmu_filter_set_events, NULL, NULL);
    object_class_property_set_description(oc, "events",
        "The PMU events the filter lists");
    object_class_property_add(oc, "x86-fixed-counter", "KvmPmuX86FixedCounter",
                              kvm_pmu_filter_get_x86_fixed_counter,
                              kvm_pmu_filter_set_x86_fixed_counter,
                              NULL, NULL);
    object_class_property_set_description(oc, "x86-fixed-counter",
        "The fixed counters the filter lists, as a bitmap (x86 only)");
}

static const TypeInfo kvm_pmu_filter_info = {
    .parent = TYPE_OBJECT,
    .name = TYPE_KVM_PMU_FILTER,
    .class_init = kvm_pmu_filter_class_init,
    .instance_size = sizeof(KVMPMUFilter),
    .instance_finalize = kvm_pmu_filter_finalize,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void kvm_pmu_filter_register_types(void)
{
    type_register_static(&kvm_pmu_filter_info);
}

type_init(kvm_pmu_filter_register_types);
