/*
 * KVM PMU event filter object
 *
 * Holds a filter as the user wrote it, with numbers as strings, and
 * turns it into native events that an accelerator encodes for its
 * kernel.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-visit-kvm.h"
#include "qom/object_interfaces.h"
#include "system/kvm-pmu.h"

struct KVMPMUFilter {
    Object parent_obj;

    /* As set through the properties; fixed once complete */
    KvmPmuFilterAction action;
    KvmPmuFilterEventList *events;
    KvmPmuX86FixedCounter *x86_fixed_counter;

    /* What complete() converted them to */
    bool complete;
    KVMPMUEvent *native_events;
    uint32_t nevents;
    uint32_t x86_fixed_counter_bitmap;
    /* How many accelerators have claimed the filter */
    unsigned int users;
};

/* Longest part of a bad value quoted in an error message */
#define QUOTE_MAX 32

static void error_bad_value(Error **errp, const char *str, const char *why)
{
    error_setg(errp, "'%.*s%s' %s", QUOTE_MAX, str,
               strlen(str) > QUOTE_MAX ? "..." : "", why);
}

static void error_not_a_number(Error **errp, const char *str)
{
    ERRP_GUARD();

    error_bad_value(errp, str, "is not a number");
    error_append_hint(errp, "Write numbers in decimal, or in hexadecimal "
                      "with the prefix 0x.\n");
}

/*
 * Parse @str, a "0x"-prefixed hexadecimal or a plain decimal number
 * without sign, spaces or leading zeros, no larger than @max.
 */
