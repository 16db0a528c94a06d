/*
 * The descriptors of the stand-ins for KVM (arm64-fake-kvm.c,
 * x86-fake-kvm.c): opening /dev/kvm gives a descriptor of the stand-in,
 * which new_fd() also makes for VMs, vCPUs and devices; a vCPU's
 * descriptor maps anonymous memory for its kvm_run, an ioctl on a
 * descriptor goes to the stand-in's handler for its kind, and closing a
 * descriptor forgets its kind.  Included after the system headers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FAKE_KVM_FD_H
#define FAKE_KVM_FD_H

#define MAX_FDS 4096

enum fd_kind { FD_NONE, FD_KVM, FD_VM, FD_VCPU, FD_DEVICE };

static enum fd_kind fd_kinds[MAX_FDS];

static int new_fd(enum fd_kind kind)
{
    int fd = memfd_create("fake-kvm", MFD_CLOEXEC);

    if (fd < 0 || fd >= MAX_FDS) {
        return -1;
    }
    fd_kinds[fd] = kind;
    return fd;
}

static enum fd_kind kind_of(int fd)
{
    return fd >= 0 && fd < MAX_FDS ? fd_kinds[fd] : FD_NONE;
}

static int fail(int err)
{
    errno = err;
    return -1;
}

int open(const char *path, int flags, ...)
{
    static int (*real_open)(const char *, int, ...);
    va_list ap;
    mode_t mode;

    if (strcmp(path, "/dev/kvm") == 0) {
        return new_fd(FD_KVM);
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
    if (kind_of(fd) == FD_VCPU) {
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
    if (fd >= 0 && fd < MAX_FDS) {
        fd_kinds[fd] = FD_NONE;
    }
    return real_close(fd);
}

/* Each stand-in's handlers, by the kind of descriptor */
static int kvm_ioctl(unsigned long req, void *arg);
static int vm_ioctl(unsigned long req, void *arg);
static int vcpu_ioctl(int fd, unsigned long req, void *arg);
static int device_ioctl(unsigned long req, void *arg);

int ioctl(int fd, unsigned long req, ...)
{
    static int (*real_ioctl)(int, unsigned long, ...);
    va_list ap;
    void *arg;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);

    switch (kind_of(fd)) {
    case FD_KVM:
        return kvm_ioctl(req, arg);
    case FD_VM:
        return vm_ioctl(req, arg);
    case FD_VCPU:
        return vcpu_ioctl(fd, req, arg);
    case FD_DEVICE:
        return device_ioctl(req, arg);
    default:
        if (!real_ioctl) {
            real_ioctl = dlsym(RTLD_NEXT, "ioctl");
        }
        return real_ioctl(fd, req, arg);
    }
}

#endif
