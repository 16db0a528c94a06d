/*
 * PMU demo guest: reports the virtual PMU it sees, then counts a list of
 * events with a general-purpose counter (and the fixed counters) around
 * a short workload, so that the effect of a PMU event filter shows.
 *
 * Events come from the command line ("events=SEL:UMASK,..."), or are
 * the architectural events of the CPU's vendor.  Ends by writing
 * EXIT_DONE to isa-debug-exit.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdbool.h>
#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define EXIT_DONE 0x10          /* QEMU exits with (0x10 << 1) | 1 = 33 */

#define EVTSEL_USR (1ULL << 16)
#define EVTSEL_OS (1ULL << 17)
#define EVTSEL_EN (1ULL << 22)

#define INTEL_PERFEVTSEL0 0x186
#define INTEL_PMC0 0xc1
#define INTEL_FIXED_CTR0 0x309
#define INTEL_FIXED_CTR_CTRL 0x38d
#define INTEL_PERF_GLOBAL_CTRL 0x38f
#define AMD_PERFEVTSEL0 0xc0010000
#define AMD_PERFCTR0 0xc0010004
#define AMD_CORE_PERFEVTSEL0 0xc0010200
#define AMD_CORE_PERFCTR0 0xc0010201

#define MAX_EVENTS 16

typedef struct Event {
    uint16_t select;
    uint8_t umask;
    const char *name;
    int arch_bit;               /* Intel CPUID 0xA EBX bit, or -1 */
} Event;

static const Event intel_events[] = {
    { 0x3c, 0x00, "core cycles", 0 },
    { 0xc0, 0x00, "instructions", 1 },
    { 0x3c, 0x01, "reference cycles", 2 },
    { 0x2e, 0x4f, "LLC references", 3 },
    { 0x2e, 0x41, "LLC misses", 4 },
    { 0xc4, 0x00, "branch instructions", 5 },
    { 0xc5, 0x00, "branch misses", 6 },
};

static const Event amd_events[] = {
    { 0x76, 0x00, "core cycles", -1 },
    { 0xc0, 0x00, "instructions", -1 },
    { 0xc2, 0x00, "branch instructions", -1 },
    { 0xc3, 0x00, "branch misses", -1 },
};

static const char *const fixed_names[] = {
    "instructions", "core cycles", "reference cycles", "topdown slots",
};

typedef struct Pmu {
    bool intel;
    char vendor[13];
    unsigned version, gp, fixed;
    uint32_t unavailable;       /* Intel: architectural events missing */
    uint32_t evtsel, ctr;       /* MSRs of general-purpose counter 0 */
} Pmu;

extern void gp_handler(void);
extern volatile uint32_t gp_faulted;
extern uint64_t idt[];

static inline void outb(uint16_t port, uint8_t v)
{
    asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void putc_serial(char c)
{
    if (c == '\n') {
        outb(COM1, '\r');
    }
    outb(COM1, c);
}

static void puts_serial(const char *s)
{
    while (*s) {
        putc_serial(*s++);
    }
}

/* 64-bit decimal without libgcc's division helpers */
static void put_dec(uint64_t v)
{
    char buf[21];
    int i = 20;

    buf[i] = 0;
    do {
        uint64_t q = 0, r = 0;

        for (int bit = 63; bit >= 0; bit--) {
            r = (r << 1) | ((v >> bit) & 1);
            if (r >= 10) {
                r -= 10;
                q |= 1ULL << bit;
            }
        }
        buf[--i] = '0' + r;
        v = q;
    } while (v);
    puts_serial(&buf[i]);
}

static void put_hex32(uint32_t v)
{
    puts_serial("0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        putc_serial("0123456789abcdef"[(v >> shift) & 0xf]);
    }
}

static void pad(int len, int width)
{
    while (len++ < width) {
        putc_serial(' ');
    }
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
                  uint32_t *d)
{
    asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                 : "a"(leaf), "c"(0));
}

/* rdmsr/wrmsr that report a #GP instead of crashing */
static bool rdmsr_safe(uint32_t msr, uint64_t *value)
{
    uint32_t lo = 0, hi = 0;

    gp_faulted = 0;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    *value = (uint64_t)hi << 32 | lo;
    return !gp_faulted;
}

static bool wrmsr_safe(uint32_t msr, uint64_t value)
{
    gp_faulted = 0;
    asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value),
                 "d"((uint32_t)(value >> 32)));
    return !gp_faulted;
}

/*
 * CPUID leaf 0xA as the guest reads it, whatever the vendor, for the
 * tests: the architectural PMU, its events (EBX: set = unavailable)
 * and fixed counters (EDX[4:0])
 */