bool kvm_pmu_parse_value(const char *str, uint64_t max, uint64_t *value,
                         Error **errp)
{
    ERRP_GUARD();
    const char *p = str;
    unsigned base = 10;
    bool overflow = false;
    uint64_t v = 0;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && p[1]) {
        error_bad_value(errp, str, "has a leading zero");
        error_append_hint(errp, "Write decimal numbers without leading "
                          "zeros, hexadecimal ones with the prefix 0x.\n");
        return false;
    }
    if (!*p) {
        error_not_a_number(errp, str);
        return false;
    }
    for (; *p; p++) {
        int digit = g_ascii_xdigit_value(*p);

        if (digit < 0 || digit >= base) {
            error_not_a_number(errp, str);
            return false;
        }
        overflow |= v > (UINT64_MAX - digit) / base;
        v = v * base + digit;
    }
    if (overflow || v > max) {
        g_autofree char *why =
            g_strdup_printf("is larger than 0x%" PRIx64, max);

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

static bool convert_x86_default(const KvmPmuX86DefaultEvent *in,
                                unsigned index, KVMPMUEvent *out,
                                Error **errp)
{
    uint64_t select, umask;

    if (!parse_event_field(index, "select", in->select,
                           KVM_PMU_X86_SELECT_MAX, &select, errp) ||
        !parse_event_field(index, "umask", in->umask,
                           KVM_PMU_X86_UMASK_MAX, &umask, errp)) {
        return false;
    }
    out->x86_default.select = select;
    out->x86_default.umask = umask;
    return true;
}

static bool convert_x86_masked(const KvmPmuX86MaskedEntry *in,
                               unsigned index, KVMPMUEvent *out,
                               Error **errp)
{
    uint64_t select, mask, match;

    if (!parse_event_field(index, "select", in->select,
                           KVM_PMU_X86_SELECT_MAX, &select, errp) ||
        !parse_event_field(index, "mask", in->mask,
                           KVM_PMU_X86_UMASK_MAX, &mask, errp) ||
        !parse_event_field(index, "match", in->match,
                           KVM_PMU_X86_UMASK_MAX, &match, errp)) {
        return false;
    }
    if (match & ~mask) {
        error_setg(errp, "events[%u]: match 0x%" PRIx64 " has bits outside "
                   "mask 0x%" PRIx64 ", so the entry matches nothing",
                   index, match, mask);
        return false;
    }
    out->x86_masked.select = select;
    out->x86_masked.mask = mask;
    out->x86_masked.match = match;
    out->x86_masked.exclude = in->has_exclude && in->exclude;
    return true;
}

static bool convert_event(const KvmPmuFilterEvent *in, unsigned index,
                          KVMPMUEvent *out, Error **errp)
{
    out->format = in->format;
    switch (in->format) {
    case KVM_PMU_EVENT_FORMAT_RAW:
        return parse_event_field(index, "code", in->u.raw.code, UINT64_MAX,
                                 &out->code, errp);
    case KVM_PMU_EVENT_FORMAT_X86_DEFAULT:
        return convert_x86_default(&in->u.x86_default, index, out, errp);
    case KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY:
        return convert_x86_masked(&in->u.x86_masked_entry, index, out, errp);
    default:
        g_assert_not_reached();
    }
}

static bool is_masked(const KVMPMUEvent *event)
{
    return event->format == KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY;
}

/* Convert @list into a new array of native events, or fail */
static KVMPMUEvent *convert_events(KvmPmuFilterEventList *list,
                                   uint32_t *nevents, Error **errp)
{
    size_t n = QAPI_LIST_LENGTH(list);
    g_autofree KVMPMUEvent *events = NULL;
    unsigned i = 0;

    if (n > KVM_PMU_FILTER_MAX_EVENTS) {
        error_setg(errp, "events: %zu events given, at most %d allowed",
                   n, KVM_PMU_FILTER_MAX_EVENTS);
        return NULL;
    }
    events = g_new0(KVMPMUEvent, MAX(n, 1));
    for (; list; list = list->next, i++) {
        if (!convert_event(list->value, i, &events[i], errp)) {
            return NULL;
        }
        if (is_masked(&events[i]) != is_masked(&events[0])) {
            error_setg(errp, "events[%u]: x86-masked-entry events cannot be "
                       "mixed with events of other formats", i);
            return NULL;
        }
    }
    *nevents = n;
    return g_steal_pointer(&events);
}

static bool parse_fixed_counter_bitmap(KVMPMUFilter *filter, Error **errp)
{
    ERRP_GUARD();
    uint64_t bitmap = 0;

    if (filter->x86_fixed_counter &&
        !kvm_pmu_parse_value(filter->x86_fixed_counter->bitmap, UINT32_MAX,
                             &bitmap, errp)) {
        error_prepend(errp, "x86-fixed-counter.bitmap: ");
        return false;
    }
    filter->x86_fixed_counter_bitmap = bitmap;
    return true;
}

static bool kvm_pmu_filter_check_settable(KVMPMUFilter *filter,
                                          const char *name, Error **errp)
{
    ERRP_GUARD();

    if (filter->complete) {
        error_setg(errp, "cannot change '%s' of an existing kvm-pmu-filter",
                   name);
        error_append_hint(errp, "Create a new kvm-pmu-filter object "
                          "instead.\n");
        return false;
    }
    return true;
}

static int kvm_pmu_filter_get_action_prop(Object *obj, Error **errp)
{
    return KVM_PMU_FILTER(obj)->action;
}

static void kvm_pmu_filter_set_action_prop(Object *obj, int value,
                                           Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);

    if (kvm_pmu_filter_check_settable(filter, "action", errp)) {
        filter->action = value;
    }
}

static void kvm_pmu_filter_get_events_prop(Object *obj, Visitor *v,
                                           const char *name, void *opaque,
                                           Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);

    visit_type_KvmPmuFilterEventList(v, name, &filter->events, errp);
}

static void kvm_pmu_filter_set_events_prop(Object *obj, Visitor *v,
                                           const char *name, void *opaque,
                                           Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);
    KvmPmuFilterEventList *events = NULL;

    if (!kvm_pmu_filter_check_settable(filter, name, errp) ||
        !visit_type_KvmPmuFilterEventList(v, name, &events, errp)) {
        return;
    }
    qapi_free_KvmPmuFilterEventList(filter->events);
    filter->events = events;
}

