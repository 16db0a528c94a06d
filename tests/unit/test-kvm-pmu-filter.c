/*
 * Unit tests for the kvm-pmu-filter object and its value parser
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qapi/qobject-input-visitor.h"
#include "qapi/visitor.h"
#include "qemu/module.h"
#include "qom/object_interfaces.h"
#include "qom/qom-qobject.h"
#include "system/kvm-pmu.h"

typedef struct ValueCase {
    const char *str;
    uint64_t max;
    bool ok;
    uint64_t value;
} ValueCase;

static const ValueCase value_cases[] = {
    { "0", UINT64_MAX, true, 0 },
    { "196", 0xff, true, 196 },
    { "0xc4", 0xff, true, 0xc4 },
    { "0XC4", 0xff, true, 0xc4 },
    { "0xAbCd", 0xffff, true, 0xabcd },
    { "0x00", 0xff, true, 0 },
    { "0x0000000000000000000000ff", 0xff, true, 0xff },
    { "0xff", 0xff, true, 0xff },
    { "255", 0xff, true, 255 },
    { "0x100", 0xff, false },
    { "256", 0xff, false },
    { "0xfff", 0xfff, true, 0xfff },
    { "0x1000", 0xfff, false },
    { "4095", 0xfff, true, 4095 },
    { "4096", 0xfff, false },
    { "0xffffffff", UINT32_MAX, true, UINT32_MAX },
    { "0x100000000", UINT32_MAX, false },
    { "0xffffffffffffffff", UINT64_MAX, true, UINT64_MAX },
    { "18446744073709551615", UINT64_MAX, true, UINT64_MAX },
    { "0x10000000000000000", UINT64_MAX, false },
    { "18446744073709551616", UINT64_MAX, false },
    { "99999999999999999999999999", UINT64_MAX, false },
    { "", UINT64_MAX, false },
    { "0x", UINT64_MAX, false },
    { "0X", UINT64_MAX, false },
    { "x10", UINT64_MAX, false },
    { "-1", UINT64_MAX, false },
    { "+1", UINT64_MAX, false },
    { "-0x1", UINT64_MAX, false },
    { " 1", UINT64_MAX, false },
    { "1 ", UINT64_MAX, false },
    { "0x 1", UINT64_MAX, false },
    { "1\t", UINT64_MAX, false },
    { "12abc", UINT64_MAX, false },
    { "0xfg", UINT64_MAX, false },
    { "0x0x1", UINT64_MAX, false },
    { "1.0", UINT64_MAX, false },
    { "1e3", UINT64_MAX, false },
    { "010", UINT64_MAX, false },
    { "00", UINT64_MAX, false },
    { "0b101", UINT64_MAX, false },
    { "0o17", UINT64_MAX, false },
    { "\xc3\xa9", UINT64_MAX, false },
};

static void test_parse_value(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(value_cases); i++) {
        const ValueCase *c = &value_cases[i];
        Error *err = NULL;
        uint64_t value = 0xdeadbeef;
        bool ok = kvm_pmu_parse_value(c->str, c->max, &value, &err);

        g_test_message("'%s' (max 0x%" PRIx64 ")", c->str, c->max);
        g_assert_cmpint(ok, ==, c->ok);
        if (ok) {
            g_assert_null(err);
            g_assert_cmphex(value, ==, c->value);
        } else {
            g_assert_nonnull(err);
            g_assert_cmphex(value, ==, 0xdeadbeef);
            error_free(err);
        }
    }
}

static void test_parse_messages(void)
{
    static const struct {
        const char *str;
        uint64_t max;
        const char *msg;
    } cases[] = {
        { "0x100", 0xff, "'0x100' is larger than 0xff" },
        { "010", 0xff, "'010' has a leading zero" },
        { "0x", 0xff, "'0x' is not a number" },
        { "", 0xff, "'' is not a number" },
        { "0xfg", 0xff, "'0xfg' is not a number" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        Error *err = NULL;
        uint64_t value;

        g_assert_false(kvm_pmu_parse_value(cases[i].str, cases[i].max,
                                           &value, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        error_free(err);
    }
}

static void test_parse_long_value_quoted_short(void)
{
    g_autofree char *str = g_strnfill(4096, '7');
    Error *err = NULL;
    uint64_t value;

    g_assert_false(kvm_pmu_parse_value(str, UINT64_MAX, &value, &err));
    g_assert_cmpuint(strlen(error_get_pretty(err)), <, 100);
    g_assert_true(strstr(error_get_pretty(err), "...' is larger than"));
    error_free(err);
}

/* Create filter @id from a JSON object of its properties */
static KVMPMUFilter *filter_new(const char *id, const char *json,
                                Error **errp)
{
    QObject *props = qobject_from_json(json, &error_abort);
    Visitor *v = qobject_input_visitor_new(props);
    Object *obj;

    obj = user_creatable_add_type(TYPE_KVM_PMU_FILTER, id,
                                  qobject_to(QDict, props), v, errp);
    visit_free(v);
    qobject_unref(props);
    if (!obj) {
        return NULL;
    }
    object_unref(obj);
    return KVM_PMU_FILTER(obj);
}

