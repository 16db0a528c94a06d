/*
 * The file descriptor side of the stand-ins for KVM (arm64-fake-kvm.c,
 * x86-fake-kvm.c): opening /dev/kvm gives a descriptor of the stand-in,
 * a vCPU's descriptor maps anonymous memory for its kvm_run, and
 * closing a descriptor forgets what the stand-in knew of it.  The
 * stand-in defines, before it includes this file:
 *
 *   static int fake_kvm_open(void);          a new /dev/kvm descriptor
 *   static int fake_kvm_is_vcpu(int fd);
 *   static void fake_kvm_forget(int fd);
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FAKE_KVM_FD_H
#define FAKE_KVM_FD_H

int open(const char *path, int flags, ...)
{
    static int (*real_open)(const char *, int, ...);
    va_list ap;
    mode_t mode;

    if (strcmp(path, "/dev/kvm") == 0) {
        return fake_kvm_open();
    }
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
    if (!real_open) {
        real_open = dlsym(RTLD_NEXT, "open");
    }
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
    __attribute__((alias("open")));

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static void *(*real_mmap)(void *, size_t, int, int, int, off_t);

    if (!real_mmap) {
        real_mmap = dlsym(RTLD_NEXT, "mmap");
    }
    if (fake_kvm_is_vcpu(fd)) {
        return real_mmap(addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
    __attribute__((alias("mmap")));

int close(int fd)
{
    static int (*real_close)(int);

    if (!real_close) {
        real_close = dlsym(RTLD_NEXT, "close");
    }
    fake_kvm_forget(fd);
    return real_close(fd);
}

#endif
