/*
 * QMP and HMP tests for the kvm-pmu-filter object
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"

#define EXAMPLE_RAW \
    "{\"qom-type\":\"kvm-pmu-filter\",\"id\":\"f0\",\"action\":\"allow\"," \
    "\"events\":[{\"format\":\"raw\",\"code\":\"0xc4\"}]}"
#define EXAMPLE_MASKED \
    "{\"qom-type\":\"kvm-pmu-filter\",\"id\":\"f0\",\"action\":\"allow\"," \
    "\"x86-fixed-counter\":{\"bitmap\":\"0x0\"}," \
    "\"events\":[{\"format\":\"x86-masked-entry\",\"select\":\"0xc4\"," \
    "\"mask\":\"0xff\",\"match\":\"0\",\"exclude\":true}," \
    "{\"format\":\"x86-masked-entry\",\"select\":\"0xc5\",\"mask\":\"0xff\"," \
    "\"match\":\"0\",\"exclude\":true}]}"

static QTestState *start(const char *extra)
{
    return qtest_initf("-machine none %s", extra ? extra : "");
}

/* Return what qom-get says of @property of object @id */
static QObject *qom_get(QTestState *qts, const char *id, const char *property)
{
    g_autofree char *path = g_strdup_printf("/objects/%s", id);
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments':"
                           " {'path': %s, 'property': %s}}", path, property);
    QObject *value = qdict_get(rsp, "return");

    g_assert_nonnull(value);
    qobject_ref(value);
    qobject_unref(rsp);
    return value;
}

static void assert_qom_get(QTestState *qts, const char *id,
                           const char *property, QObject *want)
{
    QObject *got = qom_get(qts, id, property);

    if (!qobject_is_equal(got, want)) {
        g_autoptr(GString) got_json = qobject_to_json(got);
        g_autoptr(GString) want_json = qobject_to_json(want);

        g_assert_cmpstr(got_json->str, ==, want_json->str);
    }
    qobject_unref(got);
}

static void assert_qom_get_json(QTestState *qts, const char *id,
                                const char *property, const char *want)
{
    QObject *value = qobject_from_json(want, &error_abort);

    assert_qom_get(qts, id, property, value);
    qobject_unref(value);
}

static void assert_object_as_written(QTestState *qts, const char *id,
                                     const char *written)
{
    QDict *props = qobject_to(QDict, qobject_from_json(written,
                                                       &error_abort));
    const char *keys[] = { "action", "events", "x86-fixed-counter" };

    for (int i = 0; i < ARRAY_SIZE(keys); i++) {
        if (qdict_haskey(props, keys[i])) {
            assert_qom_get(qts, id, keys[i], qdict_get(props, keys[i]));
        }
    }
    qobject_unref(props);
}

static void test_command_line(void)
{
    const char *examples[] = { EXAMPLE_RAW, EXAMPLE_MASKED };

    for (int i = 0; i < ARRAY_SIZE(examples); i++) {
        g_autofree char *arg = g_strdup_printf("-object '%s'", examples[i]);
        QTestState *qts = start(arg);

        assert_object_as_written(qts, "f0", examples[i]);
        qtest_quit(qts);
    }
}

static QDict *object_add(QTestState *qts, const char *json)
{
    QDict *args = qobject_to(QDict, qobject_from_json(json, &error_abort));

    return qtest_qmp(qts, "{'execute': 'object-add', 'arguments': %p}",
                     args);
}

static void object_add_ok(QTestState *qts, const char *json)
{
    QDict *rsp = object_add(qts, json);

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

static void object_del_ok(QTestState *qts, const char *id)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'object-del',"
                           " 'arguments': {'id': %s}}", id);

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