static void filter_del(const char *id)
{
    g_assert_true(user_creatable_del(id, &error_abort));
}

/* Creating a filter from @json fails with exactly @msg */
static void assert_filter_error(const char *json, const char *msg)
{
    Error *err = NULL;

    g_assert_null(filter_new("f0", json, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    g_assert_null(object_resolve_path_component(object_get_objects_root(),
                                                "f0"));
}

static void test_convert_formats(void)
{
    KVMPMUFilter *f = filter_new("f0",
        "{'action': 'deny', 'events': ["
        " {'format': 'raw', 'code': '0x10000c4'},"
        " {'format': 'raw', 'code': '0xffffffffffffffff'},"
        " {'format': 'x86-default', 'select': '0x1c4', 'umask': '0x5a'},"
        " {'format': 'x86-default', 'select': '60', 'umask': '1'}],"
        " 'x86-fixed-counter': {'bitmap': '0xffffffff'}}", &error_abort);
    uint32_t n;
    const KVMPMUEvent *ev = kvm_pmu_filter_get_events(f, &n);

    g_assert_cmpint(kvm_pmu_filter_get_action(f), ==,
                    KVM_PMU_FILTER_ACTION_DENY);
    g_assert_cmpuint(n, ==, 4);
    g_assert_cmpint(ev[0].format, ==, KVM_PMU_EVENT_FORMAT_RAW);
    g_assert_cmphex(ev[0].code, ==, 0x10000c4);
    g_assert_cmphex(ev[1].code, ==, UINT64_MAX);
    g_assert_cmpint(ev[2].format, ==, KVM_PMU_EVENT_FORMAT_X86_DEFAULT);
    g_assert_cmphex(ev[2].x86_default.select, ==, 0x1c4);
    g_assert_cmphex(ev[2].x86_default.umask, ==, 0x5a);
    g_assert_cmphex(ev[3].x86_default.select, ==, 0x3c);
    g_assert_cmphex(ev[3].x86_default.umask, ==, 0x01);
    g_assert_cmphex(kvm_pmu_filter_get_x86_fixed_counter_bitmap(f), ==,
                    UINT32_MAX);
    filter_del("f0");
}

static void test_convert_masked(void)
{
    KVMPMUFilter *f = filter_new("f0",
        "{'action': 'allow', 'events': ["
        " {'format': 'x86-masked-entry', 'select': '0xfff', 'mask': '0xff',"
        "  'match': '0', 'exclude': true},"
        " {'format': 'x86-masked-entry', 'select': '0xc5', 'mask': '0x0f',"
        "  'match': '0x03', 'exclude': false},"
        " {'format': 'x86-masked-entry', 'select': '0xc6', 'mask': '0',"
        "  'match': '0'}]}", &error_abort);
    uint32_t n;
    const KVMPMUEvent *ev = kvm_pmu_filter_get_events(f, &n);

    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpint(ev[0].format, ==, KVM_PMU_EVENT_FORMAT_X86_MASKED_ENTRY);
    g_assert_cmphex(ev[0].x86_masked.select, ==, 0xfff);
    g_assert_cmphex(ev[0].x86_masked.mask, ==, 0xff);
    g_assert_cmphex(ev[0].x86_masked.match, ==, 0);
    g_assert_true(ev[0].x86_masked.exclude);
    g_assert_cmphex(ev[1].x86_masked.select, ==, 0xc5);
    g_assert_cmphex(ev[1].x86_masked.mask, ==, 0x0f);
    g_assert_cmphex(ev[1].x86_masked.match, ==, 0x03);
    g_assert_false(ev[1].x86_masked.exclude);
    /* exclude defaults to false */
    g_assert_false(ev[2].x86_masked.exclude);
    g_assert_cmphex(kvm_pmu_filter_get_x86_fixed_counter_bitmap(f), ==, 0);
    filter_del("f0");
}

static void test_empty_allow_list(void)
{
    KVMPMUFilter *f = filter_new("f0", "{'action': 'allow'}", &error_abort);
    uint32_t n = 1;

    kvm_pmu_filter_get_events(f, &n);
    g_assert_cmpint(kvm_pmu_filter_get_action(f), ==,
                    KVM_PMU_FILTER_ACTION_ALLOW);
    g_assert_cmpuint(n, ==, 0);
    filter_del("f0");

    f = filter_new("f0", "{'action': 'allow', 'events': []}", &error_abort);
    n = 1;
    kvm_pmu_filter_get_events(f, &n);
    g_assert_cmpuint(n, ==, 0);
    filter_del("f0");
}

static char *events_json(unsigned n, const char *event)
{
    g_autoptr(GString) json = g_string_new("{'action': 'deny', 'events': [");

    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(json, "%s%s", i ? "," : "", event);
    }
    g_string_append(json, "]}");
    return g_string_free(g_steal_pointer(&json), false);
}

static void test_max_events(void)
{
    const char *event = "{'format': 'raw', 'code': '0xc4'}";
    g_autofree char *ok = events_json(KVM_PMU_FILTER_MAX_EVENTS, event);
    g_autofree char *too_many = events_json(KVM_PMU_FILTER_MAX_EVENTS + 1,
                                            event);
    KVMPMUFilter *f = filter_new("f0", ok, &error_abort);
    uint32_t n;
    const KVMPMUEvent *ev = kvm_pmu_filter_get_events(f, &n);

    g_assert_cmpuint(n, ==, KVM_PMU_FILTER_MAX_EVENTS);
    g_assert_cmphex(ev[KVM_PMU_FILTER_MAX_EVENTS - 1].code, ==, 0xc4);
    filter_del("f0");
    assert_filter_error(too_many,
                        "events: 301 events given, at most 300 allowed");
}

static void test_errors(void)
{
    assert_filter_error(
        "{'action': 'allow', 'events': ["
        " {'format': 'raw', 'code': '1'}, {'format': 'raw', 'code': '2'},"
        " {'format': 'raw', 'code': '3'},"
        " {'format': 'x86-default', 'select': '0xc4', 'umask': '0x100'}]}",
        "events[3].umask: '0x100' is larger than 0xff");
    assert_filter_error(
        "{'action': 'allow', 'events': ["
        " {'format': 'x86-default', 'select': '0x1000', 'umask': '0'}]}",
        "events[0].select: '0x1000' is larger than 0xfff");
    assert_filter_error(
        "{'action': 'allow', 'events': [{'format': 'raw', 'code': ''}]}",
        "events[0].code: '' is not a number");
    assert_filter_error(
        "{'action': 'allow', 'events': ["
        " {'format': 'x86-masked-entry', 'select': '0xc4', 'mask': '0xff',"
        "  'match': '0x100'}]}",
        "events[0].match: '0x100' is larger than 0xff");
    assert_filter_error(
        "{'action': 'allow', 'events': ["
        " {'format': 'x86-masked-entry', 'select': '0xc4', 'mask': '-1',"
        "  'match': '0'}]}",
        "events[0].mask: '-1' is not a number");
    assert_filter_error(
        "{'action': 'allow', 'events': ["
        " {'format': 'x86-masked-entry', 'select': '0xc4', 'mask': '0x0f',"
        "  'match': '0x10'}]}",
        "events[0]: match 0x10 has bits outside mask 0xf, so the entry "
        "matches nothing");
    assert_filter_error(
        "{'action': 'allow', 'events': ["
        " {'format': 'x86-masked-entry', 'select': '0xc4', 'mask': '0xff',"
        "  'match': '0'},"
        " {'format': 'raw', 'code': '0xc5'}]}",
        "events[1]: x86-masked-entry events cannot be mixed with events of "
        "other formats");
    assert_filter_error(
        "{'action': 'allow', 'events': [{'format': 'raw', 'code': '0xc5'},"
        " {'format': 'x86-masked-entry', 'select': '0xc4', 'mask': '0xff',"
        "  'match': '0'}]}",
        "events[1]: x86-masked-entry events cannot be mixed with events of "
        "other formats");
    assert_filter_error(
        "{'action': 'allow', 'x86-fixed-counter': {'bitmap': '0x100000000'}}",
        "x86-fixed-counter.bitmap: '0x100000000' is larger than 0xffffffff");
    assert_filter_error(
        "{'action': 'allow', 'x86-fixed-counter': {'bitmap': '07'}}",
        "x86-fixed-counter.bitmap: '07' has a leading zero");
}

static void test_immutable(void)
{
    KVMPMUFilter *f = filter_new("f0",
        "{'action': 'allow', 'events': [{'format': 'raw', 'code': '0xc4'}]}",
        &error_abort);
    QObject *events = qobject_from_json(
        "[{'format': 'raw', 'code': '0xc5'}]", &error_abort);
    QObject *counter = qobject_from_json("{'bitmap': '1'}", &error_abort);
    uint32_t n;
    const KVMPMUEvent *ev;
    Error *err = NULL;

    g_assert_false(object_property_set_qobject(OBJECT(f), "events", events,
                                               &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "cannot change 'events' of an existing kvm-pmu-filter");
    error_free_or_abort(&err);
    g_assert_false(object_property_set_qobject(OBJECT(f), "x86-fixed-counter",
                                               counter, &err));
    error_free_or_abort(&err);
    g_assert_false(object_property_set_str(OBJECT(f), "action", "deny",
                                           &err));
    error_free_or_abort(&err);

    ev = kvm_pmu_filter_get_events(f, &n);
    g_assert_cmpuint(n, ==, 1);
    g_assert_cmphex(ev[0].code, ==, 0xc4);
    g_assert_cmpint(kvm_pmu_filter_get_action(f), ==,
                    KVM_PMU_FILTER_ACTION_ALLOW);
    g_assert_cmphex(kvm_pmu_filter_get_x86_fixed_counter_bitmap(f), ==, 0);
    qobject_unref(events);
    qobject_unref(counter);
    filter_del("f0");
}

static void test_find(void)
{
    KVMPMUFilter *f = filter_new("f0", "{'action': 'deny'}", &error_abort);
    Object *other;
    Error *err = NULL;

    g_assert_true(kvm_pmu_filter_find("f0", &error_abort) == f);
    g_assert_cmpstr(kvm_pmu_filter_get_id(f), ==, "f0");
    g_assert_null(kvm_pmu_filter_find("nope", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "there is no object with ID 'nope'");
    error_free(err);
    err = NULL;
    other = object_new(TYPE_CONTAINER);
    object_property_add_child(object_get_objects_root(), "c0", other);
    g_assert_null(kvm_pmu_filter_find("c0", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "object 'c0' is not a kvm-pmu-filter");
    error_free(err);
    object_unparent(other);
    object_unref(other);
    /* finding a filter does not claim it */
    filter_del("f0");
}

static void test_claimed(void)
{
    KVMPMUFilter *f = filter_new("busy", "{'action': 'deny'}", &error_abort);
    Error *err = NULL;

    /* two claims, e.g. while one accelerator hands over to another */
    kvm_pmu_filter_claim(f);
    kvm_pmu_filter_claim(f);
    g_assert_false(user_creatable_del("busy", &err));
    error_free_or_abort(&err);
    kvm_pmu_filter_release(f);
    g_assert_false(user_creatable_del("busy", &err));
    error_free_or_abort(&err);
    g_assert_true(kvm_pmu_filter_find("busy", &error_abort) == f);
    kvm_pmu_filter_release(f);
    filter_del("busy");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    module_call_init(MODULE_INIT_QOM);

    g_test_add_func("/kvm-pmu-filter/parse/values", test_parse_value);
    g_test_add_func("/kvm-pmu-filter/parse/messages", test_parse_messages);
    g_test_add_func("/kvm-pmu-filter/parse/long-value",
                    test_parse_long_value_quoted_short);
    g_test_add_func("/kvm-pmu-filter/convert/formats", test_convert_formats);
    g_test_add_func("/kvm-pmu-filter/convert/masked", test_convert_masked);
    g_test_add_func("/kvm-pmu-filter/convert/empty-allow-list",
                    test_empty_allow_list);
    g_test_add_func("/kvm-pmu-filter/convert/max-events", test_max_events);
    g_test_add_func("/kvm-pmu-filter/convert/errors", test_errors);
    g_test_add_func("/kvm-pmu-filter/object/immutable", test_immutable);
    g_test_add_func("/kvm-pmu-filter/object/find", test_find);
    g_test_add_func("/kvm-pmu-filter/object/claimed", test_claimed);
    return g_test_run();
}