static void report_leaf_0xa(void)
{
    uint32_t regs[4], max, b, c, d;
    static const char *const names[] = { "eax", "ebx", "ecx", "edx" };

    cpuid(0, &max, &b, &c, &d);
    if (max < 0xa) {
        return;
    }
    cpuid(0xa, &regs[0], &regs[1], &regs[2], &regs[3]);
    puts_serial("cpuid 0xa:");
    for (int i = 0; i < 4; i++) {
        puts_serial(" ");
        puts_serial(names[i]);
        puts_serial("=");
        put_hex32(regs[i]);
    }
    puts_serial("\n");
}

static void install_gp_handler(void)
{
    uint32_t handler = (uint32_t)gp_handler;
    uint16_t cs;

    asm volatile("mov %%cs, %0" : "=r"(cs));
    idt[13] = (handler & 0xffff) | (uint64_t)cs << 16 |
              (uint64_t)0x8e00 << 32 | (uint64_t)(handler >> 16) << 48;
}

static void detect_pmu(Pmu *pmu)
{
    uint32_t a, b, c, d, max;

    cpuid(0, &max, &b, &c, &d);
    ((uint32_t *)pmu->vendor)[0] = b;
    ((uint32_t *)pmu->vendor)[1] = d;
    ((uint32_t *)pmu->vendor)[2] = c;
    pmu->vendor[12] = 0;
    pmu->intel = b == 0x756e6547;               /* "Genu" */
    if (pmu->intel) {
        if (max >= 0xa) {
            cpuid(0xa, &a, &b, &c, &d);
            pmu->version = a & 0xff;
            pmu->gp = (a >> 8) & 0xff;
            pmu->unavailable = b & ((1u << ((a >> 24) & 0xff)) - 1);
            pmu->unavailable |= ~0u << ((a >> 24) & 0xff);
            pmu->fixed = pmu->version > 1 ? (d & 0x1f) : 0;
        }
        pmu->evtsel = INTEL_PERFEVTSEL0;
        pmu->ctr = INTEL_PMC0;
        return;
    }
    cpuid(0x80000000, &max, &b, &c, &d);
    cpuid(0x80000001, &a, &b, &c, &d);
    bool core_ext = max >= 0x80000001 && (c & (1u << 23));
    pmu->evtsel = core_ext ? AMD_CORE_PERFEVTSEL0 : AMD_PERFEVTSEL0;
    pmu->ctr = core_ext ? AMD_CORE_PERFCTR0 : AMD_PERFCTR0;
    pmu->gp = core_ext ? 6 : 4;
    pmu->version = 1;
    if (max >= 0x80000022) {
        cpuid(0x80000022, &a, &b, &c, &d);
        if (a & 1) {
            pmu->version = 2;
            pmu->gp = b & 0xf;
        }
    }
}

/* A counter exists if it keeps a value written to it */
static bool counter_works(const Pmu *pmu)
{
    uint64_t v;

    if (!pmu->gp || !wrmsr_safe(pmu->evtsel, 0) ||
        !wrmsr_safe(pmu->ctr, 0x1234) || !rdmsr_safe(pmu->ctr, &v)) {
        return false;
    }
    wrmsr_safe(pmu->ctr, 0);
    return v == 0x1234;
}

static volatile uint32_t sink;

/* Branches, taken and not, and memory traffic beyond the caches */
static void workload(void)
{
    static uint8_t buf[1 << 22];
    uint32_t x = 12345;

    for (uint32_t i = 0; i < 200000; i++) {
        x = x * 1103515245 + 12345;
        if (x & 0x100) {
            sink += x;
        }
        buf[(x >> 8) & (sizeof(buf) - 1)] += i;
    }
}

static void set_global_ctrl(const Pmu *pmu, uint64_t value)
{
    if (pmu->intel && pmu->version > 1) {
        wrmsr_safe(INTEL_PERF_GLOBAL_CTRL, value);
    }
}

static uint64_t count_event(const Pmu *pmu, const Event *ev)
{
    uint64_t sel = (ev->select & 0xff) | (uint64_t)ev->umask << 8 |
                   (uint64_t)(ev->select >> 8) << 32 |
                   EVTSEL_USR | EVTSEL_OS | EVTSEL_EN;
    uint64_t count = 0;

    wrmsr_safe(pmu->ctr, 0);
    wrmsr_safe(pmu->evtsel, sel);
    set_global_ctrl(pmu, 1);
    workload();
    set_global_ctrl(pmu, 0);
    wrmsr_safe(pmu->evtsel, 0);
    rdmsr_safe(pmu->ctr, &count);
    return count;
}

static void report(const char *what, const char *name, const char *result,
                   uint64_t count, bool show_count)
{
    int len = 0;

    puts_serial(what);
    for (const char *p = name; *p; p++) {
        len++;
    }
    puts_serial(name);
    pad(len, 22);
    puts_serial(result);
    if (show_count) {
        puts_serial(" (");
        put_dec(count);
        puts_serial(")");
    }
    putc_serial('\n');
}