static const char *const formats_json[] = {
    "{'qom-type': 'kvm-pmu-filter', 'id': 'f0', 'action': 'deny',"
    " 'events': [{'format': 'raw', 'code': '0x10000C4'}]}",
    "{'qom-type': 'kvm-pmu-filter', 'id': 'f0', 'action': 'allow',"
    " 'events': [{'format': 'x86-default', 'select': '0x3c',"
    "             'umask': '0x00'},"
    "            {'format': 'x86-default', 'select': '196', 'umask': '0'}],"
    " 'x86-fixed-counter': {'bitmap': '0x7'}}",
    "{'qom-type': 'kvm-pmu-filter', 'id': 'f0', 'action': 'deny',"
    " 'events': [{'format': 'x86-masked-entry', 'select': '0x2e',"
    "             'mask': '0xff', 'match': '0x41', 'exclude': false},"
    "            {'format': 'x86-masked-entry', 'select': '0x2e',"
    "             'mask': '0xf0', 'match': '0x40'}]}",
    "{'qom-type': 'kvm-pmu-filter', 'id': 'f0', 'action': 'allow'}",
};

static void test_formats_and_round_trip(void)
{
    QTestState *qts = start(NULL);

    for (int i = 0; i < ARRAY_SIZE(formats_json); i++) {
        QDict *args = qobject_to(QDict, qobject_from_json(formats_json[i],
                                                          &error_abort));
        QObject *events;
        g_autoptr(GString) events_json = NULL;
        g_autofree char *again = NULL;

        object_add_ok(qts, formats_json[i]);
        assert_object_as_written(qts, "f0", formats_json[i]);
        events = qom_get(qts, "f0", "events");
        events_json = qobject_to_json(events);
        /* what qom-get returns is accepted by object-add again */
        again = g_strdup_printf("{'qom-type': 'kvm-pmu-filter', 'id': 'f1',"
                                " 'action': '%s', 'events': %s}",
                                qdict_get_str(args, "action"),
                                events_json->str);
        object_add_ok(qts, again);
        assert_qom_get(qts, "f1", "events", events);
        object_del_ok(qts, "f0");
        object_del_ok(qts, "f1");
        qobject_unref(events);
        qobject_unref(args);
    }
    qtest_quit(qts);
}

static void test_qom_list(void)
{
    QTestState *qts = start(NULL);
    const char *want[] = { "action", "events", "x86-fixed-counter" };
    QDict *rsp;
    QList *props;
    QListEntry *e;
    int found = 0;

    object_add_ok(qts, formats_json[1]);
    rsp = qtest_qmp(qts, "{'execute': 'qom-list',"
                    " 'arguments': {'path': '/objects/f0'}}");
    props = qdict_get_qlist(rsp, "return");
    QLIST_FOREACH_ENTRY(props, e) {
        const char *name = qdict_get_str(qobject_to(QDict, e->value), "name");

        for (int i = 0; i < ARRAY_SIZE(want); i++) {
            found += g_str_equal(name, want[i]);
        }
    }
    g_assert_cmpint(found, ==, ARRAY_SIZE(want));
    qobject_unref(rsp);
    qtest_quit(qts);
}

/* Without x86-fixed-counter, the filter lists no fixed counter */
static void test_unset_fixed_counter(void)
{
    QTestState *qts = start(NULL);

    object_add_ok(qts, formats_json[0]);
    assert_qom_get_json(qts, "f0", "x86-fixed-counter", "{'bitmap': '0'}");
    qtest_quit(qts);
}

static void test_immutable(void)
{
    QTestState *qts = start(NULL);
    QDict *rsp;

    object_add_ok(qts, formats_json[1]);
    rsp = qtest_qmp(qts, "{'execute': 'qom-set', 'arguments':"
                    " {'path': '/objects/f0', 'property': 'events',"
                    "  'value': []}}");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"), ==,
                    "cannot change 'events' of an existing kvm-pmu-filter");
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{'execute': 'qom-set', 'arguments':"
                    " {'path': '/objects/f0', 'property': 'action',"
                    "  'value': 'deny'}}");
    qmp_expect_error_and_unref(rsp, "GenericError");
    assert_object_as_written(qts, "f0", formats_json[1]);
    qtest_quit(qts);
}

