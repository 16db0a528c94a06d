/*
 * libFuzzer target for the kvm-pmu-filter object.
 *
 * The first input byte picks the mode, the rest is text:
 *  - even: the text is a number for kvm_pmu_parse_value(), checked
 *    against an independent reference parser;
 *  - odd: the text is JSON for object-add; if QEMU's JSON parser takes
 *    it, it goes through the QAPI input visitor into a kvm-pmu-filter
 *    object, and an accepted filter is checked, encoded for x86, read
 *    back with qom-get and created again, which must give the same
 *    native filter.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qobject-input-visitor.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qemu/module.h"
#include "qom/object_interfaces.h"
#include "qom/qom-qobject.h"
#include "system/kvm-pmu.h"
#include "target/i386/kvm/pmu-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const uint64_t max_values[] = { UINT64_MAX, UINT32_MAX, 0xfff, 0xff };

static bool reference_parse(const char *s, uint64_t max, uint64_t *value)
{
    unsigned base = 10;
    uint64_t v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && s[1] != '\0') {
        return false;
    }
    if (*s == '\0') {
        return false;
    }
    for (; *s; s++) {
        unsigned digit;

        if (*s >= '0' && *s <= '9') {
            digit = *s - '0';
        } else if (base == 16 && *s >= 'a' && *s <= 'f') {
            digit = *s - 'a' + 10;
        } else if (base == 16 && *s >= 'A' && *s <= 'F') {
            digit = *s - 'A' + 10;
        } else {
            return false;
        }
        if (v > (UINT64_MAX - digit) / base) {
            return false;
        }
        v = v * base + digit;
    }
    if (v > max) {
        return false;
    }
    *value = v;
    return true;
}

static void fuzz_value(const char *text, uint8_t selector)
{
    uint64_t max = max_values[(selector >> 1) % ARRAY_SIZE(max_values)];
    uint64_t expected = 0, value = 0;
    Error *err = NULL;
    bool ok = kvm_pmu_parse_value(text, max, &value, &err);

    if (ok != reference_parse(text, max, &expected) ||
        (ok && value != expected) || ok == !!err) {
        abort();
    }
    error_free(err);
}

static Object *create(QDict *props, const char *id, Error **errp)
{
    Visitor *v = qobject_input_visitor_new(QOBJECT(props));
    Object *obj = user_creatable_add_type(TYPE_KVM_PMU_FILTER, id, props, v,
                                          errp);

    visit_free(v);
    return obj;
}

static void destroy(Object *obj)
{
    object_unparent(obj);
    object_unref(obj);
}

static QDict *read_back(Object *obj)
{
    static const char *const props[] = {
        "action", "events", "x86-fixed-counter",
    };
    QDict *dict = qdict_new();

    for (int i = 0; i < ARRAY_SIZE(props); i++) {
        QObject *value = object_property_get_qobject(obj, props[i], NULL);

        if (value) {
            qdict_put_obj(dict, props[i], value);
        }
    }
    return dict;
}

/* The filter as KVM would get it, checked for either vendor */
static struct kvm_pmu_event_filter *encode(KVMPMUFilter *filter)
{
    uint32_t n, bitmap;
    const KVMPMUEvent *events = kvm_pmu_filter_get_events(filter, &n);
    struct kvm_pmu_event_filter *kf;

    if (n > KVM_PMU_FILTER_MAX_EVENTS) {
        abort();
    }
    for (uint32_t i = 0; i < n; i++) {
        if ((events[i].format == KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY) !=
            (events[0].format == KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY)) {
            abort();
        }
    }
    kvm_x86_pmu_filter_check(events, n, KVM_X86_PMU_SELECT_BITS_INTEL, NULL);
    kvm_x86_pmu_filter_check(events, n, KVM_X86_PMU_SELECT_BITS_AMD, NULL);
    bitmap = kvm_pmu_filter_get_x86_fixed_counter_bitmap(filter);
    kf = kvm_x86_pmu_filter_encode(kvm_pmu_filter_get_action(filter),
                                   events, n, bitmap);
    if (kf->nevents != n) {
        abort();
    }
    kvm_x86_pmu_filter_lists(kf, 0xc0, 0);
    return kf;
}

static bool same_filter(KVMPMUFilter *a, KVMPMUFilter *b)
{
    g_autofree struct kvm_pmu_event_filter *ka = encode(a);
    g_autofree struct kvm_pmu_event_filter *kb = encode(b);

    return ka->nevents == kb->nevents &&
           !memcmp(ka, kb, sizeof(*ka) + ka->nevents * sizeof(ka->events[0]));
}

static void fuzz_props(QDict *props)
{
    g_autoptr(QDict) again = NULL;
    Object *obj, *copy;

    qdict_del(props, "qom-type");
    qdict_del(props, "id");
    obj = create(props, "f0", NULL);
    if (!obj) {
        return;
    }
    again = read_back(obj);
    copy = create(again, "f1", &error_abort);
    if (!same_filter(KVM_PMU_FILTER(obj), KVM_PMU_FILTER(copy))) {
        abort();
    }
    destroy(copy);
    destroy(obj);
}

static void fuzz_object(const char *text)
{
    QObject *parsed = qobject_from_json(text, NULL);
    QDict *props = qobject_to(QDict, parsed);

    if (props) {
        fuzz_props(props);
    }
    qobject_unref(parsed);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    module_call_init(MODULE_INIT_QOM);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = NULL;

    if (size == 0) {
        return 0;
    }
    text = g_strndup((const char *)data + 1, size - 1);
    if (data[0] & 1) {
        fuzz_object(text);
    } else {
        fuzz_value(text, data[0]);
    }
    return 0;
}