/* "event 0x0c4/00 " */
static void event_label(const Event *ev, char *what)
{
    const char *hex = "0123456789abcdef";
    char *p = what;

    for (const char *s = "event 0x"; *s; s++) {
        *p++ = *s;
    }
    for (int shift = 8; shift >= 0; shift -= 4) {
        *p++ = hex[(ev->select >> shift) & 0xf];
    }
    *p++ = '/';
    *p++ = hex[ev->umask >> 4];
    *p++ = hex[ev->umask & 0xf];
    *p++ = ' ';
    *p = 0;
}

static void run_event(const Pmu *pmu, const Event *ev)
{
    char what[32];
    uint64_t count;

    event_label(ev, what);
    if (ev->arch_bit >= 0 && (pmu->unavailable & (1u << ev->arch_bit))) {
        report(what, ev->name, "not available", 0, false);
        return;
    }
    count = count_event(pmu, ev);
    report(what, ev->name, count ? "counted" : "blocked", count, true);
}

static void run_fixed(const Pmu *pmu)
{
    for (unsigned i = 0; i < pmu->fixed && i < 4; i++) {
        char what[] = "fixed 0         ";
        uint64_t count = 0;

        what[6] = '0' + i;
        wrmsr_safe(INTEL_FIXED_CTR0 + i, 0);
        wrmsr_safe(INTEL_FIXED_CTR_CTRL, 0x3ULL << (i * 4));
        set_global_ctrl(pmu, 1ULL << (32 + i));
        workload();
        set_global_ctrl(pmu, 0);
        wrmsr_safe(INTEL_FIXED_CTR_CTRL, 0);
        rdmsr_safe(INTEL_FIXED_CTR0 + i, &count);
        report(what, fixed_names[i], count ? "counted" : "blocked", count,
               true);
    }
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parse "0xSEL:0xUMASK,..." after "events=" in the command line */
static int parse_events(const char *cmdline, Event *events)
{
    static const char key[] = "events=";
    const char *p = cmdline;
    int n = 0;

    for (; p && *p; p++) {
        int i = 0;

        while (key[i] && p[i] == key[i]) {
            i++;
        }
        if (!key[i]) {
            p += i;
            break;
        }
    }
    while (p && *p && *p != ' ' && n < MAX_EVENTS) {
        uint32_t v[2] = { 0, 0 };

        for (int field = 0; field < 2; field++) {
            if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                p += 2;
            }
            while (hex_digit(*p) >= 0) {
                v[field] = v[field] * 16 + hex_digit(*p++);
            }
            if (field == 0 && *p == ':') {
                p++;
            }
        }
        events[n++] = (Event) { v[0] & 0xfff, v[1] & 0xff, "(from cmdline)",
                                -1 };
        if (*p == ',') {
            p++;
        }
    }
    return n;
}

void guest_main(const uint32_t *mbi);

void guest_main(const uint32_t *mbi)
{
    Event events[MAX_EVENTS];
    const Event *list;
    int n;
    Pmu pmu = { 0 };

    install_gp_handler();
    puts_serial("\nkvm-pmu-filter demo guest\n");
    detect_pmu(&pmu);
    n = (mbi[0] & (1u << 2)) ?
        parse_events((const char *)mbi[4], events) : 0;
    list = n ? events : pmu.intel ? intel_events : amd_events;
    if (!n) {
        n = pmu.intel ? sizeof(intel_events) / sizeof(intel_events[0])
                      : sizeof(amd_events) / sizeof(amd_events[0]);
    }

    puts_serial("cpu: ");
    puts_serial(pmu.vendor);
    if (!counter_works(&pmu)) {
        puts_serial(", no virtual PMU\n");
        puts_serial("pmu: this VM has no PMU (the host's KVM gives guests "
                    "none, or the CPU has pmu=off):\n"
                    "pmu: there is nothing to count, so nothing to filter\n");
        for (int i = 0; i < n; i++) {
            char what[32];

            event_label(&list[i], what);
            report(what, list[i].name, "not available", 0, false);
        }
    } else {
        puts_serial(", PMU version ");
        put_dec(pmu.version);
        puts_serial(", ");
        put_dec(pmu.gp);
        puts_serial(" general-purpose and ");
        put_dec(pmu.fixed);
        puts_serial(" fixed counters\n");
        for (int i = 0; i < n; i++) {
            run_event(&pmu, &list[i]);
        }
        run_fixed(&pmu);
    }
    report_leaf_0xa();
    puts_serial("done\n");
    outb(DEBUG_EXIT_PORT, EXIT_DONE);
}