static void test_hmp_dotted_keys(void)
{
    QTestState *qts = start(NULL);
    g_autofree char *out = qtest_hmp(qts, "object_add kvm-pmu-filter,id=h0,"
                                     "action=deny,events.0.format=raw,"
                                     "events.0.code=0xc4,"
                                     "events.1.format=x86-default,"
                                     "events.1.select=0x3c,"
                                     "events.1.umask=0x01,"
                                     "x86-fixed-counter.bitmap=0x3");
    g_autofree char *bad = NULL;

    g_assert_cmpstr(out, ==, "");
    assert_qom_get_json(qts, "h0", "events",
                        "[{'format': 'raw', 'code': '0xc4'},"
                        " {'format': 'x86-default', 'select': '0x3c',"
                        "  'umask': '0x01'}]");
    assert_qom_get_json(qts, "h0", "x86-fixed-counter", "{'bitmap': '0x3'}");
    assert_qom_get_json(qts, "h0", "action", "'deny'");

    bad = qtest_hmp(qts, "object_add kvm-pmu-filter,id=h1,action=deny,"
                    "events.0.format=raw,events.0.code=0x1g");
    g_assert_nonnull(strstr(bad, "events[0].code: '0x1g' is not a number"));
    qtest_quit(qts);
}

/* A key given twice would silently change the filter; it is refused */
static void test_hmp_repeated_keys(void)
{
    QTestState *qts = start(NULL);
    g_autofree char *action = qtest_hmp(qts, "object_add kvm-pmu-filter,"
                                        "id=h0,action=allow,action=deny");
    g_autofree char *code = qtest_hmp(qts, "object_add kvm-pmu-filter,"
                                      "id=h1,action=deny,"
                                      "events.0.format=raw,"
                                      "events.0.code=0xc4,"
                                      "events.0.code=0x2e");
    QDict *rsp;

    g_assert_nonnull(strstr(action, "Parameter 'action' is given more "
                            "than once"));
    g_assert_nonnull(strstr(code, "Parameter 'events.0.code' is given more "
                            "than once"));
    for (int i = 0; i < 2; i++) {
        rsp = qtest_qmp(qts, "{'execute': 'qom-list', 'arguments':"
                        " {'path': %s}}", i ? "/objects/h1" : "/objects/h0");
        qmp_expect_error_and_unref(rsp, "DeviceNotFound");
    }
    qtest_quit(qts);
}

/* Other types keep letting the last of a repeated key win */
static void test_hmp_repeated_keys_other_types(void)
{
    QTestState *qts = start(NULL);
    g_autofree char *out = qtest_hmp(qts, "object_add iothread,id=io0,"
                                     "poll-max-ns=1,poll-max-ns=2");
    QDict *rsp;

    g_assert_cmpstr(out, ==, "");
    rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments':"
                    " {'path': '/objects/io0', 'property': 'poll-max-ns'}}");
    g_assert_cmpint(qdict_get_int(rsp, "return"), ==, 2);
    qobject_unref(rsp);
    qtest_quit(qts);
}

typedef struct ErrorCase {
    const char *props;
    const char *desc;
} ErrorCase;

static const ErrorCase error_cases[] = {
    { "'action': 'allow', 'events': [{'format': 'raw', 'code': '0x'}]",
      "events[0].code: '0x' is not a number" },
    { "'action': 'allow', 'events': [{'format': 'raw', 'code': '1'},"
      " {'format': 'x86-default', 'select': '0xc4', 'umask': '0x100'}]",
      "events[1].umask: '0x100' is larger than 0xff" },
    { "'action': 'allow', 'events': [{'format': 'x86-default',"
      " 'select': '0x1000', 'umask': '0'}]",
      "events[0].select: '0x1000' is larger than 0xfff" },
    { "'action': 'allow', 'events': [{'format': 'x86-default',"
      " 'select': '010', 'umask': '0'}]",
      "events[0].select: '010' has a leading zero" },
    { "'action': 'deny', 'events': [{'format': 'x86-masked-entry',"
      " 'select': '0xc4', 'mask': ' 1', 'match': '0', 'exclude': true}]",
      "events[0].mask: ' 1' is not a number" },
    { "'action': 'deny', 'events': [{'format': 'x86-masked-entry',"
      " 'select': '0xc4', 'mask': '1', 'match': '+1'}]",
      "events[0].match: '+1' is not a number" },
    { "'action': 'deny', 'events': [{'format': 'x86-masked-entry',"
      " 'select': '0xc4', 'mask': '1', 'match': '0', 'exclude': true},"
      " {'format': 'x86-default', 'select': '0xc4', 'umask': '0'}]",
      "events[1]: x86-masked-entry events cannot be mixed with events of "
      "other formats" },
    { "'action': 'deny', 'x86-fixed-counter': {'bitmap': '0x1ffffffff'}",
      "x86-fixed-counter.bitmap: '0x1ffffffff' is larger than 0xffffffff" },
    { "'action': 'deny', 'events': [{'format': 'raw',"
      " 'code': '18446744073709551616'}]",
      "events[0].code: '18446744073709551616' is larger than "
      "0xffffffffffffffff" },
};