static void kvm_pmu_filter_get_x86_fixed_counter_prop(Object *obj,
                                                      Visitor *v,
                                                      const char *name,
                                                      void *opaque,
                                                      Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);
    KvmPmuX86FixedCounter none = { .bitmap = (char *)"0" };
    KvmPmuX86FixedCounter *counter = filter->x86_fixed_counter ?: &none;

    visit_type_KvmPmuX86FixedCounter(v, name, &counter, errp);
}

static void kvm_pmu_filter_set_x86_fixed_counter_prop(Object *obj,
                                                      Visitor *v,
                                                      const char *name,
                                                      void *opaque,
                                                      Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);
    KvmPmuX86FixedCounter *counter = NULL;

    if (!kvm_pmu_filter_check_settable(filter, name, errp) ||
        !visit_type_KvmPmuX86FixedCounter(v, name, &counter, errp)) {
        return;
    }
    qapi_free_KvmPmuX86FixedCounter(filter->x86_fixed_counter);
    filter->x86_fixed_counter = counter;
}

/* Convert the strings once; the filter cannot change afterwards */
static void kvm_pmu_filter_complete(UserCreatable *uc, Error **errp)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(uc);

    filter->native_events = convert_events(filter->events, &filter->nevents,
                                           errp);
    if (filter->native_events && parse_fixed_counter_bitmap(filter, errp)) {
        filter->complete = true;
    }
}

static bool kvm_pmu_filter_can_be_deleted(UserCreatable *uc)
{
    return !KVM_PMU_FILTER(uc)->users;
}

KVMPMUFilter *kvm_pmu_filter_find(const char *id, Error **errp)
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
    return filter;
}

const char *kvm_pmu_filter_get_id(KVMPMUFilter *filter)
{
    return object_get_canonical_path_component(OBJECT(filter));
}

void kvm_pmu_filter_claim(KVMPMUFilter *filter)
{
    filter->users++;
}

void kvm_pmu_filter_release(KVMPMUFilter *filter)
{
    assert(filter->users);
    filter->users--;
}

KvmPmuFilterAction kvm_pmu_filter_get_action(KVMPMUFilter *filter)
{
    return filter->action;
}

const KVMPMUEvent *kvm_pmu_filter_get_events(KVMPMUFilter *filter,
                                             uint32_t *nevents)
{
    assert(filter->complete);
    *nevents = filter->nevents;
    return filter->native_events;
}

uint32_t kvm_pmu_filter_get_x86_fixed_counter_bitmap(KVMPMUFilter *filter)
{
    assert(filter->complete);
    return filter->x86_fixed_counter_bitmap;
}

static void kvm_pmu_filter_finalize(Object *obj)
{
    KVMPMUFilter *filter = KVM_PMU_FILTER(obj);

    qapi_free_KvmPmuFilterEventList(filter->events);
    qapi_free_KvmPmuX86FixedCounter(filter->x86_fixed_counter);
    g_free(filter->native_events);
}

static void kvm_pmu_filter_class_init(ObjectClass *oc, const void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = kvm_pmu_filter_complete;
    ucc->can_be_deleted = kvm_pmu_filter_can_be_deleted;
    ucc->refuse_repeated_keys = true;

    object_class_property_add_enum(oc, "action", "KvmPmuFilterAction",
                                   &KvmPmuFilterAction_lookup,
                                   kvm_pmu_filter_get_action_prop,
                                   kvm_pmu_filter_set_action_prop);
    object_class_property_set_description(oc, "action",
        "Whether the guest can count only the listed events (allow) "
        "or all but them (deny)");
    object_class_property_add(oc, "events", "KvmPmuFilterEventList",
                              kvm_pmu_filter_get_events_prop,
                              kvm_pmu_filter_set_events_prop, NULL, NULL);
    object_class_property_set_description(oc, "events",
        "The PMU events the filter lists");
    object_class_property_add(oc, "x86-fixed-counter", "KvmPmuX86FixedCounter",
                              kvm_pmu_filter_get_x86_fixed_counter_prop,
                              kvm_pmu_filter_set_x86_fixed_counter_prop,
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
    .interfaces = (const InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void kvm_pmu_filter_register_types(void)
{
    type_register_static(&kvm_pmu_filter_info);
}

type_init(kvm_pmu_filter_register_types);
