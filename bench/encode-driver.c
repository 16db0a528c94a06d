/*
 * Benchmark driver: feed 300-event PMU filters through the
 * kvm-pmu-filter object (QAPI input visitor, value parser, checks) and
 * the x86 encoder, as -object and the accelerator do.  Run it under
 * callgrind with --toggle-collect=convert_and_encode.
 *
 * Usage: encode-driver raw|x86-default|x86-masked-entry ITERATIONS
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
#include "system/kvm-pmu.h"
#include "target/i386/kvm/pmu-filter.h"

#define NEVENTS 300

static char *event_json(const char *format, int i)
{
    if (g_str_equal(format, "raw")) {
        return g_strdup_printf("{'format': 'raw', 'code': '0x%x'}",
                               0x100 + i);
    }
    if (g_str_equal(format, "x86-default")) {
        return g_strdup_printf("{'format': 'x86-default', 'select': '0x%x',"
                               " 'umask': '0x%x'}", 0x20 + i / 4, i % 256);
    }
    return g_strdup_printf("{'format': 'x86-masked-entry', 'select': '0x%x',"
                           " 'mask': '0xff', 'match': '0x%x',"
                           " 'exclude': %s}", 0x20 + i / 4, i % 256,
                           i % 2 ? "true" : "false");
}

static QDict *filter_dict(const char *format)
{
    g_autoptr(GString) json = g_string_new("{'qom-type': 'kvm-pmu-filter', "
        "'id': 'f0', 'action': 'deny', "
        "'x86-fixed-counter': {'bitmap': '0x7'}, 'events': [");

    for (int i = 0; i < NEVENTS; i++) {
        g_autofree char *event = event_json(format, i);

        g_string_append_printf(json, "%s%s", i ? ", " : "", event);
    }
    g_string_append(json, "]}");
    return qobject_to(QDict, qobject_from_json(json->str, &error_abort));
}

/* What callgrind counts: object creation from the QDict to KVM's bytes */
static uint64_t __attribute__((noinline)) convert_and_encode(QDict *props)
{
    g_autofree struct kvm_pmu_event_filter *kf = NULL;
    Visitor *v = qobject_input_visitor_new(QOBJECT(props));
    Object *obj;
    KVMPMUFilter *filter;
    const KVMPMUEvent *events;
    uint32_t n, bitmap;

    obj = user_creatable_add_type(TYPE_KVM_PMU_FILTER, "f0", props, v,
                                  &error_abort);
    visit_free(v);
    filter = kvm_pmu_filter_find("f0", &error_abort);
    events = kvm_pmu_filter_get_events(filter, &n);
    kvm_x86_pmu_filter_check(events, n, KVM_X86_PMU_SELECT_BITS_AMD,
                             &error_abort);
    bitmap = kvm_pmu_filter_get_x86_fixed_counter_bitmap(filter);
    kf = kvm_x86_pmu_filter_encode(kvm_pmu_filter_get_action(filter),
                                   events, n, bitmap);
    g_assert(kf->nevents == NEVENTS);
    object_unparent(obj);
    object_unref(obj);
    return kf->events[NEVENTS - 1];
}

int main(int argc, char **argv)
{
    g_autoptr(QDict) props = NULL;
    uint64_t sum = 0;
    long iterations;

    if (argc != 3) {
        fprintf(stderr, "usage: %s FORMAT ITERATIONS\n", argv[0]);
        return 2;
    }
    module_call_init(MODULE_INIT_QOM);
    props = filter_dict(argv[1]);
    qdict_del(props, "qom-type");
    qdict_del(props, "id");
    iterations = atol(argv[2]);
    for (long i = 0; i < iterations; i++) {
        sum += convert_and_encode(props);
    }
    printf("%s: %ld filters of %d events, checksum 0x%" PRIx64 "\n",
           argv[1], iterations, NEVENTS, sum);
    return 0;
}