static void test_errors(void)
{
    QTestState *qts = start(NULL);

    for (int i = 0; i < ARRAY_SIZE(error_cases); i++) {
        g_autofree char *json = g_strdup_printf(
            "{'qom-type': 'kvm-pmu-filter', 'id': 'e%d', %s}", i,
            error_cases[i].props);
        g_autofree char *path = g_strdup_printf("/objects/e%d", i);
        QDict *rsp = object_add(qts, json);
        QDict *error = qdict_get_qdict(rsp, "error");

        g_assert_nonnull(error);
        g_assert_cmpstr(qdict_get_str(error, "class"), ==, "GenericError");
        g_assert_cmpstr(qdict_get_str(error, "desc"), ==,
                        error_cases[i].desc);
        qobject_unref(rsp);
        rsp = qtest_qmp(qts, "{'execute': 'qom-list',"
                        " 'arguments': {'path': %s}}", path);
        qmp_expect_error_and_unref(rsp, "DeviceNotFound");
    }
    qtest_quit(qts);
}

static void test_schema_errors(void)
{
    static const char *const cases[] = {
        "{'qom-type': 'kvm-pmu-filter', 'id': 's0'}",
        "{'qom-type': 'kvm-pmu-filter', 'id': 's0', 'action': 'maybe'}",
        "{'qom-type': 'kvm-pmu-filter', 'id': 's0', 'action': 'allow',"
        " 'events': [{'format': 'raw', 'code': 196}]}",
        "{'qom-type': 'kvm-pmu-filter', 'id': 's0', 'action': 'allow',"
        " 'events': [{'format': 'arm', 'code': '1'}]}",
        "{'qom-type': 'kvm-pmu-filter', 'id': 's0', 'action': 'allow',"
        " 'events': [{'format': 'raw', 'code': '1', 'umask': '1'}]}",
        "{'qom-type': 'kvm-pmu-filter', 'id': 's0', 'action': 'allow',"
        " 'events': [{'format': 'x86-masked-entry', 'select': '1',"
        " 'mask': '1'}]}",
    };
    QTestState *qts = start(NULL);

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        qmp_expect_error_and_unref(object_add(qts, cases[i]), "GenericError");
    }
    qtest_quit(qts);
}

static void test_object_del_unused(void)
{
    QTestState *qts = start(NULL);

    for (int i = 0; i < 3; i++) {
        object_add_ok(qts, formats_json[2]);
        object_del_ok(qts, "f0");
    }
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/kvm-pmu-filter/command-line", test_command_line);
    qtest_add_func("/kvm-pmu-filter/formats-round-trip",
                   test_formats_and_round_trip);
    qtest_add_func("/kvm-pmu-filter/qom-list", test_qom_list);
    qtest_add_func("/kvm-pmu-filter/unset-fixed-counter",
                   test_unset_fixed_counter);
    qtest_add_func("/kvm-pmu-filter/immutable", test_immutable);
    qtest_add_func("/kvm-pmu-filter/hmp-dotted-keys", test_hmp_dotted_keys);
    qtest_add_func("/kvm-pmu-filter/hmp-repeated-keys",
                   test_hmp_repeated_keys);
    qtest_add_func("/kvm-pmu-filter/hmp-repeated-keys-other-types",
                   test_hmp_repeated_keys_other_types);
    qtest_add_func("/kvm-pmu-filter/errors", test_errors);
    qtest_add_func("/kvm-pmu-filter/schema-errors", test_schema_errors);
    qtest_add_func("/kvm-pmu-filter/object-del-unused",
                   test_object_del_unused);
    return g_test_run();
}
